"""Public integration events (CloudEvents), made from the domain events in commit order.

Each row gets the next `seq` in the projection's own transaction; the runner applies one
batch at a time under the projection's advisory lock, in (xid, position) order, so `seq`
is gap-free and in commit order: a consumer resuming after `seq` never skips a row. The
ids are uuid5 of the domain event, so a rebuild makes the same events with the same ids
and sequence numbers. Attainment figures come from this projection's own tables (see
public_attainment), never from another read model that may be ahead of or behind it.
"""

from typing import Literal

import asyncpg
import msgspec

from projections import public_attainment as figures
from projections import public_follow_up as follow_up
from projections import public_pipeline as pipeline
from projections.public_emit import day_of, emit, known, nodes_of, subject
from target_ledger.domain.actual import Actual
from target_ledger.domain.adjustment import Adjustment
from target_ledger.domain.alert import Alert
from target_ledger.domain.catalog import Catalog, part_label
from target_ledger.domain.corrective_action import CorrectiveAction
from target_ledger.domain.forecast import Forecast
from target_ledger.domain.incentive import IncentivePlan
from target_ledger.domain.opportunity import Opportunity
from target_ledger.domain.org import Organisation
from target_ledger.domain.period import Periods
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded
from target_ledger.integration import contract as c

NAME = "public_events"
TABLES = [
    "public_events",
    "public_units",
    "public_memberships",
    "public_metrics",
    "public_targets",
    "public_actuals",
    "public_subjects",
]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model


