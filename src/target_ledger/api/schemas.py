"""Request and response bodies: one frozen, strict Struct base."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from target_ledger.domain.errors import DomainError
from target_ledger.domain.values import check_amount, check_day

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
    msgspec.Meta(
        min_length=4,
        max_length=8,
        examples=["2026", "2026-Q3", "2026-07", "2026-W27"],
        description="a period key of the ledger's calendar: 2026, 2026-H1, 2026-Q3, then 2026-07 (month) and "
        "2026-W27 (ISO week) in a gregorian ledger, or 2026-P07 (period) and 2026-W27 (fiscal week) in a retail one",
    ),
]
# What attainment is read over: a period key, or a single day with its planned share (never a target's period).
ReadPeriodKey = Annotated[
    str,
    msgspec.Meta(
        min_length=4,
        max_length=10,
        examples=["2026-Q3", "2026-W48", "2026-06-16"],
        description="a period key of the ledger's calendar (see PeriodKey), or a day 2026-06-16: a week or day "
        "without a target of its own reads its planned share of the targets holding its days (`derived_share`)",
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
DimensionValue = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ScopeMap = Annotated[
    dict[Name, DimensionValue],
    msgspec.Meta(max_length=8, description='declared dimension values, e.g. {"segment": "new"}'),
]
Amount = Annotated[Decimal, msgspec.Meta(description='a decimal, e.g. "1200000.00"')]
MAX_POSITION = 2**63 - 1  # positions and sequences are PostgreSQL bigints


class Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Input(Struct):
    """A request body. Every value in it passes the ledger's rules for values as it is decoded,
    whatever the field: decimals are finite, below 10^15 and at most 6 places (domain/values.py),
    days lie in the calendar's years (1900-2999), and text holds no NUL character (PostgreSQL refuses it).
    A breach is a 422 naming the field; rules that depend on the field (a target is not negative,
    money has cents) are the domain's. Decimals are kept in plain spelling ("1.5E+2" is 150), so
    that every answer and every event shows them one way."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            checked = check_input(value, name)
            if checked is not value:
                msgspec.structs.force_setattr(self, name, checked)


