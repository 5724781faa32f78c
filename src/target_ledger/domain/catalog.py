"""Metrics and dimensions: what can be targeted, how it rolls up, how scopes are spelled."""

import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import AlreadyExistsError, DomainError, InvalidValueError
from target_ledger.domain.values import Percent, check_amount

CATALOG_ID = uuid.uuid5(uuid.UUID("9d3c1e0a-51f2-4d7e-8f0b-2a6e4c7d8b04"), "catalog")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
Unit = Literal["money", "count", "ratio"]
Rollup = Literal["sum", "ratio"]
Direction = Literal["higher", "lower"]
STEPS = {"money": Decimal("0.01"), "count": Decimal(1), "ratio": Decimal("0.000001")}


def part_label(metric: str, scope: dict[str, str] | None = None) -> str:
    """A ratio's part as figures name it: the metric, then its scope when it has one, so that
    revenue of product A and all revenue are two parts of one share."""
    return f"{metric} {json.dumps(scope, sort_keys=True, separators=(',', ':'))}" if scope else metric


def part_key(label: str) -> tuple[str, dict[str, str]]:
    """The metric and scope a part_label names (a metric name holds no space)."""
    metric, _, scope = label.partition(" ")
    return metric, json.loads(scope) if scope else {}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: Unit
    rollup: Rollup = "sum"
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "higher"
    # A share: the numerator's actuals in this scope (revenue of product A), over the
    # denominator's in its own (all revenue, {}): "product A at 40 % of sales".
    numerator_scope: dict[str, str] | None = None
    denominator_scope: dict[str, str] | None = None
    # A rate that is a fraction of a whole (conversion, a share) lies in [0, 1]; None: by default
    # (catalog.bounded_by_default). A growth ratio or an average order value declares False.
    bounded: bool | None = None

    @property
    def additive(self) -> bool:
        return self.rollup == "sum"

    @property
    def parts(self) -> list[str]:
        """The part_labels whose actuals make this metric's: itself, or numerator then denominator."""
        if self.additive:
            return [self.name]
        return [
            part_label(self.numerator or "", self.numerator_scope),
            part_label(self.denominator or "", self.denominator_scope),
        ]

    @property
    def step(self) -> Decimal:
        """The finest a value can be: a cent of money, a whole count, a millionth of a rate."""
        return STEPS[self.unit]

    def check_value(self, value: Decimal, *, field: str = "value", negative_allowed: bool = False) -> None:
        """A value of this metric: bounded (domain/values.py), and a whole number of its step
        (no 100.001 of money, no 2.5 visits). Raises InvalidValueError naming `field`."""
        check_amount(value, negative_allowed=negative_allowed, field=field)
        if value % self.step:
            raise InvalidValueError(
                f"{field} {value} is finer than {self.name} is counted: use a multiple of {self.step} ({self.unit})",
                field=field,
            )

    def check_target_value(self, value: Decimal, *, field: str = "value") -> None:
        """A target's value, however it enters (set, split, adjusted, imported): check_value, and a
        rate is a fraction in [0, 1] unless the metric is unbounded; only a rate may be typed as a
        percent ("15%" of revenue would store 0.15 of money)."""
        if isinstance(value, Percent) and self.unit != "ratio":
            raise InvalidValueError(
                f"{field}: a percent is a rate: {self.name} is {self.unit}, give an amount", field=field
            )
        if self.unit == "ratio" and self.bounded is not False and not 0 <= value <= 1:
            # Rates are fractions (0.15), never percents (15): a 15 would read 0.22 % attainment.
            raise InvalidValueError(
                f"{field} {value} is not a rate of {self.name}: a rate is a fraction between 0 and 1 "
                f'(0.15, or "15%"), unless the metric is defined with bounded: false',
                field=field,
            )
        self.check_value(value, field=field)


BUILT_IN_METRICS = {
    m.name: m
    for m in [
        Metric("revenue", "money"),
        Metric("gross_profit", "money"),
        Metric("collections", "money"),
        Metric("new_customers", "count"),
        Metric("orders", "count"),
        Metric("calls", "count"),
        Metric("visits", "count"),
        Metric("proposals", "count"),
        Metric("wins", "count"),
        Metric("conversion_rate", "ratio", "ratio", "wins", "proposals", bounded=True),
    ]
}
BUILT_IN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "product": (),
    "segment": ("new", "existing", "key_account"),
}


class UnknownMetricError(DomainError):
    pass


class UnknownDimensionError(DomainError):
    pass


