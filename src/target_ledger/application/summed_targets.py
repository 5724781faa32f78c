"""A target nobody set, read as the sum of the set targets that cover it (Q1, A = Jan, A + Feb, A + Mar, A).

The source documents plan "多维度的交叉分解": Q1 split by month, each month split by product. Then no
target (Q1, product A) exists, yet a manager reading Q1 by product expects one: the sum of the cells
below it along the other axis. A sum is only given when its parts cover the whole key (every part of a
split, every sub-period of a period); otherwise there is no target, never an invented one.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import TypeVar

from target_ledger.domain.calendar import Calendar, Period
from target_ledger.domain.errors import DomainError

Scope = dict[str, str]
P = TypeVar("P")  # a set target as the caller holds it
MAX_DEPTH = 4  # year → quarter → month → cell: deep enough, and a bound on the lookups of one read


@dataclass(frozen=True)
class Known:
    """A set target as a lookup finds it: its value, and the axis and keys of its parts if it is split."""

    value: Decimal
    axis: str | None = None
    parts: list[tuple[str, str, Scope]] = field(default_factory=list)  # node, period, scope


@dataclass(frozen=True)
class SummedPlan:
    """A target derived as a sum: no id of its own; its time parts, when it is summed over time."""

    value: Decimal
    seasonal: list[tuple[date, date, Decimal]]
    target_id: None = None


Lookup = Callable[[str, str, Scope], Awaitable[Known | None]]  # node, period key, scope
Key = tuple[str, Period, Scope]


async def with_sums(
    calendar: Calendar, keys: list[Key], plans: list[P | None], lookup: Lookup, nodes: set[str]
) -> list[P | SummedPlan | None]:
    """Each key's set target, else the sum of the set targets covering it; only for keys of `nodes`
    (those with a target inside the keys' days: every sum starts from one of the node's own targets,
    a margin or a sub-period's)."""
    summer = Summer(calendar, lookup)
    return [
        plan or (await summer.plan(node, span, scope) if node in nodes else None)
        for (node, span, scope), plan in zip(keys, plans, strict=True)
    ]


class Summer:
    """Sums of set targets for keys without one, for one metric, each lookup made once per read."""

    def __init__(self, calendar: Calendar, lookup: Lookup) -> None:
        self.calendar, self._lookup = calendar, lookup
        self._seen: dict[tuple[str, str, str], Known | None] = {}

    async def known(self, node: str, period: str, scope: Scope) -> Known | None:
        key = (node, period, repr(sorted(scope.items())))
        if key not in self._seen:
            self._seen[key] = await self._lookup(node, period, scope)
        return self._seen[key]

    async def plan(self, node: str, span: Period, scope: Scope, depth: int = 0) -> SummedPlan | None:
        """The sum for a key with no set target, or None when no set of targets covers it."""
        if depth >= MAX_DEPTH:
            return None
        # A margin: the same node and period with fewer dimensions, split along another axis;
        # its parts narrowed to this key's scope are the cells that make this key.
        for size in range(len(scope) - 1, -1, -1):
            for names in combinations(sorted(scope), size):
                margin = await self.known(node, span.key, {n: scope[n] for n in names})
                if margin is None or not margin.parts or _splits_along(margin, scope):
                    continue
                cells = [(n, p, {**s, **scope}) for n, p, s in margin.parts]
                if summed := await self._sum(cells, margin.axis == "period", depth):
                    return summed
        # Or the sub-periods of the period, when they tile it (a month's weeks straddle it: no sum).
        if span.kind not in ("week", "day"):
            subs = self.calendar.children(span)
            if subs[0].start == span.start and subs[-1].end == span.end:
                return await self._sum([(node, s.key, scope) for s in subs], True, depth)
        return None

    async def _sum(self, cells: list[tuple[str, str, Scope]], over_time: bool, depth: int) -> SummedPlan | None:
        values, seasonal = [], []
        for node, period, scope in cells:
            try:
                span = self.calendar.parse(period)
            except DomainError:  # a part of another calendar: it cannot be read in this one
                return None
            set_target = await self.known(node, period, scope)
            value = set_target.value if set_target else None
            if value is None and (summed := await self.plan(node, span, scope, depth + 1)):
                value = summed.value
            if value is None:
                return None  # a part without a target: the parts do not cover the key
            values.append(value)
            seasonal.append((span.start, span.end, value))
        return SummedPlan(sum(values, Decimal(0)), seasonal if over_time else [])


def _splits_along(margin: Known, scope: Scope) -> bool:
    """Whether the margin is split along a dimension the key already fixes (its parts are siblings
    of the key, not cells below it)."""
    return margin.axis == "dimension" and any(n in scope and s[n] != scope[n] for _, _, s in margin.parts for n in s)
