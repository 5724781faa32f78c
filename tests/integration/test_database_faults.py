"""PostgreSQL goes away (cut, restarted, out of connection slots): 503 meanwhile, then everything resumes by itself."""

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from projections.runner import PROJECTIONS
from target_ledger.api.auth import issue_token
from target_ledger.config import Settings
from tests.api.feed_support import ADMIN, INTEGRATION, build_east, events, team_target
from tests.api.live import Receiver, live_api, serving, sse_events, until
from tests.integration.faults_support import (
    Proxy,
    Records,
    end_sessions,
    listening,
    scheduler_locked,
    waiting_for_locks,
)

# The service as these stories run it: it looks at the clock often (so its scheduler must take
# its lock again soon after a fault), delivers webhooks fast, and lets a read wait long enough
# for the projections to come back by themselves.
QUICK = {
    "scheduler_interval": 0.2,
    "webhook_backoff": 0.05,
    "webhook_backoff_max": 0.2,
    "webhook_poll": 0.1,
    "min_position_timeout": 20,
}
FAILED = "failed; trying again until it works"
ATTAINMENT = {"node": "rep1", "metric": "revenue", "period": "2026-Q4"}


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def auth(settings: Settings):
    def headers(subject: str, role: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role)}"}

    return headers


@pytest.fixture
def logged() -> Iterator[Records]:
    logger, handler = logging.getLogger("target_ledger"), Records()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[Proxy]:
    proxy = Proxy(db_url)
    await proxy.restore()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def admin(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser session of the test's own, beside the service's."""
    conn = await asyncpg.connect(db_url)
    yield conn
    await conn.close()


async def _ledger(api: httpx.AsyncClient, auth) -> int:
    """east-1's Q4 target split between rep1 and rep2, and rep1's first actual; its position."""
    await build_east(api, auth)
    await team_target(api, auth, value="1000", period="2026-Q4")
    return await _record(api, auth, "100")


def _actual(value: str) -> dict[str, str]:
    return {"person": "rep1", "metric": "revenue", "date": "2026-10-15", "value": value}


async def _record(api: httpx.AsyncClient, auth, value: str) -> int:
    r = await api.post("/v1/actuals", json=_actual(value), headers=auth(*INTEGRATION))
    assert r.status_code == 201, r.text
    return int(r.json()["position"])


async def _rep1_actual(api: httpx.AsyncClient, auth, position: int) -> str:
    r = await api.get("/v1/attainment", params={**ATTAINMENT, "min_position": position}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return str(r.json()["row"]["actual"])


def _unavailable(r: httpx.Response) -> bool:
    return (
        r.status_code == 503
        and r.headers["content-type"].startswith("application/problem+json")
        and int(r.headers["retry-after"]) > 0
        and r.json()["status"] == 503
    )


async def _both_refused(api: httpx.AsyncClient, auth, position: int) -> None:
    """A command and a read answer 503 problem+json with Retry-After, as does readiness."""
    command = await api.post("/v1/actuals", json=_actual("1"), headers=auth(*INTEGRATION))
    read = await api.get("/v1/attainment", params={**ATTAINMENT, "min_position": position}, headers=auth(*ADMIN))
    ready = await api.get("/health/ready")
    assert _unavailable(command), command.text
    assert _unavailable(read), read.text
    assert _unavailable(ready), ready.text


async def test_while_postgresql_is_unreachable_requests_get_503_and_the_service_resumes_by_itself(
    settings, auth, proxy, logged
) -> None:
    async with live_api(settings, _now, database_url=proxy.url, **QUICK) as api:
        first = await _ledger(api, auth)
        assert await _rep1_actual(api, auth, first) == "100"
        # The network between the service and PostgreSQL is cut.
        await proxy.cut()
        await _both_refused(api, auth, first)
        await until(lambda: _said(logged, PARTS, FAILED), "every part to notice")
        # Meanwhile another process records an actual: its NOTIFY reaches nobody here.
        async with live_api(settings, _now, run_projections=False, run_webhooks=False) as other:
            elsewhere = await _record(other, auth, "50")
        # PostgreSQL is reachable again: a command succeeds at once.
        await proxy.restore()
        last = await _record(api, auth, "25")
        # A read waiting for it sees every actual, the other process's too: the projections
        # came back and caught up by themselves, missing nothing.
        assert elsewhere < last
        assert await _rep1_actual(api, auth, last) == "175"
        # Every background part said once that it failed, and then that it works again.
        await until(lambda: _said(logged, PARTS, "works again after"), "every part to say it works again")
        failed = [m for m in logged.messages() if m.endswith(FAILED)]
        assert len(failed) == len(set(failed)), failed
        assert not logged.messages(logging.ERROR)


async def test_a_read_only_database_refuses_commands_with_503_and_still_serves_reads(
    settings, auth, admin, db_url, logged
) -> None:
    database = urlsplit(db_url).path.lstrip("/")
    async with live_api(settings, _now, **QUICK) as api:
        first = await _ledger(api, auth)
        assert await _rep1_actual(api, auth, first) == "100"
        # PostgreSQL turns read-only (a standby after a failover, maintenance) and sessions start anew.
        await admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        await end_sessions(admin)
        # A command answers 503 with Retry-After (at first perhaps for the session that just
        # ended, then for the read-only one); a read still answers.
        await until(lambda: _refused_for(api, auth, logged, "ReadOnlySQLTransactionError"), "a read-only refusal")
        assert await _rep1_actual(api, auth, first) == "100"
        # Writable again: commands succeed, and the projections, which could not write either, caught up.
        await admin.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        await end_sessions(admin)
        last = await _record_once_back(api, auth, "25")
        assert await _rep1_actual(api, auth, last) == "125"


async def _refused_for(api: httpx.AsyncClient, auth, logged: Records, error: str) -> bool:
    """A command answers 503 with Retry-After; say whether the service logged `error` as the cause."""
    command = await api.post("/v1/actuals", json=_actual("1"), headers=auth(*INTEGRATION))
    assert _unavailable(command), command.text
    return f": {error}: " in logged.messages(logging.WARNING)[-1]


async def _record_once_back(api: httpx.AsyncClient, auth, value: str) -> int:
    """Record an actual as a client does that follows Retry-After: answers in the meantime
    are 503 (a session that ended a moment ago may still be handed out once)."""
    answers: list[httpx.Response] = []

    async def recorded() -> bool:
        answers.append(await api.post("/v1/actuals", json=_actual(value), headers=auth(*INTEGRATION)))
        assert answers[-1].status_code == 201 or _unavailable(answers[-1]), answers[-1].text
        return answers[-1].status_code == 201

    await until(recorded, "a command to succeed")
    return int(answers[-1].json()["position"])


async def test_an_event_stream_stays_open_through_an_outage_and_carries_on_after_it(settings, auth, proxy) -> None:
    # The scheduler looks once, at the start: no alert it raises on the new data joins the stream.
    quiet = {**QUICK, "scheduler_interval": 3600}
    async with live_api(settings, _now, database_url=proxy.url, sse_heartbeat=0.2, **quiet) as api:
        first = await _ledger(api, auth)
        after = (await events(api, auth, first))[-1]["sequence"]
        async with api.stream("GET", "/v1/feed/stream", params={"after": after}, headers=auth(*INTEGRATION)) as r:
            stream = sse_events(r)
            assert await anext(stream) == (None, None)
            # PostgreSQL is out of reach for a while: the stream goes on beating...
            await proxy.cut()
            for _ in range(5):
                assert await anext(stream) == (None, None)
            # ... and once it is back, a new actual's events arrive on the same stream.
            await proxy.restore()
            last = await _record(api, auth, "25")
            _, data = await anext(stream)
            while data is None:
                _, data = await anext(stream)
            event = json.loads(data)
            assert (event["type"], event["ledgerposition"]) == ("attainment.updated.v1", last)


PARTS = [f"projection {p.NAME}" for p in PROJECTIONS] + [
    "listening for notifications",
    "the alert scheduler",
    "webhook delivery",
]


async def _said(logged: Records, parts: list[str], words: str) -> bool:
    """Whether every part logged a message with these words."""
    said = {m.partition(f" {words}")[0] for m in logged.messages() if f" {words}" in m}
    return set(parts) <= said


async def test_a_restart_ending_every_session_mid_request_answers_503_and_every_background_part_resumes(
    settings, auth, admin
) -> None:
    async with live_api(settings, _now, **QUICK) as api:
        first = await _ledger(api, auth)
        receiver = Receiver()
        async with serving(receiver) as url:
            body = {"url": url, "after": 0}
            assert (await api.post("/v1/webhooks", json=body, headers=auth(*INTEGRATION))).status_code == 201
            await until(lambda: scheduler_locked(admin), "the scheduler to take its lock")
            # An administrator holds the event table, so that requests wait inside PostgreSQL...
            async with admin.transaction():
                await admin.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                command = asyncio.create_task(api.post("/v1/actuals", json=_actual("1"), headers=auth(*INTEGRATION)))
                params = {**ATTAINMENT, "min_position": first}
                read = asyncio.create_task(api.get("/v1/attainment", params=params, headers=auth(*ADMIN)))
                await until(lambda: waiting_for_locks(admin), "both requests to wait for the table")
                # ... when PostgreSQL restarts: every session of the service ends.
                await admin.execute(
                    """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()"""
                )
                assert _unavailable(await command), (await command).text
                assert _unavailable(await read), (await read).text
            # Then a command succeeds, and a read waiting for it shows the new figure.
            last = await _record_once_back(api, auth, "25")
            assert await _rep1_actual(api, auth, last) == "125"
            # The listener, the scheduler's lock and webhook delivery came back without a restart.
            await until(lambda: listening(admin), "the listener to reconnect")
            await until(lambda: scheduler_locked(admin), "the scheduler to take its lock again")
            feed = await events(api, auth, last)
            await until(lambda: _delivered(receiver, feed), "the webhook to deliver every event")


async def test_a_read_waiting_for_its_model_behind_a_lock_on_the_log_answers_503_when_its_wait_ends(
    settings, auth, admin
) -> None:
    async with live_api(settings, _now, **{**QUICK, "min_position_timeout": 1}) as api:
        first = await _ledger(api, auth)
        # An administrator holds the event table (as a migration or a careless operator would)...
        async with admin.transaction():
            await admin.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            # ...while a read waits for a position the log has not reached: its look at the log waits too.
            params = {**ATTAINMENT, "min_position": first + 1}
            read = await asyncio.wait_for(api.get("/v1/attainment", params=params, headers=auth(*ADMIN)), 15)
        # Its wait is bounded all the same: a 503 with Retry-After, not a request held as long as the lock.
        assert _unavailable(read), read.text


async def test_a_statement_cancelled_inside_postgresql_answers_503_not_500(settings, auth, admin) -> None:
    async with live_api(settings, _now, **QUICK) as api:
        first = await _ledger(api, auth)
        # An administrator holds the event table, so that a command waits inside PostgreSQL...
        async with admin.transaction():
            await admin.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            command = asyncio.create_task(api.post("/v1/actuals", json=_actual("1"), headers=auth(*INTEGRATION)))
            await until(lambda: waiting_for_locks(admin), "the command to wait for the table")
            # ... and cancels what waits (as statement_timeout or an operator would).
            await admin.execute(
                """SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"""
            )
            assert _unavailable(await command), (await command).text
        # Then the same command, sent again, is stored.
        last = await _record_once_back(api, auth, "1")
        assert last > first


async def _delivered(receiver: Receiver, feed: list[dict]) -> bool:
    return {e["id"] for e in feed} <= {json.loads(body)["id"] for _, body in receiver.delivered()}


@pytest.fixture
async def limited(settings, db_url: str, admin: asyncpg.Connection) -> AsyncIterator[tuple[str, str]]:
    """A login role of the service's own (so that a connection limit applies: superusers
    have none), its name and a URL that logs in as it."""
    name = f"tl_slots_{os.getpid()}"
    await admin.execute(f"DROP ROLE IF EXISTS {name}")
    await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'slots' IN ROLE {settings.db_role}")
    # Migrations run at start-up; with nothing to apply they only read and lock yoyo's tables.
    await admin.execute(f"GRANT ALL ON _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock TO {name}")
    parts = urlsplit(db_url)
    netloc = f"{name}:slots@{parts.netloc.rpartition('@')[2]}"
    yield name, urlunsplit(parts._replace(netloc=netloc))
    await admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")
    await admin.execute(f"DROP OWNED BY {name}")
    await admin.execute(f"DROP ROLE {name}")


async def test_out_of_connection_slots_requests_get_503_until_slots_free_up(
    settings, auth, admin, limited, logged
) -> None:
    role, url = limited
    async with live_api(settings, _now, database_url=url, **QUICK) as api:
        first = await _ledger(api, auth)
        # Someone else takes the role's last free slots...
        squatters = [await asyncpg.connect(url) for _ in range(2)]
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT 2")
        # ... and the service's own sessions end (a restart, a failover): it cannot connect again.
        await end_sessions(admin)
        await until(lambda: _refused_for(api, auth, logged, "TooManyConnectionsError"), "a refusal for want of slots")
        await _both_refused(api, auth, first)
        # The slots free up: the service serves again, and its projections caught up.
        for squatter in squatters:
            await squatter.close()
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
        last = await _record_once_back(api, auth, "25")
        assert await _rep1_actual(api, auth, last) == "125"
