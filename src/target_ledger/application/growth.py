"""Growth targets: a value set as a growth over a base period's actual (环比 / 同比)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from projections.attainment import fetch_actual_totals
from target_ledger.application import Command
from target_ledger.application.attainment import actuals_current
from target_ledger.domain.errors import DomainError
from target_ledger.domain.target import Growth, Scope
from target_ledger.domain.values import MAX_DIGITS, check_amount


@dataclass(frozen=True)
class GrowthAsk:
    """What the setter asks: over which base, by how much (0.20 is +20 %)."""

    over: str  # "previous_period" (环比) | "same_period_last_year" (同比)
    rate: Decimal


async def grown(
    cmd: Command, *, node: str, metric: str, period: str, scope: Scope, ask: GrowthAsk
) -> tuple[Decimal, Growth]:
    """The base period's actual, grown by the rate and rounded to the metric's step (half up:
    the cent for money, a whole unit for counts). The actual is read from the attainment read
    model once it holds every actual recorded before this request, as attainment counts it."""
    definition = (await cmd.catalog()).metric(metric)
    if not definition.additive:
        raise DomainError(f"{metric} is a rate: set its target as a value, not as a growth", field="growth")
    check_amount(ask.rate, negative_allowed=True, field="growth.rate")
    if ask.rate <= -1:
        raise DomainError("growth.rate must lie above -1 (a fall of 100 % or more leaves nothing)", field="growth.rate")
    span = cmd.calendar.parse(period)
    same = ask.over == "same_period_last_year"
    base = cmd.calendar.same_period_last_year(span) if same else cmd.calendar.previous(span)
    if base.end >= cmd.today():
        raise DomainError(f"the base period {base.key} has not ended: its actual is not final yet", field="growth")
    await actuals_current(cmd)
    async with cmd.store.pool.acquire() as conn:
        totals = await fetch_actual_totals(
            conn, node=node, metrics=[metric], starts_on=base.start, ends_on=base.end, scope=scope
        )
    actual = totals[metric]
    if actual <= 0:
        raise DomainError(
            f"{node} has no {metric} actual in the base period {base.key} to grow from: set the target as a value",
            field="growth",
        )
    exact = actual * (1 + ask.rate)
    if exact.adjusted() >= MAX_DIGITS:  # the rate, not a value typed, makes it too large
        raise DomainError(f"growth.rate {ask.rate} grows {actual} beyond 10^{MAX_DIGITS}", field="growth.rate")
    value = exact.quantize(definition.step, rounding=ROUND_HALF_UP)
    if not value:  # a target of nothing is no target
        raise DomainError(
            f"{actual} grown by {ask.rate} rounds to 0 {definition.unit}: set a larger target", field="growth"
        )
    return value, Growth(
        over=ask.over,  # type: ignore[arg-type]
        rate=ask.rate,
        base_period=base.key,
        base_actual=actual,
        exact_value=exact,
        rounding=f"half up to {definition.step} ({definition.unit})",
    )
