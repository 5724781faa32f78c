"""A period inside a target's period (a week, a day): its planned share, derived from the targets holding its days."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from target_ledger.domain.attainment import CENT, planned_by, shown

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Holder:
    """A target whose days meet the period read: its days, value and, if split by time, its parts."""

    start: date
    end: date
    value: Decimal
    seasonal: Sequence[tuple[date, date, Decimal]] = field(default=())

    def planned(self, first: date, last: date) -> Fraction:
        """What it plans for the days first..last (they lie inside it), exactly."""
        by_last = planned_by(self.value, self.start, self.end, self.seasonal, last)
        return by_last - planned_by(self.value, self.start, self.end, self.seasonal, first - _DAY)


def own_days(holder: Holder, holders: Sequence[Holder]) -> Holder:
    """The holder over the days it plans: a part of a time split that reaches past its parent
    (W30, Jul 26 to Aug 1, made by splitting July) plans its parent's days only (Jul 26 to 31)."""
    for parent in holders:
        is_part = any((start, end) == (holder.start, holder.end) for start, end, _ in parent.seasonal)
        if parent is not holder and is_part and not (parent.start <= holder.start and holder.end <= parent.end):
            start, end = max(holder.start, parent.start), min(holder.end, parent.end)
            inside = [part for part in holder.seasonal if start <= part[0] and part[1] <= end]
            return Holder(start, end, holder.value, inside)
    return holder


def partial(holders: Sequence[Holder], first: date, last: date) -> bool:
    """Whether the target of exactly first..last plans only some of its days (own_days)."""
    return any((h.start, h.end) == (first, last) and own_days(h, holders) != h for h in holders)


def holding(holders: Sequence[Holder], first: date, last: date) -> list[tuple[Holder, date, date]] | None:
    """Each run of days of first..last with the target that plans it: the shortest one holding
    the day (a split month before its quarter), over the days it plans (own_days); None if some
    day has no target. A target lying inside first..last (a week of the month read) does not
    hold it: that is a sum of parts."""
    outer = [h for h in holders if not (first <= h.start and h.end <= last) or (h.start, h.end) == (first, last)]
    outer = [own_days(h, holders) for h in outer]
    runs: list[tuple[Holder, date, date]] = []
    day = first
    while day <= last:
        around = [h for h in outer if h.start <= day <= h.end]
        if not around:
            return None
        chosen = min(around, key=lambda h: (h.end - h.start, h.start))
        if runs and runs[-1][0] is chosen:
            runs[-1] = (chosen, runs[-1][1], day)
        else:
            runs.append((chosen, day, day))
        day += _DAY
    return runs


def planned_share(holders: Sequence[Holder], first: date, last: date, *, additive: bool = True) -> Fraction | None:
    """The planned share of first..last, exactly: each holding target's plan for its days in it
    (pro rata by days, or by its time split), a straddling week taking each month's share by its
    own days. A rate is not divided: it is inherited when one rate holds every day. None if a
    day has no target (or, for a rate, the days hold different rates)."""
    if not additive:
        rate = inherited_rate(holders, first, last)
        return None if rate is None else Fraction(rate)
    runs = holding(holders, first, last)
    return sum((h.planned(a, b) for h, a, b in runs), Fraction(0)) if runs else None


def inherited_rate(holders: Sequence[Holder], first: date, last: date) -> Decimal | None:
    """The rate every day of first..last inherits, as its target holds it (0.40 shows as 0.40,
    as the set target does); None if a day has no target or the days hold different rates."""
    rates = {h.value for h, _, _ in holding(holders, first, last) or []}
    return rates.pop() if len(rates) == 1 else None


def expected_share(holders: Sequence[Holder], first: date, last: date, today: date) -> Fraction:
    """The planned share of the days first..today (0 before the period starts)."""
    if today < first:
        return Fraction(0)
    return planned_share(holders, first, min(today, last)) or Fraction(0)


def shown_share(exact: Fraction, *, lower_is_better: bool = False) -> Decimal:
    """A derived share as shown, to the cent (counts too: it is a reading, never a stored target),
    toward the side that does not flatter: up for a target, down for a budget."""
    return shown(exact, CENT, higher_is_better=lower_is_better)
