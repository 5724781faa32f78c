"""Public events of the pipeline: opportunities moving between stages and closing, forecast submissions."""

from decimal import Decimal

import asyncpg
import msgspec

from projections.public_emit import day_of, emit, known, nodes_of, subject
from target_ledger.eventstore import Recorded
from target_ledger.integration import contract as c


async def opportunity_opened(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """Remembered, not announced: whose it is, for the events that follow."""
    e = recorded.event
    await subject(conn, e.originator_id, e.person, None, 0, name=e.name, metric=e.metric, amount=str(e.amount))


async def opportunity_revised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        "UPDATE public_subjects SET detail = jsonb_set(detail, '{amount}', to_jsonb($2::text)) WHERE id = $1",
        e.originator_id,
        str(e.amount),
    )


async def opportunity_stage_changed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await known(conn, e.originator_id)
    detail = msgspec.json.decode(row["detail"])
    data = c.OpportunityStageChanged(
        opportunity_id=e.originator_id,
        person=row["node"],
        name=detail["name"],
        metric=detail["metric"],
        from_stage=e.from_stage,
        stage=e.stage,
        probability=e.probability,
        amount=Decimal(detail["amount"]),
    )
    nodes = await nodes_of(conn, row["node"], day_of(recorded))
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


async def opportunity_closed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """Won (with the actual it recorded) or lost (with its reason)."""
    e = recorded.event
    row = await known(conn, e.originator_id)
    detail = msgspec.json.decode(row["detail"])
    won = hasattr(e, "actual_id")
    data = c.OpportunityClosed(
        opportunity_id=e.originator_id,
        person=row["node"],
        name=detail["name"],
        metric=detail["metric"],
        outcome="won" if won else "lost",
        amount=e.amount if won else Decimal(detail["amount"]),
        closed_on=e.won_on if won else e.lost_on,
        actual_id=e.actual_id if won else None,
        reason=None if won else e.reason,
        note="" if won else e.note,
    )
    nodes = await nodes_of(conn, row["node"], data.closed_on)
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


async def forecast_started(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await subject(conn, e.originator_id, e.node, None, 0, metric=e.metric, period=e.period)


async def forecast_submitted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await known(conn, e.originator_id)
    detail = msgspec.json.decode(row["detail"])
    data = c.ForecastSubmitted(
        node=row["node"],
        metric=detail["metric"],
        period=detail["period"],
        commit=e.commit,
        best_case=e.best_case,
        submitted_by=e.submitted_by,
        note=e.note,
    )
    subject_ = f"{detail['period']}/{row['node']}"
    nodes = await nodes_of(conn, row["node"], day_of(recorded))
    await emit(conn, recorded, data, subject=subject_, nodes=nodes)
