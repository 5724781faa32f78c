"""Writing a public event: its next sequence number, its envelope, and the nodes it concerns."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.eventstore import Recorded
from target_ledger.integration import contract

CHANNEL = "target_ledger_public"  # NOTIFY on commit of new public events
KIND = {data: kind for kind, data in contract.TYPES.items()}

# The next seqs in the projection's transaction (the runner serialises them), in the order
# given; the NOTIFY is delivered on commit.
EMIT = """
WITH next AS (SELECT coalesce(max(seq), 0) AS seq FROM public_events),
     added AS (
        INSERT INTO public_events (seq, id, type, nodes, position, envelope)
        SELECT next.seq + e.i, e.id, e.type, ARRAY(SELECT jsonb_array_elements_text(e.nodes)), e.position,
               jsonb_set(e.envelope, '{sequence}', to_jsonb(next.seq + e.i))
          FROM next, unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bigint[], $5::jsonb[]) WITH ORDINALITY
                     AS e(id, type, nodes, position, envelope, i)
        RETURNING seq)
SELECT pg_notify($6, '') FROM added LIMIT 1
"""

# The units among the nodes, with their paths; and the people's memberships with their units'
# paths, latest first (one query for a whole run, resolved per day in Python: a correlated
# subquery per key cost ~26 µs a key in PostgreSQL).
UNITS_AND_MEMBERSHIPS = """
SELECT u.node AS unit, NULL::text AS person, NULL::date AS valid_from, NULL::date AS valid_to, u.path
  FROM public_units u WHERE u.node = ANY($1::text[])
UNION ALL
SELECT NULL, m.person, m.valid_from, m.valid_to, u.path
  FROM public_memberships m JOIN public_units u ON u.node = m.unit
 WHERE m.person = ANY($1::text[])
 ORDER BY 2, 3 DESC, 5
"""


async def paths(conn: asyncpg.Connection, keys: list[tuple[str, date]]) -> list[list[str]]:
    """For each (node, day): the node and every unit above it that day (a unit's own path; a
    person's with the unit they were in then, the latest membership begun by that day)."""
    rows = await conn.fetch(UNITS_AND_MEMBERSHIPS, list({node for node, _ in keys}))
    units: dict[str, list[str]] = {}
    memberships: dict[str, list[tuple[date, date | None, list[str]]]] = {}
    for unit, person, valid_from, valid_to, path in rows:
        if unit is not None:
            units[unit] = list(path)
        else:
            memberships.setdefault(person, []).append((valid_from, valid_to, list(path)))
    return [units[node] if node in units else _person_path(node, memberships.get(node, []), day) for node, day in keys]


def _person_path(person: str, memberships: list[tuple[date, date | None, list[str]]], day: date) -> list[str]:
    for valid_from, valid_to, path in memberships:  # latest first
        if valid_from <= day and (valid_to is None or day < valid_to):
            return [person, *path]
    return [person]


async def nodes_of(conn: asyncpg.Connection, node: str, on: date) -> list[str]:
    """The node and every unit above it on that day: what a node filter or scope matches."""
    return (await paths(conn, [(node, on)]))[0]


@dataclass(frozen=True)
class Outgoing:
    """A public event ready to be written."""

    id: UUID
    kind: str
    nodes: list[str]
    position: int
    envelope: str


def outgoing(recorded: Recorded, data: contract.Data, *, subject: str, nodes: list[str], key: str = "") -> Outgoing:
    kind = KIND[type(data)]
    envelope = contract.CloudEvent(
        id=contract.event_id(recorded.event_id, kind, key or subject),
        type=kind,
        time=recorded.recorded_at,
        subject=subject,
        sequence=0,  # set in SQL
        ledgerposition=recorded.position,
        data=data,
    )
    return Outgoing(envelope.id, kind, nodes, recorded.position, msgspec.json.encode(envelope).decode())


async def emit_all(conn: asyncpg.Connection, events: list[Outgoing]) -> None:
    """Write the events with the next sequence numbers, in this order, in one statement."""
    if events:
        await conn.execute(
            EMIT,
            [e.id for e in events],
            [e.kind for e in events],
            [msgspec.json.encode(e.nodes).decode() for e in events],
            [e.position for e in events],
            [e.envelope for e in events],
            CHANNEL,
        )


async def emit(
    conn: asyncpg.Connection, recorded: Recorded, data: contract.Data, *, subject: str, nodes: list[str], key: str = ""
) -> None:
    await emit_all(conn, [outgoing(recorded, data, subject=subject, nodes=nodes, key=key)])


async def subject(
    conn: asyncpg.Connection, subject_id: UUID, node: str, target_id: UUID | None, tally: int, **detail: object
) -> None:
    await conn.execute(
        "INSERT INTO public_subjects (id, node, target_id, detail, tally) VALUES ($1, $2, $3, $4::jsonb, $5)",
        subject_id,
        node,
        target_id,
        msgspec.json.encode(detail).decode(),
        tally,
    )


async def known(conn: asyncpg.Connection, subject_id: UUID, tally: int = 0) -> asyncpg.Record:
    """An adjustment's, alert's or action's node, target and details; tally moves by `tally`."""
    return await conn.fetchrow(
        """UPDATE public_subjects SET tally = tally + $2 WHERE id = $1
           RETURNING node, target_id, detail::text AS detail, tally""",
        subject_id,
        tally,
    )


def day_of(recorded: Recorded) -> date:
    return recorded.recorded_at.date()
