"""The console's number filter: its own grouping gives exactly babel's format_decimal text."""

from decimal import Decimal

from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from target_ledger.console.i18n import LANGUAGES, plain

# Any figure the ledger can hold or compute: amounts are below 10^15 with at most 6 places
# (domain/values.py), ratios are computed at the decimal context's 28 digits. Beyond 28 digits
# (or with 1E+30's integer digits) babel itself raises InvalidOperation; hypothesis found such a
# value in one CI run.
FIGURES = st.one_of(
    st.decimals(min_value=-(10**20), max_value=10**20).filter(lambda d: len(d.as_tuple().digits) <= 28),
    st.decimals(min_value=-(10**12), max_value=10**12, places=2),
    st.decimals(min_value=-1000, max_value=1000, places=6),
    st.integers(min_value=-(10**15), max_value=10**15),
)
EDGES = ["0", "-0", "0.00", "1E+3", "-1E+3", "1000000", "999.995", "0.005", "-0.1", "1.10", "12345.678900", "1E-9"]


def babel(value: Decimal | int, places: int, language: str) -> str:
    form = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, format=form, locale=language, decimal_quantization=False)


@given(FIGURES, st.integers(min_value=0, max_value=3), st.sampled_from(sorted(LANGUAGES)))
def test_any_figure_reads_as_babel_writes_it(value: Decimal | int, places: int, language: str) -> None:
    assert plain(value, places, language) == babel(value, places, language)


def test_the_edges_read_as_babel_writes_them() -> None:
    for text in EDGES:
        for places in range(4):
            for language in [*LANGUAGES, "de", "fr"]:  # de, fr: other symbols, babel's own way
                assert plain(Decimal(text), places, language) == babel(Decimal(text), places, language), text
