"""The rules of alerts, their settings, and period closures, without I/O."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from target_ledger.domain.alert import Alert
from target_ledger.domain.alert_rules import AlertRules, Settings
from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError
from target_ledger.domain.period import PeriodClosedError, Periods

AT = datetime(2026, 7, 1, tzinfo=UTC)


def test_the_most_specific_refinement_wins() -> None:
    rules = AlertRules.start(AT)
    assert rules.settings("weekly_completion", "revenue", ["rep1", "east-1", "east"]).threshold == Decimal(80)
    rules.configure("weekly_completion", None, None, Settings(threshold=Decimal(70)), at=AT)
    rules.configure("weekly_completion", "east", None, Settings(threshold=Decimal(60), weeks=3), at=AT)
    rules.configure("weekly_completion", "east-1", "calls", Settings(threshold=Decimal(50)), at=AT)
    east = rules.settings("weekly_completion", "revenue", ["rep1", "east-1", "east"])
    assert (east.threshold, east.weeks, east.margin) == (Decimal(60), 3, Decimal(5))
    assert rules.settings("weekly_completion", "calls", ["rep1", "east-1", "east"]).threshold == Decimal(50)
    assert rules.settings("weekly_completion", "revenue", ["rep9", "west"]).threshold == Decimal(70)


def test_a_rule_refinement_is_checked() -> None:
    rules = AlertRules.start(AT)
    with pytest.raises(DomainError) as bad:
        rules.configure("nonsense", None, None, Settings(), at=AT)
    assert bad.value.field == "rule"
    with pytest.raises(DomainError) as bad:
        rules.configure("pace", None, None, Settings(threshold=Decimal(-1)), at=AT)
    assert bad.value.field == "threshold"


def test_an_open_alert_is_not_raised_again_and_a_resolved_one_recurs() -> None:
    alert = Alert.raise_(rule="pace", subject="s", target_id=None, node="rep1", message="m", assignee="lead1", at=AT)
    alert.collect_events()
    alert.recur(value=None, message="again", assignee="lead1", at=AT)
    assert alert.collect_events() == []
    alert.resolve(value=None, message="ok", at=AT)
    alert.recur(value=None, message="again", assignee="lead1", at=AT)
    assert [type(e).__name__ for e in alert.collect_events()] == ["AlertResolved", "AlertRecurred"]
    assert alert.is_open and alert.occurrence == 2


def test_a_closed_quarter_freezes_its_days_in_its_subtree_only() -> None:
    periods = Periods.start(AT)
    periods.close("2026-Q3", "east", date(2026, 7, 1), date(2026, 9, 30), "boss", at=AT)
    with pytest.raises(PeriodClosedError):
        periods.check_open(["rep1", "east-1", "east", "acme"], date(2026, 8, 1), date(2026, 8, 31))
    periods.check_open(["rep9", "west", "acme"], date(2026, 8, 1), date(2026, 8, 31))
    periods.check_open(["rep1", "east-1", "east", "acme"], date(2026, 10, 1), date(2026, 10, 1))
    # A year target reaches past the quarter: it is not frozen by it.
    periods.check_open(["east"], date(2026, 1, 1), date(2026, 12, 31))


def test_a_reopen_is_asked_with_a_reason_and_approved_by_someone_else() -> None:
    periods = Periods.start(AT)
    with pytest.raises(ConflictError):
        periods.request_reopen("2026-07", "east", "boss", "why", at=AT)
    periods.close("2026-07", "east", date(2026, 7, 1), date(2026, 7, 31), "boss", at=AT)
    with pytest.raises(DomainError):
        periods.request_reopen("2026-07", "east", "boss", " ", at=AT)
    with pytest.raises(ConflictError):
        periods.approve_reopen("2026-07", "east", "ceo", at=AT)  # nobody asked
    periods.request_reopen("2026-07", "east", "boss", "late deals", at=AT)
    with pytest.raises(ForbiddenError):
        periods.approve_reopen("2026-07", "east", "boss", at=AT)
    periods.approve_reopen("2026-07", "east", "ceo", at=AT)
    periods.check_open(["east"], date(2026, 7, 5), date(2026, 7, 5))


def test_a_close_under_a_close_in_force_of_a_unit_above_is_refused() -> None:
    periods = Periods.start(AT)
    periods.close("2026-Q3", "east", date(2026, 7, 1), date(2026, 9, 30), "boss", at=AT, above=("acme",))
    # east-1's July lies in east's closed quarter: a 409 naming east, not a second close.
    with pytest.raises(ConflictError, match="'east'"):
        periods.close("2026-07", "east-1", date(2026, 7, 1), date(2026, 7, 31), "lead", at=AT, above=("east", "acme"))
    # October is outside it: closed.
    periods.close("2026-10", "east-1", date(2026, 10, 1), date(2026, 10, 31), "lead", at=AT, above=("east", "acme"))
