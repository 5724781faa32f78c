"""The pipeline: each opportunity as it stands, and every stage it entered, for the funnel and the forecast."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.opportunity import Opportunity
from target_ledger.eventstore import Recorded

NAME = "pipeline"
TABLES = ["opportunities", "opportunity_stages"]
VERSION = 2  # raise it when the handlers or tables change meaning: workers then rebuild the model

ENTERED = "INSERT INTO opportunity_stages (opportunity_id, version, stage, entered_at) VALUES ($1, $2, $3, $4)"


async def opened(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opportunity.OpportunityOpened = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """INSERT INTO opportunities (opportunity_id, person, name, metric, scope, amount, close_on, stage,
                                      probability, status, opened_at, stage_since, opened_by)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, 'open', $10, $10, $11)""",
        e.originator_id,
        e.person,
        e.name,
        e.metric,
        msgspec.json.encode(e.scope).decode(),
        e.amount,
        e.close_on,
        e.stage,
        e.probability,
        e.timestamp,
        e.opened_by,
    )
    await conn.execute(ENTERED, e.originator_id, e.originator_version, e.stage, e.timestamp)


async def stage_changed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opportunity.OpportunityStageChanged = recorded.event  # type: ignore[assignment]
    moved = e.stage != e.from_stage  # a new probability in the same stage keeps its age
    await conn.execute(
        """UPDATE opportunities SET stage = $2, probability = $3,
                  stage_since = CASE WHEN $4 THEN $5 ELSE stage_since END
            WHERE opportunity_id = $1""",
        e.originator_id,
        e.stage,
        e.probability,
        moved,
        e.timestamp,
    )
    if moved:
        await conn.execute(ENTERED, e.originator_id, e.originator_version, e.stage, e.timestamp)


async def revised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opportunity.OpportunityRevised = recorded.event  # type: ignore[assignment]
    await conn.execute(
        "UPDATE opportunities SET amount = $2, close_on = $3 WHERE opportunity_id = $1",
        e.originator_id,
        e.amount,
        e.close_on,
    )


async def won(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opportunity.OpportunityWon = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """UPDATE opportunities SET status = 'won', won_amount = $2, closed_on = $3, closed_at = $4
            WHERE opportunity_id = $1""",
        e.originator_id,
        e.amount,
        e.won_on,
        e.timestamp,
    )


async def lost(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opportunity.OpportunityLost = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """UPDATE opportunities SET status = 'lost', loss_reason = $2, closed_on = $3, closed_at = $4
            WHERE opportunity_id = $1""",
        e.originator_id,
        e.reason,
        e.lost_on,
        e.timestamp,
    )


HANDLERS = {
    Opportunity.OpportunityOpened: opened,
    Opportunity.OpportunityStageChanged: stage_changed,
    Opportunity.OpportunityRevised: revised,
    Opportunity.OpportunityWon: won,
    Opportunity.OpportunityLost: lost,
}


@dataclass(frozen=True)
class Reader:
    """Whose deals a reader sees one by one: those of these people, and those the reader opened."""

    people: list[str]
    opener: str | None

    def sees(self, person: str, opened_by: str | None) -> bool:
        """The rule the query below applies, for rows already fetched."""
        return person in self.people or (opened_by is not None and opened_by == self.opener)


async def fetch_opportunities(
    conn: asyncpg.Connection,
    *,
    people: list[str],
    metric: str | None,
    first: date | None = None,
    last: date | None = None,
    status: str | None = None,
    reader: Reader | None = None,
    after: tuple[date, UUID] | None = None,
    limit: int | None = None,
) -> list[asyncpg.Record]:
    """The opportunities of these people (of a metric), closing between `first` and `last`
    (an open one by its expected close date, a closed one by the day it closed), each with
    `stages`: the stages it entered, in order. Scope is JSON text. With a `reader`, only those
    it may read one by one; `after` a (closing day, id) key and at most `limit`, in that order."""
    return await conn.fetch(
        """SELECT o.opportunity_id, o.person, o.name, o.metric, o.scope::text AS scope, o.amount, o.close_on,
                  o.stage, o.probability, o.status, o.opened_at, o.stage_since, o.closed_on, o.won_amount,
                  o.loss_reason, o.opened_by,
                  ARRAY(SELECT s.stage FROM opportunity_stages s WHERE s.opportunity_id = o.opportunity_id
                         ORDER BY s.version) AS stages
             FROM opportunities o
            WHERE o.person = ANY($1::text[])
              AND ($2::text IS NULL OR o.metric = $2)
              AND ($3::date IS NULL OR coalesce(o.closed_on, o.close_on) >= $3)
              AND ($4::date IS NULL OR coalesce(o.closed_on, o.close_on) <= $4)
              AND ($5::text IS NULL OR o.status = $5)
              AND ($6::text[] IS NULL OR o.person = ANY($6::text[]) OR o.opened_by = $7)
              AND ($8::date IS NULL OR (coalesce(o.closed_on, o.close_on), o.opportunity_id) > ($8, $9::uuid))
            ORDER BY coalesce(o.closed_on, o.close_on), o.opportunity_id
            LIMIT $10""",
        people,
        metric,
        first,
        last,
        status,
        None if reader is None else reader.people,
        None if reader is None else reader.opener,
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
    )
