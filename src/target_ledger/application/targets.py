"""Setting, acknowledging, decomposing and reading targets."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from projections.attainment import fetch_actual_totals
from target_ledger.application import Command, preconditions
from target_ledger.application.attainment import actuals_current
from target_ledger.application.growth import GrowthAsk, grown
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.domain import decomposition
from target_ledger.domain.access import check_can_decompose, check_can_set_target
from target_ledger.domain.calendar import Period
from target_ledger.domain.errors import AlreadyExistsError, DomainError, NotFoundError
from target_ledger.domain.org import Organisation
from target_ledger.domain.target import Growth, Part, Scope, Target
from target_ledger.domain.values import plain
from target_ledger.eventstore import EventStore, StreamConflictError


async def set_target(
    cmd: Command,
    *,
    node: str,
    metric: str,
    period: str,
    value: Decimal | None,
    scope: Scope | None = None,
    stretch: Decimal | None = None,
    rationale: str = "",
    growth: GrowthAsk | None = None,
) -> tuple[Target, int]:
    """A target set by its value, or as a growth over a base period's actual (exactly one)."""
    basis = None
    if (value is None) == (growth is None):
        # Neither: the value is what is missing (most targets have one); both: the growth is the one too many.
        missing = "value" if value is None else "growth"
        raise DomainError("give the target's value, or its growth over a base period: exactly one", field=missing)
    if growth is not None:
        # Who may set it and what it is, before any actual is read for it.
        catalog, org = await cmd.catalog(), await cmd.org()
        catalog.metric(metric)
        catalog.check_scope(scope or {})
        if not org.exists(node):
            raise DomainError(f"unknown org node {node!r}: add it under /v1/org first", field="node")
        check_can_set_target(cmd.actor, org, node, cmd.today())
        value, basis = await grown(cmd, node=node, metric=metric, period=period, scope=scope or {}, ask=growth)
    assert value is not None
    target = await decide_target(
        cmd,
        node=node,
        metric=metric,
        period=period,
        value=value,
        scope=scope,
        stretch=stretch,
        rationale=rationale,
        growth=basis,
    )
    return target, await _append_new(cmd, [target])


async def decide_target(
    cmd: Command,
    *,
    node: str,
    metric: str,
    period: str,
    value: Decimal,
    scope: Scope | None = None,
    stretch: Decimal | None = None,
    rationale: str = "",
    growth: Growth | None = None,
) -> Target:
    """A new target after every check of setting one, not yet stored (a plan import stores many at once)."""
    catalog, org = await cmd.catalog(), await cmd.org()
    definition = catalog.metric(metric)
    definition.check_target_value(value)
    value = plain(value)
    if stretch is not None:
        definition.check_target_value(stretch, field="stretch")
        stretch = plain(stretch)
    catalog.check_scope(scope or {})
    span = cmd.calendar.parse(period)
    if not org.exists(node):
        raise DomainError(f"unknown org node {node!r}: add it under /v1/org first", field="node")
    check_can_set_target(cmd.actor, org, node, cmd.today())
    await cmd.check_open(node, span.start, span.end, field="period")
    return Target.set(
        node=node,
        metric=metric,
        period=span.key,
        starts_on=span.start,
        ends_on=span.end,
        scope=scope,
        value=value,
        stretch=stretch,
        rationale=rationale,
        at=cmd.clock(),
        lower_is_better=definition.direction == "lower",
        growth=growth,
    )


async def _append_new(cmd: Command, targets: list[Target], *before: Target) -> int:
    """Append new targets (after any changed ones); a taken natural key is a 409 naming it."""
    events = [e for t in [*before, *targets] for e in t.collect_events()]
    try:
        return (await cmd.append(events)).last
    except StreamConflictError as conflict:
        taken = next((t for t in targets if str(t.id) == conflict.stream_id), None)
        if taken is None:
            raise
        raise AlreadyExistsError(
            f"a target for {taken.node}/{taken.metric}/{taken.period}"
            f"{' ' + str(taken.scope) if taken.scope else ''} already exists: {taken.id}",
            field="period",
        ) from None


