"""How targets stand now: a node's row, its breakdown, and a unit's leaderboard."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import asyncpg

from projections import attainment as attainment_model
from projections.attainment import (
    HolderKey,
    Plan,
    fetch_figures,
    fetch_holders,
    fetch_nodes_with_targets,
    fetch_split_target,
)
from projections.runner import caught_up
from target_ledger.application import Command, ReadModelBehindError
from target_ledger.application.reads import authorize_read, known_metric
from target_ledger.application.summed_targets import Known, SummedPlan, with_sums
from target_ledger.domain.access import can_read
from target_ledger.domain.attainment import Standing, assess, days_elapsed, planned_by, rate, shown_actual
from target_ledger.domain.calendar import Period
from target_ledger.domain.catalog import Catalog, Metric, part_key
from target_ledger.domain.corrective_action import Measure
from target_ledger.domain.derived_share import (
    Holder,
    expected_share,
    inherited_rate,
    partial,
    planned_share,
    shown_share,
)
from target_ledger.domain.errors import DomainError
from target_ledger.domain.org import ORG_ID, Organisation
from target_ledger.domain.target import Target, target_id


@dataclass(frozen=True)
class Row:
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    actual: Decimal
    target_id: object | None = None
    target: Decimal | None = None
    standing: Standing | None = None
    # "set"; "sum_of_parts": summed from the set targets below it along another axis; "derived_share":
    # a period inside a target's, its planned share; "set_and_derived_share": a set week that plans
    # its month's days only, plus the derived share of its other days
    target_source: str | None = None


Key = tuple[str, Period, dict[str, str]]  # node, period, scope


def parts_of(metric: Metric) -> list[str]:
    """The parts whose actuals make a metric's: itself, or a ratio's numerator and denominator,
    each in its own scope when it is a share (domain/catalog.py part_label)."""
    return metric.parts


def actual_of(metric: Metric, totals: dict[str, Decimal]) -> Decimal | Fraction:
    """What attainment is judged on: a sum as it is, or a ratio metric's exact rate."""
    if metric.additive:
        return totals[metric.name]
    numerator, denominator = metric.parts
    return rate(totals[numerator], totals[denominator])


async def holders_now(conn: asyncpg.Connection, metric: str, keys: list[HolderKey]) -> list[list[Holder]]:
    """Per key, the targets whose days meet its days: what a period with none derives its share from."""
    found = await fetch_holders(conn, metric, keys)
    return [[Holder(start, end, value, parts) for _, start, end, value, parts in rows] for rows in found]


def _days(keys: list[Key]) -> list[HolderKey]:
    return [(node, span.start, span.end, scope) for node, span, scope in keys]


class LiveFigures:
    """Targets and actuals from the attainment read model, as they stand now: every row's
    in one query, however many rows a read asks for."""

    def __init__(self, conn: asyncpg.Connection, today: date) -> None:
        self.conn, self.today = conn, today
        self.position: int | None = None  # of the read model, as of the last figures read

    async def figures(
        self, keys: list[Key], metric: str, parts: list[str]
    ) -> list[tuple[dict[str, Decimal], Plan | None]]:
        spans = [(node, span.key, span.start, min(span.end, self.today), scope) for node, span, scope in keys]
        figures, self.position = await fetch_figures(self.conn, metric, parts, spans)
        return figures

    async def holders(self, keys: list[Key], metric: str) -> list[list[Holder]]:
        return await holders_now(self.conn, metric, _days(keys))

    async def known(self, metric: str, node: str, period: str, scope: dict[str, str]) -> Known | None:
        found = await fetch_split_target(self.conn, node=node, metric=metric, period=period, scope=scope)
        return None if found is None else Known(*found)

    async def planned(self, metric: str, nodes: list[str], first: date, last: date) -> set[str]:
        return await fetch_nodes_with_targets(self.conn, metric, nodes, first, last)


