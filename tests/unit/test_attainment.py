"""How a target stands: the status rules, including metrics where lower is better."""

from decimal import Decimal
from fractions import Fraction

from target_ledger.domain.attainment import RATE, Thresholds, assess, attainment_pct, percent, rate, shown

D = Decimal


def test_pace_sets_the_status_of_a_higher_is_better_target() -> None:
    # 310 of 1000 planned over 31 days, 10 days in: expected 322.58, pace 96.10 %: at risk.
    standing = assess(target=D(1000), actual=D(310), expected=Fraction(1000) * 10 / 31, elapsed_days=10, total_days=31)
    assert (standing.pace_pct, standing.status, standing.projected) == (D("96.10"), "at_risk", D("961.00"))
    assert assess(target=D(1000), actual=D(330), expected=D(300), elapsed_days=9, total_days=31).status == "on_track"
    assert assess(target=D(1000), actual=D(200), expected=D(300), elapsed_days=9, total_days=31).status == "behind"
    assert assess(target=D(1000), actual=D(1001), expected=D(300), elapsed_days=9, total_days=31).status == "ahead"
    assert assess(target=D(1000), actual=D(0), expected=D(0), elapsed_days=0, total_days=31).status == "not_started"


def test_lower_is_better_inverts_the_status() -> None:
    # Returns: 40 so far against 30 planned by now is bad; 20 is good.
    worse = assess(target=D(100), actual=D(40), expected=D(30), elapsed_days=9, total_days=30, lower_is_better=True)
    better = assess(target=D(100), actual=D(20), expected=D(30), elapsed_days=9, total_days=30, lower_is_better=True)
    assert (worse.pace_pct, worse.status) == (D("75.00"), "behind")
    assert (better.pace_pct, better.status) == (D("150.00"), "on_track")
    # Ending the period under the target is a target met.
    done = assess(target=D(100), actual=D(90), expected=D(100), elapsed_days=30, total_days=30, lower_is_better=True)
    assert done.status == "ahead"


def test_thresholds_are_configurable() -> None:
    strict = Thresholds(on_track=D(110), at_risk=D(95))
    standing = assess(target=D(1000), actual=D(320), expected=D(300), elapsed_days=9, total_days=31, thresholds=strict)
    assert standing.status == "at_risk"


def test_a_figure_is_shown_rounded_toward_the_side_that_does_not_flatter() -> None:
    # 999.99 of 1000: 99.999 % is shown 99.99 %, never 100.00 %, and the status is judged on it.
    short = assess(target=D(1000), actual=D("999.99"), expected=D(1000), elapsed_days=31, total_days=31)
    assert (short.attainment_pct, short.pace_pct, short.status) == (D("99.99"), D("99.99"), "at_risk")
    # Where a higher figure is worse news (a budget's share used, a gap, a bar to reach) it rounds up.
    assert shown(percent(D("1000.01"), D(1000)) or 0, higher_is_better=False) == D("100.01")
    assert attainment_pct(D("1000.01"), D(1000), lower_is_better=True) == D("100.01")
    assert shown(Fraction(1000) * 10 / 31, higher_is_better=False) == D("322.59")
    # A rate to four places, down; negatives toward minus infinity; exact figures stay as they are.
    assert (shown(rate(2, 12), RATE), shown(D("-4.999")), shown(D("271"))) == (D("0.1666"), D("-5.00"), D("271.00"))
