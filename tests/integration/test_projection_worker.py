"""A projection worker killed mid-batch and restarted leaves the read model exact."""

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from projections.runner import tracked
from target_ledger.domain.actual import Actual
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore
from tests.support import META

PEOPLE = [f"rep-{i}" for i in range(20)]
NOW = datetime(2026, 10, 1, tzinfo=UTC)


async def _ledger(store: EventStore, actuals: int) -> dict[str, Decimal]:
    """Q3 targets for every rep and many actuals; returns each rep's Q3 total."""
    rng = random.Random(7)
    events = []
    for person in PEOPLE:
        target = Target.set(
            node=person,
            metric="revenue",
            period="2026-Q3",
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 9, 30),
            value=Decimal(1000),
            at=NOW,
        )
        events += target.collect_events()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for i in range(actuals):
        person, value = rng.choice(PEOPLE), Decimal(rng.randint(1, 10_000)) / 100
        day = date(2026, 6, 25) + timedelta(days=rng.randint(0, 110))  # some fall outside Q3
        actual = Actual.record(
            person=person,
            metric="revenue",
            occurred_on=day,
            value=value,
            source="import",
            external_ref=str(i),
            at=NOW,
        )
        events += actual.collect_events()
        if date(2026, 7, 1) <= day <= date(2026, 9, 30):
            totals[person] += value
    for start in range(0, len(events), 1000):
        await store.append(events[start : start + 1000], META)
    return totals


def _start_worker(db_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "target_ledger.cli", "project"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


async def _worker_mid_transaction(db_url: str) -> bool:
    # pg_stat_activity shows other sessions' transactions to a superuser, not the service role.
    admin = await asyncpg.connect(db_url)
    try:
        return bool(
            await admin.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                WHERE application_name = 'target-ledger-projections' AND xact_start IS NOT NULL
                  AND backend_xid IS NOT NULL"""
            )
        )
    finally:
        await admin.close()


async def test_a_killed_worker_resumes_without_losing_or_repeating(store, pool, db_url, tmp_path) -> None:
    log = tmp_path / "worker.log"
    totals = await _ledger(store, actuals=20_000)
    last = await pool.fetchval("SELECT max(position) FROM events")
    # The worker runs; we kill it while a batch's transaction is open, with work done before it.
    worker = _start_worker(db_url, log)
    try:
        for _ in range(2000):
            position = (await tracked(pool, "attainment")).position
            if 0 < position < last and await _worker_mid_transaction(db_url):
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError(f"never caught the worker mid-batch (at {position} of {last})")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    stopped_at = (await tracked(pool, "attainment")).position
    assert 0 < stopped_at < last
    # What the read model holds matches exactly what its position says it applied.
    applied = await pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'ActualRecorded' AND position <= $1", stopped_at
    )
    assert await pool.fetchval("SELECT count(*) FROM attainment_actuals") == applied
    # Restarted, it finishes, and every total is exact.
    worker = _start_worker(db_url, log)
    try:
        for _ in range(3000):
            if (await tracked(pool, "attainment")).position == last:
                break
            await asyncio.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(10) == 0, log.read_text()
    rows = await pool.fetch(
        """SELECT node, sum(value) AS actual FROM attainment_daily
            WHERE metric = 'revenue' AND day BETWEEN '2026-07-01' AND '2026-09-30' GROUP BY node"""
    )
    assert {r["node"]: r["actual"] for r in rows} == {p: totals[p] for p in PEOPLE}
    assert await pool.fetchval("SELECT count(*) FROM attainment_actuals") == 20_000
