"""Adjustment requests: ask with a justification, decide above, apply atomically."""

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import asyncpg
import msgspec

from projections import attainment as attainment_model
from projections import inbox as inbox_model
from target_ledger.application import Command, matrix_adjustments, preconditions
from target_ledger.application.attainment import actual_of, parts_of
from target_ledger.application.reads import authorize_member
from target_ledger.application.targets import get_target
from target_ledger.domain.access import can_read, can_read_record, check_can_read_record
from target_ledger.domain.adjustment import Adjustment, Change
from target_ledger.domain.attainment import attainment_pct, shown_actual
from target_ledger.domain.catalog import Metric
from target_ledger.domain.decomposition import by_weights, check_explicit, quantum_for
from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.target import Target
from target_ledger.domain.values import plain

SECOND_APPROVAL_ABOVE = Decimal(10)  # % of the target: a larger change needs the next level up too


@dataclass(frozen=True)
class Ask:
    """What the requester asks: a new value (with an optional re-allocation of the children
    by child target id), or a quota transfer of `amount` to a sibling target."""

    reason_category: str
    justification: str
    evidence: list[str]
    new_value: Decimal | None = None
    reallocation: dict[str, Decimal] | None = None
    transfer_to: uuid.UUID | None = None
    amount: Decimal | None = None


async def _retarget(cmd: Command, target: Target, value: Decimal, explicit: dict[str, Decimal] | None) -> list[Change]:
    """The target's change and, if it is decomposed, its children's: proportional to their
    current values unless given, so that they still sum exactly to it."""
    if target.cross_parts:  # a matrix: every cell scaled alike, controlled-rounded
        if explicit is not None:
            raise DomainError("a matrix re-allocates proportionally: adjust one of its margins", field="reallocation")
        metric = (await cmd.catalog()).metric(target.metric)
        return await matrix_adjustments.rescale(cmd, target, metric, _retarget, total=value)
    changes = [matrix_adjustments.change(target, value)]
    if not target.parts:
        if explicit:  # a re-allocation of children it does not have: refused, not ignored
            raise DomainError(
                f"target {target.id} is not decomposed: there is nothing to re-allocate", field="reallocation"
            )
        return changes
    additive = (await cmd.catalog()).metric(target.metric).additive
    if explicit is not None:
        unknown = set(explicit) - {str(p.target_id) for p in target.parts}
        if unknown or len(explicit) != len(target.parts):
            raise DomainError("a re-allocation gives a value for every child target, by id", field="reallocation")
        values = [explicit[str(p.target_id)] for p in target.parts]
        if additive:
            check_explicit(value, values)
    elif not additive:
        values = [value] * len(target.parts)  # a rate is inherited, not divided
    else:
        weights = [p.value for p in target.parts]
        weights = weights if any(weights) else [Decimal(1)] * len(weights)
        values = by_weights(value, weights, quantum_for(value, (await cmd.catalog()).metric(target.metric).unit))
    for part, child_value in zip(target.parts, values, strict=True):
        changes += await _retarget(cmd, await get_target(cmd.store, part.target_id), child_value, None)
    return changes


def _check_values(metric: Metric, ask: Ask) -> Ask:
    """Every value asked for fits the target's metric (no negative target, no 100.001 of
    money), refused when asked rather than when approved."""
    for field, value in [("new_value", ask.new_value), ("amount", ask.amount)]:
        if value is not None:
            metric.check_target_value(value, field=field)
    for child, value in (ask.reallocation or {}).items():
        metric.check_target_value(value, field=f"reallocation.{child}")
    # Checked: how a value was typed (a percent) no longer matters.
    reallocation = None if ask.reallocation is None else {k: plain(v) for k, v in ask.reallocation.items()}
    new_value, amount = (None if v is None else plain(v) for v in (ask.new_value, ask.amount))
    return replace(ask, new_value=new_value, amount=amount, reallocation=reallocation)


