"""TL_CALENDAR and its companions: a retail calendar from the environment, or a refusal naming the variable."""

import pytest

from target_ledger.calendar_settings import CalendarSettingError
from target_ledger.config import Settings


def calendar_from(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env().fiscal_calendar()


def test_the_default_is_the_gregorian_calendar_of_tl_fiscal_year_start(monkeypatch: pytest.MonkeyPatch) -> None:
    assert calendar_from(monkeypatch).describe() == "gregorian, fiscal years starting in month 01"
    assert calendar_from(monkeypatch, TL_FISCAL_YEAR_START="4").parse("2026").start.month == 4


def test_a_retail_calendar_defaults_to_the_nrf_year_end(monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = calendar_from(monkeypatch, TL_CALENDAR="454")
    assert calendar.describe() == "retail 4-5-4, years ending on the saturday nearest 01-31"
    assert str(calendar.parse("2023").end) == "2024-02-03"


def test_a_retail_calendar_takes_its_weekday_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = calendar_from(
        monkeypatch, TL_CALENDAR="4-4-5", TL_FISCAL_YEAR_END_WEEKDAY="Sunday", TL_FISCAL_YEAR_END_NEAR="12-31"
    )
    assert calendar.describe() == "retail 4-4-5, years ending on the sunday nearest 12-31"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TL_CALENDAR": "13-periods"}, "TL_CALENDAR"),
        ({"TL_CALENDAR": "445", "TL_FISCAL_YEAR_END_WEEKDAY": "sat"}, "TL_FISCAL_YEAR_END_WEEKDAY"),
        ({"TL_CALENDAR": "445", "TL_FISCAL_YEAR_END_NEAR": "02-29"}, "TL_FISCAL_YEAR_END_NEAR"),
        ({"TL_CALENDAR": "445", "TL_FISCAL_YEAR_END_NEAR": "January"}, "TL_FISCAL_YEAR_END_NEAR"),
        ({"TL_CALENDAR": "445", "TL_FISCAL_YEAR_START": "2"}, "TL_FISCAL_YEAR_START"),
        ({"TL_FISCAL_YEAR_END_NEAR": "01-31"}, "TL_FISCAL_YEAR_END_NEAR"),
        ({"TL_FISCAL_YEAR_START": "13"}, "TL_FISCAL_YEAR_START"),
    ],
)
def test_settings_that_describe_no_calendar_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    with pytest.raises(CalendarSettingError, match=named):
        calendar_from(monkeypatch, **env)
