"""Request and response bodies: one frozen, strict Struct base."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

NodeId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
        description="an org node id (a person's id is the `sub` of their token)",
    ),
]
MetricName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", examples=["revenue"]),
]
PeriodKey = Annotated[
    str,
    msgspec.Meta(min_length=4, max_length=8, examples=["2026", "2026-Q3", "2026-07", "2026-W27"]),
]
Text = Annotated[str, msgspec.Meta(max_length=4000)]


class Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SetTarget(Struct):
    node: NodeId
    metric: MetricName
    period: PeriodKey
    value: Annotated[Decimal, msgspec.Meta(description='a non-negative decimal, e.g. "1200000.00"')]
    rationale: Text = ""


class TargetView(Struct):
    id: UUID
    node: str
    metric: str
    period: str
    value: Decimal
    rationale: str
    version: int
    position: int | None = None


class RecordActual(Struct):
    person: NodeId
    metric: MetricName
    date: date
    value: Decimal
    source: Annotated[str, msgspec.Meta(pattern=r"^(manual|crm|import)$")] = "manual"
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class ActualRecorded(Struct):
    id: UUID
    position: int
    duplicate: bool


class AttainmentRow(Struct):
    target_id: UUID
    node: str
    metric: str
    period: str
    target: Decimal
    actual: Decimal
    attainment_pct: Decimal | None
    gap: Decimal


class Attainment(Struct):
    position: int
    rows: list[AttainmentRow]
