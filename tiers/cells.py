"""Metric-file cells to values, a whole column at a time: counts, money, rates, scores, dates, categories, text."""

from __future__ import annotations

import datetime
import enum
import functools
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.language import site_language

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
    NUL_CHARACTER = "nul_character"


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
    Problem.NUL_CHARACTER: _("contains a NUL character, which no text may hold"),
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


# A cell that is a plain number as machines write it: read with less work (`parse(plain=True)`).
PLAIN_NUMBER = r"^\s*\d+(?:\.\d+)?\s*$"


def normalised(cell: pl.Expr, *, ascii: bool = False) -> pl.Expr:
    """Full-width folded, trimmed, the formula-guard apostrophe removed; null where the cell is
    missing. `ascii`: the column has no other characters, so there is nothing to fold."""
    text = _unguarded(cell)
    if not ascii:
        text = text.str.normalize("NFKC").str.replace_all("−", "-")
    text = text.str.strip_chars()
    return pl.when(text.is_in(MISSING)).then(None).otherwise(text)


def _unguarded(cell: pl.Expr) -> pl.Expr:
    text = cell.cast(pl.String)
    return pl.when(text.str.contains(_NEUTRALISED)).then(text.str.slice(1)).otherwise(text)


@dataclass(frozen=True)
class Parsed:
    """A column's values (null where missing or refused) and each cell's Problem (null where fine)."""

    values: pl.Series
    problems: pl.Series

    @property
    def missing(self) -> pl.Series:
        return self.values.is_null() & self.problems.is_null()


Steps = list[dict[str, pl.Expr]]


def problem_column(into: str) -> str:
    return f"{into}?"


def is_temporary(name: str) -> bool:
    return "." in name


def parse(source: str, column: Column, *, into: str, date_format: str | None = None, ascii: bool = False,
          plain: bool = False) -> Steps:
    """How to read the raw text column `source`: steps to apply in order (each a `with_columns`)
    that leave the value in `into` and its Problem in `into?` (null where the cell is fine), with
    temporaries named `into.…` to drop after. Numbers come back as Int64 in 10^-places units, dates
    as Date, text and categories as String; the value is null where the cell is missing or refused.
    Nothing raises for a bad cell.

    Steps, not one expression, so each intermediate is computed once: every column of a block is
    read in a handful of `with_columns`, side by side. `ascii` (no character beyond ASCII in the
    column) and `plain` (every cell a PLAIN_NUMBER or missing) only make the work smaller.
    """
    text = f"{into}.text"
    if column.kind == Kind.TEXT and not column.ids:
        trimmed = _unguarded(pl.col(source)).str.strip_chars()
        first = {text: pl.when(trimmed == "").then(None).otherwise(trimmed)}
    else:
        first = {text: normalised(pl.col(source), ascii=ascii)}
    t = pl.col(text)
    if column.kind == Kind.DATE:
        rest = _date_steps(t, into, date_format)
    elif column.kind == Kind.TEXT:
        # PostgreSQL text cannot hold NUL: refused here, as a bad cell, not by the database mid-block.
        problem = (pl.when(t.str.contains("\x00", literal=True)).then(pl.lit(Problem.NUL_CHARACTER.value))
                   .when(t.str.len_chars() > column.max_length).then(pl.lit(Problem.TOO_LONG.value)))
        rest = [{f"{into}.value": t, problem_column(into): problem}]
    elif column.kind == Kind.CATEGORY:
        rest = [{f"{into}.value": _category_key(t).replace_strict(category_lookup(), default=None,
                                                                     return_dtype=pl.String)},
                {problem_column(into): _problem_if(t.is_not_null() & pl.col(f"{into}.value").is_null(),
                                                   Problem.UNKNOWN_CATEGORY)}]
    elif plain:
        rest = _plain_number_steps(t, into, column)
    else:
        rest = _number_steps(t, into, column)
    last = {into: pl.when(pl.col(problem_column(into)).is_null()).then(pl.col(f"{into}.value"))}
    return [first, *rest, last]


