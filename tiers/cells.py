"""Metric-file cells to values, a whole column at a time: counts, money, rates, scores, dates, categories, text."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .choices import Category


class Kind(enum.Enum):
    COUNT = "count"  # a whole number: followers, orders, sessions, minutes, videos
    MONEY = "money"  # yuan, to the fen
    RATE = "rate"  # 0–1, to four places; 12.5% or 0.125
    SCORE = "score"  # 带货口碑分, 0–5, to two places
    DATE = "date"
    TEXT = "text"
    CATEGORY = "category"


# Where a value is kept in whole units of 10^-places: money and scores in hundredths, rates in
# ten-thousandths, so no float ever touches a figure.
PLACES = {Kind.COUNT: 0, Kind.MONEY: 2, Kind.RATE: 4, Kind.SCORE: 2}


@dataclass(frozen=True)
class Column:
    """What one column holds, and its limits."""

    kind: Kind
    max_units: int | None = None  # COUNT: the largest number; MONEY/SCORE/RATE: in 10^-places units
    max_length: int | None = None  # TEXT
    ids: bool = False  # TEXT: an identifier, compared after full-width folding


class Problem(enum.StrEnum):
    """Why a cell was refused; each has a sentence in PROBLEM_TEXT."""

    REQUIRED = "required"
    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    NOT_WHOLE = "not_whole"
    TOO_LARGE = "too_large"
    PERCENT_NOT_A_RATE = "percent_not_a_rate"
    RATE_RANGE = "rate_range"
    SCORE_RANGE = "score_range"
    NOT_A_DATE = "not_a_date"
    AMBIGUOUS_DATE = "ambiguous_date"
    TOO_LONG = "too_long"
    UNKNOWN_CATEGORY = "unknown_category"


PROBLEM_TEXT = {
    Problem.REQUIRED: _("this column needs a value"),
    Problem.NOT_A_NUMBER: _("not a number"),
    Problem.NEGATIVE: _("must not be negative"),
    Problem.NOT_WHOLE: _("must be a whole number"),
    Problem.TOO_LARGE: _("larger than the largest allowed ({limit})"),
    Problem.PERCENT_NOT_A_RATE: _("a percentage only fits a rate column"),
    Problem.RATE_RANGE: _("a rate is between 0 and 1: write 12.5% or 0.125"),
    Problem.SCORE_RANGE: _("a score is between 0 and 5"),
    Problem.NOT_A_DATE: _("not a date: write 2026-11-24"),
    Problem.AMBIGUOUS_DATE: _("day and month could be either way round: name the format (--date-format %m/%d/%Y)"),
    Problem.TOO_LONG: _("longer than {limit} characters"),
    Problem.UNKNOWN_CATEGORY: _("unknown category: use one of {limit}"),
}


class CellError(ValueError):
    """One cell that cannot be read; `problem` says why."""

    def __init__(self, problem: Problem, text: str):
        self.problem = problem
        super().__init__(text)


# Cells that mean "no figure here" in the exports ops teams get.
MISSING = ["", "-", "--", "—", "——", "–", "/", "N/A", "n/a", "#N/A", "NULL", "null"]
# Spreadsheet exports (ours included) put an apostrophe before a text cell that would otherwise be
# read as a formula; it is not part of the value.
_NEUTRALISED = r"^'[=+\-@\t\r]"

_NUMBER = (
    r"^(?P<sign>[+-]?)(?P<currency>¥|\$|RMB|CNY)?(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?P<frac>\.\d*)?"
    r"(?P<exp>[eE][+-]?\d{1,3})?(?P<unit>万|亿|%|w|W)?(?P<yuan>元)?$"
)
_MULTIPLIER = {"万": Decimal(10_000), "w": Decimal(10_000), "W": Decimal(10_000), "亿": Decimal(100_000_000)}
# Enough integer digits for the largest count (a 19-digit bigint) times 亿.
_DECIMAL = pl.Decimal(38, 10)
_MAX_INTEGER_DIGITS = 19

# Unambiguous date spellings, tried in order; a time of day after the date is ignored.
_DATE_FORMATS = [
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    (r"^\d{4}\.\d{1,2}\.\d{1,2}$", "%Y.%m.%d"),
    (r"^\d{8}$", "%Y%m%d"),
    (r"^\d{4}年\d{1,2}月\d{1,2}日$", "%Y年%m月%d日"),
]
_TIME_OF_DAY = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$"
_AMBIGUOUS_DATE = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}$"
# Excel stores a date as days since 1899-12-30; five digits cover 1927 to 2173.
_EXCEL_SERIAL = r"^\d{5}(?:\.\d+)?$"
EXCEL_EPOCH = datetime.date(1899, 12, 30)


def date_format_from_option(value: str) -> str:
    """A --date-format as strftime: `%m/%d/%Y`, or spelled `MM/DD/YYYY`. ValueError if it names no
    year, month and day."""
    spelled = value.strip()
    for word, directive in (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d")):
        spelled = spelled.replace(word, directive)
    if not all(directive in spelled for directive in ("%Y", "%m", "%d")):
        raise ValueError(value)
    return spelled


def normalised(cells: pl.Series) -> pl.Series:
    """Full-width folded, trimmed, the formula-guard apostrophe removed; null where the cell is missing."""
    text = cells.cast(pl.String)
    text = pl.select(
        pl.when(text.str.contains(_NEUTRALISED)).then(text.str.slice(1)).otherwise(text).alias("t")
    ).to_series()
    text = text.str.normalize("NFKC").str.strip_chars()
    return pl.select(pl.when(text.is_in(MISSING)).then(None).otherwise(text).alias("t")).to_series()


@dataclass(frozen=True)
class Parsed:
    """A column's values (null where missing or refused) and each cell's Problem (null where fine)."""

    values: pl.Series
    problems: pl.Series

    @property
    def missing(self) -> pl.Series:
        return self.values.is_null() & self.problems.is_null()


def parse(cells: pl.Series, column: Column, *, date_format: str | None = None) -> Parsed:
    """Read a column of raw text cells. Numbers come back as Int64 in 10^-places units, dates as
    Date, text and categories as String; nothing raises for a bad cell."""
    text = normalised(cells) if column.kind != Kind.TEXT or column.ids else _trimmed(cells)
    if column.kind == Kind.DATE:
        return _dates(text, date_format)
    if column.kind == Kind.TEXT:
        too_long = text.str.len_chars() > column.max_length
        return _result(text, _problem_where(too_long, Problem.TOO_LONG))
    if column.kind == Kind.CATEGORY:
        key = _category_key(text)
        values = key.replace_strict(category_lookup(), default=None, return_dtype=pl.String)
        return _result(values, _problem_where(text.is_not_null() & values.is_null(), Problem.UNKNOWN_CATEGORY))
    return _numbers(text, column)


def _trimmed(cells: pl.Series) -> pl.Series:
    text = cells.cast(pl.String)
    text = pl.select(
        pl.when(text.str.contains(_NEUTRALISED)).then(text.str.slice(1)).otherwise(text).alias("t")
    ).to_series().str.strip_chars()
    return pl.select(pl.when(text == "").then(None).otherwise(text).alias("t")).to_series()


def _problem_where(mask: pl.Series, problem: Problem) -> pl.Series:
    return pl.select(pl.when(mask).then(pl.lit(problem.value)).otherwise(None).alias("p")).to_series()


def _result(values: pl.Series, problems: pl.Series) -> Parsed:
    values = pl.select(pl.when(problems.is_null()).then(values).otherwise(None).alias("v")).to_series()
    return Parsed(values=values, problems=problems)


def _numbers(text: pl.Series, column: Column) -> Parsed:
    places = PLACES[column.kind]
    compact = text.str.replace_all(r"\s", "")
    parts = compact.str.extract_groups(_NUMBER).struct.unnest()
    integer = parts["int"].str.replace_all(",", "")
    fraction = parts["frac"].fill_null("").str.slice(0, 11)  # the dot and ten digits: the Decimal's scale
    has_digits = (integer.str.len_chars() > 0) | (fraction.str.len_chars() > 1)
    unit = parts["unit"].fill_null("")
    number = (integer + fraction + parts["exp"].fill_null("")).cast(_DECIMAL, strict=False)
    frame = pl.DataFrame({"text": text, "number": number, "unit": unit, "sign": parts["sign"], "digits": has_digits,
                          "integer": integer})
    multiplier = pl.col("unit").replace_strict(
        {"": Decimal(1), "%": Decimal("0.01"), **_MULTIPLIER}, return_dtype=_DECIMAL
    )
    scaled = pl.col("number") * multiplier * Decimal(10**places)
    rounded = (scaled + Decimal("0.5")).cast(pl.Int64, strict=False)  # half up; negatives are refused anyway
    whole = scaled == scaled.cast(pl.Int64, strict=False).cast(_DECIMAL)
    readable = pl.col("digits") & pl.col("number").is_not_null()
    too_large = (pl.col("integer").str.len_chars() > _MAX_INTEGER_DIGITS) | rounded.is_null() | (
        rounded > column.max_units if column.max_units is not None else pl.lit(False)
    )
    problem = (
        pl.when(pl.col("text").is_null()).then(None)
        .when(~readable).then(pl.lit(Problem.NOT_A_NUMBER.value))
        .when((pl.col("sign") == "-") & (pl.col("number") != 0)).then(pl.lit(Problem.NEGATIVE.value))
        .when((pl.col("unit") == "%") & pl.lit(column.kind != Kind.RATE)).then(pl.lit(Problem.PERCENT_NOT_A_RATE.value))
        .when(too_large).then(pl.lit(_range_problem(column).value))
        .when(pl.lit(column.kind == Kind.COUNT) & ~whole).then(pl.lit(Problem.NOT_WHOLE.value))
        .otherwise(None)
    )
    out = frame.select(value=rounded, problem=problem)
    return _result(out["value"], out["problem"])


def _range_problem(column: Column) -> Problem:
    return {Kind.RATE: Problem.RATE_RANGE, Kind.SCORE: Problem.SCORE_RANGE}.get(column.kind, Problem.TOO_LARGE)


def _dates(text: pl.Series, date_format: str | None) -> Parsed:
    day = text.str.replace(_TIME_OF_DAY, "")
    frame = pl.DataFrame({"text": text, "day": day})
    col = pl.col("day")
    tries = []
    if date_format:
        tries.append(col.str.to_date(date_format, strict=False))
    for pattern, fmt in _DATE_FORMATS:
        tries.append(pl.when(col.str.contains(pattern)).then(col.str.to_date(fmt, strict=False)))
    serial = col.str.contains(_EXCEL_SERIAL)
    days = col.str.split(".").list.first().cast(pl.Int64, strict=False)
    tries.append(pl.when(serial).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days)).cast(pl.Date))
    value = pl.coalesce(tries)
    problem = (
        pl.when(pl.col("text").is_null() | value.is_not_null()).then(None)
        .when(pl.lit(date_format is None) & col.str.contains(_AMBIGUOUS_DATE)).then(pl.lit(Problem.AMBIGUOUS_DATE.value))
        .otherwise(pl.lit(Problem.NOT_A_DATE.value))
    )
    out = frame.select(value=value, problem=problem)
    return _result(out["value"], out["problem"])


# ---------------------------------------------------------------- categories


def _category_key(text: pl.Series) -> pl.Series:
    return text.str.to_lowercase().str.replace_all(r"[\s_&/、·.-]", "")


def _key(words: str) -> str:
    return _category_key(pl.Series([words], dtype=pl.String))[0]


# Words ops files use for a category beyond its code and its English and Chinese labels.
CATEGORY_WORDS = {
    Category.BEAUTY: ["美妆个护", "彩妆", "护肤"],
    Category.APPAREL: ["服装", "服饰鞋包", "女装", "男装"],
    Category.FOOD: ["食品饮料", "零食"],
    Category.FRESH: ["生鲜水果", "水果生鲜"],
    Category.JADE: ["珠宝", "玉石", "翡翠", "珠宝文玩"],
    Category.HOME: ["家居日用", "家居家纺", "日用百货"],
    Category.DIGITAL: ["数码家电", "3C数码", "家电"],
    Category.MOTHER_BABY: ["母婴用品", "母婴童装"],
}


def category_words() -> dict[str, list[str]]:
    """Every spelling of each category a file may use: code, English and Chinese labels, common words."""
    words: dict[str, list[str]] = {}
    for choice in Category:
        spellings = [choice.value, str(choice.label)]
        for language in ("en", "zh-hans"):
            with translation.override(language):
                spellings.append(str(choice.label))
        words[choice.value] = [*dict.fromkeys(spellings), *CATEGORY_WORDS.get(choice, [])]
    return words


def category_lookup() -> dict[str, str]:
    return {_key(word): code for code, spellings in category_words().items() for word in spellings}


def problem_text(problem: Problem | str, *, limit: object = "") -> str:
    """The sentence for a problem in the active language."""
    return str(PROBLEM_TEXT[Problem(problem)]).format(limit=limit)


def parse_one(text, column: Column, *, date_format: str | None = None):
    """One cell, as `parse` reads it: the value (None when missing), or CellError."""
    parsed = parse(pl.Series([text], dtype=pl.String), column, date_format=date_format)
    if parsed.problems[0] is not None:
        raise CellError(Problem(parsed.problems[0]), problem_text(parsed.problems[0], limit=column_limit(column)))
    return parsed.values[0]


def column_limit(column: Column) -> object:
    """What a problem sentence names as the limit of this column."""
    if column.kind == Kind.TEXT:
        return column.max_length
    if column.kind == Kind.CATEGORY:
        return ", ".join(str(choice.label) for choice in Category)
    if column.max_units is None:
        return ""
    places = PLACES[column.kind]
    return f"{Decimal(column.max_units).scaleb(-places):,.{places}f}"
