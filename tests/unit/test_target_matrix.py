"""A target split along two axes keeps both margins apart, through an adjustment too."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pytest

from target_ledger.domain.errors import DomainError
from target_ledger.domain.target import AlreadyDecomposedError, Part, Target

AT = datetime(2026, 1, 5, tzinfo=UTC)


def _quarter() -> Target:
    return Target.set(
        node="east-1",
        metric="revenue",
        period="2026-Q1",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 3, 31),
        value=Decimal(900),
        at=AT,
    )


def _part(period: str, value: str, scope: dict[str, str] | None = None) -> Part:
    return Part(target_id=uuid.uuid4(), node="east-1", period=period, scope=scope or {}, value=Decimal(value))


def test_a_second_axis_needs_a_first_and_a_third_is_refused() -> None:
    quarter = _quarter()
    products = [_part("2026-Q1", "300", {"product": "A"}), _part("2026-Q1", "600", {"product": "B"})]
    # Not split yet: the first split comes first.
    with pytest.raises(DomainError):
        quarter.cross_decompose("dimension", "weights", products, at=AT)
    months = [_part(m, "300") for m in ("2026-01", "2026-02", "2026-03")]
    quarter.decompose("period", "even", months, at=AT)
    # The same axis again is not a matrix: its parts are split further instead.
    with pytest.raises(DomainError):
        quarter.cross_decompose("period", "even", months, at=AT)
    quarter.cross_decompose("dimension", "weights", products, at=AT)
    assert (quarter.axis, quarter.cross_axis) == ("period", "dimension")
    assert quarter.parts == months and quarter.cross_parts == products
    with pytest.raises(AlreadyDecomposedError):
        quarter.cross_decompose("org", "even", [], at=AT)


def test_an_adjustment_of_a_matrix_updates_each_margin_in_its_place() -> None:
    quarter = _quarter()
    months = [_part(m, "300") for m in ("2026-01", "2026-02", "2026-03")]
    products = [_part("2026-Q1", "300", {"product": "A"}), _part("2026-Q1", "600", {"product": "B"})]
    quarter.decompose("period", "even", months, at=AT)
    quarter.cross_decompose("dimension", "weights", products, at=AT)
    # The event lists every child's new value, of both axes: each lands on its own margin.
    scaled = [msgspec.structs.replace(p, value=p.value * 2) for p in [*months, *products]]
    quarter.adjust(Decimal(1800), scaled, uuid.uuid4(), at=AT)
    assert [p.value for p in quarter.parts] == [Decimal(600)] * 3
    assert [p.value for p in quarter.cross_parts] == [Decimal(600), Decimal(1200)]