def apply_steps(frame: pl.DataFrame, columns: list[Steps]) -> pl.DataFrame:
    """Run several columns' steps side by side, dropping each temporary once no later step reads it
    (a block's memory is its cells and a few columns more, not every intermediate at once)."""
    depths = max((len(steps) for steps in columns), default=0)
    for depth in range(depths):
        exprs = {name: expr for steps in columns if depth < len(steps) for name, expr in steps[depth].items()}
        frame = frame.with_columns(**exprs)
        needed = {root for steps in columns for later in steps[depth + 1:] for expr in later.values()
                  for root in expr.meta.root_names()}
        frame = frame.drop([name for name in frame.columns if is_temporary(name) and name not in needed])
    return frame


def parse_series(cells: pl.Series, column: Column, *, date_format: str | None = None) -> Parsed:
    """`parse` over one Series."""
    frame = apply_steps(pl.DataFrame({"cell": cells.cast(pl.String)}),
                        [parse("cell", column, into="value", date_format=date_format)])
    return Parsed(values=frame["value"], problems=frame[problem_column("value")])


def _problem_if(condition: pl.Expr, problem: Problem) -> pl.Expr:
    return pl.when(condition).then(pl.lit(problem.value)).otherwise(pl.lit(None, dtype=pl.String))


# Powers of ten a unit moves the number by.
_SHIFT = {"": 0, "%": -2, "万": 4, "w": 4, "W": 4, "亿": 8}
_MAX_DIGITS = 18  # every value, in its units, fits an Int64


