"""Where a figure's time goes: CPU per unit of work (a request, an actual, an event), by process.

On a machine of few cores, the load generator, the server and PostgreSQL share them; their CPU
per unit, summed, bounds the rate the cores allow. That sum beside the rate a goal asks for
says, from the same run, how much work per unit the goal needs taken away."""

import os
import resource
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Cost:
    """µs of CPU per unit: the server process's (None: no server, or one this bench did not
    start), PostgreSQL's sessions' (None where their /proc entries cannot be read), and this
    process's (the load generator, or the work itself for a rebuild run in process)."""

    server_us: float | None
    postgres_us: float | None
    bench_us: float

    @property
    def total_us(self) -> float:
        return (self.server_us or 0) + (self.postgres_us or 0) + self.bench_us

    def text(self) -> str:
        parts = [] if self.server_us is None else [f"server {self.server_us:,.0f}"]
        parts.append("PostgreSQL n/a" if self.postgres_us is None else f"PostgreSQL {self.postgres_us:,.0f}")
        parts.append(f"bench process {self.bench_us:,.0f}")
        return ", ".join(parts) + f" µs (total {self.total_us:,.0f})"


def budget(cost: Cost, unit: str, rate: float, goal_rate: float | None = None) -> str:
    """The cores' bound on the rate at this cost, and, for a goal's rate, the CPU per unit it allows."""
    cores = os.cpu_count() or 1
    bound = cores * 1e6 / cost.total_us if cost.total_us else float("inf")
    text = (
        f"CPU per {unit}: {cost.text()}; at this cost {cores} cores allow at most {bound:,.0f} {unit}s/s"
        f" (measured {rate:,.0f}, {rate / bound:.0%} of that bound)"
    )
    if goal_rate is not None:
        allowed = cores * 1e6 / goal_rate
        text += f"; the goal, {goal_rate:,.0f}/s, allows at most {allowed:,.0f} µs per {unit} in all"
        if cost.total_us > allowed:
            text += f" ({allowed / cost.total_us:.0%} of today's)"
    return text


class Meter:
    """CPU spent between start() and spent(), by the server with pid `server` (if any), the
    sessions of `conn`'s database and this process."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, server: int | None = None) -> None:
        self.conn, self.server = conn, server

    async def start(self) -> "Meter":
        self.sessions = await session_cpu(self.conn)
        self.own = own_cpu()
        self.process = _server_cpu(self.server)
        return self

    async def spent(self, units: int) -> Cost:
        """The cost per unit since start(), for `units` units of work."""
        own = own_cpu() - self.own
        after = await session_cpu(self.conn)
        postgres = None
        if after is not None and self.sessions is not None:
            postgres = sum(t - self.sessions.get(pid, 0) for pid, t in after.items())
        server_after = _server_cpu(self.server)
        server = None if server_after is None or self.process is None else server_after - self.process
        per = 1e6 / max(units, 1)
        return Cost(
            None if server is None else server * per,
            None if postgres is None else postgres * per,
            own * per,
        )


def own_cpu() -> float:
    """CPU seconds of this process so far (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def session_cpu(conn: asyncpg.Connection | asyncpg.Pool) -> dict[int, float] | None:
    """CPU seconds so far of every session of this database, by pid; None unless the server
    runs on this machine and its /proc entries can be read."""
    pids = [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    return _cpu_of(pids)


def _server_cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    cpu = _cpu_of([pid])
    return None if cpu is None else cpu[pid]


def _cpu_of(pids: list[int]) -> dict[int, float] | None:
    cpu = {}
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:  # a file in memory: no wait worth a thread
                fields = stat.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except OSError:
        return None
    return cpu