async def get_target(store: EventStore, target_id: uuid.UUID) -> Target:
    target = await store.get(target_id)
    if not isinstance(target, Target):
        raise NotFoundError(f"no target {target_id}")
    return target


async def read_target(cmd: Command, target_id: uuid.UUID) -> Target:
    """A target, for whoever may read its node. Its id derives from its key: an outsider is
    refused before the lookup, so a 404 tells them nothing."""
    await authorize_member(cmd)
    target = await get_target(cmd.store, target_id)
    await authorize_read(cmd, target.node)
    return target


async def get_target_as_of(store: EventStore, target_id: uuid.UUID, as_of: datetime) -> Target:
    """The target as the ledger knew it at as_of: rebuilt from the events recorded by then."""
    target = await store.get_until(target_id, as_of)
    if not isinstance(target, Target):
        raise NotFoundError(f"target {target_id} did not exist yet at {as_of.isoformat()}")
    return target


async def explain(store: EventStore, target_id: uuid.UUID) -> tuple[Target, list[dict[str, Any]]]:
    """The target now, and the stored events that made its value, oldest first: its own,
    and those of every adjustment applied to it (the request, its approvals)."""
    # One snapshot: the value and the events that explain it must not drift apart.
    async with store.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        target = await store.get(target_id, conn)
        if not isinstance(target, Target):
            raise NotFoundError(f"no target {target_id}")
        records = await store.records([target_id], conn)
        adjustments = [uuid.UUID(r["payload"]["adjustment_id"]) for r in records if r["type"] == "TargetAdjusted"]
        if adjustments:
            records = await store.records([target_id, *adjustments], conn)
    return target, records


async def respond(cmd: Command, target_id: uuid.UUID, *, agree: bool, comment: str) -> int:
    """The assignee acknowledges (agree) or disputes the target."""
    await preconditions.admit(cmd)
    target, org = await get_target(cmd.store, target_id), await cmd.org()
    await preconditions.check_target(cmd, target)
    assignee = target.node if org.is_person(target.node) else org.manager_of(target.node, cmd.today())
    respond_by = target.acknowledge if agree else target.dispute
    respond_by(cmd.actor.subject, assignee, comment, at=cmd.clock())
    events = target.collect_events()
    return (await cmd.append(events)).last


@dataclass(frozen=True)
class Split:
    """How to decompose: along which axis, by which method, into which parts."""

    axis: str  # org | period | dimension
    method: str  # even | weights | explicit | last_period_mix | prorated
    into: str | None = None  # period axis: quarter, month, week...
    dimension: str | None = None  # dimension axis
    parts: list[str] | None = None  # a subset of the candidates (default: all)
    weights: dict[str, Decimal] | None = None
    allocations: dict[str, Decimal] | None = None
    ramp: list[Decimal] | None = None  # prorated: a new hire's share of a day, month by month


@dataclass(frozen=True)
class _Candidate:
    node: str
    period: Period
    scope: Scope
    coverage: Decimal  # share of the part inside the parent's period


async def decompose(cmd: Command, parent_id: uuid.UUID, split: Split) -> tuple[Target, int | None]:
    """Split a target into child targets in one append; repeating the same split is harmless."""
    await preconditions.admit(cmd)
    parent = await get_target(cmd.store, parent_id)
    await preconditions.check_target(cmd, parent)
    children = await decide_split(cmd, parent, split)
    if children is None:
        await cmd.check_conditions()  # no append to compare the If-Match: a stale one is a 412 still
        return parent, None  # the same decomposition again: nothing to store
    return parent, await _append_new(cmd, children, parent)


