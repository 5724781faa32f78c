"""Payouts: each person's earning under a plan, provisional from attainment, final from the close."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from projections import attainment as attainment_model
from projections import incentives as model
from projections.attainment import ActualFilter
from projections.runner import tracked
from target_ledger.application import Command
from target_ledger.application.attainment import parts_of, read_models_current, standings
from target_ledger.application.incentives import get_plan
from target_ledger.application.reads import authorize_read, known_metric
from target_ledger.domain.access import can_read
from target_ledger.domain.catalog import part_key
from target_ledger.domain.errors import NotFoundError
from target_ledger.domain.incentive import IncentivePlan, PersonPayout, Terms
from target_ledger.domain.org import Organisation
from target_ledger.domain.payout import earn, earn_without_attainment
from target_ledger.domain.target import target_id


@dataclass(frozen=True)
class Payout:
    """A person's payout under a plan: `provisional` while the period is open for the plan's
    node, `final` (as its close froze it, at `finalised_position`) once it is closed."""

    plan_id: uuid.UUID
    plan_node: str
    metric: str
    period: str
    plan_version: int
    status: str
    team_attainment_pct: Decimal | None
    team_reached: bool
    payout: PersonPayout
    finalised_position: int | None = None


@dataclass(frozen=True)
class Computed:
    team_attainment_pct: Decimal | None
    team_reached: bool
    payouts: list[PersonPayout]


def _day(cmd: Command, ends_on: date) -> date:
    """The day members are taken on: today, or the period's last day once it is past."""
    return min(ends_on, cmd.today())


async def _compute(
    cmd: Command,
    conn: asyncpg.Connection,
    org: Organisation,
    plan: dict[str, Any],
    wanted: set[str] | None,
    *,
    final: bool = False,
) -> Computed:
    """Every person of the plan's subtree with a target (of those `wanted`), paid on their
    attainment as the attainment read model has it now: never a second computation of it.
    Provisional on the actual to date; `final` (at a close) on every actual in the period,
    one dated ahead of the close included, as the closed period's review counts them."""
    terms = msgspec.convert(plan["terms"], Terms)
    members = org.subtree(plan["node"], _day(cmd, plan["ends_on"]))
    people = [n for n in members if org.is_person(n) and (wanted is None or n in wanted)]
    nodes = [plan["node"], *people]
    day = plan["ends_on"] if final else cmd.today()
    team, *rows = await standings(cmd, conn, metric=plan["metric"], period=plan["period"], nodes=nodes, day=day)
    exact = team.standing.attainment if team.standing else None
    reached = exact is not None and exact >= 100
    found = []
    for row in rows:
        s = row.standing
        if row.target is None or row.target_id is None:
            continue  # no target: not a person of the plan
        if s is None or s.attainment is None or s.attainment_pct is None:
            earning = earn_without_attainment(terms, team_reached=reached)  # a target of 0
        else:
            earning = earn(terms, actual=row.actual, attainment=s.attainment / 100, team_reached=reached)
        found.append(
            PersonPayout(
                person=row.node,
                target_id=uuid.UUID(str(row.target_id)),
                target=row.target,
                actual=row.actual,
                attainment_pct=s.attainment_pct if s is not None else None,
                tier=earning.tier,
                multiplier=earning.multiplier,
                earned=earning.earned,
                cap_applied=earning.cap_applied,
                team_award=earning.team_award,
                amount=earning.amount,
                computation=earning.computation,
            )
        )
    return Computed(team.standing.attainment_pct if team.standing else None, reached, found)


async def _of_plan(
    cmd: Command, conn: asyncpg.Connection, org: Organisation, plan: dict[str, Any], wanted: set[str] | None
) -> list[Payout]:
    """Final if the period is closed for the plan's node and the close finalised it; else provisional."""
    closed = await cmd.closure(plan["node"], plan["starts_on"], plan["ends_on"]) is not None
    final = await model.fetch_final(conn, plan["plan_id"]) if closed else {}
    keys = {"plan_id": plan["plan_id"], "plan_node": plan["node"], "metric": plan["metric"], "period": plan["period"]}
    if final:
        return [
            Payout(
                **keys,
                plan_version=plan["plan_version"],
                status="final",
                team_attainment_pct=plan["team_attainment_pct"],
                team_reached=bool(plan["team_reached"]),
                payout=msgspec.convert(row, PersonPayout, strict=False),
                finalised_position=row["position"],
            )
            for person, row in sorted(final.items())
            if wanted is None or person in wanted
        ]
    computed = await _compute(cmd, conn, org, plan, wanted)
    return [
        Payout(
            **keys,
            plan_version=plan["plan_version"],
            status="provisional",
            team_attainment_pct=computed.team_attainment_pct,
            team_reached=computed.team_reached,
            payout=payout,
        )
        for payout in computed.payouts
    ]


async def payouts(cmd: Command, *, node: str, metric: str, period: str) -> list[Payout]:
    """The payouts of the people in the node's subtree (the node itself, for a person) that the
    actor may read (a rep their own, a manager their people's), under every approved plan of
    the metric and period, by plan node then person."""
    org = await authorize_read(cmd, node)
    await known_metric(cmd, metric)
    span, today = cmd.calendar.parse(period), cmd.today()
    subtree = org.subtree(node, _day(cmd, span.end))
    wanted = {n for n in subtree if org.is_person(n) and can_read(cmd.actor, org, n, today)}
    found: list[Payout] = []
    async with cmd.store.pool.acquire() as conn:
        for plan in await model.fetch_plans(conn, metric=metric, period=span.key):
            if plan["plan_version"] > 0 and wanted:
                found += await _of_plan(cmd, conn, org, plan, wanted)
    return found


