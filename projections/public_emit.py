"""Writing a public event: its next sequence number, its envelope, and the nodes it concerns."""

from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.eventstore import Recorded
from target_ledger.integration import contract

CHANNEL = "target_ledger_public"  # NOTIFY on commit of new public events
KIND = {data: kind for kind, data in contract.TYPES.items()}

# The next seq in the projection's transaction (the runner serialises them); the NOTIFY is
# delivered on commit, and PostgreSQL folds repeated ones of a transaction into one.
EMIT = """
WITH next AS (SELECT coalesce(max(seq), 0) + 1 AS seq FROM public_events),
     added AS (
        INSERT INTO public_events (seq, id, type, nodes, position, envelope)
        SELECT next.seq, $1, $2, $3, $4, jsonb_set($5::jsonb, '{sequence}', to_jsonb(next.seq)) FROM next
        RETURNING seq)
SELECT pg_notify($6, '') FROM added
"""

# A unit's path; a person with the path of the unit they were in on the day.
NODES = """
SELECT coalesce(
    (SELECT path FROM public_units WHERE node = $1),
    ARRAY[$1::text] || coalesce(
        (SELECT u.path FROM public_memberships m JOIN public_units u ON u.node = m.unit
          WHERE m.person = $1 AND m.valid_from <= $2 AND (m.valid_to IS NULL OR $2 < m.valid_to)
          ORDER BY m.valid_from DESC LIMIT 1),
        '{}'))
"""


async def nodes_of(conn: asyncpg.Connection, node: str, on: date) -> list[str]:
    """The node and every unit above it on that day: what a node filter or scope matches."""
    return list(await conn.fetchval(NODES, node, on))


async def emit(
    conn: asyncpg.Connection, recorded: Recorded, data: contract.Data, *, subject: str, nodes: list[str], key: str = ""
) -> None:
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
    await conn.execute(
        EMIT, envelope.id, kind, nodes, recorded.position, msgspec.json.encode(envelope).decode(), CHANNEL
    )


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
