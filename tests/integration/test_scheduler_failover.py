"""The alert scheduler across failures: a takeover judges only whole read models, a restart
repeats nothing, new data is judged the same day, and LISTEN comes back after a restart."""

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest

from projections.runner import PROJECTIONS, supervise, tracked
from target_ledger import scheduler
from target_ledger.api.auth import issue_token
from target_ledger.config import Settings
from target_ledger.database import create_pool
from target_ledger.domain.actual import Actual
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore, subscription
from target_ledger.eventstore.subscription import Notifier, listening
from tests.api.feed_support import ADMIN, INTEGRATION, build_east, team_target
from tests.api.live import live_api, until
from tests.conftest import with_database
from tests.integration.faults_support import end_sessions, scheduler_locked
from tests.integration.faults_support import listening as listener_open
from tests.support import META

# Judged on Monday 3 August 2026: the weeks ended are W31 (27 July to 2 August), W30, ...
JUDGED_ON = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)
PEOPLE = [f"rep-{i:02}" for i in range(30)]
BEHIND = PEOPLE[:3]  # 5 a day of their 10: every weekly rule and pace breach
SPLIT = 10  # each day's figure arrives as this many actuals: a log long enough to fall behind on
FIRST_PART_ENDS = date(2026, 7, 19)  # the log at takeover: targets, and actuals up to here


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _targets() -> list[Any]:
    events = []
    for person in PEOPLE:
        target = Target.set(
            node=person,
            metric="revenue",
            period="2026-Q3",
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 9, 30),
            value=Decimal(920),  # 10 a day
            at=JUDGED_ON,
        )
        events += target.collect_events()
    return events


def _actuals(first: date, last: date, split: int = SPLIT) -> list[Any]:
    """Every person's actuals for those days, each day's in `split` parts: 12 a day (ahead),
    5 for those behind."""
    events, day = [], first
    while day <= last:
        for person in PEOPLE:
            daily = Decimal(5 if person in BEHIND else 12)
            for part in range(split):
                actual = Actual.record(
                    person=person,
                    metric="revenue",
                    occurred_on=day,
                    value=daily / split,
                    source="import",
                    external_ref=f"{person}-{day}-{part}",
                    at=JUDGED_ON,
                )
                events += actual.collect_events()
        day += timedelta(days=1)
    return events


async def _append(store: EventStore, events: list[Any], batch: int = 2000) -> int:
    last = 0
    for start in range(0, len(events), batch):
        last = (await store.append(events[start : start + batch], META)).last
    return last


@dataclass
class Worker:
    """A `project` worker in this process: its projections and its alert scheduler, on pools
    of its own (sessions named after it), as a separate process would run them."""

    name: str
    store: EventStore
    scheduler: scheduler.Scheduler
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def die(self, admin: asyncpg.Connection) -> None:
        """Gone, as a killed process is: its work stops mid-way and its sessions end (its
        locks with them)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.wait(self.tasks, timeout=5)
        await admin.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name LIKE $1""",
            f"{self.name}%",
        )
        await self.stop()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.stack.aclose()


@contextlib.asynccontextmanager
async def worker(
    db_url: str, settings: Settings, name: str, clock: Clock, *, judging: bool = True
) -> AsyncIterator[Worker]:
    stack = contextlib.AsyncExitStack()
    pool = await create_pool(db_url, settings, name)
    stack.callback(pool.terminate)
    read_models = await create_pool(db_url, settings, f"{name}-projections", durable=False, size=2 * len(PROJECTIONS))
    stack.callback(read_models.terminate)
    store = EventStore(pool)
    notifier = Notifier(pool)
    store.on_append.append(notifier.appended)
    await stack.enter_async_context(listening(db_url, settings, notifier.listen))
    found = Worker(name, store, scheduler.for_service(store, settings, clock), stack)
    found.tasks = [asyncio.create_task(supervise(read_models, store, notifier, p)) for p in PROJECTIONS]
    if judging:
        found.tasks.append(asyncio.create_task(found.scheduler.run()))
    try:
        yield found
    finally:
        await found.stop()


