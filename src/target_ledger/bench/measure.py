"""Figures from repeated measurements: the median, the spread, and a row that compares two."""

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One quantity measured several times: its median and its spread (min to max)."""

    samples: tuple[float, ...]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def text(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return f"{_num(self.median)} {self.unit}" + (
            f" ({_num(low)}\u2013{_num(high)})" if len(self.samples) > 1 else ""
        )


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


@dataclass(frozen=True)
class Goal:
    """What the row must show: `ratio` or `value` (the service's median) at least or at most a bound."""

    on: str  # "ratio" or "value"
    at_least: float | None = None
    at_most: float | None = None

    def met(self, ratio: float, value: float) -> bool:
        subject = ratio if self.on == "ratio" else value
        return (self.at_least is None or subject >= self.at_least) and (self.at_most is None or subject <= self.at_most)

    def text(self, unit: str) -> str:
        bound, sign = (self.at_least, "≥") if self.at_least is not None else (self.at_most, "≤")
        assert bound is not None
        return f"ratio {sign} {bound:g}" if self.on == "ratio" else f"{sign} {bound:,g} {unit}"


@dataclass(frozen=True)
class Row:
    """A figure of this service beside its baseline from the same run; ratio = service ÷ baseline."""

    figure: str
    service: Figure
    baseline_name: str
    baseline: Figure
    goal: Goal
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.service.median / self.baseline.median if self.baseline.median else float("inf")

    @property
    def met(self) -> bool:
        return self.goal.met(self.ratio, self.service.median)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


async def timed(work: Callable[[], Awaitable[int]]) -> float:
    """Run work (which returns how many items it handled) and answer items per second."""
    started = time.perf_counter()
    items = await work()
    return items / (time.perf_counter() - started)
