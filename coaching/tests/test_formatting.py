"""Tests for number formatting on Chinese and English pages: examples, and properties over any number."""

import re
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.formatting import MISSING, count, money, percent, score

ZH, EN = "zh-hans", "en"


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (12000, "¥1.2万", "¥12,000"),
        (3_000_000, "¥300万", "¥3M"),
        (150_000_000, "¥1.5亿", "¥150M"),
        (980, "¥980", "¥980"),
        (1234.5, "¥1,234.50", "¥1,234.50"),
        (Decimal("1234.5"), "¥1,234.50", "¥1,234.50"),
        (0, "¥0", "¥0"),
        (Decimal("0.00"), "¥0", "¥0"),
        (9999.999, "¥9,999.99", "¥9,999.99"),
        (10_000, "¥1万", "¥10,000"),
        (1_250_000, "¥125万", "¥1.25M"),
        (999_999.99, "¥99.99万", "¥999,999.99"),
        (1_500_000_000, "¥15亿", "¥1.5B"),
        (10**12, "¥10,000亿", "¥1,000B"),
        (-980, "-¥980", "-¥980"),
        (-0.001, "¥0", "¥0"),
        (None, MISSING, MISSING),
        (float("nan"), MISSING, MISSING),
        (Decimal("Infinity"), MISSING, MISSING),
        (Decimal("1E+999999999"), MISSING, MISSING),
    ],
)
def test_money(value, zh, en):
    assert money(value, ZH) == zh
    assert money(value, EN) == en


def test_money_never_rounds_up_to_a_threshold_the_creator_has_not_reached():
    assert money(Decimal("2399999.99"), ZH) == "¥239.99万"
    assert money(Decimal("2399999.99"), EN) == "¥2.39M"
    assert money(Decimal("99999999.99"), ZH) == "¥9,999.99万"


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (12000, "1.2万", "12,000"),
        (123_456, "12.3万", "123,456"),
        (350_000_000, "3.5亿", "350M"),
        (9999, "9,999", "9,999"),
        (1_200_000, "120万", "1.2M"),
        (499_999, "49.9万", "499,999"),
        (2_500_000_000, "25亿", "2.5B"),
        (12.5, "12.5", "12.5"),
        (0, "0", "0"),
        (-3, "-3", "-3"),
        (None, MISSING, MISSING),
    ],
)
def test_count(value, zh, en):
    assert count(value, ZH) == zh
    assert count(value, EN) == en


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.123, "12%"),
        (0.25, "25%"),
        (0.29, "29%"),  # 0.29 * 100 is 28.999999999999996 in floats
        (0.005, "0.5%"),
        (0.0099, "0.9%"),
        (0.0001, "0%"),
        (0, "0%"),
        (1, "100%"),
        (0.999, "99%"),
        (1.5, "150%"),
        (-0.2, "-20%"),
        (-0.004, "-0.4%"),
        (-0.0001, "0%"),
        (Decimal("0.35"), "35%"),
        (None, MISSING),
    ],
)
def test_percent_is_the_same_in_both_languages(share, text):
    assert percent(share, ZH) == text
    assert percent(share, EN) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(4.0, "4.0"), (Decimal("4.5"), "4.5"), (Decimal("3.95"), "3.9"), (5, "5.0"), (None, MISSING)],
)
def test_score_keeps_one_decimal(value, text):
    assert score(value, ZH) == text
    assert score(value, EN) == text


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None)

finite_floats = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
decimals = st.decimals(min_value=0, max_value=Decimal("1e300"), allow_nan=False, allow_infinity=False)
whole_numbers = st.integers(min_value=0, max_value=10**30)
numbers = st.one_of(finite_floats, decimals, whole_numbers)
languages = st.sampled_from([ZH, EN, "zh", "en-gb"])

_RENDERED = re.compile(r"¥?([0-9,]+(?:\.[0-9]+)?)(万|亿)?")
_UNIT = {None: Decimal(1), "万": Decimal(10**4), "亿": Decimal(10**8)}
# Enough digits that the test's own arithmetic never rounds, whatever float hypothesis draws.
EXACT = 1000


def parse_zh(text: str) -> tuple[Decimal, Decimal]:
    """A Chinese rendering read back: (the value shown, the size of its last place before trimming)."""
    found = _RENDERED.fullmatch(text)
    assert found, text
    digits, unit = found.groups()
    return Decimal(digits.replace(",", "")) * _UNIT[unit], _UNIT[unit]


def exact(value) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@PROPERTY
@given(numbers, languages)
def test_formatting_never_raises_for_finite_non_negative_numbers(value, language):
    for render in (money, count, percent, score):
        assert render(value, language)


@PROPERTY
@given(numbers)
def test_chinese_money_reads_back_within_rounding(value):
    with localcontext(prec=EXACT):
        shown, unit = parse_zh(money(value, ZH))

        # Cut to two decimals of the unit, always toward zero.
        assert shown <= exact(value) < shown + unit / 100


@PROPERTY
@given(numbers)
def test_chinese_count_reads_back_within_rounding(value):
    with localcontext(prec=EXACT):
        shown, unit = parse_zh(count(value, ZH))

        # Two decimals below 1万, one decimal of the unit above.
        step = Decimal("0.01") if unit == 1 else unit / 10
        assert shown <= exact(value) < shown + step


@PROPERTY
@given(numbers, numbers)
def test_chinese_money_and_count_are_monotone(a, b):
    low, high = sorted([a, b], key=exact)

    with localcontext(prec=EXACT):
        assert parse_zh(money(low, ZH))[0] <= parse_zh(money(high, ZH))[0]
        assert parse_zh(count(low, ZH))[0] <= parse_zh(count(high, ZH))[0]


@PROPERTY
@given(st.integers(min_value=-(10**15), max_value=10**15), languages)
def test_ints_decimals_and_floats_render_alike(value, language):
    assert money(value, language) == money(Decimal(value), language) == money(float(value), language)
    assert count(value, language) == count(Decimal(value), language) == count(float(value), language)


@PROPERTY
@given(st.integers(min_value=0, max_value=10**12).map(lambda cents: Decimal(cents) / 100), languages)
def test_decimal_amounts_render_like_their_float(value, language):
    # Every cent amount below 10^10 is one a float reads back exactly at 15 significant digits.
    assert money(value, language) == money(float(value), language)


@PROPERTY
@given(st.integers(min_value=0, max_value=10_000).map(lambda basis: Decimal(basis) / 10_000))
def test_percent_reads_back_within_rounding(share):
    text = percent(share, ZH)
    shown = Decimal(text.removesuffix("%")) / 100
    step = Decimal("0.001") if share < Decimal("0.01") else Decimal("0.01")

    assert shown <= share < shown + step