@pytest.fixture
async def admin(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url)
    yield conn
    await conn.close()


@pytest.fixture
async def second_db(server_url: str, template_db: str) -> AsyncIterator[str]:
    """Another freshly migrated database, for a run to compare with."""
    name = f"tl_reference_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield with_database(server_url, name)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def _head(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))


async def _models_at(conn: asyncpg.Connection | asyncpg.Pool, position: int) -> bool:
    """Whether every projection has applied the log up to `position`."""
    positions = [(await tracked(conn, p.NAME)).position for p in PROJECTIONS]
    return min(positions) >= position


async def _all_applied(conn: asyncpg.Connection | asyncpg.Pool) -> bool:
    return await _models_at(conn, await _head(conn))


async def _alerts(conn: asyncpg.Connection | asyncpg.Pool) -> set[tuple[str, str, str]]:
    """Every alert ever raised (rule, subject, status now), from the read model."""
    return {
        (r["rule"], r["subject"], r["status"]) for r in await conn.fetch("SELECT rule, subject, status FROM alerts")
    }


async def _judged(conn: asyncpg.Connection | asyncpg.Pool) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM scheduler_looks WHERE scheduler = 'alerts'")


async def _judged_through(conn: asyncpg.Connection | asyncpg.Pool, position: int) -> bool:
    judged = await _judged(conn)
    return judged is not None and judged["judged_through"] >= position


async def _single_process_alerts(db_url: str, settings: Settings, events: list[Any]) -> set[tuple[str, str, str]]:
    """What one worker that never dies raises over the whole log."""
    async with worker(db_url, settings, "reference", Clock(JUDGED_ON), judging=False) as only:
        head = await _append(only.store, events)
        await until(lambda: _models_at(only.store.pool, head), "the reference read models", limit=120)
        await only.scheduler.run_due()
        await until(lambda: _all_applied(only.store.pool), "the reference alerts", limit=60)
        return await _alerts(only.store.pool)


async def test_a_standby_taking_over_behind_the_log_raises_only_what_one_process_would(
    settings, db_url, second_db, admin, pool
) -> None:
    settings = msgspec.structs.replace(settings, scheduler_interval=0.1)
    targets, actuals = _targets(), _actuals(date(2026, 7, 1), date(2026, 8, 2))
    # One more actual, from a request that began before the import and commits after it: the
    # newest position, but first in the order the projections apply events.
    late = Actual.record(
        person=PEOPLE[-1],
        metric="revenue",
        occurred_on=date(2026, 8, 2),
        value=Decimal(1),
        source="crm",
        external_ref="late",
        at=JUDGED_ON,
    ).collect_events()
    clock = Clock(datetime(2026, 7, 1, 6, tzinfo=UTC))  # the targets' first day: nothing to judge yet
    async with worker(db_url, settings, "worker-a", clock) as active:
        # The active worker holds every lock; the standby waits for them.
        await until(lambda: scheduler_locked(admin), "the active worker's scheduler to take its lock")
        async with worker(db_url, settings, "worker-b", clock):
            head = await _append(active.store, targets)
            await until(lambda: _models_at(admin, head), "the targets in the read models")
            await until(lambda: _judged_through(admin, head), "the day's judgement")
            async with pool.acquire() as request, contextlib.AsyncExitStack() as blocked:
                began = request.transaction()
                await began.start()
                await request.fetchval("SELECT pg_current_xact_id()")  # it began: its transaction id is taken
                # Many events: an import.
                imported = await _append(active.store, actuals)
                clock.now = JUDGED_ON
                # The read models are held back (reads go on, writes wait) ...
                blocker = await blocked.enter_async_context(pool.acquire())
                await blocked.enter_async_context(blocker.transaction())
                await blocker.execute("LOCK TABLE attainment_daily IN EXCLUSIVE MODE")
                await EventStore(pool).append(late, META, conn=request)
                await began.commit()
                # ... when the active worker dies, its read models holding only the targets.
                await active.die(admin)
                assert await admin.fetchval("SELECT count(*) FROM attainment_actuals") == 0, (
                    "not behind at the takeover"
                )
                # The standby's scheduler takes over at once, and looks every 0.1 s.
                await until(lambda: scheduler_locked(admin), "the standby's scheduler to take over")
                await asyncio.sleep(0.5)  # several looks while its attainment model is still held back
            # It judges once its read models have applied the whole log, not before.
            await until(lambda: _judged_through(admin, imported), "the standby to judge the whole log", limit=180)
            await until(lambda: _all_applied(admin), "the alerts read model", limit=60)
            after_failover = await _alerts(admin)
    reference = await _single_process_alerts(second_db, settings, targets + actuals + late)
    assert reference, "the reference run raised nothing: the story judges nothing"
    assert after_failover == reference


