"""Append and read events through asyncpg: optimistic per stream, no table lock."""

import builtins
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

import asyncpg
import msgspec
from eventsourcing.utils import resolve_topic

from target_ledger.eventstore.appending import Attempt, Guard, Replayed
from target_ledger.eventstore.mapper import LedgerMapper

DomainEvent = Any  # an eventsourcing aggregate event; each class declares its own fields


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who and what caused an append; stored with every event."""

    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    request_id: str | None = None
    file_sha256: str | None = None  # a plan import: the digest of the file the events came from


def replay(events: Sequence[DomainEvent], aggregate: Any = None) -> Any:
    """The aggregate after applying events in order (None if there were none and no start)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class Cursor(NamedTuple):
    """A reader's place in the log: events are ordered by (xid, position)."""

    xid: int
    position: int


START = Cursor(0, 0)


_UNDECODED: Any = object()


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stored event as a subscriber sees it. Its payload becomes a domain event only when
    someone asks: most projections skip most events, and decoding is most of a rebuild's time."""

    position: int
    xid: int
    event_id: uuid.UUID
    stream_id: uuid.UUID
    version: int
    type: str
    metadata_json: str
    recorded_at: datetime
    payload: str
    decode: Callable[["Recorded"], DomainEvent] = field(repr=False, compare=False)
    _event: Any = field(default=_UNDECODED, repr=False, compare=False)
    _metadata: Any = field(default=_UNDECODED, repr=False, compare=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """Who and what caused the event (decoded on first use, like the event)."""
        if self._metadata is _UNDECODED:
            object.__setattr__(self, "_metadata", msgspec.json.decode(self.metadata_json))
        return cast(dict[str, Any], self._metadata)

    @property
    def event(self) -> DomainEvent:
        if self._event is _UNDECODED:
            object.__setattr__(self, "_event", self.decode(self))
        return self._event

    @property
    def event_type(self) -> "builtins.type":
        """The event's class, from its stored type name, without decoding it."""
        return cast("builtins.type", resolve_topic(self.type))

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.xid, self.position)


class Appended(NamedTuple):
    """Where each event of an append is, and how many were new (the rest were stored before)."""

    positions: list[int]
    stored: int
    new: list[bool]  # per event: stored now (False: an event id stored before)

    @property
    def last(self) -> int:
        return self.positions[-1]


# One row at least: `pending` on every row, the batch's columns NULL when it is empty. An
# event beyond the watermark is pending iff the newest event is (the index's last entry):
# asked as EXISTS, the planner scanned the whole table. The watermark is this server's
# pg_snapshot_xmin on the scale of the stored keys (migrations/0017): a log restored on
# another server keeps delivering.
READ_LIVE = """
SELECT coalesce(p.pending, false) AS pending, b.*
  FROM (SELECT (SELECT (xid, position) > ($1::text::xid8, $2::bigint)
                       AND xid >= ledger_watermark()
                  FROM events ORDER BY xid DESC, position DESC LIMIT 1) AS pending) AS p
  LEFT JOIN LATERAL (
      SELECT position, xid::text::bigint AS xid, event_id, stream_id, version, type,
             payload::text AS payload, metadata::text AS metadata, recorded_at
        FROM events
       WHERE (xid, position) > ($1::text::xid8, $2::bigint)
         AND xid < ledger_watermark()
       ORDER BY events.xid, events.position  -- the columns: `xid` alone names the bigint above
       LIMIT $3) AS b ON true
"""


