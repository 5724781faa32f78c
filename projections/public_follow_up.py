"""Public events of the follow-up: alerts raised and resolved, corrective actions, period closes, payouts."""

import asyncpg
import msgspec

from projections import public_emit
from projections.public_emit import day_of, emit, known, nodes_of, subject
from target_ledger.eventstore import Recorded
from target_ledger.integration import contract as c


async def alert_raised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    detail = {"rule": e.rule, "subject": e.subject, "metric": e.metric, "period": e.period}
    await subject(conn, e.originator_id, e.node, e.target_id, 1, **detail)
    await _raised(conn, recorded, e.node, e.target_id, detail, 1)


async def alert_recurred(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """The same breach again after it was resolved: raised again, as its next occurrence."""
    row = await known(conn, recorded.event.originator_id, 1)
    await _raised(conn, recorded, row["node"], row["target_id"], msgspec.json.decode(row["detail"]), row["tally"])


async def _raised(conn: asyncpg.Connection, recorded: Recorded, node: str, target_id, detail: dict, n: int) -> None:
    e = recorded.event
    data = c.AlertRaised(
        alert_id=e.originator_id,
        rule=detail["rule"],
        subject=detail["subject"],
        target_id=target_id,
        node=node,
        metric=detail["metric"],
        period=detail["period"],
        value=e.value,
        threshold=e.threshold,
        message=e.message,
        assignee=e.assignee,
        occurrence=n,
    )
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=await nodes_of(conn, node, day_of(recorded)))


async def alert_resolved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await known(conn, e.originator_id)
    data = c.AlertResolved(
        alert_id=e.originator_id,
        rule=msgspec.json.decode(row["detail"])["rule"],
        target_id=row["target_id"],
        node=row["node"],
        value=e.value,
        message=e.message,
    )
    nodes = await nodes_of(conn, row["node"], day_of(recorded))
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


def _measure(m: object) -> c.Measure:
    return msgspec.convert(msgspec.to_builtins(m), c.Measure)


async def action_opened(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await subject(conn, e.originator_id, e.node, e.target_id, 0)
    data = c.CorrectiveActionOpened(
        action_id=e.originator_id,
        target_id=e.target_id,
        alert_id=e.alert_id,
        node=e.node,
        owner=e.owner,
        due=e.due,
        plan=e.plan,
        expected_effect=e.expected_effect,
        before=_measure(e.before),
    )
    nodes = await nodes_of(conn, e.node, day_of(recorded))
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


async def action_completed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await known(conn, e.originator_id)
    data = c.CorrectiveActionCompleted(
        action_id=e.originator_id,
        target_id=row["target_id"],
        node=row["node"],
        completed_by=e.person,
        outcome=e.outcome,
        after=_measure(e.after),
    )
    nodes = await nodes_of(conn, row["node"], day_of(recorded))
    await emit(conn, recorded, data, subject=str(e.originator_id), nodes=nodes)


async def period_closed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    data = c.PeriodClosed(period=e.period, node=e.node, starts_on=e.starts_on, ends_on=e.ends_on, closed_by=e.person)
    nodes = await nodes_of(conn, e.node, e.ends_on)
    await emit(conn, recorded, data, subject=f"{e.period}/{e.node}", nodes=nodes, key=f"{e.period}/{e.node}")


async def incentive_finalised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """One public event per person paid, concerning the person and every unit above them."""
    e = recorded.event
    paths = await public_emit.paths(conn, [(p.person, day_of(recorded)) for p in e.payouts])
    events = [
        public_emit.outgoing(
            recorded,
            c.IncentiveFinalised(
                plan_id=e.originator_id,
                plan_node=e.node,
                plan_version=e.plan_version,
                person=p.person,
                metric=e.metric,
                period=e.period,
                closed_for=e.closed_for,
                target=p.target,
                actual=p.actual,
                attainment_pct=p.attainment_pct,
                tier=p.tier,
                multiplier=p.multiplier,
                earned=p.earned,
                cap_applied=p.cap_applied,
                team_award=p.team_award,
                amount=p.amount,
            ),
            subject=f"{e.originator_id}/{p.person}",
            nodes=nodes,
            key=p.person,
        )
        for p, nodes in zip(e.payouts, paths, strict=True)
    ]
    await public_emit.emit_all(conn, events)
