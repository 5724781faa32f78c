"""In-process, read-only copies of the few singleton aggregates every command consults."""

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from target_ledger.eventstore import EventStore
from target_ledger.eventstore.store import replay


class StreamCache:
    """Keeps one aggregate current by reading only the events newer than its version.

    Commands never mutate what this hands out; they load their own copy to change it.
    """

    def __init__(self, stream_id: uuid.UUID, empty: Callable[[], Any]) -> None:
        self.stream_id = stream_id
        self._empty = empty  # the aggregate to answer with while its stream has no events
        self._aggregate: Any = None
        self._lock = asyncio.Lock()

    async def current(self, store: EventStore) -> Any:
        async with self._lock:
            return self._apply(await store.load_after(self.stream_id, self.version))

    @property
    def version(self) -> int:
        return self._aggregate.version if self._aggregate is not None else 0

    def _apply(self, events: Sequence[Any]) -> Any:
        self._aggregate = replay(events, self._aggregate)
        return self._aggregate if self._aggregate is not None else self._empty()


async def current_each(store: EventStore, caches: Sequence[StreamCache]) -> list[Any]:
    """Bring several caches up to date in one round trip (a command consults most of them,
    and each look was a query of its own); locks are taken in the order given."""
    async with contextlib.AsyncExitStack() as stack:
        for cache in caches:
            await stack.enter_async_context(cache._lock)
        news = await store.load_after_each({c.stream_id: c.version for c in caches})
        return [c._apply(news[c.stream_id]) for c in caches]
