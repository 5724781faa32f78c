"""Projection figures: lag from commit to the read model, and rebuilding every read model."""

import asyncio
import contextlib
import resource
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass

import asyncpg

from projections.runner import PROJECTIONS, reset, run_projection
from target_ledger.bench import cpu
from target_ledger.bench.ledger import META, actual_events
from target_ledger.bench.measure import percentile
from target_ledger.bench.settle import settle
from target_ledger.eventstore import EventStore
from target_ledger.eventstore.subscription import Notifier

LAG_TABLE = "CREATE TABLE IF NOT EXISTS lag_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body jsonb)"
CHANNEL = "bench_lag"


async def paced(rate: int, seconds: float, append: Callable[[], Coroutine[object, object, None]]) -> None:
    """Call `append()` `rate` times a second for `seconds`, in ticks of 10 ms (bounded in count)."""
    per_tick = max(1, rate // 100)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending: set[asyncio.Task[None]] = set()
    for tick in range(int(seconds * 100)):
        await asyncio.sleep(max(0.0, started + tick / 100 - loop.time()))
        for _ in range(per_tick):
            task = asyncio.create_task(append())
            pending.add(task)
            task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def service_lag(url: str, pool: asyncpg.Pool, rate: int, seconds: float) -> list[float]:
    """Seconds from each single-actual append's commit until the attainment projection (a
    `target-ledger project` worker) has applied it, at `rate` appends a second."""
    store = EventStore(pool)
    notifier = Notifier(pool)
    store.on_append.append(notifier.appended)
    committed: list[tuple[int, float]] = []
    events = iter(actual_events(int(rate * seconds) + 100, days_back=30))

    async def append() -> None:
        appended = await store.append([next(events)], META)
        committed.append((appended.last, time.perf_counter()))

    async with _tracking_timeline(url) as timeline:
        await paced(rate, seconds, append)
        await settle(timeline.conn)
    await notifier.close()
    xids = dict(
        await pool.fetch(
            "SELECT position, xid::text::bigint FROM events WHERE position = ANY($1::bigint[])",
            [p for p, _ in committed],
        )
    )
    lags = []
    for position, at in committed:
        seen = next(t for t, cursor in timeline.samples if cursor >= (xids[position], position))
        lags.append(max(0.0, seen - at))
    return lags


class _Timeline:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn  # a spare connection, to wait on
        self.samples: list[tuple[float, tuple[int, int]]] = []


@contextlib.asynccontextmanager
async def _tracking_timeline(url: str) -> AsyncIterator[_Timeline]:
    """Polls the attainment projection's tracked (xid, position) every 2 ms, recording when it moved."""
    poller, settler = await asyncpg.connect(url), await asyncpg.connect(url)
    timeline = _Timeline(settler)
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            row = await poller.fetchrow(
                "SELECT xid::text::bigint, position FROM projection_tracking WHERE name = 'attainment'"
            )
            timeline.samples.append((time.perf_counter(), (row[0], row[1]) if row else (0, 0)))
            await asyncio.sleep(0.002)

    task = asyncio.create_task(poll())
    try:
        yield timeline
    finally:
        await asyncio.sleep(0.01)
        stop.set()
        await task
        await poller.close()
        await settler.close()


async def raw_lag(url: str, rate: int, seconds: float) -> list[float]:
    """The floor: seconds from a plain INSERT's commit (with NOTIFY) until another session hears of it."""
    writer_pool = await asyncpg.create_pool(url, min_size=4, max_size=10)
    listener = await asyncpg.connect(url)
    await listener.execute(LAG_TABLE)
    heard: dict[int, float] = {}
    await listener.add_listener(CHANNEL, lambda *args: heard.setdefault(int(args[3]), time.perf_counter()))
    committed: list[tuple[int, float]] = []

    async def append() -> None:
        async with writer_pool.acquire() as conn, conn.transaction():
            row_id = await conn.fetchval("INSERT INTO lag_events (body) VALUES ('{}') RETURNING id")
            await conn.execute(f"NOTIFY {CHANNEL}, '{row_id}'")
            # From just before COMMIT: on a unix socket the listener can hear of it before the
            # writer's await returns, which would make every lag 0 and the ratio meaningless.
            at = time.perf_counter()
        committed.append((row_id, at))

    await paced(rate, seconds, append)
    await asyncio.sleep(0.2)
    await listener.close()
    await writer_pool.close()
    return [max(0.0, heard[i] - at) for i, at in committed if i in heard]


def p99_ms(lags: list[float]) -> float:
    return percentile(lags, 99) * 1000


@dataclass(frozen=True)
class Rebuilt:
    """A rebuild's rate and what it cost: CPU per event of this process (where the projections
    run) and of the database's sessions, and this process's peak RSS."""

    rate: float  # events/s of the whole log
    cost: cpu.Cost  # per event
    peak_rss_mb: float  # this process's peak resident set since it started, MB

    def note(self, goal_rate: float) -> str:
        """What it cost, and what CPU per event `goal_rate` events/s would allow."""
        spent = cpu.budget(self.cost, "event", self.rate, goal_rate)
        return f"{spent}; bench process peak RSS {self.peak_rss_mb:,.0f} MB"


async def rebuild(pool: asyncpg.Pool) -> Rebuilt:
    """Empty every read model, then run every projection until all have applied the last event:
    events per second of the whole log, and what that cost."""
    async with pool.acquire() as conn:
        for projection in PROJECTIONS:
            await reset(conn, projection)
        count = await conn.fetchval("SELECT count(*) FROM events")
    meter = await cpu.Meter(pool).start()  # no connection held: the projections need the pool's
    seconds = await catch_up(pool)
    cost = await meter.spent(count)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB
    return Rebuilt(count / seconds, cost, peak)


async def catch_up(pool: asyncpg.Pool) -> float:
    """Run every projection in this process until all have applied the last event; seconds taken."""
    store = EventStore(pool)
    notifier = Notifier(pool)
    started = time.perf_counter()
    tasks = [asyncio.create_task(run_projection(pool, store, notifier, p)) for p in PROJECTIONS]
    try:
        async with pool.acquire() as conn:
            await settle(conn)
        return time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def raw_read(url: str) -> float:
    """The floor for a rebuild: every event read once in log order, as rows, nothing decoded; events/s."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    count = 0
    async with conn.transaction():
        cursor = conn.cursor(
            """SELECT position, xid::text::bigint AS xid, event_id, stream_id, version, type,
                      payload::text AS payload, metadata::text AS metadata, recorded_at
                 FROM events ORDER BY events.xid, events.position""",  # the columns (as the store reads)
            prefetch=5000,
        )
        async for _ in cursor:
            count += 1
    elapsed = time.perf_counter() - started
    await conn.close()
    return count / elapsed