class EventStore:
    def __init__(self, pool: asyncpg.Pool, mapper: LedgerMapper | None = None) -> None:
        self.pool = pool
        self.mapper = mapper or LedgerMapper()
        self.on_append: list[Callable[[], None]] = []

    async def append(
        self,
        events: Sequence[DomainEvent],
        metadata: Metadata,
        *,
        event_ids: Sequence[uuid.UUID] | None = None,
        conn: asyncpg.Connection | None = None,
        guard: Guard | None = None,
        replayed: Replayed | None = None,
    ) -> Appended:
        """Store events atomically; return each one's position (the original one for an
        event id stored before). Raise StreamConflictError if a stream moved on, or if the
        guarded stream is no longer at the version the decision read.

        Event ids make appends idempotent: an id stored before is a replay, even when an
        identical append commits while this one is inserting (a lost race) or a deadlock
        interrupts it; both are retried (on the store's own connections; in the caller's
        transaction, `conn`, the caller retries). `replayed(ids, conn)` may look at the
        events whose ids were stored before, in the append's transaction, and raise to undo it."""
        if not events:
            return Appended([], 0, [])
        ids = list(event_ids) if event_ids is not None else [uuid.uuid4() for _ in events]
        records = [self.mapper.to_stored_event(e) for e in events]
        meta = msgspec.json.encode(metadata).decode()
        args = (
            ids,
            [r.originator_id for r in records],
            [r.originator_version for r in records],
            [r.topic for r in records],
            [r.state.decode() for r in records],
            [meta] * len(records),
        )
        attempt = Attempt(self.pool, args, guard, fresh_ids=event_ids is None, replayed=replayed)
        positions = await attempt.once(conn) if conn is not None else await attempt.retrying()
        fresh = set(positions)
        if len(fresh) < len(ids):  # some were stored before: report where
            positions |= await self._positions_of([i for i in ids if i not in positions], conn)
        if fresh:
            for callback in self.on_append:
                callback()
        return Appended([positions[i] for i in ids], len(fresh), [i in fresh for i in ids])

    async def _positions_of(self, ids: list[uuid.UUID], conn: asyncpg.Connection | None) -> dict[uuid.UUID, int]:
        sql = "SELECT event_id, position FROM events WHERE event_id = ANY($1::uuid[])"
        rows = await (conn or self.pool).fetch(sql, ids)
        return {r["event_id"]: r["position"] for r in rows}

    async def requests_of(self, event_ids: Sequence[uuid.UUID], conn: asyncpg.Connection | None = None) -> set[str]:
        """The request ids in the metadata of the stored events among event_ids: who stored them."""
        sql = "SELECT DISTINCT metadata->>'request_id' AS request_id FROM events WHERE event_id = ANY($1::uuid[])"
        rows = await (conn or self.pool).fetch(sql, list(event_ids))
        return {r["request_id"] or "" for r in rows}

    async def load(self, stream_id: uuid.UUID, conn: asyncpg.Connection | None = None) -> list[DomainEvent]:
        return await self.load_after(stream_id, 0, conn)

    async def load_after(
        self, stream_id: uuid.UUID, version: int, conn: asyncpg.Connection | None = None
    ) -> list[DomainEvent]:
        """The stream's events after version, in order: lets a cached aggregate catch up."""
        sql = """SELECT version, type, payload::text AS payload FROM events
                  WHERE stream_id = $1 AND version > $2 ORDER BY version"""
        rows = await (conn or self.pool).fetch(sql, stream_id, version)
        return [self._decode(stream_id, r) for r in rows]

    async def load_after_each(
        self, versions: dict[uuid.UUID, int], conn: asyncpg.Connection | None = None
    ) -> dict[uuid.UUID, list[DomainEvent]]:
        """load_after for several streams in one round trip: each stream's events after its version."""
        # LATERAL: one index range per stream; as a join, the generic plan scanned every event.
        sql = """SELECT e.stream_id, e.version, e.type, e.payload::text AS payload
                   FROM unnest($1::uuid[], $2::int[]) AS s(stream_id, version)
                  CROSS JOIN LATERAL (SELECT * FROM events WHERE stream_id = s.stream_id AND version > s.version
                                       ORDER BY version) AS e"""
        rows = await (conn or self.pool).fetch(sql, list(versions), list(versions.values()))
        events: dict[uuid.UUID, list[DomainEvent]] = {stream_id: [] for stream_id in versions}
        for r in rows:
            events[r["stream_id"]].append(self._decode(r["stream_id"], r))
        return events

    async def get_holding(
        self, event_ids: Sequence[uuid.UUID], conn: asyncpg.Connection | None = None
    ) -> dict[uuid.UUID, Any]:
        """For each stored event id, the aggregate of the stream that holds it (the whole stream)."""
        sql = """SELECT held.event_id AS held, e.stream_id, e.version, e.type, e.payload::text AS payload
                   FROM events held JOIN events e ON e.stream_id = held.stream_id
                  WHERE held.event_id = ANY($1::uuid[])
                  ORDER BY held.event_id, e.version"""
        streams: dict[uuid.UUID, list[DomainEvent]] = {}
        for r in await (conn or self.pool).fetch(sql, list(event_ids)):
            streams.setdefault(r["held"], []).append(self._decode(r["stream_id"], r))
        return {event_id: replay(events) for event_id, events in streams.items()}

    async def load_until(
        self, stream_id: uuid.UUID, until: datetime, conn: asyncpg.Connection | None = None
    ) -> list[DomainEvent]:
        """The stream's events recorded at or before until: what the ledger knew then.

        Only the prefix of the stream recorded by then: recorded_at is its transaction's
        start, so a later version can carry an earlier time than the one it follows."""
        sql = """SELECT version, type, payload FROM (
                     SELECT version, type, payload::text AS payload,
                            bool_or(recorded_at > $2) OVER (ORDER BY version) AS later
                       FROM events WHERE stream_id = $1) AS stream
                  WHERE NOT later ORDER BY version"""
        rows = await (conn or self.pool).fetch(sql, stream_id, until)
        return [self._decode(stream_id, r) for r in rows]

    async def get_until(self, stream_id: uuid.UUID, until: datetime, conn: asyncpg.Connection | None = None) -> Any:
        """The aggregate as recorded by until, or None if its stream had no events yet."""
        return replay(await self.load_until(stream_id, until, conn))

    async def actuals_known_at(
        self, until: datetime, metrics: Sequence[str], starts_on: date, ends_on: date, scope: dict[str, str]
    ) -> list[tuple[str, date, str, Decimal]]:
        """Actuals recorded by `until` and not reversed by then: (person, day, metric, value).
        A scan of the log, not of a read model: what the ledger knew at that instant."""
        rows = await self.pool.fetch(
            """SELECT e.payload->>'person' AS person, (e.payload->>'occurred_on')::date AS day,
                      e.payload->>'metric' AS metric, (e.payload->>'value')::numeric AS value
                 FROM events e
                WHERE e.type = 'ActualRecorded' AND e.recorded_at <= $1 AND e.payload->>'metric' = ANY($2::text[])
                  AND (e.payload->>'occurred_on')::date BETWEEN $3 AND $4
                  AND coalesce(e.payload->'scope', '{}') @> $5::jsonb
                  AND NOT EXISTS (SELECT 1 FROM events r WHERE r.stream_id = e.stream_id
                                     AND r.type = 'ActualReversed' AND r.recorded_at <= $1)""",
            until,
            list(metrics),
            starts_on,
            ends_on,
            msgspec.json.encode(scope).decode(),
        )
        return [(r["person"], r["day"], r["metric"], Decimal(r["value"])) for r in rows]

    async def records(
        self, stream_ids: Sequence[uuid.UUID], conn: asyncpg.Connection | None = None
    ) -> list[dict[str, Any]]:
        """The streams' events as stored, by position, each with its hash and its
        predecessor's (hex): what an auditor checks against the raw log."""
        sql = """SELECT position, event_id, stream_id, version, type, recorded_at,
                        metadata->>'actor' AS actor, payload::text AS payload,
                        encode(hash, 'hex') AS hash,
                        encode(lag(hash) OVER (PARTITION BY stream_id ORDER BY version), 'hex') AS previous_hash
                   FROM events
                  WHERE stream_id = ANY($1::uuid[])
                  ORDER BY position"""
        rows = await (conn or self.pool).fetch(sql, list(stream_ids))
        return [{**dict(r), "payload": msgspec.json.decode(r["payload"])} for r in rows]

    async def get(self, stream_id: uuid.UUID, conn: asyncpg.Connection | None = None) -> Any:
        """The aggregate rebuilt from its stream, or None if it has no events."""
        return replay(await self.load(stream_id, conn))

    async def read_after(
        self, cursor: Cursor, limit: int = 500, conn: asyncpg.Connection | None = None
    ) -> list[Recorded]:
        """Events after cursor that no running transaction can still precede."""
        return (await self.read_live(cursor, limit, conn))[0]

    async def read_live(
        self, cursor: Cursor, limit: int = 500, conn: asyncpg.Connection | None = None
    ) -> tuple[list[Recorded], bool]:
        """read_after, and whether committed events wait beyond the watermark (an older
        transaction is still open), from one snapshot in one round trip."""
        rows = await (conn or self.pool).fetch(READ_LIVE, str(cursor.xid), cursor.position, limit)
        decode = self._decode_recorded
        batch = [
            Recorded(position, xid, event_id, stream_id, version, kind, meta, at, payload, decode)
            for _, position, xid, event_id, stream_id, version, kind, payload, meta, at in rows
            if position is not None
        ]
        return batch, rows[0]["pending"]

    async def head(self) -> int:
        """The position of the newest committed event (0 for an empty log)."""
        return int(await self.pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))

    async def any_after(self, position: int, types: Sequence[str]) -> bool:
        """Whether an event of one of these types was committed after `position`: what a read
        model at that position has not seen yet (a range of the log's key, short when it is current)."""
        sql = "SELECT exists(SELECT 1 FROM events WHERE position > $1 AND type = ANY($2::text[]))"
        return bool(await self.pool.fetchval(sql, position, list(types)))

    async def cursor_at(self, position: int, conn: asyncpg.Connection | None = None) -> Cursor | None:
        xid = await (conn or self.pool).fetchval("SELECT xid::text::bigint FROM events WHERE position = $1", position)
        return None if xid is None else Cursor(xid, position)

    def _decode_recorded(self, recorded: Recorded) -> DomainEvent:
        return self.mapper.decode(recorded.type, recorded.stream_id, recorded.version, recorded.payload)

    def _decode(self, stream_id: uuid.UUID, row: asyncpg.Record | dict[str, Any]) -> DomainEvent:
        return self.mapper.decode(row["type"], stream_id, row["version"], row["payload"])
