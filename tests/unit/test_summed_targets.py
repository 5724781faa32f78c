"""Which set targets a target nobody set is summed from, and when there is none (no I/O: a dict of targets)."""

from decimal import Decimal

from target_ledger.application.summed_targets import Known, Summer
from target_ledger.domain.calendar import Calendar

CALENDAR = Calendar()


def summer(targets: dict[tuple[str, str, tuple[tuple[str, str], ...]], Known]) -> Summer:
    async def lookup(node: str, period: str, scope: dict[str, str]) -> Known | None:
        return targets.get((node, period, tuple(sorted(scope.items()))))

    return Summer(CALENDAR, lookup)


def key(node: str, period: str, **scope: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return node, period, tuple(sorted(scope.items()))


async def test_a_quarter_for_a_product_sums_its_months_through_the_quarters_time_split() -> None:
    months = [("east", m, {}) for m in ("2026-01", "2026-02", "2026-03")]
    targets = {
        key("east", "2026-Q1"): Known(Decimal(1200), "period", months),
        key("east", "2026-01", product="A"): Known(Decimal(120)),
        key("east", "2026-02", product="A"): Known(Decimal("135.50")),
        key("east", "2026-03", product="A"): Known(Decimal(105)),
    }
    summed = await summer(targets).plan("east", CALENDAR.parse("2026-Q1"), {"product": "A"})
    assert summed is not None and summed.value == Decimal("360.50")
    # Its plan over time follows the months: what the expected-to-date figure is read from.
    assert [v for _, _, v in summed.seasonal] == [Decimal(120), Decimal("135.50"), Decimal(105)]


async def test_a_missing_cell_means_no_sum_rather_than_a_partial_one() -> None:
    months = [("east", m, {}) for m in ("2026-01", "2026-02", "2026-03")]
    targets = {
        key("east", "2026-Q1"): Known(Decimal(1200), "period", months),
        key("east", "2026-01", product="A"): Known(Decimal(120)),
        key("east", "2026-02", product="A"): Known(Decimal(135)),
    }
    assert await summer(targets).plan("east", CALENDAR.parse("2026-Q1"), {"product": "A"}) is None


async def test_a_split_along_a_dimension_the_key_fixes_is_not_summed_into_it() -> None:
    # Q1 split by product: A's siblings are not parts of (Q1, A, segment new).
    parts = [("east", "2026-Q1", {"product": "A"}), ("east", "2026-Q1", {"product": "B"})]
    targets = {
        key("east", "2026-Q1"): Known(Decimal(1000), "dimension", parts),
        key("east", "2026-Q1", product="A"): Known(Decimal(300)),
        key("east", "2026-Q1", product="B"): Known(Decimal(700)),
    }
    # ... while its months, set for A and new customers, do tile it: their sum, counted once.
    for month, value in [("2026-01", 10), ("2026-02", 20), ("2026-03", 30)]:
        targets[key("east", month, product="A", segment="new")] = Known(Decimal(value))
    summed = await summer(targets).plan("east", CALENDAR.parse("2026-Q1"), {"product": "A", "segment": "new"})
    assert summed is not None and summed.value == Decimal(60)


async def test_a_month_is_not_summed_from_weeks_that_straddle_it() -> None:
    # July 2026's ISO weeks start in June and end in August: they do not tile the month.
    weeks = {key("east", p): Known(Decimal(10)) for p in [f"2026-W{w}" for w in range(27, 32)]}
    assert await summer(weeks).plan("east", CALENDAR.parse("2026-07"), {}) is None
