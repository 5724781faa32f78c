"""Metrics and dimensions: what can be targeted, how it rolls up, how scopes are spelled."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import AlreadyExistsError, DomainError, InvalidValueError
from target_ledger.domain.values import check_amount

CATALOG_ID = uuid.uuid5(uuid.UUID("9d3c1e0a-51f2-4d7e-8f0b-2a6e4c7d8b04"), "catalog")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
Unit = Literal["money", "count", "ratio"]
Rollup = Literal["sum", "ratio"]
Direction = Literal["higher", "lower"]
STEPS = {"money": Decimal("0.01"), "count": Decimal(1), "ratio": Decimal("0.000001")}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: Unit
    rollup: Rollup = "sum"
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "higher"

    @property
    def additive(self) -> bool:
        return self.rollup == "sum"

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
        Metric("conversion_rate", "ratio", "ratio", "wins", "proposals"),
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
        name: str
        unit: str
        rollup: str
        numerator: str | None
        denominator: str | None
        direction: str

        def apply(self, catalog: "Catalog") -> None:
            fields = (self.name, self.unit, self.rollup, self.numerator, self.denominator, self.direction)
            catalog.metrics[self.name] = Metric(*fields)  # type: ignore[arg-type]

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

    def check_scope(self, scope: dict[str, str]) -> None:
        for dimension, value in scope.items():
            values = self.dimension(dimension, field=f"scope.{dimension}")
            if value not in values:
                raise UnknownDimensionError(
                    f"{value!r} is not a declared value of {dimension!r}; declared: "
                    f"{', '.join(values) or 'none yet (POST /v1/dimensions)'}",
                    field=f"scope.{dimension}",
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
        elif metric.numerator or metric.denominator:
            raise DomainError("only a ratio metric has a numerator and denominator", field="rollup")
        self.trigger_event(
            self.MetricDefined,
            name=metric.name,
            unit=metric.unit,
            rollup=metric.rollup,
            numerator=metric.numerator,
            denominator=metric.denominator,
            direction=metric.direction,
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
