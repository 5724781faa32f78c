"""Follow the log: catch up by (xid, position), then wait for LISTEN/NOTIFY wake-ups."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from target_ledger.eventstore.store import Cursor, EventStore, Recorded

CHANNEL = "target_ledger_events"
IDLE_POLL = 1.0  # seconds: a missed notification costs at most this much latency
PENDING_POLL = 0.005  # seconds: an older transaction is still open, its events come soon


class Notifier:
    """Wakes this process's followers after an append, and other processes by NOTIFY.

    NOTIFY is sent after commit, coalesced to one in flight: a NOTIFY inside the
    appending transaction would serialise every writer's commit on the notify queue lock.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._wakeup = asyncio.Event()
        self._sending: asyncio.Task[None] | None = None
        self._again = False

    def waiter(self) -> asyncio.Event:
        """Take before reading, await after: a wake-up in between is not lost."""
        return self._wakeup

    def wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def appended(self) -> None:
        self.wake()
        if self._sending is None or self._sending.done():
            self._sending = asyncio.get_running_loop().create_task(self._send())
        else:
            self._again = True

    async def _send(self) -> None:
        while True:
            self._again = False
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                await self.pool.execute("SELECT pg_notify($1, '')", CHANNEL)
            if not self._again:
                return

    async def listen(self, conn: asyncpg.Connection) -> None:
        """Wake on other processes' appends; conn stays the caller's to close."""
        await conn.add_listener(CHANNEL, lambda *_: self.wake())

    async def close(self) -> None:
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)


async def wake_or_timeout(waiter: asyncio.Event, seconds: float) -> bool:
    """Wait for a wake-up, at most `seconds`; say whether it came. (asyncio.timeout, not
    wait_for: on Python 3.11 wait_for can swallow a cancellation that races the wake-up.)"""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await waiter.wait()
            return True
    return False


async def follow(
    store: EventStore,
    notifier: Notifier,
    after: Cursor,
    *,
    batch_size: int = 500,
) -> AsyncIterator[list[Recorded]]:
    """Yield batches of events after `after`, in order, each exactly once, forever; an
    empty batch now and then while idle lets the consumer look around."""
    cursor = after
    while True:
        waiter = notifier.waiter()
        batch = await store.read_after(cursor, batch_size)
        if batch:
            cursor = batch[-1].cursor
            yield batch
            if len(batch) == batch_size:
                continue
        if await store.has_pending(cursor):
            await wake_or_timeout(waiter, PENDING_POLL)
        elif not await wake_or_timeout(waiter, IDLE_POLL):
            yield []