class KnownFigures:
    """Targets and actuals as the ledger knew them at an instant: from the events recorded
    by then, the org as known then, and each actual counted where its person was that day."""

    def __init__(self, cmd: Command, at: datetime, org: Organisation) -> None:
        self.cmd, self.at, self.org, self.today = cmd, at, org, at.date()
        self.position: int | None = None  # from the log, not a read model

    async def figures(
        self, keys: list[Key], metric: str, parts: list[str]
    ) -> list[tuple[dict[str, Decimal], Plan | None]]:
        return [
            (await self._totals(node, parts, span, scope), await self._plan(node, metric, span, scope))
            for node, span, scope in keys
        ]

    async def holders(self, keys: list[Key], metric: str) -> list[list[Holder]]:
        """As LiveFigures.holders, each target's value and split as known at the instant (the read
        model only names the candidates: a target is never removed)."""
        async with self.cmd.store.pool.acquire() as conn:
            found = await fetch_holders(conn, metric, _days(keys))
        held: list[list[Holder]] = []
        for rows in found:
            known = [await self.cmd.store.get_until(row[0], self.at) for row in rows]
            held.append([_holder(self.cmd, t) for t in known if isinstance(t, Target)])
        return held

    async def _totals(self, node: str, parts: list[str], span: Period, scope: dict[str, str]) -> dict[str, Decimal]:
        totals = dict.fromkeys(parts, Decimal(0))
        for part in parts:
            metric, own = part_key(part)  # a share's part counts in its own scope too
            if any(scope.get(d, v) != v for d, v in own.items()):
                continue  # A's share of B's revenue: nothing lies in both scopes
            last = min(span.end, self.today)
            rows = await self.cmd.store.actuals_known_at(self.at, [metric], span.start, last, scope | own)
            for person, day, _, value in rows:
                if person == node or (self.org.is_person(person) and node in self.org.ancestors(person, day)):
                    totals[part] += value
        return totals

    async def _plan(self, node: str, metric: str, span: Period, scope: dict[str, str]) -> Plan | None:
        target = await self.cmd.store.get_until(target_id(node, metric, span.key, scope), self.at)
        if not isinstance(target, Target):
            return None
        return Plan(target.id, target.value, list(_holder(self.cmd, target).seasonal))

    async def known(self, metric: str, node: str, period: str, scope: dict[str, str]) -> Known | None:
        target = await self.cmd.store.get_until(target_id(node, metric, period, scope), self.at)
        if not isinstance(target, Target):
            return None
        return Known(target.value, target.axis, [(p.node, p.period, p.scope) for p in target.parts])

    async def planned(self, metric: str, nodes: list[str], first: date, last: date) -> set[str]:
        return set(nodes)  # the log has no index of targets by node: every node may have a sum


def _holder(cmd: Command, target: Target) -> Holder:
    """A target's days, value and time split, from the target itself."""
    seasonal = []
    if target.axis == "period":
        periods = [cmd.calendar.parse(p.period) for p in target.parts]
        seasonal = [(p.start, p.end, part.value) for p, part in zip(periods, target.parts, strict=True)]
    return Holder(target.starts_on, target.ends_on, target.value, seasonal)


Figures = LiveFigures | KnownFigures


def _assess(
    cmd: Command,
    today: date,
    metric: Metric,
    key: Key,
    totals: dict[str, Decimal],
    plan: Plan | SummedPlan | None,
    held: list[Holder],
) -> Row:
    """`held`: for a key without a target of its own, the targets holding its days."""
    node, span, scope = key
    lower = metric.direction == "lower"
    exact = actual_of(metric, totals)  # judged on the exact figure, shown without flattering
    actual = shown_actual(exact, lower_is_better=lower)
    row = Row(node, metric.name, span.key, scope, actual)
    target: Decimal | Fraction
    share = planned_share(held, span.start, span.end) if plan and partial(held, span.start, span.end) else None
    if plan is not None and share is not None and metric.additive:
        # A week made by splitting July plans July's days; its other days (Aug 1) take their
        # derived share, so the plan covers every day the actual counts.
        target, source = share, "set_and_derived_share"
        shown_target = shown_share(share, lower_is_better=lower)
        expected = expected_share(held, span.start, span.end, today)
    elif plan is not None:
        target, shown_target = plan.value, plan.value
        source = "sum_of_parts" if isinstance(plan, SummedPlan) else "set"
        expected = planned_by(plan.value, span.start, span.end, plan.seasonal, today)
    else:
        share = planned_share(held, span.start, span.end, additive=metric.additive)
        if share is None:
            return row
        # A derived share is a reading, judged exactly; a rate is inherited as it is.
        target, source = share, "derived_share"
        rate = None if metric.additive else inherited_rate(held, span.start, span.end)  # as its target shows it
        shown_target = shown_share(share, lower_is_better=lower) if rate is None else rate
        expected = expected_share(held, span.start, span.end, today)
    standing = assess(
        target=target,
        actual=exact,
        expected=expected,
        elapsed_days=days_elapsed(span.start, span.end, today),
        total_days=span.days,
        lower_is_better=lower,
        thresholds=cmd.thresholds,
    )
    target_id = plan.target_id if plan else None
    return Row(node, metric.name, span.key, scope, actual, target_id, shown_target, standing, source)