def check_input(value: Any, field: str) -> Any:
    """The value with its decimals in plain spelling; raise ValueError naming `field` (msgspec
    makes it a ValidationError) if it breaks a rule."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"field `{field}` must not contain the NUL character (\\u0000)")
    elif isinstance(value, Decimal | date):
        try:
            if isinstance(value, Decimal):
                check_amount(value, negative_allowed=True, field=field)
                return plain(value)
            check_day(value, field)
        except DomainError as e:
            raise ValueError(f"field `{field}`: {e}") from None
    elif isinstance(value, dict):
        plain_text = all(type(key) is str and type(item) is str for key, item in value.items())
        if plain_text and not any("\x00" in key or "\x00" in item for key, item in value.items()):
            # Text only, no NUL (a scope, a batch's raw item): nothing to refuse. A copy all the
            # same: a default {} is one object shared by every struct, and code may add to its own.
            return dict(value)
        return {check_input(key, field): check_input(item, f"{field}.{key}") for key, item in value.items()}
    elif isinstance(value, list):
        return [check_input(item, f"{field}[{index}]") for index, item in enumerate(value)]
    return value


def plain(value: Decimal) -> Decimal:
    """The same number written out in digits (no exponent), and never negative zero."""
    return value if value.as_tuple().exponent in range(-6, 1) and value else Decimal(format(value, "f")) + 0


# A target's value as typed: a decimal, or for a rate a percent ("15%" is read as 0.15). Its
# spelling is checked by values.typed_value, which names the exact key (`weights.A`, not `weights[...]`).
TypedValue = (
    Annotated[
        str,
        msgspec.Meta(
            max_length=64,
            description='a decimal, e.g. "1200000.00"; a rate is a fraction ("0.15") or a percent ("15%")',
        ),
    ]
    | int
    | float
)


class GrowthAsk(Input):
    """A growth over a base period's actual: over the previous period (环比) or the same period
    last year (同比), by a rate (0.20 or "20%" is +20 %)."""

    over: Annotated[str, msgspec.Meta(pattern="^(previous_period|same_period_last_year)$")]
    rate: TypedValue


class SetTarget(Input):
    node: NodeId
    metric: MetricName
    period: PeriodKey
    value: TypedValue | None = None
    growth: GrowthAsk | None = None
    scope: ScopeMap = {}
    stretch: TypedValue | None = None
    rationale: Text = ""


class PartView(Struct):
    target_id: UUID
    node: str
    period: str
    scope: dict[str, str]
    value: Decimal


class GrowthView(Struct):
    over: str
    rate: Decimal
    base_period: str
    base_actual: Decimal
    exact_value: Decimal
    rounding: str


class TargetView(Struct):
    id: UUID
    node: str
    metric: str
    period: str
    starts_on: date
    ends_on: date
    scope: dict[str, str]
    value: Decimal
    stretch: Decimal | None
    rationale: str
    version: int
    parent_id: UUID | None
    acknowledgement: str
    comment: str
    decomposed_along: str | None
    decomposed_by: str | None
    children: list[PartView]
    position: int | None = None
    crossed_along: str | None = None  # a matrix: the second axis, its method, and its margins' targets
    crossed_by: str | None = None
    cross_children: list[PartView] = []
    as_of: datetime | None = None  # ?as_of=: the instant asked about; the other fields as known then
    value_now: Decimal | None = None  # ?as_of=: the value today, beside the value then
    growth: GrowthView | None = None  # a growth target: its base period's actual and the rounding


class Comment(Input):
    comment: Text = ""


class Axis(Input):
    axis: Annotated[str, msgspec.Meta(pattern="^(org|period|dimension)$")]
    method: Annotated[str, msgspec.Meta(pattern="^(even|weights|explicit|last_period_mix|prorated)$")]
    into: Annotated[str, msgspec.Meta(pattern="^(half|quarter|month|period|week)$")] | None = None
    dimension: Name | None = None
    parts: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=1000)] | None = None
    # as many as `parts`; shares: "60%" is 0.6
    weights: Annotated[dict[str, TypedValue], msgspec.Meta(max_length=1000)] | None = None
    allocations: Annotated[dict[str, TypedValue], msgspec.Meta(max_length=1000)] | None = None
    # prorated only: a new hire's share of a day in their first, second, … month, e.g. ["0.5", "75%"]
    ramp: Annotated[list[TypedValue], msgspec.Meta(max_length=24)] | None = None


PartKey = Annotated[str, msgspec.Meta(max_length=64)]
# A cell's value: spelt as allocations' TypedValue, but checked by the route (typed_values), not by
# a pattern here, so that a bad one is named `cells.<row>.<column>`, not `cells[...][...]`.
CellValue = (
    Annotated[str, msgspec.Meta(max_length=64, description='a decimal, e.g. "120000.00", or a percent ("15%")')]
    | int
    | float
)


class Decompose(Axis):
    cross: Annotated[
        Axis | None,
        msgspec.Meta(
            description="a second axis to split along at once: the parts are a matrix's rows, these its columns"
        ),
    ] = None
    cells: (
        Annotated[
            dict[PartKey, Annotated[dict[PartKey, CellValue], msgspec.Meta(max_length=1000)]],
            msgspec.Meta(
                max_length=1000,
                description="explicit cells of a two-axis split, row key → column key → value; every row and "
                "column must add up to its margin (default: row share times column share, controlled-rounded)",
            ),
        ]
        | None
    ) = None


class MatrixRow(Struct):
    target_id: UUID
    parent_id: UUID | None
    depth: int
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    value: Decimal
    share_of_parent: Decimal | None
    share_of_root: Decimal | None
    axis: str | None
    method: str | None
    acknowledgement: str


class Matrix(Struct):
    position: int
    rows: list[MatrixRow]


class DefineMetric(Input):
    name: Name
    unit: Annotated[str, msgspec.Meta(pattern="^(money|count|ratio)$")]
    rollup: Annotated[str, msgspec.Meta(pattern="^(sum|ratio)$")] = "sum"
    numerator: Name | None = None
    denominator: Name | None = None
    direction: Annotated[str, msgspec.Meta(pattern="^(higher|lower)$")] = "higher"
    # A share: the numerator counted in a scope, over the denominator in its own ({}: all of it).
    numerator_scope: ScopeMap | None = None
    denominator_scope: ScopeMap | None = None
    # A ratio-unit metric's targets lie in [0, 1] unless false (default: true for a rate of like
    # over like, as wins / proposals; false for unlike parts, as revenue / orders).
    bounded: bool | None = None


class MetricView(Struct):
    name: str
    unit: str
    rollup: str
    numerator: str | None
    denominator: str | None
    direction: str
    numerator_scope: dict[str, str] | None = None
    denominator_scope: dict[str, str] | None = None
    bounded: bool | None = None


class DefineDimension(Input):
    name: Name
    values: Annotated[list[DimensionValue], msgspec.Meta(min_length=1, max_length=1000)]


class DimensionView(Struct):
    name: str
    values: list[str]


class Position(Struct):
    position: int | None


class RecordActual(Input):
    person: NodeId
    metric: MetricName
    date: date
    value: Decimal
    # Any name (domain/actual.py checks it, saying what a source is); the schema shows the same rule.
    source: Annotated[
        str,
        msgspec.Meta(
            description="where the actual came from, e.g. crm or salesforce",
            extra_json_schema={"pattern": "^[A-Za-z0-9._-]{1,64}$"},
        ),
    ] = "manual"
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    scope: ScopeMap = {}


class ActualRecorded(Struct):
    id: UUID
    position: int
    duplicate: bool


class RecordActuals(Input):
    # Items are checked one by one (see api/actuals.py), so the 422 can list every bad one.
    items: Annotated[
        list[dict[str, Any]],
        msgspec.Meta(min_length=1, max_length=10_000, description="up to 10,000 RecordActual objects"),
    ]


class ActualsRecorded(Struct):
    stored: int
    duplicates: int
    items: list[ActualRecorded]


class Reversal(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


Day = date  # for a field named `date` with a default: its annotation is read after the default is bound


class Correction(Input):
    """What a wrong actual should have said: its value, why, and whatever else differs (the rest is kept)."""

    value: Decimal
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    person: NodeId | None = None
    metric: MetricName | None = None
    date: Day | None = None
    scope: ScopeMap | None = None


TargetSource = Literal["set", "sum_of_parts", "derived_share", "set_and_derived_share"]


class AttainmentRow(Struct):
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    actual: Decimal
    target_id: UUID | None
    target: Decimal | None
    attainment_pct: Decimal | None
    gap: Decimal | None
    expected: Decimal | None
    pace_pct: Decimal | None
    projected: Decimal | None
    status: str | None
    target_source: Annotated[
        TargetSource | None,
        msgspec.Meta(
            description="`set`: a target set (or split) for this very key; `sum_of_parts`: none was, and the "
            "target shown is the sum of the set targets that cover the key along another axis (Q1 for product A "
            "= January, February and March for A); `derived_share`: none covers it so, and the target shown is "
            "its planned share of the targets holding its days (a week of a month target: by the month's time "
            "split, else pro rata by days), a reading, not a stored target; `set_and_derived_share`: a week set by "
            "its month's split plans that month's days, and its other days are added as their derived share; "
            "null: no target"
        ),
    ] = None


class AttainmentCell(Struct):
    """One cell or total of an attainment matrix: money and counts as decimal strings, attainment as a fraction."""

    node: str
    period: str
    scope: dict[str, str]
    target: Decimal | None
    target_source: TargetSource | None
    actual: Decimal
    attainment: Annotated[
        Decimal | None, msgspec.Meta(description="actual / target as a fraction to 4 places (0.9512 is 95.12 %)")
    ]
    gap: Annotated[Decimal | None, msgspec.Meta(description="target - actual")]


class AttainmentLine(Struct):
    """A row of the matrix: its label along the row axis, its total, and its cells in the columns' order."""

    label: str
    total: AttainmentCell
    cells: list[AttainmentCell]


