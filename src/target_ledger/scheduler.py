"""The alert scheduler: judges the rules once each day (in the configured time zone) has begun.

It runs beside the projections, in the API process or the `project` worker; an advisory lock
lets one process at a time do it. The clock is injected, so tests move time instead of waiting.
"""

import asyncio
import contextlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from target_ledger.application import Caches, Command, monitoring
from target_ledger.config import Settings
from target_ledger.database import Outage, keep_running
from target_ledger.domain.access import Principal
from target_ledger.domain.attainment import Thresholds
from target_ledger.domain.calendar import Calendar
from target_ledger.eventstore import EventStore

LOCK = zlib.crc32(b"scheduler:alerts")


@dataclass
class Scheduler:
    command: Command  # the scheduler's own: actor "scheduler", the service's clock and caches
    timezone: str = "UTC"
    interval: float = 60.0
    evaluated: date | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def today(self) -> date:
        return self.command.clock().astimezone(ZoneInfo(self.timezone)).date()

    async def run_due(self) -> int | None:
        """Judge the rules if the day changed since the last look; the position of any alert events."""
        async with self._lock:  # the loop and a caller (a test, an operator) never judge at once
            today = self.today()
            if today == self.evaluated:
                return None
            cmd = replace(self.command, request_id=f"scheduler:{today}")
            position = await monitoring.evaluate(cmd, today)
            self.evaluated = today
            return position

    async def run(self) -> None:
        """Forever: wait for the lock, then look at the clock every `interval` seconds. The
        lock lives as long as its session, so when a database restart ends the session, the
        scheduler waits for the lock again; each episode of trouble is logged once."""
        await keep_running("the alert scheduler", self._look_while_locked)

    async def _look_while_locked(self, outage: Outage) -> None:
        async with self.command.store.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", LOCK)
            try:
                while True:
                    # Still the session holding the lock? If it ended, another process may judge.
                    await conn.execute("SELECT 1")
                    try:
                        await self.run_due()
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
        actor=Principal("scheduler", "admin"),
        request_id="scheduler",
        calendar=Calendar(settings.fiscal_year_start),
        thresholds=Thresholds(settings.pace_on_track, settings.pace_at_risk),
        caches=caches or Caches(),
    )
    return Scheduler(command, timezone=settings.timezone, interval=settings.scheduler_interval)