async def _changes(cmd: Command, target: Target, ask: Ask) -> tuple[list[Change], Decimal]:
    """Every change the request makes, and the size of the change that sets the approvals."""
    metric = (await cmd.catalog()).metric(target.metric)
    ask = _check_values(metric, ask)
    matrix = await matrix_adjustments.matrix_of(cmd, target)
    if ask.transfer_to is not None:
        if matrix is not None:
            return await _margin_transfer(cmd, matrix, metric, target, ask)
        sibling = await get_target(cmd.store, ask.transfer_to)
        if await matrix_adjustments.matrix_of(cmd, await get_target(cmd.store, target.parent_id or target.id)):
            raise DomainError("a cell of a matrix changes through its margins or the whole", field="transfer_to")
        if target.parent_id is None or sibling.parent_id != target.parent_id or sibling.id == target.id:
            raise DomainError("quota moves only between two children of the same target", field="transfer_to")
        amount = _amount(target, ask)
        changes = await _retarget(cmd, target, target.value - amount, None)
        return changes + await _retarget(cmd, sibling, sibling.value + amount, None), amount
    if ask.new_value is None:
        raise DomainError("give new_value, or transfer_to and amount", field="new_value")
    size = abs(ask.new_value - target.value)
    if matrix is not None and matrix.parent_id is None:
        # A margin of a matrix (a month, a product): its cells scale, the other margin follows,
        # and so does the whole: a month's change is a change of the quarter.
        if ask.reallocation is not None:
            raise DomainError("a margin of a matrix re-allocates its cells proportionally", field="reallocation")
        margins = {target.id: ask.new_value}
        return await matrix_adjustments.rescale(cmd, matrix, metric, _retarget, margins=margins), size
    if await matrix_adjustments.matrix_of(cmd, await get_target(cmd.store, target.parent_id or target.id)):
        raise DomainError(
            f"target {target.id} is a cell of a decomposition matrix: adjust one of its margins (a month, "
            "a product), or the whole, and its cells follow",
            field="new_value",
        )
    if target.parent_id is not None:
        raise DomainError(
            f"target {target.id} is part of the decomposition of {target.parent_id}: adjust that one "
            "with a re-allocation, or transfer quota to a sibling, so the parts still sum to it",
            field="new_value",
        )
    return await _retarget(cmd, target, ask.new_value, ask.reallocation), size


def _amount(target: Target, ask: Ask) -> Decimal:
    """The quota a transfer moves: some of the target's, never more than all of it."""
    amount = ask.amount or Decimal(0)
    if not 0 < amount <= target.value:
        raise DomainError(f"amount is more than 0 and at most {target.value}", field="amount")
    return amount


async def _margin_transfer(
    cmd: Command, matrix: Target, metric: Metric, target: Target, ask: Ask
) -> tuple[list[Change], Decimal]:
    """Quota moved between two months (or two products) of a matrix: their cells scale, the other
    margin follows, the whole stays."""
    if ask.transfer_to not in {p.target_id for p in [*matrix.parts, *matrix.cross_parts]} or (
        ask.transfer_to == target.id
    ):
        raise DomainError("quota moves only between two margins of the same matrix", field="transfer_to")
    amount = _amount(target, ask)
    sibling = await get_target(cmd.store, ask.transfer_to)
    moved = {target.id: target.value - amount, sibling.id: sibling.value + amount}
    return await matrix_adjustments.rescale(cmd, matrix, metric, _retarget, margins=moved), amount


