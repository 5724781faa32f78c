"""The payroll workbook writes money exactly, even where a spreadsheet number would round it."""

import io
import uuid
from decimal import Decimal
from types import SimpleNamespace

from openpyxl import load_workbook

from target_ledger.api.payout_export import COLUMNS, _xlsx


def _row(person: str, amount: str) -> SimpleNamespace:
    money = Decimal(amount)
    values = {key: None for key in COLUMNS}
    values.update(
        person=person,
        plan_id=uuid.uuid4(),
        status="final",
        cap_applied=False,
        tier=3,
        attainment_pct=Decimal(150),
        target=Decimal(1000),
        actual=Decimal(1500),
        earned=money,
        team_award=Decimal("0.00"),
        amount=money,
    )
    return SimpleNamespace(**values)


def test_an_amount_of_17_digits_is_written_exactly_and_so_is_its_total() -> None:
    # 999999999999999.98 has 17 significant digits: as a spreadsheet number it would become 1000000000000000.
    sheet = load_workbook(io.BytesIO(_xlsx([_row("p1", "999999999999999.98"), _row("p2", "0.01")], "en"))).worksheets[0]
    amount = list(COLUMNS).index("amount") + 1
    assert sheet.cell(row=2, column=amount).value == "999999999999999.98"
    # A small amount stays a number; the total is the exact sum, not a SUM that would skip the text.
    assert sheet.cell(row=3, column=amount).value == 0.01
    assert sheet.cell(row=4, column=amount).value == "999999999999999.99"


def test_ordinary_amounts_stay_numbers_totalled_by_a_formula() -> None:
    sheet = load_workbook(io.BytesIO(_xlsx([_row("p1", "1400.00"), _row("p2", "1000.00")], "en"))).worksheets[0]
    amount = list(COLUMNS).index("amount") + 1
    assert [sheet.cell(row=i, column=amount).value for i in (2, 3)] == [1400, 1000]
    assert str(sheet.cell(row=4, column=amount).value).startswith("=SUM(")