async def test_a_restart_repeats_no_judgement_and_new_data_is_judged_at_the_next_look(settings, db_url, admin) -> None:
    clock = Clock(JUDGED_ON)
    async with worker(db_url, settings, "worker", clock, judging=False) as only:
        head = await _append(only.store, _targets() + _actuals(date(2026, 7, 1), date(2026, 8, 2), split=1))
        await until(lambda: _models_at(admin, head), "the read models")
        # The day's judgement raises the alerts of those behind.
        assert await only.scheduler.run_due() is not None
        judged = await _judged(admin)
        assert judged["judged_day"] == JUDGED_ON.date()
        await until(lambda: _all_applied(admin), "the alerts read model")
        raised = await _alerts(admin)
        assert {subject.split("|")[0] for _, subject, status in raised if status == "open"} == set(BEHIND)
        # A restart the same day (a new scheduler, as in a new process), nothing new: no judgement.
        clock.now += timedelta(minutes=5)
        restarted = scheduler.for_service(only.store, settings, clock)
        events = await _head(admin)
        assert await restarted.run_due() is None
        again = await _judged(admin)
        assert (again["judged_day"], again["judged_at"], again["judged_through"]) == (
            judged["judged_day"],
            judged["judged_at"],
            judged["judged_through"],
        )
        assert again["looked_at"] > judged["looked_at"]
        assert await _head(admin) == events
        # A late actual brings one of them back on track: judged at the next look, the same day.
        late = Actual.record(
            person=BEHIND[0],
            metric="revenue",
            occurred_on=date(2026, 8, 1),
            value=Decimal(1000),
            source="crm",
            external_ref="late",
            at=clock.now,
        )
        position = (await only.store.append(late.collect_events(), META)).last
        await until(lambda: _models_at(admin, position), "the read models")
        clock.now += timedelta(minutes=1)
        assert await restarted.run_due() is not None
        await until(lambda: _all_applied(admin), "the alerts read model")
        now = await _alerts(admin)
        assert {s for _, s, status in now if status == "open" and s.startswith(BEHIND[0])} == set()
        assert {s.split("|")[0] for _, s, status in now if status == "open"} == set(BEHIND[1:])
        assert (await _judged(admin))["judged_day"] == JUDGED_ON.date()


async def _keep_recording(store: EventStore, recorded: list[int]) -> None:
    """Steady input, as integrations send it: 20 actuals every 50 ms (about 400 a second at
    most), each batch's position noted, until cancelled."""
    for batch in itertools.count():
        events = []
        for n in range(20):
            actual = Actual.record(
                person=PEOPLE[len(BEHIND) + n],  # those on track: the alerts stay as they are
                metric="revenue",
                occurred_on=date(2026, 8, 2),
                value=Decimal("0.01"),
                source="crm",
                external_ref=f"steady-{batch}-{n}",
                at=JUDGED_ON,
            )
            events += actual.collect_events()
        recorded.append((await store.append(events, META)).last)
        await asyncio.sleep(0.05)