async def request_adjustment(cmd: Command, target_id: uuid.UUID, ask: Ask) -> tuple[Adjustment, int]:
    await preconditions.admit(cmd)
    target, org = await get_target(cmd.store, target_id), await cmd.org()
    await preconditions.check_target(cmd, target)  # the version the requester saw
    today, me = cmd.today(), cmd.actor.subject
    may_ask = cmd.actor.is_admin or me == target.node or org.manages(me, target.node, today)
    if not (may_ask or (org.is_unit(target.node) and org.manager_of(target.node, today) == me)):
        raise ForbiddenError(f"requesting a change of {target.node!r}'s target needs to be its assignee or a manager")
    changes, size = await _changes(cmd, target, ask)
    await _check_open(cmd, changes, field="new_value" if ask.transfer_to is None else "transfer_to")
    large = not target.value or size / target.value * 100 > SECOND_APPROVAL_ABOVE
    adjustment = Adjustment.request(
        target_id=target.id,
        requester=me,
        reason_category=ask.reason_category,
        justification=ask.justification,
        evidence=ask.evidence,
        changes=changes,
        approvals_needed=2 if large else 1,
        at=cmd.clock(),
    )
    events = adjustment.collect_events()
    return adjustment, (await cmd.append(events)).last


async def _check_open(cmd: Command, changes: list[Change], field: str = "new_value") -> None:
    """A closed period's targets are frozen: asking to change them, or applying it, is a 409.
    A target whose value stays (a matrix's quarter beside a transfer between two months) is not changed."""
    for change in changes:
        if change.old_value != change.new_value:
            span = cmd.calendar.parse(change.period)
            await cmd.check_open(change.node, span.start, span.end, field=field)


async def get_adjustment(cmd: Command, adjustment_id: uuid.UUID) -> Adjustment:
    adjustment = await cmd.store.get(adjustment_id)
    if not isinstance(adjustment, Adjustment):
        raise NotFoundError(f"no adjustment {adjustment_id}")
    return adjustment


async def read_adjustment(cmd: Command, adjustment_id: uuid.UUID) -> Adjustment:
    """A request, for whoever may read its target's node, its requester and its approvers;
    an outsider is refused before the lookup."""
    org = await authorize_member(cmd)
    adjustment = await get_adjustment(cmd, adjustment_id)
    named = (adjustment.requester, *adjustment.approvals)
    check_can_read_record(cmd.actor, org, adjustment.changes[0].node, cmd.today(), "a request", named)
    return adjustment


def _above(node: str, approvals: list[str]) -> str:
    """Whom the next approver must stand above: the target's node first, then the first approver."""
    return approvals[0] if approvals else node


async def may_approve(cmd: Command, node: str, approvals: list[str]) -> bool:
    """Whether the actor may give the next approval of a request about `node` (an adjustment,
    an incentive plan): an admin, or a manager of a unit above the node, then above the first approver."""
    return cmd.actor.is_admin or (await cmd.org()).manages(cmd.actor.subject, _above(node, approvals), cmd.today())


async def approve(cmd: Command, adjustment_id: uuid.UUID) -> tuple[Adjustment, int]:
    """Approve; the last approval applies every change in the same append, or none (409)."""
    await preconditions.admit(cmd)
    adjustment, me = await get_adjustment(cmd, adjustment_id), cmd.actor.subject
    await preconditions.check_adjustment(cmd, adjustment)
    if not await may_approve(cmd, adjustment.changes[0].node, adjustment.approvals):
        above = _above(adjustment.changes[0].node, adjustment.approvals)
        raise ForbiddenError(f"approval {adjustment.level} needs to manage a unit above {above!r}, or the admin role")
    adjustment.approve(me, at=cmd.clock())
    await _check_open(cmd, adjustment.changes)
    targets = await _apply(cmd, adjustment) if adjustment.status == "approved" else []
    events = [*adjustment.collect_events(), *(e for t in targets for e in t.collect_events())]
    appended = await cmd.append(events)
    return adjustment, appended.last


