"""Properties of the cell readers: any text gives a value or a named problem, never an exception, and
every way ops files write a figure or a day reads back as that figure or day."""

import datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiers.cells import EXCEL_EPOCH, CellError, Column, Kind, Problem, parse_one, parse_series
from tiers.ingest import FIELDS

MONEY = FIELDS["gmv"]
COUNT = FIELDS["orders"]
FOLLOWERS = FIELDS["followers"]
RATE = FIELDS["refund_rate"]
SCORE = FIELDS["reputation_score"]
DATE = FIELDS["date"]
NUMBER_COLUMNS = [MONEY, COUNT, FOLLOWERS, RATE, SCORE]
FULL_WIDTH = str.maketrans("0123456789.,", "０１２３４５６７８９．，")

# Text built from what cells are made of, plus anything at all.
cell_text = st.one_of(
    st.text(alphabet="0123456789.,-+%¥￥元万亿wWeE /年月日:T'=@\t\r０１２３４５６７８９．，—–", max_size=24),
    st.text(max_size=24),
)


@pytest.mark.parametrize("column", [*NUMBER_COLUMNS, DATE, FIELDS["main_category"], FIELDS["handle"]])
@given(cells=st.lists(st.one_of(st.none(), cell_text), max_size=30))
def test_any_text_gives_a_value_or_a_named_problem_never_an_exception(column, cells):
    parsed = parse_series(pl.Series(cells, dtype=pl.String), column)

    assert len(parsed.values) == len(parsed.problems) == len(cells)
    for value, problem in zip(parsed.values.to_list(), parsed.problems.to_list()):
        assert problem is None or problem in {p.value for p in Problem}
        assert value is None or problem is None  # a refused cell has no value


@given(text=cell_text)
def test_one_cell_raises_only_its_own_error(text):
    for column in (*NUMBER_COLUMNS, DATE):
        try:
            parse_one(text, column)
        except CellError as error:
            assert error.problem in Problem and str(error)


def _grouped(whole: int) -> str:
    return f"{whole:,}"


@given(cents=st.integers(0, 10**14 - 1), style=st.sampled_from(["plain", "grouped", "yen", "fullwidth", "yuan",
                                                                   "spaced"]))
def test_money_reads_back_to_the_fen_however_it_is_written(cents, style):
    whole, fen = divmod(cents, 100)
    text = {
        "plain": f"{whole}.{fen:02d}",
        "grouped": f"{_grouped(whole)}.{fen:02d}",
        "yen": f"¥{_grouped(whole)}.{fen:02d}",
        "fullwidth": f"￥{whole}.{fen:02d}".translate(FULL_WIDTH),
        "yuan": f"{whole}.{fen:02d}元",
        "spaced": f"  ¥ {whole}.{fen:02d} ",
    }[style]

    assert parse_one(text, MONEY) == cents


@given(amount=st.decimals(0, 99_999_999, places=4), unit=st.sampled_from(["万", "w"]))
def test_wan_multiplies_by_ten_thousand_and_rounds_half_up_to_the_fen(amount, unit):
    expected = (amount * 10_000 * 100).to_integral_value(rounding="ROUND_HALF_UP")

    assert parse_one(f"{amount}{unit}", MONEY) == int(expected)


@given(yi=st.integers(0, 9_999))
def test_yi_is_a_hundred_million(yi):
    assert parse_one(f"{yi}亿", MONEY) == yi * 100_000_000 * 100


@given(units=st.integers(0, 10_000), as_percent=st.booleans())
def test_rates_read_back_as_a_fraction_or_a_percentage(units, as_percent):
    fraction = Decimal(units) / 10_000
    text = f"{(fraction * 100).normalize():f}%" if as_percent else f"{fraction.normalize():f}"

    assert parse_one(text, RATE) == units


@given(units=st.integers(10_001, 10**6))
def test_a_rate_above_one_is_refused_not_guessed(units):
    with pytest.raises(CellError) as refused:
        parse_one(f"{Decimal(units) / 10_000}", RATE)
    assert refused.value.problem == Problem.RATE_RANGE


@given(count=st.integers(0, 2**31 - 1), grouped=st.booleans())
def test_counts_read_back_and_fractions_of_them_are_refused(count, grouped):
    assert parse_one(_grouped(count) if grouped else str(count), COUNT) == count
    with pytest.raises(CellError) as refused:
        parse_one(f"{count}.5", COUNT)
    assert refused.value.problem in (Problem.NOT_WHOLE, Problem.TOO_LARGE)


@given(value=st.integers(1, 10**12), text=st.sampled_from(["-{}", "−{}", "－{}"]))
def test_negative_figures_are_refused(value, text):
    with pytest.raises(CellError) as refused:
        parse_one(text.format(value), MONEY)
    assert refused.value.problem == Problem.NEGATIVE


@given(text=st.sampled_from(["", " ", "-", "--", "—", "——", "–", "/", "N/A", "#N/A", None]))
def test_missing_cells_are_neither_a_value_nor_a_problem(text):
    for column in (*NUMBER_COLUMNS, DATE):
        assert parse_one(text, column) is None


@given(day=st.dates(datetime.date(1970, 1, 1), datetime.date(2100, 12, 31)),
       style=st.sampled_from(["iso", "slash", "short_slash", "compact", "chinese", "with_time", "dotted"]))
def test_every_unambiguous_spelling_of_a_day_reads_back_as_that_day(day, style):
    text = {
        "iso": day.isoformat(),
        "slash": day.strftime("%Y/%m/%d"),
        "short_slash": f"{day.year}/{day.month}/{day.day}",
        "compact": day.strftime("%Y%m%d"),
        "chinese": f"{day.year}年{day.month}月{day.day}日",
        "with_time": f"{day.isoformat()} 00:00:00",
        "dotted": f"{day.year}.{day.month}.{day.day}",
    }[style]

    assert parse_one(text, DATE) == day


@given(day=st.dates(datetime.date(1927, 5, 19), datetime.date(2173, 10, 14)))
def test_excel_serials_read_back_as_their_day(day):
    assert parse_one(str((day - EXCEL_EPOCH).days), DATE) == day


@given(day=st.dates(datetime.date(2000, 1, 13), datetime.date(2100, 12, 31)))
def test_month_first_or_day_first_needs_the_format_named(day):
    text = f"{day.month}/{day.day}/{day.year}"

    with pytest.raises(CellError) as refused:
        parse_one(text, DATE)
    assert refused.value.problem == Problem.AMBIGUOUS_DATE
    assert parse_one(text, DATE, date_format="%m/%d/%Y") == day


def test_a_text_column_keeps_text_as_text_and_never_evaluates_it():
    handle = Column(Kind.TEXT, max_length=64)

    assert parse_one("=1+1", handle) == "=1+1"
    assert parse_one("'=1+1", handle) == "=1+1"  # our exports' formula guard comes off again
    assert parse_one("  王小美  ", handle) == "王小美"