async def decide_split(cmd: Command, parent: Target, split: Split) -> list[Target] | None:
    """Decompose `parent` (stored or new) and answer its new children, not yet stored; None if
    it is already split this very way."""
    planned = await plan_children(cmd, parent, split)
    keys, children = list(planned), list(planned.values())
    parts = [Part(target_id=t.id, node=t.node, period=t.period, scope=t.scope, value=t.value) for t in children]
    if parent.parts and (parent.axis, parent.method, parent.parts) == (split.axis, split.method, parts):
        return None
    if not parent.parts:  # split otherwise already: decompose says so
        await check_parts_new(cmd, split, dict(zip(keys, children, strict=True)))
    parent.decompose(split.axis, split.method, parts, at=cmd.clock())
    return children


async def plan_children(cmd: Command, parent: Target, split: Split) -> dict[str, Target]:
    """The children a split of `parent` would make, by their key along the axis, after every
    check of a split but whether they exist already; nothing decided on the parent yet."""
    catalog, org = await cmd.catalog(), await cmd.org()
    check_can_decompose(cmd.actor, org, parent.node, split.axis, cmd.today())
    metric = catalog.metric(parent.metric)
    if split.ramp is not None:
        decomposition.check_ramp(split.ramp, split.method)
    candidates = await _candidates(cmd, parent, split)
    keys = _chosen(split, list(candidates), await _default_parts(cmd, split, candidates))
    given = split.allocations if split.method == "explicit" else split.weights
    if split.method == "explicit":
        for key, value in (split.allocations or {}).items():
            metric.check_target_value(value, field=f"allocations.{key}")
        given = {key: plain(value) for key, value in (split.allocations or {}).items()}
    if split.method == "last_period_mix":
        await actuals_current(cmd)  # the mix counts every actual recorded before this request
        given = {key: await _last_period_actual(cmd, parent, split, candidates[key]) for key in keys}
    values = decomposition.split(
        parent.value,
        unit=metric.unit,
        additive=metric.additive,
        keys=keys,
        method=split.method,
        given=given,
        coverage={key: candidates[key].coverage for key in keys},
    )
    children = [
        Target.set(
            node=c.node,
            metric=parent.metric,
            period=c.period.key,
            starts_on=c.period.start,
            ends_on=c.period.end,
            scope=c.scope,
            value=values[key],
            at=cmd.clock(),
            rationale=f"{split.method} split of {parent.period} along {split.axis}",
            parent_id=parent.id,
            lower_is_better=metric.direction == "lower",
        )
        for key, c in ((key, candidates[key]) for key in keys)
    ]
    for child in children:  # the children of a split are new targets: none may land in a closed period
        await cmd.check_open(child.node, child.starts_on, child.ends_on, field="parts")
    return dict(zip(keys, children, strict=True))


async def check_parts_new(cmd: Command, split: Split, parts: dict[str, Target]) -> None:
    """A split makes its parts: a part already set (on its own, or as a part of another split) is
    a 409 naming the part (`allocations.<key>` or `parts`), decided before anything is stored, so
    a plan import's dry run says what its append would. A part is never adopted: its history,
    stretch and acknowledgement are its own, and it may be a part of another whole already."""
    stored = await cmd.store.load_after_each({t.id: 0 for t in parts.values()})
    for key, part in parts.items():
        if stored[part.id]:
            field = f"allocations.{key}" if key in (split.allocations or {}) else "parts"
            scope = f" {dict(part.scope)}" if part.scope else ""
            raise AlreadyExistsError(
                f"the part {part.node}/{part.metric}/{part.period}{scope} is a target already ({part.id}): "
                "a split only makes new targets",
                field=field,
            )