class AttainmentColumn(Struct):
    label: str
    total: AttainmentCell


class AttainmentMatrix(Struct):
    """`breakdown=rows_axis,columns_axis`: the row and column totals are the one-axis answers along
    each axis, and `total` is the node's own row, so they equal those reads to the cent."""

    axes: list[str]
    columns: list[AttainmentColumn]
    rows: list[AttainmentLine]
    total: AttainmentCell


class Attainment(Struct):
    position: int
    as_of: date
    row: AttainmentRow
    breakdown: Annotated[
        list[AttainmentRow],
        msgspec.Meta(description="one row per part of the breakdown; for two axes, the first axis's rows"),
    ]
    matrix: Annotated[
        AttainmentMatrix | None, msgspec.Meta(description="a two-axis breakdown (`breakdown=time,product`)")
    ] = None


class Leaderboard(Struct):
    position: int
    as_of: date
    rows: list[AttainmentRow]


class ExplainedEvent(Struct):
    """A stored event as the raw log holds it, with the hashes that chain it to its stream."""

    position: int
    event_id: UUID
    stream_id: UUID
    version: int
    type: str
    recorded_at: datetime
    actor: str | None
    payload: dict[str, Any]
    hash: Annotated[str, msgspec.Meta(description="SHA-256 of the event and its predecessor's hash, hex")]
    previous_hash: Annotated[
        str | None, msgspec.Meta(description="the stream's previous event's hash; null at version 1")
    ]


class Explanation(Struct):
    target_id: UUID
    value: Decimal
    version: int
    events: list[ExplainedEvent]
