"""HTTP figures: the service's endpoints against a minimal litestar app on the same server setup."""

import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec

from target_ledger.api.auth import issue_token
from target_ledger.bench import baseline, cpu, servers
from target_ledger.bench.ledger import PEOPLE, TEAM_SIZE, TEAMS
from target_ledger.bench.load import Client, Load, Request
from target_ledger.bench.measure import Figure, Goal, Row
from target_ledger.bench.scratch import settings_for
from target_ledger.bench.settle import settle


def current_quarter() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


async def seed_org(client: Client) -> None:
    """acme → four teams of eight people, each team with a manager; a team target for this
    quarter, split evenly over its people."""
    post = client.json
    await post("POST", "/v1/org/units", _json({"node": "acme", "kind": "company", "name": "Acme"}))
    for team in TEAMS:
        await post("POST", "/v1/org/units", _json({"node": team, "kind": "team", "name": team, "parent": "acme"}))
        for n in range(1, TEAM_SIZE + 1):
            person = {"person": f"{team}-{n}", "name": f"{team} {n}", "unit": team, "effective": "2020-01-01"}
            await post("POST", "/v1/org/people", _json(person))
        await post("POST", f"/v1/org/units/{team}/manager", _json({"manager": f"{team}-1", "effective": "2020-01-01"}))
        body = {"node": team, "metric": "revenue", "period": current_quarter(), "value": "1000000", "rationale": "plan"}
        target = await post("POST", "/v1/targets", _json(body))
        assert isinstance(target, dict)
        await post("POST", f"/v1/targets/{target['id']}/decomposition", _json({"axis": "org", "method": "even"}))


def _json(value: object) -> bytes:
    return msgspec.json.encode(value)


def actual(n: int, tag: str) -> dict[str, str]:
    today = datetime.now(UTC).date().isoformat()
    value = f"{100 + n % 900}.50"
    return {
        "person": PEOPLE[n % len(PEOPLE)],
        "metric": "revenue",
        "date": today,
        "value": value,
        "source": "crm",
        "external_ref": f"{tag}-{n}",
    }


def _record(n: int, tag: str, path: str = "/v1/actuals") -> Request:
    return Request("POST", path, _json(actual(n, tag)))


def _batch(tag: str, path: str = "/v1/actuals/batch") -> Callable[[int], Request]:
    """The n-th request of a batch import: 1,000 new actuals."""
    return lambda n: Request("POST", path, _json({"items": [actual(n * 1000 + i, tag + "b") for i in range(1000)]}))


def attainment_read(team: str = "north") -> Request:
    query = f"node={team}&metric=revenue&period={current_quarter()}&breakdown=children"
    return Request("GET", f"/v1/attainment?{query}")


@contextlib.asynccontextmanager
async def clients(url: str, data_dir: Path, projections: bool = True) -> AsyncIterator[tuple[Client, Client, Client]]:
    """The service (projections in its process, as by default) and the baseline, one worker each:
    a recording client, an admin client for the service, and a client for the baseline."""
    settings = settings_for(url, str(data_dir))
    env = {
        "DATABASE_URL": url,
        "TL_JWT_SECRET": settings.secret(),
        "TL_DATA_DIR": str(data_dir),
        "TL_RUN_PROJECTIONS": "1" if projections else "0",
    }
    secret = settings.secret()
    crm = {"Authorization": f"Bearer {issue_token(secret, 'crm', 'integration')}"}
    admin = {"Authorization": f"Bearer {issue_token(secret, 'bench', 'admin')}"}
    with (
        servers.uvicorn(servers.SERVICE, env, "/health/live") as service,
        servers.uvicorn(servers.BASELINE, {"BENCH_DATABASE_URL": url}, "/health") as plain,
    ):
        async with Client(service, crm) as recorder, Client(service, admin) as reader, Client(plain) as base:
            yield recorder, reader, base