async def _candidates(cmd: Command, parent: Target, split: Split) -> dict[str, _Candidate]:
    span = cmd.calendar.parse(parent.period)
    whole = Decimal(1)
    if split.axis == "org":
        org = await cmd.org()
        if not org.is_unit(parent.node):
            raise DomainError(f"{parent.node!r} is a person: nothing below it to split into", field="axis")
        if split.method == "prorated":
            return _present(org, parent, span, split.ramp or [])
        children = org.children(parent.node, cmd.today())
        return {node: _Candidate(node, span, parent.scope, whole) for node in children}
    if split.method == "prorated":
        raise DomainError("prorated weighs people by their days present: it splits along the org", field="method")
    if split.axis == "period":
        return {
            p.key: _Candidate(parent.node, p, parent.scope, Decimal(span.overlap_days(p)) / p.days)
            for p in cmd.calendar.children(span, split.into)  # type: ignore[arg-type]
        }
    if split.axis == "dimension":
        if not split.dimension:
            raise DomainError("a split along a dimension names the dimension", field="dimension")
        if split.dimension in parent.scope:
            raise DomainError(f"the target is already scoped by {split.dimension!r}", field="dimension")
        values = (await cmd.catalog()).dimension(split.dimension)
        return {v: _Candidate(parent.node, span, {**parent.scope, split.dimension: v}, whole) for v in values}
    raise DomainError(f"unknown axis {split.axis!r}; use org, period or dimension", field="axis")


def _present(org: Organisation, parent: Target, span: Period, ramp: list[Decimal]) -> dict[str, _Candidate]:
    """A unit's sub-units for every day, and the people who were its members on any day of the
    period, each weighed by their days present (the documents split a team's target over the
    people who carry it; a joiner on 16 June carries 15 of June's 30 days), a new hire's days
    by the ramp."""
    units = [n for n in org.children(parent.node, span.start) if org.is_unit(n)]
    weights = {n: Decimal(span.days) for n in units}
    for person in org.members_during(parent.node, span.start, span.end):
        days = org.present_days(person, parent.node, span.start, span.end)
        weights[person] = decomposition.ramped(days, org.joined(person), ramp)
    return {n: _Candidate(n, span, parent.scope, days) for n, days in weights.items()}


async def _default_parts(cmd: Command, split: Split, candidates: dict[str, _Candidate]) -> list[str]:
    """Along the org, a unit with sub-units splits into those (its manager and other direct
    members carry no share unless named in `parts`); a team splits into its people. Prorated
    splits over every candidate _present found: sub-units and the people with days present."""
    if split.axis != "org" or split.method == "prorated":
        return list(candidates)
    org = await cmd.org()
    units = [node for node in candidates if org.is_unit(node)]
    return units or list(candidates)


def _chosen(split: Split, candidates: list[str], default: list[str]) -> list[str]:
    """The parts: those named in `parts`, else the keys of the allocations or weights, else the default."""
    field = {"explicit": "allocations", "weights": "weights"}.get(split.method, "parts")
    given = split.allocations if field == "allocations" else split.weights if field == "weights" else None
    if split.parts is not None:
        named, field = list(split.parts), "parts"
    elif given:
        named = list(given)
    else:
        return default
    for key in named:
        if key not in candidates:
            raise DomainError(
                f"{key!r} is not a part of this split; the parts are: {', '.join(candidates) or 'none'}",
                field=f"{field}.{key}",
            )
    missing = [key for key in candidates if key not in named]
    if split.axis == "period" and missing:  # time has no gaps: every sub-period gets its share
        raise DomainError(
            f"a split along time covers every sub-period; missing: {', '.join(missing)}",
            field=field,
        )
    return named


async def _last_period_actual(cmd: Command, parent: Target, split: Split, part: _Candidate) -> Decimal:
    """What this part achieved in the period before: the weight of a last-period mix."""
    previous = (
        cmd.calendar.same_period_last_year(part.period)
        if split.axis == "period"
        else cmd.calendar.previous(part.period)
    )
    async with cmd.store.pool.acquire() as conn:
        totals = await fetch_actual_totals(
            conn,
            node=part.node,
            metrics=[parent.metric],
            starts_on=previous.start,
            ends_on=previous.end,
            scope=part.scope,
        )
    return totals[parent.metric]