async def payout(cmd: Command, plan_id: uuid.UUID, person: str) -> Payout:
    """One person's payout under one plan: 403 unless the actor may read the person, 404 if
    the plan does not pay them (no approved terms, or no target of theirs)."""
    await authorize_read(cmd, person, field="person")
    plan = await get_plan(cmd, plan_id)
    for found in await payouts(cmd, node=person, metric=plan.metric, period=plan.period):
        if found.plan_id == plan_id and found.payout.person == person:
            return found
    raise NotFoundError(f"incentive plan {plan_id} pays {person!r} nothing: no approved terms, or no target")


async def explain(cmd: Command, plan_id: uuid.UUID, person: str) -> tuple[Payout, list[dict[str, Any]]]:
    """The payout and the stored events it comes from, oldest first: the plan's (request,
    approvals, finalisations), the person's target's (and its adjustments'), each of the
    person's actuals counted in the period (with their reversals); and behind the team award,
    the plan node's target's events and the actuals of its members the actor may read."""
    found = await payout(cmd, plan_id, person)
    metric = (await cmd.catalog()).metric(found.metric)
    span, org, today = cmd.calendar.parse(found.period), await cmd.org(), cmd.today()
    members = [n for n in org.subtree(found.plan_node, _day(cmd, span.end)) if org.is_person(n)]
    # A manager of the plan's node reads every actual its figure counts; a rep those they may read.
    readable = (
        None
        if can_read(cmd.actor, org, found.plan_node, today)
        else [n for n in members if can_read(cmd.actor, org, n, today)]
    )
    ids = [plan_id, found.payout.target_id, target_id(found.plan_node, found.metric, span.key)]
    until = span.end if found.status == "final" else _day(cmd, span.end)
    async with cmd.store.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for part in dict.fromkeys(part_key(p)[0] for p in parts_of(metric)):  # a share's parts: one metric
            for wanted in (
                ActualFilter(person=person, metric=part, since=span.start, until=until),
                ActualFilter(people=readable, node=found.plan_node, metric=part, since=span.start, until=until),
            ):
                found_ids = await attainment_model.fetch_actuals(conn, wanted, after=0, limit=10_000)
                ids += [a["actual_id"] for a in found_ids if a["actual_id"] not in ids]
        records = await cmd.store.records(ids, conn)
        adjustments = [uuid.UUID(r["payload"]["adjustment_id"]) for r in records if r["type"] == "TargetAdjusted"]
        if adjustments:
            records = await cmd.store.records([*ids, *adjustments], conn)
    return found, records


async def _may_finalise(cmd: Command, starts_on: date, ends_on: date) -> bool:
    """Whether a plan may need finalising: one the read model knows within the days, or an
    approval it has not seen yet. Without either, a close waits for no read model."""
    async with cmd.store.pool.acquire() as conn:
        if await model.fetch_plans_within(conn, starts_on, ends_on):
            return True
        seen = (await tracked(conn, model.NAME)).position
    return await cmd.store.any_after(seen, [IncentivePlan.IncentivePlanApproved.TOPIC])


async def _finalised(
    cmd: Command,
    node: str,
    starts_on: date,
    ends_on: date,
    known: dict[uuid.UUID, IncentivePlan],
    already: set[str],
) -> list[IncentivePlan]:
    """Each approved plan of a node in the subtree whose days the close covers, finalised with the
    payouts as they stand now, unless `known` already finalised them so, or a close in force of
    a node in `already` (the plan's, or a unit's between it and `node`) froze them before."""
    org, finalised = await cmd.org(), []
    under = set(org.subtree(node, ends_on)) if org.exists(node) else {node}
    async with cmd.store.pool.acquire() as conn:
        for plan in await model.fetch_plans_within(conn, starts_on, ends_on):
            if plan["node"] not in under:
                continue
            if already & {plan["node"], *org.ancestors(plan["node"], starts_on)}:
                continue
            computed = await _compute(cmd, conn, org, plan, None, final=True)
            aggregate = known.get(plan["plan_id"]) or await get_plan(cmd, plan["plan_id"])
            if aggregate.id in known and computed.payouts == aggregate.finalised:
                continue
            aggregate.finalise(node, computed.team_attainment_pct, computed.team_reached, computed.payouts, cmd.clock())
            finalised.append(aggregate)
    return finalised


async def finalise(
    cmd: Command, node: str, starts_on: date, ends_on: date, already: set[str]
) -> tuple[list[IncentivePlan], int]:
    """At a close for `node`: the plans it finalises (see `_finalised`), once the read models
    have every event recorded before; and the log position the payouts stand at."""
    head = await cmd.store.head()
    if not await _may_finalise(cmd, starts_on, ends_on):
        return [], head
    seen = await read_models_current(cmd, [attainment_model.NAME, model.NAME])
    return await _finalised(cmd, node, starts_on, ends_on, {}, already), seen


async def finalise_again(
    cmd: Command, node: str, starts_on: date, ends_on: date, plans: list[IncentivePlan], already: set[str]
) -> int | None:
    """After the close committed: a write that committed between the figures read and the
    close (an actual, a plan's approval) is in the period, so each plan whose payouts it
    changes is finalised again (the close stops any more). The position of the last event
    appended, or None if none was."""
    if not plans and not await _may_finalise(cmd, starts_on, ends_on):
        return None
    await read_models_current(cmd, [attainment_model.NAME, model.NAME])
    again = await _finalised(cmd, node, starts_on, ends_on, {plan.id: plan for plan in plans}, already)
    events = [e for plan in again for e in plan.collect_events()]
    if not events:
        return None
    # Ids of their own: those of the request's Idempotency-Key went to the close's events.
    return (await cmd.append(events, event_ids=[uuid.uuid4() for _ in events])).last