@contextlib.asynccontextmanager
async def api_only(url: str, data_dir: Path) -> AsyncIterator[tuple[Client, dict[str, str]]]:
    """An API process without projections (TL_RUN_PROJECTIONS=0), as "Running at scale"
    runs it; a recording client for it, and the environment for a worker beside it."""
    settings = settings_for(url, str(data_dir))
    env = {"DATABASE_URL": url, "TL_JWT_SECRET": settings.secret(), "TL_DATA_DIR": str(data_dir)}
    crm = {"Authorization": f"Bearer {issue_token(settings.secret(), 'crm', 'integration')}"}
    with servers.uvicorn(servers.SERVICE, {**env, "TL_RUN_PROJECTIONS": "0"}, "/health/live") as service:
        async with Client(service, crm) as recorder:
            yield recorder, env


class Runs:
    """Each repetition's load per contender and figure, and what it cost in CPU."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.loads: dict[str, list[Load]] = {}
        self.costs: dict[str, list[cpu.Cost]] = {}

    def add(self, name: str, load: Load) -> None:
        self.loads.setdefault(name, []).append(load)

    async def metered(
        self, name: str, client: Client, work: Awaitable[Load], per_request: int = 1, *, projected: bool = False
    ) -> None:
        """Run `work` (a drive of `client`) and add its load and its CPU per item to `name`. A
        `projected` drive is metered until the projections have settled: they are its work too."""
        meter = await cpu.Meter(self.conn, getattr(client.base, "pid", None)).start()
        load = await work
        if projected:
            await settle(self.conn)
        self.add(name, load)
        self.costs.setdefault(name, []).append(await meter.spent(load.requests * per_request))

    def budget(self, name: str, unit: str, per_request: int = 1, goal_rate: float | None = None) -> str:
        """The CPU per item of `name` (the repetition of median total), beside its goal's budget."""
        costs = sorted(self.costs[name], key=lambda c: c.total_us)
        return cpu.budget(costs[len(costs) // 2], unit, self.rate(name, "", per_request).median, goal_rate)

    def rate(self, name: str, unit: str, per_request: int = 1) -> Figure:
        return Figure(tuple(load.rate * per_request for load in self.loads[name]), unit)

    def p99(self, name: str) -> Figure:
        return Figure(tuple(load.p(99) for load in self.loads[name]), "ms")

    def latency(self, name: str) -> str:
        loads = self.loads[name]
        p50 = sorted(load.p(50) for load in loads)[len(loads) // 2]
        p99 = sorted(load.p(99) for load in loads)[len(loads) // 2]
        return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


async def _repetition(
    runs: Runs, conn: asyncpg.Connection, clients: tuple[Client, Client, Client], tag: str, load: dict, imports: dict
) -> None:
    """Each figure once, service then baseline; the service's projections settle in between
    (and count in its CPU)."""
    recorder, reader, base = clients
    await runs.metered("record", recorder, recorder.drive(lambda n: _record(n, tag), **load, ok=201), projected=True)
    await runs.metered("record-base", base, base.drive(lambda n: _record(n, tag, "/actuals"), **load, ok=201))
    await runs.metered("batch", recorder, recorder.drive(_batch(tag), **imports), 1000, projected=True)
    await runs.metered("batch-base", base, base.drive(_batch(tag, "/actuals/batch"), **imports), 1000)
    await runs.metered("read", reader, reader.drive(lambda n: attainment_read(TEAMS[n % len(TEAMS)]), **load))
    last = await conn.fetchval("SELECT max(id) FROM baseline_actuals")
    await runs.metered(
        "read-base", base, base.drive(lambda n: Request("GET", f"/actuals/{random.randint(1, last)}"), **load)
    )


async def _request_path(runs: Runs, recorder: Client, tag: str, load: dict, imports: dict) -> None:
    """Recording while nothing projects: what the request path alone costs."""
    await runs.metered("record-alone", recorder, recorder.drive(lambda n: _record(n, tag), **load, ok=201))
    await runs.metered("batch-alone", recorder, recorder.drive(_batch(tag), **imports), 1000)


async def _scale_repetition(runs: Runs, conn: asyncpg.Connection, recorder: Client, tag: str, load: dict) -> None:
    runs.add("record-scale", await recorder.drive(lambda n: _record(n, tag), **load, ok=201))
    await settle(conn)


RATIO = Goal("ratio", at_least=0.5)


async def http_rows(
    url: str, data_dir: Path, *, repetitions: int, requests: int, concurrency: int, import_batches: int, seconds: float
) -> list[Row]:
    conn = await asyncpg.connect(url)
    await conn.execute(baseline.TABLE)
    runs = Runs(conn)
    load = {"count": requests, "concurrency": concurrency, "seconds": seconds}
    imports = {"count": import_batches, "concurrency": 2, "seconds": seconds, "ok": 201}
    async with clients(url, data_dir) as (recorder, reader, base):
        await seed_org(reader)
        for rep in range(repetitions):
            tag = f"r{rep}-{uuid.uuid4().hex[:6]}"
            await _repetition(runs, conn, (recorder, reader, base), tag, load, imports)
    async with api_only(url, data_dir) as (recorder, env):
        for rep in range(repetitions):
            await _request_path(runs, recorder, f"a{rep}-{uuid.uuid4().hex[:6]}", load, imports)
        with servers.worker(env):  # catches up on what was recorded alone, then follows
            await settle(conn)
            for rep in range(repetitions):
                await _scale_repetition(runs, conn, recorder, f"s{rep}-{uuid.uuid4().hex[:6]}", load)
    await conn.close()
    reqs, actuals = "requests/s", "actuals/s"

    def half_of(baseline: str) -> float:
        return RATIO.at_least * runs.rate(baseline, reqs).median  # type: ignore[operator]

    def recording(name: str, key: str, where: list[str]) -> Row:
        latency = f"service {runs.latency(key)}; baseline {runs.latency('record-base')}; {concurrency} clients"
        base = runs.rate("record-base", reqs)
        return Row(name, runs.rate(key, reqs), "minimal litestar endpoint, one INSERT", base, RATIO, [latency, *where])

    alone = runs.rate("record-alone", reqs)
    return [
        recording(
            "HTTP: record one actual, `POST /v1/actuals`",
            "record",
            [
                "the service runs its projections in its own process (the default, TL_RUN_PROJECTIONS=1)",
                runs.budget("record", "request", goal_rate=half_of("record-base")),
                "the baseline's " + runs.budget("record-base", "request"),
            ],
        ),
        recording(
            "HTTP: record one actual, projections in a `target-ledger project` worker",
            "record-scale",
            [
                'the layout of README "Running at scale" (TL_RUN_PROJECTIONS=0 beside a worker), on the same 2 '
                "cores; the request path alone (the same API process before the worker started, nothing "
                f"projecting): {alone.text()}, {alone.median / runs.rate('record-base', reqs).median:.2f} of the "
                "baseline",
                "the request path alone's " + runs.budget("record-alone", "request", goal_rate=half_of("record-base")),
            ],
        ),
        Row(
            "HTTP: batch import, `POST /v1/actuals/batch` of 1,000",
            runs.rate("batch", actuals, 1000),
            "minimal litestar endpoint, one unnest INSERT of the 1,000",
            runs.rate("batch-base", actuals, 1000),
            Goal("value", at_least=20_000),
            [
                "2 clients; the request path alone (an API process with TL_RUN_PROJECTIONS=0, nothing projecting): "
                f"{runs.rate('batch-alone', actuals, 1000).text()}",
                runs.budget("batch", "actual", 1000, goal_rate=20_000),
                "the request path alone's " + runs.budget("batch-alone", "actual", 1000, goal_rate=20_000),
                "the baseline's " + runs.budget("batch-base", "actual", 1000),
            ],
        ),
        Row(
            "HTTP: read attainment, `GET /v1/attainment` team with breakdown=children",
            runs.rate("read", reqs),
            "minimal litestar endpoint, one primary-key SELECT",
            runs.rate("read-base", reqs),
            RATIO,
            [
                f"service {runs.latency('read')}; baseline {runs.latency('read-base')}",
                runs.budget("read", "request", goal_rate=half_of("read-base")),
                "the baseline's " + runs.budget("read-base", "request"),
            ],
        ),
        Row(
            "HTTP: read attainment, p99 latency",
            runs.p99("read"),
            "same, p99",
            runs.p99("read-base"),
            Goal("value", at_most=25),
            [f"{concurrency} clients"],
        ),
    ]
