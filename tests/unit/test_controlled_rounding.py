"""Controlled rounding keeps a matrix's rows, columns and total exact where per-cell rounding cannot."""

from fractions import Fraction
from math import ceil, floor

from hypothesis import given, settings
from hypothesis import strategies as st

from target_ledger.domain.controlled_rounding import controlled_round, proportional


def _check(table: list[list[Fraction]], rounded: list[list[int]]) -> None:
    for row, got in zip(table, rounded, strict=True):
        assert all(g in (floor(x), ceil(x)) for x, g in zip(row, got, strict=True))
        assert sum(got) in (floor(sum(row)), ceil(sum(row)))
    for j in range(len(table[0])):
        exact = sum(row[j] for row in table)
        assert sum(got[j] for got in rounded) in (floor(exact), ceil(exact))
    total = sum(sum(row) for row in table)
    assert sum(map(sum, rounded)) in (floor(total), ceil(total))


def test_naive_rounding_breaks_the_margins_where_controlled_rounding_keeps_them() -> None:
    # Three months of 1 cent each, split between product A (2 cents) and B (1 cent): every
    # month's cells are 2/3 and 1/3 of a cent. Rounding each cell on its own (or largest
    # remainder month by month) gives every month's cent to A: A gets 3 cents, B none.
    table = proportional([1, 1, 1], [2, 1])
    naive = [[round(x) for x in row] for row in table]
    assert [sum(column) for column in zip(*naive, strict=True)] == [3, 0]
    rounded = controlled_round(table)
    assert [sum(row) for row in rounded] == [1, 1, 1]
    assert [sum(column) for column in zip(*rounded, strict=True)] == [2, 1]
    _check(table, rounded)


def test_half_cells_keep_rows_and_columns_exact() -> None:
    # Two rows of 3, two columns of 3: every cell is 1.5; rounded on its own each makes 2, a row 4.
    table = proportional([3, 3], [3, 3])
    assert [sum(round(x) for x in row) for row in table] == [4, 4]
    rounded = controlled_round(table)
    assert [sum(row) for row in rounded] == [3, 3]
    assert [sum(column) for column in zip(*rounded, strict=True)] == [3, 3]


def test_whole_cells_are_kept_as_they_are() -> None:
    table = [[Fraction(5), Fraction(7)], [Fraction(0), Fraction(3)]]
    assert controlled_round(table) == [[5, 7], [0, 3]]


def test_the_rounding_is_the_closest_one() -> None:
    # 0.9 and 0.1 in a row of 1: the 0.9 is rounded up, not the 0.1.
    table = [[Fraction(9, 10), Fraction(1, 10)], [Fraction(1, 10), Fraction(9, 10)]]
    assert controlled_round(table) == [[1, 0], [0, 1]]


margins = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=margins, shares=margins)
def test_proportional_cells_round_to_exact_margins(rows: list[int], shares: list[int]) -> None:
    # Any row margins, and column margins as the largest-remainder split of the same total:
    # the margins are whole, so controlled rounding must meet them exactly.
    total = sum(rows)
    weight = sum(shares) or 1
    columns = [total * s // weight for s in shares]
    columns[0] += total - sum(columns)
    table = proportional(rows, columns)
    rounded = controlled_round(table)
    assert [sum(row) for row in rounded] == rows
    assert [sum(column) for column in zip(*rounded, strict=True)] == columns
    _check(table, rounded)


@settings(max_examples=150, deadline=None)
@given(
    table=st.integers(min_value=1, max_value=5).flatmap(
        lambda width: st.lists(
            st.lists(st.fractions(min_value=0, max_value=1000, max_denominator=97), min_size=width, max_size=width),
            min_size=1,
            max_size=5,
        )
    )
)
def test_any_table_rounds_with_every_sum_floor_or_ceiling(table: list[list[Fraction]]) -> None:
    _check(table, controlled_round(table))
