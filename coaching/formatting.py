"""Numbers as a creator reads them: ¥ amounts, counts, scores and percentages, in Chinese or English.

Each takes the language to write in, the active one when None (core.language decides which reads Chinese).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

from core.language import is_chinese

MISSING = "—"

# Largest unit first. Chinese groups by 万 (10^4) and 亿 (10^8), English by thousands.
_ZH_UNITS = ((8, "亿"), (4, "万"))
_EN_UNITS = ((9, "B"), (6, "M"))
_LARGEST_EXPONENT = 308  # as for floats

# Everything rounds toward zero. A creator 1 yuan short of ¥240万 must not read "¥240万", nor a
# 24.9% repeat-buyer rate read "25%" next to a 25% target: a shown number never claims a threshold
# the real one has not reached. It also means rounding never carries into the next unit
# (9,999.999 stays "¥9,999.99", never "¥1万"), so the unit follows from the raw value alone.


def money(value: Decimal | int | float | None, language: str | None = None) -> str:
    """¥1.2万 / ¥300万 / ¥1.5亿 in Chinese, ¥12,000 / ¥1.25M in English; cents only when there are some."""
    number = _decimal(value)
    if number is None:
        return MISSING
    units = _ZH_UNITS if is_chinese(language) else _EN_UNITS
    text = _abbreviated(abs(number), units, unit_places=2, plain_places=2, keep_cents=True)
    return _signed(number, "¥" + text)


def count(value: Decimal | int | float | None, language: str | None = None) -> str:
    """Followers, orders, days: 12.3万 / 3.5亿 in Chinese, 12,000 / 1.2M in English."""
    number = _decimal(value)
    if number is None:
        return MISSING
    units = _ZH_UNITS if is_chinese(language) else _EN_UNITS
    # One decimal is what follower counts conventionally show (12.3万粉丝); money keeps two.
    text = _abbreviated(abs(number), units, unit_places=1, plain_places=2, keep_cents=False)
    return _signed(number, text)


def percent(share: Decimal | float | None, language: str | None = None) -> str:
    """0.123 → "12%"; below 1% one decimal, 0.005 → "0.5%". The same in both languages."""
    number = _decimal(share)
    if number is None:
        return MISSING
    points = abs(number).scaleb(2)
    text = _digits(points, places=1 if points < 1 else 0, keep_cents=False)
    return _signed(number, text + "%")


def score(value: Decimal | float | None, language: str | None = None) -> str:
    """A 0–5 score such as 带货口碑分, always with one decimal: 4.0, 3.9."""
    number = _decimal(value)
    if number is None:
        return MISSING
    with localcontext() as context:
        context.prec = max(context.prec, number.adjusted() + 4)
        shown = abs(number).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return _signed(number, format(shown, ",f"))


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    # repr gives the shortest decimal that reads back as the same float: 0.29 stays 0.29, not
    # 0.28999999999999998, which would round down to "28%".
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    # Past any float's range is no real amount, and writing out 1E+999999999 digit by digit would
    # exhaust memory: such input reads as missing.
    if not number.is_finite() or number.adjusted() > _LARGEST_EXPONENT:
        return None
    return number


def _abbreviated(amount: Decimal, units, *, unit_places: int, plain_places: int, keep_cents: bool) -> str:
    for exponent, suffix in units:
        if amount.adjusted() >= exponent:
            return _digits(amount.scaleb(-exponent), places=unit_places, keep_cents=False) + suffix
    return _digits(amount, places=plain_places, keep_cents=keep_cents)


def _digits(amount: Decimal, *, places: int, keep_cents: bool) -> str:
    """amount (≥ 0) with thousands separators, cut to `places` decimals.

    A whole result shows no decimals. Otherwise keep_cents shows all `places` (¥1,234.50, as money
    is written), and without it trailing zeros go (1.2万, not 1.20万).
    """
    with localcontext() as context:
        # Enough digits for any finite input: quantize fails rather than round when short.
        context.prec = max(context.prec, amount.adjusted() + places + 3)
        shown = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
        if shown == shown.to_integral_value():
            shown = shown.quantize(Decimal(1))
        elif not keep_cents:
            shown = shown.normalize()
    return format(shown, ",f")


def _signed(number: Decimal, text: str) -> str:
    # "-0%" would report a loss that rounding erased.
    if number < 0 and any(digit in text for digit in "123456789"):
        return "-" + text
    return text
