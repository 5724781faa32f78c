"""Rebuilding a read model beside the live one: readers see the old or the new model, never a
partial one; a live worker carries on from the new one; a killed rebuild changes nothing; a
new VERSION is rebuilt when a worker starts; a standby costs one connection; a reader left idle in
a transaction stalls other readers only briefly and the swap waits for it, within a bound."""

import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from click.testing import CliRunner

from projections import attainment, audit, inbox, public_events, targets
from projections import rebuild as rebuilding
from projections.rebuild import BATCH, SwapBlockedError, rebuild
from projections.runner import LOCK_POLL, PROJECTIONS, Locks, _lock_key, read_model_pool, supervise, tracked
from target_ledger.api.auth import issue_token
from target_ledger.cli import main
from target_ledger.config import Settings
from target_ledger.domain.actual import Actual
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore
from target_ledger.eventstore.subscription import Notifier
from tests.api.live import live_api, until
from tests.api.support import ask, build_east, team_target
from tests.support import META

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
NOW = datetime(2026, 10, 1, tzinfo=UTC)


def _auth(settings: Settings):
    def headers(subject: str, role: str | None = None, node: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role, scope_node=node)}"}

    return headers


async def _head(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))


async def _all_caught_up(pool: asyncpg.Pool, projections: list[Any] = PROJECTIONS, limit: float = 60.0) -> None:
    """Wait until every projection has applied the last event."""
    for _ in range(int(limit / 0.05)):
        head = await _head(pool)
        positions = [(await tracked(pool, p.NAME)).position for p in projections]
        if min(positions) >= head:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the projections never caught up")


async def _answers(conn: asyncpg.Connection, team: Any) -> dict[str, Any]:
    """What readers of every read model see of the east-1 team and its target."""
    return {
        "attainment": await attainment.fetch_actual_totals(
            conn, node="east-1", metrics=["revenue"], starts_on=Q3[0], ends_on=Q3[1], scope={}
        ),
        "plan": await attainment.fetch_plan(conn, node="east-1", metric="revenue", period="2026-Q3", scope={}),
        "tree": await targets.fetch_tree(conn, team),
        "audit": await audit.fetch_history(conn, team),
        "inbox": await inbox.fetch_requests(conn, None),
        "feed": (await public_events.fetch_page(conn, after=0, limit=10_000, types=None, nodes=["east-1"]))[0],
        "actions": await conn.fetchval("SELECT count(*) FROM corrective_actions"),
        "alerts": await conn.fetchval("SELECT count(*) FROM alerts"),
        "reviews": await conn.fetchval("SELECT count(*) FROM reviews"),
    }


async def _oids(pool: asyncpg.Pool) -> list[int]:
    """The read model tables in public, by identity (a swapped-in table is another one)."""
    tables = [f"public.{t}" for p in PROJECTIONS for t in p.TABLES]
    return list(await pool.fetchval("SELECT array_agg(t::regclass::oid) FROM unnest($1::text[]) AS t", tables))


async def _shape(pool: asyncpg.Pool) -> list[Any]:
    """Every read model table's indexes (name and definition) and privileges."""
    tables = [t for p in PROJECTIONS for t in p.TABLES]
    indexes = await pool.fetch(
        """SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename = ANY($1::text[]) ORDER BY 1, 2""",
        tables,
    )
    grants = await pool.fetch(
        """SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants
            WHERE table_schema = 'public' AND table_name = ANY($1::text[]) ORDER BY 1, 2, 3""",
        tables,
    )
    assert len(indexes) > len(tables) and {g["grantee"] for g in grants} >= {"target_ledger_app"}
    return [*map(tuple, indexes), *map(tuple, grants)]


