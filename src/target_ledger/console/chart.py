"""Planned vs actual per week, and the cumulative lines: the standing's figures, drawn as SVG (templates/chart.html).

Our own small SVG rather than pygal: pygal adds a legacy import hook to sys.meta_path when imported, which
warns on every failed import anywhere in the process (and the suite turns warnings into errors)."""

from dataclasses import dataclass
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.application.attainment import standings_on
from target_ledger.domain.errors import InvalidPeriodError


@dataclass(frozen=True)
class Week:
    key: str
    planned: Decimal  # cumulative, from the period's first day to the week's last
    actual: Decimal | None  # cumulative; None for a week not begun


async def weeks(cmd: Command, *, node: str, metric: str, period: str) -> list[Week]:
    """Each week's cumulative plan and actual, from the same standing the API reports (planned by
    that day, actual to that day); empty when the node has no target for the period."""
    span, today = cmd.calendar.parse(period), cmd.today()
    try:
        parts = cmd.calendar.children(span, "week")
    except InvalidPeriodError:  # a week: itself
        parts = [span]
    ends = [min(week.end, span.end) for week in parts]
    under_way = [today] if any(week.start <= today < end for week, end in zip(parts, ends, strict=True)) else []
    async with cmd.store.pool.acquire() as conn:
        rows = await standings_on(cmd, conn, node=node, metric=metric, period=period, scope={}, days=ends + under_way)
    if any(row.standing is None for row in rows[: len(parts)]):
        return []
    found: list[Week] = []
    for week, end, row in zip(parts, ends, rows, strict=False):
        actual = None
        if week.start <= today:  # to the week's end, or to today in the week under way
            actual = (row if end <= today else rows[-1]).actual
        found.append(Week(week.key[5:], row.standing.expected, actual))  # type: ignore[union-attr]
    return found


WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 280, 80, 16, 16, 48


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours it (console.css)
    values: list[Decimal | None]


def nice_top(largest: Decimal) -> Decimal:
    """The axis's top: 1, 2, 2.5 or 5 times a power of ten, at or above the largest value."""
    if largest <= 0:
        return Decimal(1)
    power = Decimal(10) ** (largest.adjusted())
    return next(
        power * step
        for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if power * step >= largest
    )


def at(value: float) -> str:
    """A coordinate as the SVG shows it: to a tenth of a unit."""
    return f"{value:.1f}"


def plot(kind: str, labels: list[str], series: list[Series]) -> dict[str, object]:
    """Coordinates for templates/chart.html, already as text (`at`: the template formats none):
    bars side by side per week, or one line per series."""
    top = nice_top(max((v for s in series for v in s.values if v is not None), default=Decimal(0)))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(labels), 1)

    def y(value: Decimal) -> float:
        return TOP + inner_h - float(max(value, Decimal(0)) / top) * inner_h

    ticks = [(top * i / 4, at(y(top * i / 4)), at(y(top * i / 4) + 4)) for i in range(5)]
    xs = [LEFT + step * (i + 0.5) for i in range(len(labels))]
    shapes = []
    for n, s in enumerate(series):
        if kind == "bars":
            width = step * 0.8 / len(series)
            bars = [
                (at(x - step * 0.4 + n * width), at(y(v)), at(width), at(TOP + inner_h - y(v)), label, v)
                for x, v, label in zip(xs, s.values, labels, strict=True)
                if v is not None
            ]
            shapes.append({"series": s, "bars": bars})
        else:
            drawn = [(x, v, label) for x, v, label in zip(xs, s.values, labels, strict=True) if v is not None]
            points = [(at(x), at(y(v)), label, v) for x, v, label in drawn]
            shapes.append({"series": s, "points": points, "path": " ".join(f"{p[0]},{p[1]}" for p in points)})
    return {
        "kind": kind,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "top": TOP,
        "bottom": TOP + inner_h,
        "right": WIDTH - RIGHT,
        "ticks": ticks,
        "labels": [(at(x), label) for x, label in zip(xs, labels, strict=True)],
        "shapes": shapes,
    }


def weekly(found: list[Week]) -> tuple[list[Decimal], list[Decimal | None]]:
    """Each week's own planned and actual amounts: what the cumulative figures grew by that week."""
    planned = [w.planned - (found[i - 1].planned if i else Decimal(0)) for i, w in enumerate(found)]
    actual: list[Decimal | None] = []
    for i, w in enumerate(found):
        before = found[i - 1].actual if i else None
        actual.append(None if w.actual is None else w.actual - (before or Decimal(0)))
    return planned, actual