async def _rows(cmd: Command, figures: Figures, metric: Metric, keys: list[Key], *, derive: bool = False) -> list[Row]:
    """Each key's row: actual to date (from the period's first day up to today), target and standing.
    With `derive` (what a manager reads), a key without a set target shows the sum of the set targets
    covering it along another axis, else its planned share of the targets holding its days; judging,
    leaderboards and payouts stand on set targets alone."""
    if not keys:
        return []
    found = await figures.figures(keys, metric.name, parts_of(metric))
    plans: Sequence[Plan | SummedPlan | None] = [plan for _, plan in found]
    if derive:
        plans = await _summed(cmd, figures, metric, keys, [plan for _, plan in found])
    # Held: what a key without a target derives from, and what tells a set week plans only some days
    # (only a week can reach past the period it was split from: other set keys need no extra query).
    bare = [
        i
        for i, plan in enumerate(plans)
        if derive and (plan is None or (isinstance(plan, Plan) and keys[i][1].kind == "week"))
    ]
    held = dict(zip(bare, await figures.holders([keys[i] for i in bare], metric.name) if bare else [], strict=True))
    return [
        _assess(cmd, figures.today, metric, k, t, p, held.get(i, []))
        for i, (k, (t, _), p) in enumerate(zip(keys, found, plans, strict=True))
    ]


async def _summed(
    cmd: Command, figures: Figures, metric: Metric, keys: list[Key], plans: list[Plan | None]
) -> list[Plan | SummedPlan | None]:
    """Each key's set target, or for an additive metric the sum of the set targets covering it
    (summed_targets.py); a rate is never summed."""
    missing = [k for k, plan in zip(keys, plans, strict=True) if plan is None]
    if not metric.additive or not missing:
        return list(plans)
    first, last = min(k[1].start for k in missing), max(k[1].end for k in missing)
    nodes = await figures.planned(metric.name, sorted({k[0] for k in missing}), first, last)
    return await with_sums(
        cmd.calendar, keys, plans, lambda node, period, scope: figures.known(metric.name, node, period, scope), nodes
    )


async def _row(cmd: Command, figures: Figures, metric: Metric, node: str, span: Period, scope: dict[str, str]) -> Row:
    [row] = await _rows(cmd, figures, metric, [(node, span, scope)])
    return row


@dataclass(frozen=True)
class Reading:
    """What one read of attainment stands on: the reader's org, the org as known then, the metric, the day."""

    cmd: Command
    org: Organisation
    then: Organisation
    catalog: Catalog
    metric: Metric
    today: date
    as_of: datetime | None

    def keys(self, key: Key, axis: str) -> list[Key]:
        """The key broken down along one axis (`children`, `time` or a dimension): the parts the reader may read."""
        node, span, scope = key
        if axis == "children":
            keys = [
                (child, span, scope)
                for child in (self.then.children(node, self.today) if self.then.exists(node) else [])
            ]
        elif axis == "time":
            keys = [(node, sub, scope) for sub in self.cmd.calendar.children(span, field="breakdown")]
        else:
            if axis in scope:
                raise DomainError(f"the scope already fixes {axis!r}", field="breakdown")
            values = self.catalog.dimension(axis, field="breakdown")
            keys = [(node, span, {**scope, axis: value}) for value in values]
        return [k for k in keys if can_read(self.cmd.actor, self.org, k[0], self.cmd.today())]

    async def rows(self, keys: list[Key]) -> tuple[list[Row], int | None]:
        """The keys' rows, read together; and the read model's position (None for `as_of`: the log)."""
        async with self.cmd.store.pool.acquire() as conn:
            figures: Figures = (
                KnownFigures(self.cmd, self.as_of, self.then) if self.as_of else LiveFigures(conn, self.today)
            )
            rows = await _rows(self.cmd, figures, self.metric, keys, derive=True)
        return rows, figures.position


async def reading(cmd: Command, *, node: str, metric: str, scope: dict[str, str], as_of: datetime | None) -> Reading:
    """Check the reader, metric and scope, and fix the org and day a read of `node` stands on."""
    org = await authorize_read(cmd, node)
    catalog, definition = await cmd.catalog(), await known_metric(cmd, metric)
    catalog.check_scope(scope)
    then = org
    if as_of is not None:
        known = await cmd.store.get_until(ORG_ID, as_of)
        then = known if isinstance(known, Organisation) else Organisation.start(at=as_of)
    return Reading(cmd, org, then, catalog, definition, as_of.date() if as_of else cmd.today(), as_of)


async def attainment(
    cmd: Command,
    *,
    node: str,
    metric: str,
    period: str,
    scope: dict[str, str],
    breakdown: str | None,
    as_of: datetime | None = None,
) -> tuple[Row, list[Row], int | None]:
    """The node's row, and one row per child, sub-period or dimension value; now, or as the
    ledger knew them at `as_of`; and the attainment read model's position they stand at
    (None for `as_of`, which reads the log)."""
    read = await reading(cmd, node=node, metric=metric, scope=scope, as_of=as_of)
    key = (node, cmd.calendar.parse_reading(period), scope)
    # The node's own row and its breakdown's, read together.
    (row, *rows), position = await read.rows([key, *(read.keys(key, breakdown) if breakdown else [])])
    return row, rows, position