async def _apply(cmd: Command, adjustment: Adjustment) -> list[Target]:
    new_values = {c.target_id: c.new_value for c in adjustment.changes}
    targets = []
    for change in adjustment.changes:
        target = await get_target(cmd.store, change.target_id)
        if target.version != change.version:
            raise ConflictError(
                f"target {target.id} changed since the request (version {change.version} → {target.version}): "
                "the requester must submit a new request"
            )
        children = [*target.parts, *target.cross_parts]
        parts = [msgspec.structs.replace(p, value=new_values.get(p.target_id, p.value)) for p in children]
        target.adjust(change.new_value, parts, adjustment.id, at=cmd.clock())
        targets.append(target)
    return targets


async def reject(cmd: Command, adjustment_id: uuid.UUID, reason: str) -> tuple[Adjustment, int]:
    await preconditions.admit(cmd)
    adjustment, org, me = await get_adjustment(cmd, adjustment_id), await cmd.org(), cmd.actor.subject
    await preconditions.check_adjustment(cmd, adjustment)
    if not (cmd.actor.is_admin or org.manages(me, adjustment.changes[0].node, cmd.today())):
        raise ForbiddenError("rejecting needs to manage a unit above the target, or the admin role")
    adjustment.reject(me, reason, at=cmd.clock())
    events = adjustment.collect_events()
    return adjustment, (await cmd.append(events)).last


async def withdraw(cmd: Command, adjustment_id: uuid.UUID, reason: str) -> tuple[Adjustment, int]:
    await preconditions.admit(cmd)
    adjustment = await get_adjustment(cmd, adjustment_id)
    await preconditions.check_adjustment(cmd, adjustment)
    adjustment.withdraw(cmd.actor.subject, reason, at=cmd.clock())
    events = adjustment.collect_events()
    return adjustment, (await cmd.append(events)).last


async def inbox(cmd: Command, *, status: str | None, mine: bool) -> list[dict[str, Any]]:
    """Requests the actor may read (those they may approve next, if `mine`), each change with
    its effect on attainment: actual to date against the old and the new value, withheld
    (null) for a node the actor may not read, since those figures are that node's."""
    org, today = await authorize_member(cmd), cmd.today()
    async with cmd.store.pool.acquire() as conn:
        requests = [
            r
            for r in await inbox_model.fetch_requests(conn, status)
            if can_read_record(cmd.actor, org, r["node"], today, (r["requester"], *r["approvals"]))
        ]
        if mine:
            requests = [
                r
                for r in requests
                if r["status"] == "pending"
                and cmd.actor.subject not in (r["requester"], *r["approvals"])
                and await may_approve(cmd, r["node"], r["approvals"])
            ]
        ids = [uuid.UUID(c["target_id"]) for r in requests for c in r["changes"]]
        keys = await attainment_model.fetch_target_keys(conn, ids)
        for request in requests:
            for change in request["changes"]:
                key = keys.get(uuid.UUID(change["target_id"]))
                readable = can_read(cmd.actor, org, change["node"], today)
                exact = await _actual_to_date(cmd, conn, key) if readable else None
                lower = key is not None and (await cmd.catalog()).metric(key["metric"]).direction == "lower"
                change["actual"] = None if exact is None else shown_actual(exact, lower_is_better=lower)
                for side in ("old", "new"):
                    value = Decimal(change[f"{side}_value"])
                    change[f"attainment_{side}_pct"] = attainment_pct(exact, value, lower_is_better=lower)
    return requests


async def _actual_to_date(
    cmd: Command, conn: asyncpg.Connection, key: asyncpg.Record | None
) -> Decimal | Fraction | None:
    """A sum, or a ratio metric's exact rate of its parts' sums."""
    if key is None:  # the attainment read model has not seen this target yet
        return None
    metric = (await cmd.catalog()).metric(key["metric"])
    totals = await attainment_model.fetch_actual_totals(
        conn,
        node=key["node"],
        metrics=parts_of(metric),
        starts_on=key["starts_on"],
        ends_on=min(key["ends_on"], cmd.today()),
        scope=msgspec.json.decode(key["scope"]),
    )
    return actual_of(metric, totals)
