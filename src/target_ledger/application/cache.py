"""In-process, read-only copies of the few singleton aggregates every command consults."""

import asyncio
import uuid
from collections.abc import Callable
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
            version = self._aggregate.version if self._aggregate is not None else 0
            self._aggregate = replay(await store.load_after(self.stream_id, version), self._aggregate)
            return self._aggregate if self._aggregate is not None else self._empty()
