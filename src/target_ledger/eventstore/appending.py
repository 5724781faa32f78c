"""One append's INSERT: its SQL, what its failures mean, and the retries of lost races and deadlocks."""

import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg


class StreamConflictError(Exception):
    """The stream moved on since it was read: reload and decide again."""

    def __init__(self, stream_id: str, version: int | None = None) -> None:
        at = f" (version {version} is taken)" if version else ""
        super().__init__(f"stream {stream_id} was changed by someone else{at}")
        self.stream_id = stream_id


_TAKEN = re.compile(r"\(([0-9a-f-]{36}), (\d+)\)")


class Guard(NamedTuple):
    """Append only while `stream_id` still stands at `version` (the version a decision read).

    Guarded appends take a shared advisory lock on the stream, check its version and insert
    in one transaction; appends to the stream itself pass `exclusive`, so a change to it can
    never commit between another writer's check and that writer's commit."""

    stream_id: uuid.UUID
    version: int
    exclusive: bool = False


# The lock, the version check and the INSERT in one round trip (migrations/0015).
GUARDED_INSERT = """
SELECT * FROM append_guarded($7, $8, $9, $1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::jsonb[])
"""

INSERT = """
INSERT INTO events (event_id, stream_id, version, type, payload, metadata)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::jsonb[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, position
"""
# Event ids made here (uuid4) cannot have been stored before: a plain INSERT skips the
# speculative insertion ON CONFLICT costs.
INSERT_NEW = INSERT.replace("ON CONFLICT (event_id) DO NOTHING\n", "")
# The commonest append, one new event: plain parameters, no arrays to build and unnest.
INSERT_ONE = """
INSERT INTO events (event_id, stream_id, version, type, payload, metadata)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
RETURNING event_id, position
"""

Replayed = Callable[[list[uuid.UUID], asyncpg.Connection], Awaitable[None]]

# Whether the stream a conflict names holds one of the append's own event ids.
HOLDS_ONE_OF = "SELECT exists(SELECT 1 FROM events WHERE stream_id = $1 AND event_id = ANY($2::uuid[]))"
ATTEMPTS = 3  # each retry follows another writer's commit, so a third is already rare


def _conflict(e: asyncpg.PostgresError) -> Exception:
    """What a failed insert means to the caller: a stream moved on, or e itself."""
    if isinstance(e, asyncpg.UniqueViolationError):
        taken = _TAKEN.search(e.detail or "")
        return StreamConflictError(taken.group(1), int(taken.group(2))) if taken else StreamConflictError("(unknown)")
    if e.sqlstate == "TL409":
        return StreamConflictError(str(e.detail))
    if isinstance(e, asyncpg.DeadlockDetectedError):
        return StreamConflictError("(unknown)")
    return e


@dataclass(frozen=True, slots=True)
class Attempt:
    """One append's INSERT: once in the caller's transaction, or retried on the store's pool."""

    pool: asyncpg.Pool
    args: tuple[Any, ...]  # the columns: event ids, stream ids, versions, types, payloads, metadata
    guard: Guard | None
    fresh_ids: bool  # ids made by the store: none can have been stored before
    replayed: Replayed | None

    async def once(self, conn: asyncpg.Connection) -> dict[uuid.UUID, int]:
        try:
            return await self._insert(conn)
        except asyncpg.PostgresError as e:
            raise _conflict(e) from None

    async def retrying(self) -> dict[uuid.UUID, int]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.pool.acquire() as conn:
                    return await self._insert(conn)
            except asyncpg.PostgresError as e:
                if attempt == ATTEMPTS or not await self._worth_retrying(e):
                    raise _conflict(e) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _worth_retrying(self, e: asyncpg.PostgresError) -> bool:
        if isinstance(e, asyncpg.DeadlockDetectedError):
            return True  # two appends took the same streams in opposite order; this one was undone
        if self.fresh_ids:
            return False  # ids made here: nobody else can have stored these events
        # A stream moved on. By events of this very append, an identical append committed
        # meanwhile: tried again, those are found stored. Either a version it took (a unique
        # violation), or the version before one of this append's own (the server order refuses
        # an event whose predecessor's transaction is younger: this one skipped that version as
        # stored, and began before the one that stored it).
        if isinstance(e, asyncpg.UniqueViolationError):
            taken = _TAKEN.search(e.detail or "")
            stream_id = taken.group(1) if taken else None
        else:
            stream_id = e.detail if e.sqlstate == "TL409" else None
        return stream_id is not None and bool(
            await self.pool.fetchval(HOLDS_ONE_OF, uuid.UUID(stream_id), self.args[0])
        )

    async def _insert(self, conn: asyncpg.Connection) -> dict[uuid.UUID, int]:
        """The new events' positions; `replayed` sees the others in the same transaction (one
        is needed only when there is something to undo besides the replayed events)."""
        undoable = self.replayed is not None and len(self.args[0]) > 1
        async with conn.transaction() if undoable else contextlib.nullcontext():
            rows = await self._statement(conn)
            positions = {r["event_id"]: r["position"] for r in rows}
            before = [i for i in self.args[0] if i not in positions]
            if before and self.replayed is not None:
                await self.replayed(before, conn)
        return positions

    async def _statement(self, conn: asyncpg.Connection) -> list[asyncpg.Record]:
        args, guard = self.args, self.guard
        if guard is None:
            if self.fresh_ids and len(args[0]) == 1:
                return await conn.fetch(INSERT_ONE, *(column[0] for column in args))
            return await conn.fetch(INSERT_NEW if self.fresh_ids else INSERT, *args)
        return await conn.fetch(GUARDED_INSERT, *args, guard.stream_id, guard.version, guard.exclusive)