async def unit_created(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO public_units (node, path)
           SELECT $1, ARRAY[$1::text] || coalesce((SELECT path FROM public_units WHERE node = $2), '{}')""",
        e.node,
        e.parent,
    )


async def person_joined(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        "INSERT INTO public_memberships (person, unit, valid_from) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        e.person,
        e.unit,
        e.effective,
    )


async def person_moved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await person_left(conn, recorded)
    e = recorded.event
    await conn.execute(
        "INSERT INTO public_memberships (person, unit, valid_from) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        e.person,
        e.to_unit,
        e.effective,
    )


async def person_left(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        "UPDATE public_memberships SET valid_to = $2 WHERE person = $1 AND valid_to IS NULL", e.person, e.effective
    )


async def metric_defined(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """Its direction, and a ratio's parts: what its targets' actuals are counted from."""
    e = recorded.event
    ratio = e.rollup == "ratio"
    await conn.execute(
        """INSERT INTO public_metrics (name, lower, numerator, denominator) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE
              SET lower = EXCLUDED.lower, numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator""",
        e.name,
        e.direction == "lower",
        # A share's part keeps its scope in its label (domain/catalog.py part_label).
        part_label(e.numerator, e.numerator_scope) if ratio else None,
        part_label(e.denominator, e.denominator_scope) if ratio else None,
    )


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    data = c.TargetSet(
        target_id=e.originator_id,
        node=e.node,
        metric=e.metric,
        period=e.period,
        scope=e.scope,
        starts_on=e.starts_on,
        ends_on=e.ends_on,
        value=e.value,
        stretch=e.stretch,
        parent_id=e.parent_id,
        rationale=e.rationale,
    )
    nodes = await nodes_of(conn, e.node, e.starts_on)
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)
    await figures.target_set(conn, recorded)


async def target_decomposed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute("UPDATE public_targets SET axis = $2 WHERE target_id = $1", e.originator_id, e.axis)


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await conn.fetchrow("SELECT node, starts_on FROM public_targets WHERE target_id = $1", e.originator_id)
    data = c.TargetAdjusted(
        target_id=e.originator_id,
        node=row["node"],
        previous_value=e.previous_value,
        value=e.value,
        adjustment_id=e.adjustment_id,
    )
    nodes = await nodes_of(conn, row["node"], row["starts_on"])
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)
    await figures.target_adjusted(conn, recorded)


async def adjustment_requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    node = e.changes[0].node
    await subject(conn, e.originator_id, node, e.target_id, 0, needed=e.approvals_needed)
    changes = [
        c.Change(target_id=x.target_id, node=x.node, period=x.period, old_value=x.old_value, new_value=x.new_value)
        for x in e.changes
    ]
    data = c.AdjustmentRequested(
        adjustment_id=e.originator_id,
        target_id=e.target_id,
        node=node,
        requester=e.requester,
        reason_category=e.reason_category,
        justification=e.justification,
        evidence=list(e.evidence),
        changes=changes,
        approvals_needed=e.approvals_needed,
    )
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=await nodes_of(conn, node, day_of(recorded)))


async def adjustment_decided(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """Decided: approved by the last approval it needs, rejected, or withdrawn."""
    e = recorded.event
    approved = isinstance(e, Adjustment.AdjustmentApproved)
    row = await known(conn, e.originator_id, 1 if approved else 0)
    if approved and row["tally"] < msgspec.json.decode(row["detail"])["needed"]:
        return  # approved so far, but it needs another approval from higher up
    decision: Literal["approved", "rejected", "withdrawn"]
    decision = "approved" if approved else "rejected" if isinstance(e, Adjustment.AdjustmentRejected) else "withdrawn"
    data = c.AdjustmentDecided(
        adjustment_id=e.originator_id,
        target_id=row["target_id"],
        node=row["node"],
        decision=decision,
        decided_by=getattr(e, "approver", None) or recorded.metadata.get("actor", ""),
        reason=getattr(e, "reason", ""),
    )
    nodes = await nodes_of(conn, row["node"], day_of(recorded))
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


HANDLERS = {
    Organisation.OrgUnitCreated: unit_created,
    Organisation.PersonJoined: person_joined,
    Organisation.PersonMoved: person_moved,
    Organisation.PersonLeft: person_left,
    Catalog.MetricDefined: metric_defined,
    Target.TargetSet: target_set,
    Target.TargetDecomposed: target_decomposed,
    Target.TargetAdjusted: target_adjusted,
    Actual.ActualRecorded: figures.actual_recorded,
    Actual.ActualReversed: figures.actual_reversed,
    Adjustment.AdjustmentRequested: adjustment_requested,
    Adjustment.AdjustmentApproved: adjustment_decided,
    Adjustment.AdjustmentRejected: adjustment_decided,
    Adjustment.AdjustmentWithdrawn: adjustment_decided,
    Alert.AlertRaised: follow_up.alert_raised,
    Alert.AlertRecurred: follow_up.alert_recurred,
    Alert.AlertResolved: follow_up.alert_resolved,
    CorrectiveAction.CorrectiveActionOpened: follow_up.action_opened,
    CorrectiveAction.CorrectiveActionCompleted: follow_up.action_completed,
    Periods.PeriodClosed: follow_up.period_closed,
    Opportunity.OpportunityOpened: pipeline.opportunity_opened,
    Opportunity.OpportunityRevised: pipeline.opportunity_revised,
    Opportunity.OpportunityStageChanged: pipeline.opportunity_stage_changed,
    Opportunity.OpportunityWon: pipeline.opportunity_closed,
    Opportunity.OpportunityLost: pipeline.opportunity_closed,
    Forecast.ForecastStarted: pipeline.forecast_started,
    Forecast.ForecastSubmitted: pipeline.forecast_submitted,
    IncentivePlan.IncentiveFinalised: follow_up.incentive_finalised,
}
BATCH_HANDLERS = {Actual.ActualRecorded: figures.actuals_recorded}

# One statement, one snapshot: the page, and the newest seq at that moment (where a reader
# that saw everything up to it may resume, even if the filters matched nothing).
PAGE = """
WITH head AS (SELECT coalesce(max(seq), 0) AS seq FROM public_events),
     page AS (SELECT seq, envelope::text AS envelope FROM public_events
               WHERE seq > $1 AND ($2::text[] IS NULL OR type = ANY($2)) AND nodes @> $3::text[]
               ORDER BY seq LIMIT $4)
SELECT head.seq AS head, page.seq, page.envelope FROM head LEFT JOIN page ON true ORDER BY page.seq
"""


async def fetch_page(
    conn: asyncpg.Connection | asyncpg.Pool, *, after: int, limit: int, types: list[str] | None, nodes: list[str]
) -> tuple[list[tuple[int, str]], int]:
    """Events after seq `after` of the given types that concern every one of `nodes`, as
    (seq, CloudEvent JSON), and the cursor to read on from."""
    rows = await conn.fetch(PAGE, after, types, nodes, limit)
    page = [(r["seq"], r["envelope"]) for r in rows if r["seq"] is not None]
    if len(page) == limit:
        return page, page[-1][0]
    return page, max(after, rows[0]["head"])
