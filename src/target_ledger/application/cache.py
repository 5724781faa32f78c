"""In-process, read-only copies of the few singleton aggregates every command consults."""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from target_ledger.eventstore import EventStore
from target_ledger.eventstore.store import replay


class StreamCache:
    """Keeps one aggregate current by reading only the events newer than its version.

    Commands never mutate what this hands out; they load their own copy to change it.
    Requests read the newer events concurrently, with no lock held across the query: each
    applies, in one synchronous step, only the events its copy does not have yet (another
    request's read may have brought it further meanwhile, never less far than its own read).
    """

    def __init__(self, stream_id: uuid.UUID, empty: Callable[[], Any]) -> None:
        self.stream_id = stream_id
        self._empty = empty  # makes the aggregate to answer with while its stream has no events
        self._empty_one: Any = None  # made once: read-only like the rest (10-15 µs a request)
        self._aggregate: Any = None

    async def current(self, store: EventStore) -> Any:
        return self._apply(await store.load_after(self.stream_id, self.version))

    @property
    def version(self) -> int:
        return self._aggregate.version if self._aggregate is not None else 0

    def _apply(self, events: Sequence[Any]) -> Any:
        """The aggregate with `events` (the stream's after some version this copy had) applied,
        but for those it has already."""
        version = self.version
        self._aggregate = replay([e for e in events if e.originator_version > version], self._aggregate)
        if self._aggregate is not None:
            return self._aggregate
        if self._empty_one is None:
            self._empty_one = self._empty()
        return self._empty_one


async def current_each(store: EventStore, caches: Sequence[StreamCache]) -> list[Any]:
    """Bring several caches up to date in one round trip (a command consults most of them,
    and each look was a query of its own)."""
    news = await store.load_after_each({c.stream_id: c.version for c in caches})
    return [c._apply(news[c.stream_id]) for c in caches]
