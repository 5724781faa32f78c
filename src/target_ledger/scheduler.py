"""The alert scheduler: judges the rules when a day (in the configured time zone) begins and
whenever the log has moved on since its last judgement, looking every `interval` seconds.

It runs beside the projections, in the API process or the `project` worker; an advisory lock
lets one process at a time do it. What it last judged is kept in PostgreSQL (scheduler_looks),
so a restart or another worker taking over neither judges again needlessly nor misses new
data. The clock is injected, so tests move time instead of waiting.
"""

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from target_ledger.application import Caches, Command, ReadModelBehindError, monitoring
from target_ledger.config import Settings
from target_ledger.database import Outage, keep_running
from target_ledger.domain.access import Principal
from target_ledger.domain.attainment import Thresholds
from target_ledger.eventstore import EventStore

log = logging.getLogger(__name__)

LOCK = zlib.crc32(b"scheduler:alerts")
NAME = "alerts"  # its row in scheduler_looks
ACTOR = "scheduler"  # whom its alert events are recorded as

LOOK = """INSERT INTO scheduler_looks AS s (scheduler, looked_at) VALUES ($1, $2)
          ON CONFLICT (scheduler) DO UPDATE SET looked_at = EXCLUDED.looked_at
          RETURNING s.judged_day, s.judged_through"""

# Whether anyone but the scheduler recorded an event the last judgement did not see: one
# ordered after the head it saw (in the projections' order, so that one committed late with
# an earlier position counts too). Its own alert events change nothing it judges on.
MOVED_ON = """SELECT EXISTS (
    SELECT 1 FROM events
     WHERE (xid, position) > (SELECT xid, position FROM events WHERE position = $1)
       AND metadata->>'actor' IS DISTINCT FROM $2)
    OR ($1 = 0 AND EXISTS (SELECT 1 FROM events))"""

JUDGED = """UPDATE scheduler_looks SET judged_day = $2, judged_at = $3, judged_through = $4
             WHERE scheduler = $1"""


@dataclass
class Scheduler:
    command: Command  # the scheduler's own: actor "scheduler", the service's clock and caches
    timezone: str = "UTC"
    interval: float = 60.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def today(self) -> date:
        return self.command.clock().astimezone(ZoneInfo(self.timezone)).date()

    async def run_due(self, conn: asyncpg.Connection | None = None) -> int | None:
        """Judge the rules if the day changed or the log moved on since the last judgement,
        once every read model they consult holds every event recorded before the look
        began (else this look is skipped: the next one tries again). Returns the position
        of any alert events.
        `conn`: a session to look on (the loop's own), else one of the pool's."""
        async with self._lock:  # the loop and a caller (a test, an operator) never judge at once
            today, db = self.today(), conn or self.command.store.pool
            last = await db.fetchrow(LOOK, NAME, self.command.clock())
            if last["judged_day"] == today and not await db.fetchval(MOVED_ON, last["judged_through"], ACTOR):
                return None
            cmd = replace(self.command, request_id=f"scheduler:{today}")
            try:
                judged = await monitoring.evaluate(cmd, today)
            except ReadModelBehindError as behind:
                log.info("the alert scheduler puts off judging: %s", behind)
                return None
            await db.execute(JUDGED, NAME, today, self.command.clock(), judged.head)
            return judged.position

    async def run(self) -> None:
        """Forever: wait for the lock, then look at the clock every `interval` seconds. The
        lock lives as long as its session, so when a database restart ends the session, the
        scheduler waits for the lock again; each episode of trouble is logged once."""
        await keep_running("the alert scheduler", self._look_while_locked)

    async def _look_while_locked(self, outage: Outage) -> None:
        async with self.command.store.pool.acquire() as conn:
            # Its looks, every `interval` seconds, show in pg_stat_activity under a name of their own.
            await conn.execute("SET application_name = 'target-ledger-scheduler'")
            await conn.execute("SELECT pg_advisory_lock($1)", LOCK)
            try:
                while True:
                    # Still the session holding the lock? If it ended, another process may judge.
                    await conn.execute("SELECT 1")
                    try:
                        await self.run_due(conn)
                    except Exception as e:  # a failed look is retried at the next one
                        outage.failed(e)
                    else:
                        outage.over()
                    await asyncio.sleep(self.interval)
            finally:
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", LOCK)


def for_service(
    store: EventStore, settings: Settings, clock: Callable[[], datetime], caches: Caches | None = None
) -> Scheduler:
    """The service's scheduler: it acts as `scheduler`, on the service's calendar and thresholds."""
    ZoneInfo(settings.timezone)  # an unknown TL_TIMEZONE stops the start, not every look later
    command = Command(
        store=store,
        clock=clock,
        actor=Principal(ACTOR, "admin"),
        request_id="scheduler",
        calendar=settings.fiscal_calendar(),
        thresholds=Thresholds(settings.pace_on_track, settings.pace_at_risk),
        caches=caches or Caches(),
    )
    return Scheduler(command, timezone=settings.timezone, interval=settings.scheduler_interval)