class Catalog(Aggregate):
    """The metrics and dimensions a company has declared beyond the built-in ones."""

    TOPIC = "Catalog"

    class Created(Aggregate.Created):
        TOPIC = "CatalogStarted"

    class MetricDefined(Aggregate.Event):
        TOPIC = "MetricDefined"
        class_version = 2
        name: str
        unit: str
        rollup: str
        numerator: str | None
        denominator: str | None
        direction: str
        numerator_scope: dict[str, str] | None
        denominator_scope: dict[str, str] | None
        bounded: bool | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            # Version 1 metrics had unscoped parts and the default bound.
            state.update(numerator_scope=None, denominator_scope=None, bounded=None)

        def apply(self, catalog: "Catalog") -> None:
            fields = (self.name, self.unit, self.rollup, self.numerator, self.denominator, self.direction)
            metric = Metric(*fields, self.numerator_scope, self.denominator_scope, self.bounded)  # type: ignore[arg-type]
            if metric.bounded is None and metric.unit == "ratio":
                metric = replace(metric, bounded=catalog.bounded_by_default(metric))
            catalog.metrics[self.name] = metric

    class DimensionDefined(Aggregate.Event):
        TOPIC = "DimensionDefined"
        name: str
        values: list[str]

        def apply(self, catalog: "Catalog") -> None:
            catalog.dimensions[self.name] = tuple(self.values)

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = dict(BUILT_IN_METRICS)
        self.dimensions: dict[str, tuple[str, ...]] = dict(BUILT_IN_DIMENSIONS)

    @classmethod
    def start(cls, at: datetime) -> "Catalog":
        return cls._create(cls.Created, id=CATALOG_ID, timestamp=at)

    def metric(self, name: str, field: str = "metric") -> Metric:
        if name not in self.metrics:
            known = ", ".join(sorted(self.metrics))
            raise UnknownMetricError(f"unknown metric {name!r}; known: {known}", field=field)
        return self.metrics[name]

    def bounded_by_default(self, metric: Metric) -> bool:
        """A rate of like over like (wins ÷ proposals, revenue of A ÷ revenue) is a fraction of a
        whole; of unlike parts (revenue ÷ orders, an average order value) it is not. A scoped share
        is a part of its whole only when both count one metric and the numerator's scope narrows
        the denominator's (A of all revenue); A over B can exceed 1."""
        if metric.rollup != "ratio":
            return True
        if metric.numerator_scope or metric.denominator_scope:
            narrower = (metric.numerator_scope or {}).items() >= (metric.denominator_scope or {}).items()
            if metric.numerator != metric.denominator or not narrower:
                return False
        parts = [self.metrics.get(name or "") for name in (metric.numerator, metric.denominator)]
        return parts[0] is not None and parts[1] is not None and parts[0].unit == parts[1].unit

    def check_scope(self, scope: dict[str, str], field: str = "scope") -> None:
        for dimension, value in scope.items():
            values = self.dimension(dimension, field=f"{field}.{dimension}")
            if value not in values:
                raise UnknownDimensionError(
                    f"{value!r} is not a declared value of {dimension!r}; declared: "
                    f"{', '.join(values) or 'none yet (POST /v1/dimensions)'}",
                    field=f"{field}.{dimension}",
                )

    def dimension(self, name: str, field: str = "dimension") -> tuple[str, ...]:
        if name not in self.dimensions:
            known = ", ".join(sorted(self.dimensions))
            raise UnknownDimensionError(f"unknown dimension {name!r}; known: {known}", field=field)
        return self.dimensions[name]

    def define_metric(self, metric: Metric, at: datetime) -> None:
        if not NAME.match(metric.name):
            raise DomainError("a metric name is lower_snake_case, up to 64 characters", field="name")
        if metric.name in self.metrics:
            raise AlreadyExistsError(f"metric {metric.name!r} is already defined", field="name")
        if metric.rollup == "ratio":
            for part in ("numerator", "denominator"):
                name = getattr(metric, part)
                if name is None or not self.metric(name, field=part).additive:
                    raise DomainError(f"a ratio metric needs an additive {part} metric", field=part)
                self.check_scope(getattr(metric, f"{part}_scope") or {}, field=f"{part}_scope")
            if (metric.numerator, metric.numerator_scope or {}) == (metric.denominator, metric.denominator_scope or {}):
                raise DomainError("a ratio's numerator and denominator are the same actuals", field="numerator_scope")
        elif metric.numerator or metric.denominator or metric.numerator_scope or metric.denominator_scope:
            raise DomainError("only a ratio metric has a numerator and denominator", field="rollup")
        if metric.bounded is not None and metric.unit != "ratio":
            raise DomainError("only a ratio-unit metric is bounded to [0, 1] or not", field="bounded")
        unbounded_yet = metric.unit == "ratio" and metric.bounded is None
        self.trigger_event(
            self.MetricDefined,
            name=metric.name,
            unit=metric.unit,
            rollup=metric.rollup,
            numerator=metric.numerator,
            denominator=metric.denominator,
            direction=metric.direction,
            numerator_scope=metric.numerator_scope,
            denominator_scope=metric.denominator_scope,
            bounded=self.bounded_by_default(metric) if unbounded_yet else metric.bounded,
            timestamp=at,
        )

    def define_dimension(self, name: str, values: list[str], at: datetime) -> None:
        """Declare a dimension, or add values to one; declared values are never removed."""
        if not NAME.match(name):
            raise DomainError("a dimension name is lower_snake_case, up to 64 characters", field="name")
        known = self.dimensions.get(name, ())
        merged = [*known, *(v for v in dict.fromkeys(values) if v not in known)]
        if name in self.dimensions and len(merged) == len(known):
            return  # nothing new: declaring again is harmless
        self.trigger_event(self.DimensionDefined, name=name, values=merged, timestamp=at)
