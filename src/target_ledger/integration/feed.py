"""The pull feed and its live form: pages of public events after a cursor, then wake-ups on commit."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from projections.public_emit import CHANNEL
from projections.public_events import fetch_page
from target_ledger.database import unavailable
from target_ledger.domain.access import Principal, check_can_subscribe
from target_ledger.domain.errors import DomainError
from target_ledger.eventstore.subscription import wake_or_timeout
from target_ledger.integration.contract import TYPES

POLL = 1.0  # seconds: a missed notification (another process, a dropped listener) costs at most this

Event = tuple[int, str]  # (sequence, CloudEvent JSON)


@dataclass(frozen=True)
class Filters:
    """What a reader gets: these types (None: all) of events concerning every one of `nodes`."""

    types: list[str] | None = None
    nodes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, reader: Principal, types: str | None, node: str | None) -> "Filters":
        """A reader's filters, with the node scope of their token added: a node outside it
        then matches nothing."""
        check_can_subscribe(reader)
        kinds = [t.strip() for t in types.split(",")] if types else None
        if kinds is not None and not all(kinds):  # `a,,b` or `,`: a malformed list, not "no types"
            raise DomainError(f"{types!r} has an empty type: name event types joined by commas", field="types")
        unknown = [t for t in kinds or [] if t not in TYPES]
        if unknown:
            raise DomainError(f"unknown event type {unknown[0]!r}; known: {', '.join(TYPES)}", field="types")
        return cls(kinds, tuple(n for n in (node, reader.scope_node) if n))


class FeedSignal:
    """Wakes this process's streams and deliveries when new public events commit (the
    projection NOTIFYs in its transaction, so the wake-up comes on commit)."""

    def __init__(self) -> None:
        self._woken = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """Take before reading, await after: a wake-up in between is not lost."""
        return self._woken

    def wake(self) -> None:
        self._woken.set()
        self._woken = asyncio.Event()

    async def listen(self, conn: asyncpg.Connection) -> None:
        """Wake on new public events; on a new session also at once, since a notification
        sent while none listened is lost."""
        await conn.add_listener(CHANNEL, lambda *_: self.wake())
        self.wake()


async def page(
    db: asyncpg.Pool | asyncpg.Connection, after: int, limit: int, filters: Filters
) -> tuple[list[Event], int]:
    """Events after `after`, and the cursor to pass as `after` next time."""
    return await fetch_page(db, after=after, limit=limit, types=filters.types, nodes=list(filters.nodes))


async def follow(
    pool: asyncpg.Pool,
    signal: FeedSignal,
    after: int,
    filters: Filters,
    *,
    heartbeat: float,
    batch: int = 100,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[Event | None]:
    """Every event after `after`, in order, until `stop` is set (within POLL seconds); None
    when `heartbeat` seconds passed without one. Reads the next page only once the last one
    was taken: a slow consumer slows its own reads down and never piles events up in memory."""
    loop = asyncio.get_running_loop()
    cursor, quiet_since = after, loop.time()
    while stop is None or not stop.is_set():
        waiter = signal.waiter()
        try:
            events, cursor = await page(pool, cursor, batch, filters)
        except Exception as e:
            if not unavailable(e):
                raise
            events = []  # the database is away: the stream stays open, beats, and reads again
        for event in events:
            yield event
        if events:
            quiet_since = loop.time()
        if len(events) == batch:
            continue
        await wake_or_timeout(waiter, min(POLL, heartbeat))
        if loop.time() - quiet_since >= heartbeat:
            quiet_since = loop.time()
            yield None
