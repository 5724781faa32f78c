"""Rates as fractions and shares as scoped parts, without I/O (the API stories are in
tests/api/test_shares_and_growth.py)."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from target_ledger.domain.catalog import BUILT_IN_METRICS, Catalog, Metric, part_key, part_label
from target_ledger.domain.errors import InvalidValueError
from target_ledger.domain.target import Target
from target_ledger.domain.values import percent_form, typed_value
from target_ledger.eventstore.mapper import LedgerMapper

AT = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "read"), [("15%", "0.15"), ("12.5%", "0.125"), (" 0.15 ", "0.15"), ("1E+2", "100"), ("100%", "1")]
)
def test_a_percent_is_read_as_its_fraction(typed: str, read: str) -> None:
    assert percent_form(typed) == Decimal(read)


@pytest.mark.parametrize("typed", ["%", "15 %%", "abc", "0.0000001%"])
def test_what_is_no_decimal_or_percent_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        check = BUILT_IN_METRICS["conversion_rate"].check_target_value
        check(percent_form(typed, "value"), field="value")
    assert refused.value.field == "value"


def test_json_numbers_are_read_exactly_as_written() -> None:
    assert (typed_value(1200000.1), typed_value(15), typed_value("15%")) == (
        Decimal("1200000.1"),
        Decimal(15),
        Decimal("0.15"),
    )


def test_a_rate_of_15_is_refused_unless_its_metric_is_unbounded() -> None:
    rate = BUILT_IN_METRICS["conversion_rate"]
    with pytest.raises(InvalidValueError, match="between 0 and 1"):
        rate.check_target_value(Decimal(15))
    rate.check_target_value(Decimal("0.15"))
    Metric("growth", "ratio", "ratio", "revenue", "gross_profit", bounded=False).check_target_value(Decimal(15))
    # Money is not a rate: 15 is 15.
    BUILT_IN_METRICS["revenue"].check_target_value(Decimal(15))


def test_a_share_names_its_parts_with_their_scopes_and_is_bounded_by_default() -> None:
    catalog = Catalog.start(AT)
    catalog.define_dimension("product", ["A", "B"], AT)
    share = Metric("a_share", "ratio", "ratio", "revenue", "revenue", numerator_scope={"product": "A"})
    catalog.define_metric(share, AT)
    defined = catalog.metric("a_share")
    assert defined.parts == ['revenue {"product":"A"}', "revenue"]
    assert [part_key(p) for p in defined.parts] == [("revenue", {"product": "A"}), ("revenue", {})]
    assert defined.bounded is True and part_label("revenue") == "revenue"
    # Unlike parts (revenue per order) are no fraction of a whole: unbounded by default.
    catalog.define_metric(Metric("order_value", "ratio", "ratio", "revenue", "orders"), AT)
    assert catalog.metric("order_value").bounded is False


def test_targets_and_metrics_stored_before_shares_and_growth_still_load() -> None:
    # A version 1 TargetSet (no growth) and MetricDefined (no part scopes, no bound), as stored.
    target = StoredEvent(
        originator_id=UUID(int=1),
        originator_version=1,
        topic="TargetSet",
        state=b'{"timestamp":"2026-01-01T00:00:00+00:00","originator_topic":"Target","node":"east","metric":"revenue",'
        b'"period":"2026-Q3","starts_on":"2026-07-01","ends_on":"2026-09-30","scope":{},"value":"1000",'
        b'"stretch":null,"rationale":"","parent_id":null}',
    )
    loaded = LedgerMapper().to_domain_event(target).mutate(None)
    assert isinstance(loaded, Target) and (loaded.value, loaded.growth) == (Decimal(1000), None)
    catalog = Catalog.start(AT)
    defined = StoredEvent(
        originator_id=catalog.id,
        originator_version=2,
        topic="MetricDefined",
        state=b'{"timestamp":"2026-01-01T00:00:00+00:00","originator_topic":"Catalog","name":"order_value",'
        b'"unit":"ratio","rollup":"ratio","numerator":"revenue","denominator":"orders","direction":"higher"}',
    )
    LedgerMapper().to_domain_event(defined).mutate(catalog)
    # Unlike parts: unbounded by default, as before the rule (an order value of 300 stays a target).
    metric = catalog.metric("order_value")
    assert (metric.parts, metric.bounded) == (["revenue", "orders"], False)
    metric.check_target_value(Decimal(300))