async def leaderboard(cmd: Command, *, unit: str, metric: str, period: str) -> list[Row]:
    """The people of a unit with a target for the metric and period, best attainment first:
    those the actor may read (a person sees their own row, a manager their people's)."""
    org = await authorize_read(cmd, unit, field="unit")
    definition, span, today = await known_metric(cmd, metric), cmd.calendar.parse(period), cmd.today()
    people = [n for n in org.subtree(unit, today) if org.is_person(n) and can_read(cmd.actor, org, n, today)]
    async with cmd.store.pool.acquire() as conn:
        figures = LiveFigures(conn, today)
        rows = await _rows(cmd, figures, definition, [(person, span, {}) for person in people])
    # On the exact attainment: two people both shown 50.00 % need not be tied. For a
    # lower-is-better metric the smallest share of the budget is the best. No attainment: last.
    sign = 1 if definition.direction == "lower" else -1

    def rank(row: Row) -> tuple[bool, Fraction]:
        exact = row.standing.attainment if row.standing else None
        return exact is None, sign * (exact or Fraction(0))

    return sorted((r for r in rows if r.standing is not None), key=rank)


async def read_models_current(cmd: Command, names: list[str], timeout: float = 5.0) -> int:
    """A decision must see every event recorded before it: wait (bounded) for the read
    models it consults to reach the head of the log; return that head."""
    head = await cmd.store.head()
    for name in names:
        if head and not await caught_up(cmd.store.pool, cmd.store, name, head, timeout):
            raise ReadModelBehindError(f"the {name} read model has not reached position {head} yet")
    return head


async def actuals_current(cmd: Command, timeout: float = 5.0) -> None:
    """A decision must count every actual recorded before it."""
    await read_models_current(cmd, [attainment_model.NAME], timeout)


async def measure(cmd: Command, target: Target) -> Measure:
    """The target's attainment, pace and actual to date now, once every actual recorded
    before this command is in the read model."""
    await actuals_current(cmd)
    async with cmd.store.pool.acquire() as conn:
        row = await standing_on(
            cmd, conn, node=target.node, metric=target.metric, period=target.period, scope=target.scope, day=cmd.today()
        )
    s = row.standing
    pct, pace = (s.attainment_pct, s.pace_pct) if s else (None, None)
    return Measure(attainment_pct=pct, pace_pct=pace, actual=row.actual)


async def standings(
    cmd: Command, conn: asyncpg.Connection, *, metric: str, period: str, nodes: list[str], day: date
) -> list[Row]:
    """Each node's row for its whole-scope target (actual, attainment, status), as /v1/attainment
    reads them from the read model, judged on `day`: what an incentive plan pays on."""
    definition, span = (await cmd.catalog()).metric(metric), cmd.calendar.parse(period)
    return await _rows(cmd, LiveFigures(conn, day), definition, [(node, span, {}) for node in nodes])


def planned_between(plan: Plan, span: Period, first: date, last: date) -> Fraction:
    """What the target plans for the days first..last (pro rata, or by its time split), exactly."""

    def by(day: date) -> Fraction:
        return planned_by(plan.value, span.start, span.end, plan.seasonal, day)

    return by(last) - by(first - timedelta(days=1))


async def standing_on(
    cmd: Command, conn: asyncpg.Connection, *, node: str, metric: str, period: str, scope: dict[str, str], day: date
) -> Row:
    """A target's row (actual, attainment, pace, status) as the read model has it, judged on `day`."""
    definition, span = (await cmd.catalog()).metric(metric), cmd.calendar.parse(period)
    return await _row(cmd, LiveFigures(conn, day), definition, node, span, scope)


async def standings_on(
    cmd: Command,
    conn: asyncpg.Connection,
    *,
    node: str,
    metric: str,
    period: str,
    scope: dict[str, str],
    days: list[date],
) -> list[Row]:
    """standing_on for each of `days`, in order: the figures to every day read in one query."""
    definition, span = (await cmd.catalog()).metric(metric), cmd.calendar.parse(period)
    spans = [(node, span.key, span.start, min(span.end, day), scope) for day in days]
    found, _ = await fetch_figures(conn, metric, parts_of(definition), spans)
    key = (node, span, scope)
    return [
        _assess(cmd, day, definition, key, totals, plan, []) for day, (totals, plan) in zip(days, found, strict=True)
    ]