@contextlib.asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The API on a real port (in this event loop: a test client would block it while a
    request waits for a swap's lock) with its projections running in-process, and east-1's
    team target (split between rep1 and rep2, with one actual and an adjustment asked for)."""
    auth = _auth(settings)
    async with live_api(settings, lambda: datetime.now(UTC)) as client:
        await build_east(client, auth)
        team = await team_target(client, auth)
        await ask(client, auth, team["id"], new_value="900")
        body = {"person": "rep1", "metric": "revenue", "date": "2026-07-15", "value": "250"}
        assert (await client.post("/v1/actuals", json=body, headers=auth("crm", "integration"))).status_code == 201
        yield client, team["id"]


async def test_readers_see_the_old_or_the_new_model_while_every_projection_is_rebuilt(settings, pool, store) -> None:
    async with _service(settings) as (client, team):
        await _all_caught_up(pool)
        async with pool.acquire() as conn:
            before = await _answers(conn, team)
        assert before["attainment"] == {"revenue": Decimal(250)} and before["feed"] and before["audit"]
        seen: list[dict[str, Any]] = []
        rebuilt = asyncio.Event()

        async def poll() -> None:
            async with pool.acquire() as conn:
                while not rebuilt.is_set():
                    seen.append(await _answers(conn, team))

        async def append_elsewhere() -> None:
            # Meanwhile actuals keep coming (for east-2: nothing the reader looks at).
            body = {"person": "lead2", "metric": "orders", "date": "2026-07-02", "value": "1"}
            while not rebuilt.is_set():
                r = await client.post("/v1/actuals", json=body, headers=_auth(settings)("crm", "integration"))
                assert r.status_code == 201, r.text

        shape, live = await _shape(pool), await _oids(pool)
        reader, writer = asyncio.create_task(poll()), asyncio.create_task(append_elsewhere())
        try:
            # Every projection rebuilt beside the live one and swapped in, one after another.
            async with pool.acquire() as conn:
                for projection in PROJECTIONS:
                    await rebuild(conn, store, projection)
        finally:
            rebuilt.set()
            await asyncio.gather(reader, writer)
        # Every answer a reader got was the complete model's.
        assert len(seen) > len(PROJECTIONS)
        assert [a for a in seen if a != before] == []
        # The live worker carried on from the new tables: the writes made meanwhile and a new
        # actual of the team all reached them.
        assert set(await _oids(pool)).isdisjoint(live)
        await _all_caught_up(pool)
        body = {"person": "rep2", "metric": "revenue", "date": "2026-07-16", "value": "100"}
        assert (
            await client.post("/v1/actuals", json=body, headers=_auth(settings)("crm", "integration"))
        ).status_code == 201
        await _all_caught_up(pool)
        async with pool.acquire() as conn:
            after = await _answers(conn, team)
        assert after["attainment"] == {"revenue": Decimal(350)}
        orders = await pool.fetchval("SELECT count(*) FROM events WHERE payload ->> 'metric' = 'orders'")
        assert orders > 0
        assert await pool.fetchval(
            "SELECT sum(value) FROM attainment_daily WHERE node = 'east-2' AND metric = 'orders'"
        ) == Decimal(orders)
        # The new tables have the old ones' indexes, by name, and the service role's grants.
        assert await _shape(pool) == shape
        # No shadow left behind, no progress row either.
        assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'") == 0
        assert await pool.fetchval("SELECT count(*) FROM projection_rebuilds") == 0


async def _ledger(store: EventStore, actuals: int) -> None:
    """Q3 revenue targets for 20 reps and many actuals, in appends of 1,000."""
    rng, people = random.Random(7), [f"rep-{i}" for i in range(20)]
    events = []
    for person in people:
        target = Target.set(
            node=person, metric="revenue", period="2026-Q3", starts_on=Q3[0], ends_on=Q3[1], value=Decimal(1000), at=NOW
        )
        events += target.collect_events()
    for i in range(actuals):
        actual = Actual.record(
            person=rng.choice(people),
            metric="revenue",
            occurred_on=Q3[0] + timedelta(days=rng.randint(0, 91)),
            value=Decimal(rng.randint(1, 10_000)) / 100,
            source="import",
            external_ref=str(i),
            at=NOW,
        )
        events += actual.collect_events()
    for start in range(0, len(events), 1000):
        await store.append(events[start : start + 1000], META)


async def _totals(pool: asyncpg.Pool) -> dict[str, Decimal]:
    rows = await pool.fetch("SELECT node, sum(value) AS total FROM attainment_daily GROUP BY node")
    return {r["node"]: r["total"] for r in rows}


@contextlib.asynccontextmanager
async def _projecting(settings: Settings, store: EventStore, projections: list[Any]) -> AsyncIterator[None]:
    """A worker in this process running these projections, as `target-ledger project` does."""
    assert settings.database_url is not None
    read_models = await read_model_pool(settings.database_url, settings)
    locks, notifier = Locks(read_models), Notifier(store.pool)
    tasks = [asyncio.create_task(supervise(read_models, store, notifier, p, locks=locks)) for p in projections]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await read_models.close()


async def test_a_killed_rebuild_leaves_the_live_model_as_it_was_and_the_next_one_succeeds(
    settings, pool, store
) -> None:
    await _ledger(store, 3 * BATCH)
    async with _projecting(settings, store, [attainment]):
        await _all_caught_up(pool, [attainment])
    before, at = await _totals(pool), await tracked(pool, attainment.NAME)
    # A rebuild killed after its second batch; meanwhile its progress is there for /metrics.
    progress: list[tuple[int, int]] = []

    async def watch() -> None:
        async with pool.acquire() as watcher:
            while True:
                row = await watcher.fetchrow("SELECT events_done, events_total FROM projection_rebuilds")
                progress.extend([tuple(row)] if row else [])

    async with pool.acquire() as conn:
        killed: list[asyncio.Task] = []

        def kill(done: int, total: int) -> None:
            if done >= 2 * BATCH:
                killed[0].cancel()

        watching = asyncio.create_task(watch())
        killed.append(asyncio.create_task(rebuild(conn, store, attainment, kill)))
        with pytest.raises(asyncio.CancelledError):
            await killed[0]
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    events = await pool.fetchval("SELECT count(*) FROM events")
    assert progress and {total for _, total in progress} == {events}
    assert await pool.fetchval("SELECT count(*) FROM projection_rebuilds") == 0
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = 'rebuild_attainment'") == 1
    # The live model is as it was: the same figures, at the same position.
    assert await _totals(pool) == before and await tracked(pool, attainment.NAME) == at
    # The next rebuild (the command) drops what the killed one left and swaps its model in.
    env = {"DATABASE_URL": settings.database_url}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["rebuild", "attainment"], env=env)
    assert result.exit_code == 0, result.output
    assert f"attainment: rebuilt from {events:,} events and swapped in at position {at.position}" in result.output
    assert await _totals(pool) == before and await tracked(pool, attainment.NAME) == at
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'") == 0


async def test_a_new_version_of_a_projection_is_rebuilt_when_its_worker_starts(
    settings, pool, store, monkeypatch
) -> None:
    # On a fresh ledger a new version has nothing to rebuild: the worker just marks it.
    monkeypatch.setattr(inbox, "VERSION", 2)
    async with _projecting(settings, store, [inbox]):
        await until(lambda: _version_is(pool, inbox, 2), "the empty inbox marked as version 2")
    await _ledger(store, 1000)
    async with _projecting(settings, store, [attainment]):
        await _all_caught_up(pool, [attainment])
    right = await _totals(pool)
    # Say this version of the handlers lost every figure; the next one counts them right.
    await pool.execute("UPDATE attainment_daily SET value = 0")
    old = await _totals(pool)
    upgraded = attainment.VERSION + 1
    monkeypatch.setattr(attainment, "VERSION", upgraded)
    # The upgraded worker rebuilds it; readers meanwhile see the old model, then the new one.
    seen: list[dict[str, Decimal]] = []

    async def poll() -> None:
        while True:
            seen.append(await _totals(pool))

    reader = asyncio.create_task(poll())
    async with _projecting(settings, store, [attainment]):
        await until(lambda: _version_is(pool, attainment, upgraded), "the attainment model rebuilt, upgraded")
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    assert await _totals(pool) == right
    assert seen and [t for t in seen if t not in (old, right)] == []


async def _version_is(pool: asyncpg.Pool, projection: Any, version: int) -> bool:
    found = await pool.fetchval("SELECT version FROM projection_tracking WHERE name = $1", projection.NAME)
    return bool(found == version)


async def test_one_session_holds_a_process_locks_and_another_process_takes_them_all_when_it_ends(
    settings, db_url
) -> None:
    names = [p.NAME for p in PROJECTIONS]
    first, second = await read_model_pool(db_url, settings), await read_model_pool(db_url, settings)
    admin = await asyncpg.connect(db_url)  # a superuser: sees every session's locks
    try:
        active, standby = Locks(first), Locks(second)
        await asyncio.gather(*(active.hold(n) for n in names))
        waiting = [asyncio.create_task(standby.hold(n)) for n in names]
        done, _ = await asyncio.wait(waiting, timeout=3 * LOCK_POLL)
        assert not done  # the standby looked, and got none
        # Every lock on one session.
        holders = await admin.fetch("SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert len(holders) == 1
        # That process dies (its session ends): the standby takes every projection it held.
        await admin.execute("SELECT pg_terminate_backend($1)", holders[0]["pid"])
        await asyncio.wait_for(asyncio.gather(*waiting), 30)
        assert all(standby.holds(n) for n in names)
        await until(lambda: _none_held(active, names), "the dead session's locks forgotten")
        for name in names:
            await standby.let_go(name)
        assert await admin.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await admin.close()
        await asyncio.wait_for(first.close(), 10)
        await asyncio.wait_for(second.close(), 10)


async def _none_held(locks: Locks, names: list[str]) -> bool:
    return not any(locks.holds(n) for n in names)


def _start_worker(db_url: str, log: Path) -> subprocess.Popen:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "target_ledger.cli", "project"],
            env={**os.environ, "DATABASE_URL": db_url},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


async def _sessions(admin: asyncpg.Connection) -> dict[str, int]:
    """The worker's sessions by application name (the test's own pool is "target-ledger")."""
    rows = await admin.fetch(
        """SELECT application_name AS name, count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'target-ledger-%' GROUP BY 1"""
    )
    return {r["name"]: r["count"] for r in rows}


async def test_a_standby_worker_holds_one_connection_and_an_active_one_stays_in_its_budget(
    settings, pool, store, db_url, tmp_path
) -> None:
    await _ledger(store, 500)
    admin = await asyncpg.connect(db_url)
    # Another process holds every projection's lock: the worker we start is a standby.
    keys = [_lock_key(p.NAME) for p in PROJECTIONS]
    await admin.execute("SELECT pg_advisory_lock(k) FROM unnest($1::bigint[]) AS k", keys)
    worker = _start_worker(db_url, tmp_path / "worker.log")
    try:
        await until(lambda: _has_standby_session(admin), "the standby's session")
        for _ in range(int(3 * LOCK_POLL / 0.1)):  # over a few of its looks at the locks
            assert await _sessions(admin) == {"target-ledger-projections": 1}
            await asyncio.sleep(0.1)
        # The other process lets go: the standby takes every projection and catches up.
        await admin.execute("SELECT pg_advisory_unlock_all()")
        await _all_caught_up(pool)
        active = await _sessions(admin)
        assert active["target-ledger-projections"] <= len(PROJECTIONS) + 1  # the locks' session, a writer each
        assert active["target-ledger-listener"] == 1
        assert active.get("target-ledger-project", 0) <= settings.pool_size  # reads of the log, the scheduler
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(10) == 0, (tmp_path / "worker.log").read_text()
        await admin.close()


async def _has_standby_session(admin: asyncpg.Connection) -> bool:
    # Its locks' session, not the short one before it that checks the ledger's calendar.
    return "target-ledger-projections" in await _sessions(admin)


async def _report_left_open(db_url: str) -> asyncpg.Connection:
    """A reporting session that read an attainment table in a transaction and went idle in it."""
    report = await asyncpg.connect(db_url, server_settings={"application_name": "nightly-report"})
    await report.execute("BEGIN; SELECT count(*) FROM attainment_targets")
    return report


async def _shadows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'"))


async def test_a_reader_idle_in_a_transaction_stalls_other_readers_only_briefly_and_the_swap_waits_for_it(
    pool, store, db_url
) -> None:
    await _ledger(store, 500)
    report = await _report_left_open(db_url)
    # Other readers of that table, unwilling to wait a whole second for its lock.
    reader, admin = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    await reader.execute("SET lock_timeout = '1s'")
    try:
        async with pool.acquire() as conn:
            swap = asyncio.create_task(rebuild(conn, store, attainment))
            try:
                # The swap tries for the live tables' locks again and again (each try a transaction
                # of its own, waiting on a lock); readers meanwhile are never refused.
                tries: set[datetime] = set()
                while len(tries) < 4:
                    assert not swap.done()
                    await reader.fetchval("SELECT count(*) FROM attainment_targets")
                    tries |= {
                        r["xact_start"]
                        for r in await admin.fetch(
                            "SELECT xact_start FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                            conn.get_server_pid(),
                        )
                    }
                # The report ends: the swap goes in, the new model complete.
                await report.execute("ROLLBACK")
                at = await asyncio.wait_for(swap, 60)
            finally:  # a failed test leaves no rebuild running on the pool's connection
                swap.cancel()
                await asyncio.gather(swap, return_exceptions=True)
        assert at.position == await _head(pool) and await tracked(pool, attainment.NAME) == at
        assert sum((await _totals(pool)).values()) == await pool.fetchval(
            "SELECT sum((payload ->> 'value')::numeric) FROM events WHERE type LIKE '%ActualRecorded'"
        )
        assert await _shadows(pool) == 0
    finally:
        for session in (report, reader, admin):
            await session.close()


async def test_a_swap_kept_out_past_its_bound_fails_naming_the_session_and_leaves_no_shadow(
    settings, pool, store, db_url, monkeypatch
) -> None:
    await _ledger(store, 200)
    report = await _report_left_open(db_url)
    held_by = f"pid {report.get_server_pid()} (nightly-report, idle in transaction, in a transaction since "
    try:
        # Given one second, the rebuild gives up: it names the report's session, and drops its shadow.
        async with pool.acquire() as conn:
            with pytest.raises(SwapBlockedError) as refused:
                await rebuild(conn, store, attainment, give_up_after=1.0)
        assert held_by in str(refused.value)
        assert await _shadows(pool) == 0 and await pool.fetchval("SELECT count(*) FROM projection_rebuilds") == 0
        assert await tracked(pool, attainment.NAME) == (0, 0)
        # The command says so in one line and exits 1, no traceback.
        monkeypatch.setattr(rebuilding, "SWAP_GIVE_UP", 1.0)
        env = {"DATABASE_URL": settings.database_url}
        result = await asyncio.to_thread(CliRunner().invoke, main, ["rebuild", "attainment"], env=env)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        said = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(said) == 1 and held_by in said[0] and "Traceback" not in result.output
        assert await _shadows(pool) == 0
    finally:
        await report.close()


async def test_a_workers_upgrade_kept_from_its_swap_keeps_its_shadow_and_names_the_session_in_the_way(
    settings, pool, store, db_url, monkeypatch, caplog
) -> None:
    await _ledger(store, 500)
    async with _projecting(settings, store, [attainment]):
        await _all_caught_up(pool, [attainment])
    report = await _report_left_open(db_url)
    # Upgraded handlers; the operator's bound is short, and the worker names who is in its
    # way every half second (not every minute).
    monkeypatch.setattr(attainment, "VERSION", attainment.VERSION + 1)
    monkeypatch.setattr(rebuilding, "SWAP_GIVE_UP", 0.5)
    monkeypatch.setattr(rebuilding, "BLOCKED_LOG_EVERY", 0.5)
    caplog.set_level(logging.WARNING, logger="projections.rebuild")
    in_the_way = f"pid {report.get_server_pid()} (nightly-report, idle in transaction"

    async def named(times: int) -> bool:
        return sum(in_the_way in r.getMessage() for r in caplog.records) >= times

    try:
        async with _projecting(settings, store, [attainment]):
            # The worker's swap waits for the report, past the operator's bound, naming it.
            await until(lambda: named(1), "the report's session named")
            started = await pool.fetchval("SELECT started_at FROM projection_rebuilds WHERE name = 'attainment'")
            await until(lambda: named(4), "the report's session named again and again")
            # The same rebuild all along: never given up, never begun again from the first event.
            assert await pool.fetchval("SELECT started_at FROM projection_rebuilds") == started
            assert await _shadows(pool) == 1
            # The report ends: the rebuilt model goes in.
            await report.execute("ROLLBACK")
            upgraded = attainment.VERSION
            await until(lambda: _version_is(pool, attainment, upgraded), "the attainment model rebuilt, upgraded")
            await _all_caught_up(pool, [attainment])
        assert await _shadows(pool) == 0
    finally:
        await report.close()