async def test_under_steady_input_every_look_judges(settings, db_url, admin) -> None:
    looks = 6
    clock = Clock(JUDGED_ON)
    async with worker(db_url, settings, "worker", clock, judging=False) as only:
        head = await _append(only.store, _targets() + _actuals(date(2026, 7, 1), date(2026, 8, 2), split=1))
        await until(lambda: _models_at(admin, head), "the read models", limit=120)
        # Actuals keep arriving while the scheduler looks, so its read models are always a
        # little behind the newest event.
        recorded: list[int] = []
        writer = asyncio.create_task(_keep_recording(only.store, recorded))
        judgements, seen = 0, 0

        async def moved_on() -> bool:
            return len(recorded) > seen

        try:
            for _ in range(looks):
                # Something recorded since the last look ended: the log moved on, so it judges.
                await until(moved_on, "the next batch of actuals")
                before = recorded[-1]
                clock.now += timedelta(minutes=1)
                await only.scheduler.run_due()
                seen = len(recorded)
                judged = await _judged(admin)
                if judged["judged_at"] == clock.now:
                    judgements += 1
                    # It judged at least everything recorded before the look began.
                    assert judged["judged_through"] >= before
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
    # Every look judged: none was put off waiting for read models to catch up with a moving head.
    assert judgements == looks


async def test_a_look_whose_read_models_stay_behind_the_head_it_took_judges_nothing(
    settings, db_url, admin, pool
) -> None:
    clock = Clock(JUDGED_ON)
    async with worker(db_url, settings, "worker", clock, judging=False) as only:
        head = await _append(only.store, _targets())
        await until(lambda: _models_at(admin, head), "the targets in the read models")
        async with pool.acquire() as blocker:
            # The attainment read model is held back (a slow catch-up) while actuals arrive.
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE attainment_daily IN EXCLUSIVE MODE")
                imported = await _append(only.store, _actuals(date(2026, 7, 1), date(2026, 8, 2), split=1))
                # The look waits its while, then puts off judging: on targets alone, everyone is behind.
                assert await only.scheduler.run_due() is None
                assert (await _judged(admin))["judged_day"] is None
                assert await _alerts(admin) == set()
            # Caught up, the next look judges the whole log.
            clock.now += timedelta(minutes=1)
            await only.scheduler.run_due()
            assert await _judged_through(admin, imported)


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def auth(settings: Settings) -> Callable[..., dict[str, str]]:
    def headers(subject: str, role: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role)}"}

    return headers


async def test_after_a_restart_notifications_wake_the_service_again(settings, auth, admin, monkeypatch) -> None:
    # Followers never look unbidden: only a notification can bring them another process's events.
    monkeypatch.setattr(subscription, "IDLE_POLL", 3600.0)
    actual = {"person": "rep1", "metric": "revenue", "date": "2026-10-15", "value": "100"}
    query = {"node": "rep1", "metric": "revenue", "period": "2026-Q4"}
    async with live_api(settings, _now, min_position_timeout=20) as api:
        await build_east(api, auth)
        await team_target(api, auth, value="1000", period="2026-Q4")
        # PostgreSQL restarts under the running service: every session of it ends.
        await until(lambda: listener_open(admin), "the listener")
        await end_sessions(admin)
        await until(lambda: listener_open(admin), "the listener to open again")
        async with live_api(settings, _now, run_projections=False, run_webhooks=False) as other:
            for expected in ("100", "200", "300"):
                # Another process records an actual; its NOTIFY wakes this service's projections.
                r = await other.post("/v1/actuals", json=actual | {"value": "100"}, headers=auth(*INTEGRATION))
                assert r.status_code == 201, r.text
                params = {**query, "min_position": r.json()["position"]}
                read = await api.get("/v1/attainment", params=params, headers=auth(*ADMIN))
                assert read.status_code == 200, read.text
                assert read.json()["row"]["actual"] == expected
            monkeypatch.undo()  # the services stop as they always do
