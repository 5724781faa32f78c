"""Incentive plans: requested by whoever runs the node, decided above it, as target adjustments are."""

import uuid

from projections import incentives as model
from target_ledger.application import Command
from target_ledger.application.adjustments import may_approve
from target_ledger.application.attainment import read_models_current
from target_ledger.application.reads import authorize_member
from target_ledger.domain.access import check_can_read_record, check_manages_or_runs
from target_ledger.domain.errors import AlreadyExistsError, ConflictError, DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.incentive import IncentivePlan, Terms, plan_id


async def _check_metric(cmd: Command, metric: str, terms: Terms) -> None:
    """Tiers by attainment need a metric where more is better; a rate of the actual, a sum."""
    definition = (await cmd.catalog()).metric(metric)
    if definition.direction == "lower":
        raise DomainError(f"{metric} is lower-is-better: an incentive plan rewards attainment above", field="metric")
    if terms.rate_of_actual is not None and not definition.additive:
        raise DomainError(f"{metric} is a ratio: pay a base_amount, not a rate of it", field="rate_of_actual")


async def request_plan(
    cmd: Command, *, node: str, metric: str, period: str, terms: Terms, justification: str
) -> tuple[IncentivePlan, int]:
    """A new plan for the node's people, pending until someone above the node approves it.
    One plan per node, metric and period: another is a change of it (409 saying so)."""
    check_manages_or_runs(cmd.actor, await cmd.org(), node, cmd.today(), "an incentive plan for")
    await _check_metric(cmd, metric, terms)
    span = cmd.calendar.parse(period)
    await cmd.check_open(node, span.start, span.end, field="period")
    existing = plan_id(node, metric, span.key)
    if await cmd.store.get(existing) is not None:
        raise AlreadyExistsError(
            f"{node!r} has an incentive plan for {metric} in {span.key} ({existing}): "
            f"request a change of it (POST /v1/incentive-plans/{existing}/changes)"
        )
    plan = IncentivePlan.request(
        node=node,
        metric=metric,
        period=span.key,
        starts_on=span.start,
        ends_on=span.end,
        terms=terms,
        requester=cmd.actor.subject,
        justification=justification,
        at=cmd.clock(),
    )
    return plan, (await cmd.append(plan.collect_events())).last


async def get_plan(cmd: Command, plan: uuid.UUID) -> IncentivePlan:
    found = await cmd.store.get(plan)
    if not isinstance(found, IncentivePlan):
        raise NotFoundError(f"no incentive plan {plan}")
    return found


async def read_plan(cmd: Command, plan: uuid.UUID) -> IncentivePlan:
    """A plan, for whoever may read its node (and its requester); an outsider is refused first."""
    org = await authorize_member(cmd)
    found = await get_plan(cmd, plan)
    check_can_read_record(cmd.actor, org, found.node, cmd.today(), "an incentive plan", (found.requester,))
    return found


async def request_change(cmd: Command, plan: uuid.UUID, terms: Terms, justification: str) -> tuple[IncentivePlan, int]:
    found = await get_plan(cmd, plan)
    check_manages_or_runs(cmd.actor, await cmd.org(), found.node, cmd.today(), "changing the incentive plan of")
    await _check_metric(cmd, found.metric, terms)
    await cmd.check_open(found.node, found.starts_on, found.ends_on, field="period")
    found.request_change(terms, cmd.actor.subject, justification, at=cmd.clock())
    return found, (await cmd.append(found.collect_events())).last


async def _to_decide(cmd: Command, plan: uuid.UUID, doing: str) -> IncentivePlan:
    """The plan, for a decider as the adjustments' rules say: a manager of a unit above its node, or an admin."""
    found = await get_plan(cmd, plan)
    if not await may_approve(cmd, found.node, []):
        raise ForbiddenError(f"{doing} a plan needs to manage a unit above {found.node!r}, or the admin role")
    return found


async def _check_paid_once(cmd: Command, plan: IncentivePlan) -> None:
    """No person under two approved plans of the metric sharing a day (a plan on a unit and one
    on a unit or person inside it): the second approval is a 409 naming the other plan."""
    org, on = await cmd.org(), min(plan.ends_on, cmd.today())
    mine = set(org.subtree(plan.node, on)) if org.exists(plan.node) else {plan.node}
    await read_models_current(cmd, [model.NAME])  # every approval recorded before this one
    async with cmd.store.pool.acquire() as conn:
        others = await model.fetch_plans_overlapping(conn, plan.metric, plan.starts_on, plan.ends_on)
    for other in others:
        theirs = set(org.subtree(other["node"], on)) if org.exists(other["node"]) else {other["node"]}
        shared = sorted(n for n in mine & theirs if org.is_person(n))
        if other["plan_id"] != plan.id and shared:
            people = ", ".join(map(repr, shared[:5])) + (" …" if len(shared) > 5 else "")
            raise ConflictError(
                f"{people} paid on {plan.metric} in {other['period']} by incentive plan {other['plan_id']} "
                f"for {other['node']!r} already: one plan pays a person once (change that plan, or plan elsewhere)"
            )


async def approve(cmd: Command, plan: uuid.UUID) -> tuple[IncentivePlan, int]:
    """Like an adjustment's approval: someone other than the requester, managing a unit above
    the plan's node (or an admin); never in a period closed for the node, nor for a person an
    approved plan of the metric pays already on a day of this one (409)."""
    found = await _to_decide(cmd, plan, "approving")
    found.approve(cmd.actor.subject, at=cmd.clock())
    await cmd.check_open(found.node, found.starts_on, found.ends_on, field="period")
    await _check_paid_once(cmd, found)
    return found, (await cmd.append(found.collect_events())).last


async def reject(cmd: Command, plan: uuid.UUID, reason: str) -> tuple[IncentivePlan, int]:
    found = await _to_decide(cmd, plan, "rejecting")
    found.reject(cmd.actor.subject, reason, at=cmd.clock())
    return found, (await cmd.append(found.collect_events())).last


async def withdraw(cmd: Command, plan: uuid.UUID, reason: str) -> tuple[IncentivePlan, int]:
    """The requester takes back their request waiting for a decision (403 for anyone else)."""
    found = await get_plan(cmd, plan)
    found.withdraw(cmd.actor.subject, reason, at=cmd.clock())
    return found, (await cmd.append(found.collect_events())).last
