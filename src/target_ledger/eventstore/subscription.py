"""Follow the log: catch up by (xid, position), then wait for LISTEN/NOTIFY wake-ups."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from target_ledger.config import Settings
from target_ledger.database import Outage, connect, keep_running
from target_ledger.eventstore.store import Cursor, EventStore, Recorded

CHANNEL = "target_ledger_events"
IDLE_POLL = 1.0  # seconds: a missed notification costs at most this much latency
LISTEN_CHECK = 10.0  # seconds: how long a LISTEN session that went silent may go unnoticed
LIVE_GATHER = 0.01  # seconds: after a wake-up, let a few more commits join the batch
PENDING_POLL = 0.005  # seconds: an older transaction is still open, its events come soon


Live = tuple[list[Recorded], bool]  # a batch, and whether events wait beyond the watermark


class SharedReads:
    """One read of the log for every follower of a process asking for the same place.

    The projections of a process follow the log in step, so without this each wake-up
    cost one read per projection and every event was decoded once per projection. Handing
    out a read made earlier is safe: the events after a cursor below the watermark never
    change, so an earlier read is a prefix of a later one. A short read may miss events
    that committed since it began, so a follower takes it only if it began after the last
    wake-up that follower has seen (its `generation`); later events wake it again. A
    follower that looks again without a wake-up (events pending behind an open
    transaction, or idle) starts a new round first, so it reads afresh.
    """

    KEEP = 16  # reads kept: enough for eight projections a few batches apart

    def __init__(self) -> None:
        self._reads: dict[tuple[Cursor, int], tuple[int, asyncio.Future[Live]]] = {}

    async def read(self, store: EventStore, cursor: Cursor, limit: int, generation: int) -> Live:
        key = (cursor, limit)
        if (kept := self._reads.get(key)) is not None:
            began, future = kept
            if began >= generation or (future.done() and _full(future, limit)):
                await asyncio.wait([future])  # the reader's failure is not ours: read anew below
                if not future.cancelled() and future.exception() is None:
                    return future.result()
        future = asyncio.get_running_loop().create_future()
        self._reads[key] = (generation, future)
        while len(self._reads) > self.KEEP:
            del self._reads[next(iter(self._reads))]  # the oldest first
        try:
            live = await store.read_live(cursor, limit)
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: nobody may be waiting for it
            raise
        future.set_result(live)
        return live


def _full(future: asyncio.Future[Live], limit: int) -> bool:
    return not future.cancelled() and future.exception() is None and len(future.result()[0]) == limit


class Notifier:
    """Wakes this process's followers after an append, and other processes by NOTIFY.

    NOTIFY is sent after commit, coalesced to one in flight: a NOTIFY inside the
    appending transaction would serialise every writer's commit on the notify queue lock.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.reads = SharedReads()
        self.generation = 0  # wake-ups so far
        self._wakeup = asyncio.Event()
        self._sending: asyncio.Task[None] | None = None
        self._again = False
        self._reopened = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """Take before reading, await after: a wake-up in between is not lost."""
        return self._wakeup

    def reopened(self) -> asyncio.Event:
        """Set when a LISTEN session opens again: news that the database is back."""
        return self._reopened

    def new_round(self) -> None:
        """Reads made before now are not shared any more (a short one may be stale)."""
        self.generation += 1

    def wake(self) -> None:
        self.generation += 1
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
            # Best effort: without it, other processes find the events at their next poll.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await self.pool.execute("SELECT pg_notify($1, '')", CHANNEL)
            if not self._again:
                return

    async def listen(self, conn: asyncpg.Connection) -> None:
        """Wake on other processes' appends; conn stays the caller's to close. Wakes the
        followers at once too: on a new session, a NOTIFY sent while none listened is lost,
        and only a read from their positions finds the events it announced."""
        await conn.add_listener(CHANNEL, lambda *_: self.wake())
        self.wake()
        self._reopened.set()
        self._reopened = asyncio.Event()

    async def close(self) -> None:
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)


Subscriber = Callable[[asyncpg.Connection], Awaitable[None]]  # LISTENs on a new session


@contextlib.asynccontextmanager
async def listening(url: str, settings: Settings, *subscribers: Subscriber) -> AsyncIterator[None]:
    """Hold a LISTEN session for the subscribers while the block runs, from the moment the
    first one is open (see keep_listening)."""
    opened = asyncio.Event()
    task = asyncio.create_task(keep_listening(url, settings, *subscribers, opened=opened))
    try:
        await opened.wait()
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def keep_listening(
    url: str, settings: Settings, *subscribers: Subscriber, opened: asyncio.Event | None = None
) -> None:
    """Hold one LISTEN session forever. When it ends (a restart, a cut connection), open a
    new one and let every subscriber listen on it again; each wakes its followers then,
    since the notifications sent in between were lost."""

    async def session(outage: Outage) -> None:
        async with connect(url, settings, "target-ledger-listener") as conn:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _: lost.set())
            for subscribe in subscribers:
                await subscribe(conn)
            outage.over()
            if opened is not None:
                opened.set()
            while not await wake_or_timeout(lost, LISTEN_CHECK):
                # A connection cut without a word (no reset) shows only when it is used.
                await conn.execute("SELECT 1", timeout=LISTEN_CHECK)
        raise ConnectionError("the LISTEN session ended")

    await keep_running("listening for notifications", session)


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
        waiter, generation = notifier.waiter(), notifier.generation
        batch, pending = await notifier.reads.read(store, cursor, batch_size, generation)
        if batch:
            cursor = batch[-1].cursor
            yield batch
            if len(batch) == batch_size:
                continue
        woken = await wake_or_timeout(waiter, PENDING_POLL if pending else IDLE_POLL)
        if woken:
            await asyncio.sleep(LIVE_GATHER)
        else:
            notifier.new_round()  # we look again unbidden: no earlier read will do
            if not pending:
                yield []