def _number_steps(text: pl.Expr, into: str, column: Column) -> Steps:
    """Integer arithmetic on the digits (no float, no Decimal): the number's digits moved by its
    unit's power of ten and the column's places, with one more digit to round half up."""
    def c(name):
        return pl.col(f"{into}.{name}")

    parts = pl.col(f"{into}.parts")
    return [
        {f"{into}.parts": text.str.replace_all(r"\s", "").str.extract_groups(_NUMBER)},
        {
            f"{into}.int": parts.struct.field("int").str.replace_all(",", ""),
            f"{into}.frac": parts.struct.field("frac").fill_null("").str.strip_prefix("."),
            f"{into}.exp": parts.struct.field("exp"),
            f"{into}.unit": parts.struct.field("unit").fill_null(""),
            f"{into}.sign": parts.struct.field("sign"),
        },
        # A % in a column that is no rate moves the point left of the units; it is refused, but the
        # arithmetic must not go below zero places on the way.
        {f"{into}.places": (c("unit").replace_strict(_SHIFT, return_dtype=pl.Int32) + PLACES[column.kind]).clip(0)},
        {
            f"{into}.digits": c("int") + (c("frac") + "0" * 16).str.slice(0, c("places") + 1),
            # 1.2E+05 (Excel's CSV writes large numbers so): rare, and already rounded by Excel.
            f"{into}.scientific": (c("int") + "." + c("frac") + "0" + c("exp")).cast(pl.Float64, strict=False)
            * pl.lit(10.0).pow(c("places")),
        },
        {
            f"{into}.value": pl.when(c("exp").is_null())
            .then((c("digits").cast(pl.Int64, strict=False) + 5) // 10)
            .otherwise(c("scientific").round(0).cast(pl.Int64, strict=False)),
            f"{into}.whole": pl.when(c("exp").is_null())
            .then(c("frac").str.slice(c("places")).str.contains("^0*$"))
            .otherwise(c("scientific") == c("scientific").round(0)),
        },
        {problem_column(into): _number_problem(text, into, column)},
    ]


def _plain_number_steps(text: pl.Expr, into: str, column: Column) -> Steps:
    """`_number_steps` for digits with at most a decimal point: no sign, unit, separator or exponent."""
    def c(name):
        return pl.col(f"{into}.{name}")

    places = PLACES[column.kind]
    return [
        {f"{into}.parts": text.str.split_exact(".", 1)},
        {f"{into}.int": c("parts").struct.field("field_0"),
         f"{into}.frac": c("parts").struct.field("field_1").fill_null(""),
         f"{into}.exp": pl.lit(None, dtype=pl.String), f"{into}.unit": pl.lit(""), f"{into}.sign": pl.lit("")},
        {f"{into}.digits": c("int") + (c("frac") + "0" * 16).str.slice(0, places + 1)},
        {f"{into}.value": (c("digits").cast(pl.Int64, strict=False) + 5) // 10,
         f"{into}.whole": c("frac").str.slice(places).str.contains("^0*$")},
        {problem_column(into): _number_problem(text, into, column)},
    ]


def _number_problem(text: pl.Expr, into: str, column: Column) -> pl.Expr:
    def c(name):
        return pl.col(f"{into}.{name}")

    readable = c("int").is_not_null() & ((c("int").str.len_chars() + c("frac").str.len_chars()) > 0)
    too_large = (c("digits").str.len_chars() > _MAX_DIGITS + 1) | c("value").is_null()
    if column.max_units is not None:
        too_large = too_large | (c("value") > column.max_units)
    return (
        pl.when(text.is_null()).then(pl.lit(None, dtype=pl.String))
        .when(~readable).then(pl.lit(Problem.NOT_A_NUMBER.value))
        .when((c("sign") == "-") & (c("value") != 0)).then(pl.lit(Problem.NEGATIVE.value))
        .when((c("unit") == "%") & pl.lit(column.kind != Kind.RATE)).then(pl.lit(Problem.PERCENT_NOT_A_RATE.value))
        .when(too_large).then(pl.lit(_range_problem(column).value))
        .when(pl.lit(column.kind == Kind.COUNT) & ~c("whole")).then(pl.lit(Problem.NOT_WHOLE.value))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _range_problem(column: Column) -> Problem:
    return {Kind.RATE: Problem.RATE_RANGE, Kind.SCORE: Problem.SCORE_RANGE}.get(column.kind, Problem.TOO_LARGE)


def _date_steps(text: pl.Expr, into: str, date_format: str | None) -> Steps:
    day = pl.col(f"{into}.day")
    tries = []
    if date_format:
        tries.append(day.str.to_date(date_format, strict=False))
    for pattern, fmt in _DATE_FORMATS:
        tries.append(pl.when(day.str.contains(pattern)).then(day.str.to_date(fmt, strict=False)))
    serial = day.str.split(".").list.first().cast(pl.Int64, strict=False)
    tries.append(pl.when(day.str.contains(_EXCEL_SERIAL)).then(
        (pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)).cast(pl.Date)))
    value = pl.col(f"{into}.value")
    problem = (
        pl.when(text.is_null() | value.is_not_null()).then(pl.lit(None, dtype=pl.String))
        .when(pl.lit(date_format is None) & day.str.contains(_AMBIGUOUS_DATE)).then(pl.lit(Problem.AMBIGUOUS_DATE.value))
        .otherwise(pl.lit(Problem.NOT_A_DATE.value))
    )
    return [{f"{into}.day": text.str.replace(_TIME_OF_DAY, "")}, {f"{into}.value": pl.coalesce(tries)},
            {problem_column(into): problem}]


# ---------------------------------------------------------------- categories


def _category_key(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().str.replace_all(r"[\s_&/、·.-]", "")


def _key(words: str) -> str:
    return pl.select(_category_key(pl.lit(unicodedata.normalize("NFKC", words)))).item()


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


@functools.cache
def _category_lookup(language: str) -> dict[str, str]:
    return {_key(word): code for code, spellings in category_words().items() for word in spellings}


def category_lookup() -> dict[str, str]:
    """Spelling key → category code (the labels of every language; cached per active language)."""
    return _category_lookup(site_language())


def problem_text(problem: Problem | str, *, limit: object = "") -> str:
    """The sentence for a problem in the active language."""
    return str(PROBLEM_TEXT[Problem(problem)]).format(limit=limit)


def parse_one(text, column: Column, *, date_format: str | None = None):
    """One cell, as `parse` reads it: the value (None when missing), or CellError."""
    parsed = parse_series(pl.Series([text], dtype=pl.String), column, date_format=date_format)
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
