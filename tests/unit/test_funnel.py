"""The funnel's arithmetic: conversion from how far each deal got, ages, and the slipping ones."""

from datetime import date
from decimal import Decimal

from target_ledger.domain.funnel import Deal, funnel, slipping

ORDER = ["prospecting", "qualification", "proposal"]
TODAY = date(2026, 7, 31)


def _deal(status: str, stages: list[str], amount: str = "100", close_on: date = date(2026, 8, 15)) -> Deal:
    return Deal(
        status=status,
        stage=stages[-1],
        amount=Decimal(amount),
        close_on=close_on,
        stage_since=date(2026, 7, 10),
        stages=stages,
    )


def test_a_skipped_stage_counts_as_passed_and_a_win_as_passing_them_all() -> None:
    # One deal jumped straight to proposal, one was won from qualification, one lost in prospecting.
    deals = [
        _deal("open", ["prospecting", "proposal"]),
        _deal("won", ["prospecting", "qualification"]),
        _deal("lost", ["prospecting"]),
    ]
    rows = funnel(deals, ORDER, TODAY).stages
    # prospecting → on: 2 of 3 (0.6666, down); qualification → on: 2 of 2; proposal → won: 1 of 2.
    assert [r.conversion for r in rows] == [Decimal("0.6666"), Decimal(1), Decimal("0.5")]
    # Only the open one is counted in its stage, 21 days old.
    assert [(r.count, r.value, r.average_age_days) for r in rows] == [
        (0, 0, None),
        (0, 0, None),
        (1, 100, Decimal(21)),
    ]


def test_an_empty_funnel_has_no_conversion_and_a_deal_due_yesterday_slips() -> None:
    assert [r.conversion for r in funnel([], ORDER, TODAY).stages] == [None, None, None]
    assert slipping(_deal("open", ["prospecting"], close_on=date(2026, 7, 30)), TODAY)
    assert not slipping(_deal("open", ["prospecting"], close_on=TODAY), TODAY)
    assert not slipping(_deal("lost", ["prospecting"], close_on=date(2026, 7, 1)), TODAY)
