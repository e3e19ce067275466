"""The metric ingestion core: a header and rows of raw cells in, each cell checked, good rows upserted on (creator, day)."""

from __future__ import annotations

import datetime
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from core import bulk

from .cells import (
    MISSING as MISSING_CELLS,
)
from .cells import (
    PLAIN_NUMBER,
    Column,
    Kind,
    Problem,
    apply_steps,
    category_words,
    column_limit,
    parse,
    problem_column,
    problem_text,
)
from .choices import Category, InfluencerStatus
from .models import DailyMetric, Influencer

# ---------------------------------------------------------------- what a file may hold

_INT, _SMALLINT = 2**31 - 1, 2**15 - 1
_MONEY = Column(Kind.MONEY, max_units=10**14 - 1)  # DecimalField(max_digits=14, decimal_places=2)

# Each field a file may name, and what its cells hold.
FIELDS: dict[str, Column] = {
    "platform_id": Column(Kind.TEXT, max_length=64, ids=True),
    "handle": Column(Kind.TEXT, max_length=64),
    "display_name": Column(Kind.TEXT, max_length=128),
    "main_category": Column(Kind.CATEGORY),
    "date": Column(Kind.DATE),
    "followers": Column(Kind.COUNT, max_units=10**15),  # far beyond any account; keeps units in an Int64
    "gmv": _MONEY,
    "live_gmv": _MONEY,
    "video_gmv": _MONEY,
    "storefront_gmv": _MONEY,
    "orders": Column(Kind.COUNT, max_units=_INT),
    "live_sessions": Column(Kind.COUNT, max_units=_SMALLINT),
    "live_minutes": Column(Kind.COUNT, max_units=_INT),
    "big_live_sessions": Column(Kind.COUNT, max_units=_SMALLINT),
    "videos_posted": Column(Kind.COUNT, max_units=_SMALLINT),
    "entertainment_videos": Column(Kind.COUNT, max_units=_SMALLINT),
    "reputation_score": Column(Kind.SCORE, max_units=500),
    "refund_rate": Column(Kind.RATE, max_units=10_000),
    "repeat_buyer_rate": Column(Kind.RATE, max_units=10_000),
}
# The DailyMetric columns a file may set, in table order (category_gmv is set per category).
METRIC_FIELDS = (
    "followers", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders", "live_sessions", "live_minutes",
    "big_live_sessions", "videos_posted", "entertainment_videos", "reputation_score", "refund_rate",
    "repeat_buyer_rate",
)
CATEGORY_PREFIX = "category_gmv:"
# Our own rejected-rows CSV adds these; a fixed file uploaded again may still have them.
REPORT_COLUMNS = ("line", "reason")

# Headers beyond each field's name and its verbose name in either language: what the platform's
# data tools and agencies write.
HEADER_WORDS = {
    "platform_id": ["达人ID", "快手号", "达人快手号", "达人账号ID", "用户ID", "creator_id", "influencer_id"],
    "handle": ["达人昵称", "达人账号"],
    "display_name": ["达人名称", "展示名称"],
    "main_category": ["主营类目", "类目", "category"],
    "date": ["日期", "统计日期", "数据日期", "day"],
    "followers": ["粉丝数", "粉丝量", "粉丝总数"],
    "gmv": ["成交金额", "支付金额", "GMV", "销售额", "成交额", "总GMV"],
    "live_gmv": ["直播GMV", "直播成交金额", "直播间GMV"],
    "video_gmv": ["短视频GMV", "短视频成交金额", "视频GMV"],
    "storefront_gmv": ["橱窗GMV", "橱窗成交金额", "商品橱窗GMV"],
    "orders": ["订单数", "订单量", "成交订单数", "支付订单数"],
    "live_sessions": ["直播场次", "开播场次"],
    "live_minutes": ["直播时长(分钟)", "直播时长", "开播时长(分钟)"],
    "big_live_sessions": ["大场次数", "大场场次", "大场直播场次"],
    "videos_posted": ["短视频数", "发布视频数", "视频数", "短视频发布数"],
    "entertainment_videos": ["娱乐视频数", "娱乐类视频数"],
    "reputation_score": ["带货口碑分", "口碑分", "reputation"],
    "refund_rate": ["退款率"],
    "repeat_buyer_rate": ["复购率"],
}
REPORT_WORDS = {"line": ["原行号", "行号"], "reason": ["原因", "错误原因", "问题"]}
# Units a header may carry that do not change what its cells mean.
_UNIT_SUFFIX = re.compile(r"\((元|¥|个|次|场|条|人|%|单)\)$")


def header_key(text: str) -> str:
    """A header as compared: full-width folded, case-folded, without spaces, underscores or dashes."""
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", str(text or "")).casefold())


@functools.cache
def _header_lookup() -> dict[str, str]:
    """Header key → field, over every language's words (built once)."""
    lookup: dict[str, str] = {}
    for name in FIELDS:
        spellings = [name, *HEADER_WORDS.get(name, [])]
        model_field = _model_field(name)
        if model_field is not None:
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    spellings.append(str(model_field.verbose_name))
        for spelling in spellings:
            lookup.setdefault(header_key(spelling), name)
    for code, words in category_words().items():
        for word in words:
            for spelling in (f"{word}GMV", f"GMV{word}", f"{word}成交金额", f"{word}类目GMV", f"category_gmv_{word}"):
                lookup.setdefault(header_key(spelling), CATEGORY_PREFIX + code)
    for name, words in REPORT_WORDS.items():
        for spelling in (name, *words):
            lookup.setdefault(header_key(spelling), name)
    return lookup


def _model_field(name: str):
    for model in (DailyMetric, Influencer):
        try:
            return model._meta.get_field(name)
        except Exception:  # noqa: BLE001 — not a field of this model
            continue
    return None


def field_for_header(text: str) -> str | None:
    """The field a header names, or None."""
    lookup = _header_lookup()
    key = header_key(text)
    if key in lookup:
        return lookup[key]
    bare = _UNIT_SUFFIX.sub("", key)
    return lookup.get(bare)


# ---------------------------------------------------------------- refusals and the header


class IngestRefused(Exception):
    """Nothing can be imported from this input; the message says why, in the staff's language."""


HEADER_DUPLICATE = gettext_lazy("Columns {columns} all mean {field}: keep one of them.")
HEADER_NO_ID = gettext_lazy("No creator id column: name one 达人ID or platform_id.")
HEADER_NO_DATE = gettext_lazy("No date column: name one 日期 or date.")
HEADER_NO_METRIC = gettext_lazy("No metric column: the file has ids and dates but no figures to import.")
NO_DATA_ROWS = gettext_lazy("The file has a header but no data rows.")


@dataclass(frozen=True)
class HeaderMapping:
    """Which column of the file holds which field."""

    header: tuple[str, ...]
    fields: dict[int, str]  # column position → field
    unknown: tuple[str, ...]  # headers no field answers to: reported, never silently dropped

    @property
    def metric_fields(self) -> list[str]:
        present = set(self.fields.values())
        return [name for name in METRIC_FIELDS if name in present]

    @property
    def categories(self) -> list[str]:
        return [name.removeprefix(CATEGORY_PREFIX) for name in self.fields.values() if name.startswith(CATEGORY_PREFIX)]

    def position(self, name: str) -> int | None:
        return next((index for index, field_name in self.fields.items() if field_name == name), None)

    def header_of(self, name: str) -> str:
        position = self.position(name)
        return self.header[position] if position is not None else name

    def to_json(self) -> dict:
        return {"header": list(self.header), "fields": {str(k): v for k, v in self.fields.items()},
                "unknown": list(self.unknown)}

    @classmethod
    def from_json(cls, data: dict) -> HeaderMapping:
        return cls(header=tuple(data["header"]), fields={int(k): v for k, v in data["fields"].items()},
                   unknown=tuple(data["unknown"]))


METRIC_FILE_NEEDS = ("platform_id", "date")


def header_score(header: Sequence, needs: Sequence[str] = METRIC_FILE_NEEDS) -> int:
    """How many of a row's cells name a field: the header row is the first that names every field of
    `needs` (a metric file: an id and a date)."""
    fields = {field_for_header(cell) for cell in header if cell not in (None, "")}
    if not set(needs) <= fields:
        return 0
    return len(fields - {None})


def header_map(header: Sequence) -> HeaderMapping:
    """Map a header row to fields; IngestRefused when columns repeat a field or the essentials are missing."""
    cells = tuple("" if cell is None else str(cell).strip() for cell in header)
    while cells and cells[-1] == "":
        cells = cells[:-1]
    fields: dict[int, str] = {}
    unknown = []
    by_field: dict[str, list[str]] = {}
    for position, cell in enumerate(cells):
        if cell == "":
            continue
        name = field_for_header(cell)
        if name is None:
            unknown.append(cell)
            continue
        by_field.setdefault(name, []).append(cell)
        if name not in REPORT_COLUMNS:
            fields[position] = name
    repeated = {name: headers for name, headers in by_field.items() if len(headers) > 1}
    if repeated:
        raise IngestRefused(" ".join(
            str(HEADER_DUPLICATE).format(columns=", ".join(headers), field=_field_label(name))
            for name, headers in repeated.items()
        ))
    present = set(fields.values())
    if "platform_id" not in present:
        raise IngestRefused(str(HEADER_NO_ID))
    if "date" not in present:
        raise IngestRefused(str(HEADER_NO_DATE))
    if not (present & set(METRIC_FIELDS)) and not any(name.startswith(CATEGORY_PREFIX) for name in present):
        raise IngestRefused(str(HEADER_NO_METRIC))
    return HeaderMapping(header=cells, fields=fields, unknown=tuple(unknown))


def _field_label(name: str) -> str:
    if name.startswith(CATEGORY_PREFIX):
        return f"{Category(name.removeprefix(CATEGORY_PREFIX)).label} GMV"
    model_field = _model_field(name)
    return str(model_field.verbose_name) if model_field is not None else name


# ---------------------------------------------------------------- rows of raw cells → blocks


def cell_text(value) -> str | None:
    """A raw cell (text, number, date from a spreadsheet or JSON) as the text the parsers read."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # Positional, shortest round-trip: 1e-05 is 0.00001, 45620.0 is 45620.
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def column_name(position: int) -> str:
    return f"c{position}"


def rows_frame(rows: Sequence[tuple[int, Sequence]], width: int) -> pl.DataFrame:
    """(line, cells) rows as a block: `line` and one text column per header position, plus `extra`
    holding any cells beyond the header (a row that long is refused)."""
    lines = [line for line, _cells in rows]
    columns: list[list] = [[] for _ in range(width)]
    extra = []
    for _line, cells in rows:
        texts = [cell_text(cell) for cell in cells]
        for position in range(width):
            columns[position].append(texts[position] if position < len(texts) else None)
        overflow = [text for text in texts[width:] if text not in (None, "")]
        extra.append("\x1f".join(overflow) if overflow else None)
    data = {"line": pl.Series(lines, dtype=pl.Int64)}
    for position, values in enumerate(columns):
        data[column_name(position)] = pl.Series(values, dtype=pl.String)
    data["extra"] = pl.Series(extra, dtype=pl.String)
    return pl.DataFrame(data)


# ---------------------------------------------------------------- row problems beyond one cell

ROW_TOO_LONG = gettext_lazy("this line has more cells than the header has columns")
CELL_PROBLEM = gettext_lazy('{column}: {reason} ("{value}")')
CELL_PROBLEM_EMPTY = gettext_lazy("{column}: {reason}")
DATE_IN_FUTURE = gettext_lazy("{value} has not happened yet")
DATE_BEFORE_ONBOARDED = gettext_lazy("before this creator's first selling day, {value}")
DUPLICATE_ROW = gettext_lazy("the same creator and day as line {value}")
UNKNOWN_CREATOR = gettext_lazy("no creator has this id (let the import create unknown creators to add them)")

def _sentence(column: str, reason, value: pl.Expr | None = None) -> pl.Expr:
    """'{column}: {reason}' in the staff's language; a {value} in the reason is each row's own."""
    text = str(CELL_PROBLEM_EMPTY).format(column=column, reason=str(reason))
    if value is None:
        return pl.lit(text)
    before, _sep, after = text.partition("{value}")
    return pl.concat_str([pl.lit(before), value, pl.lit(after)])


# ---------------------------------------------------------------- the core


@dataclass
class IngestTotals:
    """What rows did to the stored metrics: of one block, or summed over a file or a request."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    creators_created: int = 0
    earliest_changed: datetime.date | None = None

    def add(self, block: "IngestTotals") -> None:
        self.rows += block.rows
        self.new += block.new
        self.updated += block.updated
        self.unchanged += block.unchanged
        self.rejected += block.rejected
        self.creators_created += block.creators_created
        if block.earliest_changed and (self.earliest_changed is None or block.earliest_changed < self.earliest_changed):
            self.earliest_changed = block.earliest_changed

    def to_json(self) -> dict:
        return {"rows": self.rows, "new": self.new, "updated": self.updated, "unchanged": self.unchanged,
                "creators_created": self.creators_created,
                "earliest_changed": self.earliest_changed.isoformat() if self.earliest_changed else None}


@dataclass(kw_only=True)
class BlockResult(IngestTotals):
    """What one block of rows did; handed to the caller inside the block's transaction."""

    first_line: int
    last_line: int
    # line, cells (list of text), extra, reason, and problems: the reason's parts as {column, message}
    rejections: pl.DataFrame | None = None


MISSING_CREATE, MISSING_REPORT = "create", "report"
STAGING = "ladder_import_rows"


@dataclass
class Ingest:
    """One import's pass over its rows, a block at a time.

    Each block is read column by column (polars), its creators looked up in one query, and its
    good rows upserted on (creator, day) set-based, all in one transaction with the caller's
    `on_block` bookkeeping. Columns absent from the file, and missing cells, leave the stored
    figure as it is (a new row gets the model's default). `dry_run` reads and counts the same way
    and writes nothing but temporary tables. `resume_after_line`: lines up to it were applied by an
    earlier delivery; they are read again only to know the creators and days they hold.
    """

    mapping: HeaderMapping
    missing: str = MISSING_CREATE
    dry_run: bool = False
    date_format: str | None = None
    today: datetime.date = field(default_factory=timezone.localdate)
    batch_id: int | None = None  # where the creators an apply changed are recorded (ImportChange)
    resume_after_line: int = 0
    on_block: Callable[[BlockResult], None] | None = None
    totals: IngestTotals = field(default_factory=IngestTotals)
    # Creators unknown when first seen get a provisional (negative) key for their days, and are
    # the ones a dry run would create: kept in temporary tables, like the (creator, day) of every
    # row so far (for duplicates), so memory stays the same whatever the file's size.
    _next_key: int = 1
    _created_any: bool = False

    def __post_init__(self):
        if self.missing not in (MISSING_CREATE, MISSING_REPORT):
            raise ValueError(self.missing)
        _temporary(_PIDS, _PIDS_TABLE)
        _temporary(_SEEN, _SEEN_TABLE)
        if self.batch_id is not None and not self.dry_run:
            # Resuming: the creators this import already created are still its own.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {_PIDS} (pid, key, created_id, first_day, counted) "
                    "SELECT i.platform_id, -ROW_NUMBER() OVER (ORDER BY i.id), i.id, i.onboarded_on, true "
                    "FROM tiers_importchange c JOIN tiers_influencer i ON i.id = c.influencer_id "
                    "WHERE c.batch_id = %s AND c.created",
                    [self.batch_id],
                )
                self._next_key += cursor.rowcount
                self._created_any = cursor.rowcount > 0

    # -------------------------------------------------------------- entry points

    def rows(self, rows: Iterable[tuple[int, Sequence]], *, block_rows: int = 20_000) -> IngestTotals:
        """Feed (line, cells) rows; blocks of `block_rows`."""
        width = len(self.mapping.header)
        pending: list = []
        for row in rows:
            pending.append(row)
            if len(pending) >= block_rows:
                self.block(rows_frame(pending, width))
                pending = []
        if pending:
            self.block(rows_frame(pending, width))
        return self.totals

    def block(self, frame: pl.DataFrame) -> BlockResult:
        """One block: `line`, c0…cN text columns (N+1 = header width) and `extra`."""
        blank = pl.all_horizontal([frame[column_name(p)].is_null() for p in range(len(self.mapping.header))])
        frame = frame.filter(~(blank & frame["extra"].is_null()))
        if self.resume_after_line:
            done = frame.filter(pl.col("line") <= self.resume_after_line)
            if done.height:
                self._remember(done)
            frame = frame.filter(pl.col("line") > self.resume_after_line)
        result = BlockResult(first_line=int(frame["line"].min() or 0), last_line=int(frame["line"].max() or 0))
        if not frame.height:
            return result
        with transaction.atomic():
            self._block(frame, result)
            if self.on_block is not None:
                self.on_block(result)
        self.totals.add(result)
        return result

    # -------------------------------------------------------------- one block

    def _read(self, frame: pl.DataFrame, positions: Iterable[int]) -> pl.DataFrame:
        """Every cell of these columns read, all columns side by side: the value of column
        <position> in v<position>, its problem in v<position>?."""
        positions = list(positions)
        # What each column holds decides how much work reading it takes: most exports write plain
        # ASCII numbers, which skip full-width folding and the full number grammar.
        hints = frame.select(**{
            f"a{p}": pl.col(column_name(p)).str.contains(r"[^\x00-\x7f]").any() for p in positions
        }, **{
            f"n{p}": (pl.col(column_name(p)).str.strip_chars().is_in(MISSING_CELLS)
                      | pl.col(column_name(p)).str.contains(PLAIN_NUMBER) | pl.col(column_name(p)).is_null()).all()
            for p in positions
        }).row(0, named=True)
        steps = [
            parse(column_name(p), FIELDS.get(self.mapping.fields[p], _MONEY), into=f"v{p}", date_format=self.date_format,
                  ascii=not hints[f"a{p}"], plain=bool(hints[f"n{p}"]))
            for p in positions
        ]
        return apply_steps(frame, steps)

    def _keys(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Adds pid, day, influencer_id, key (for duplicates) and onboarded_on (for existing creators)."""
        id_at, date_at = self.mapping.position("platform_id"), self.mapping.position("date")
        keyed = frame.with_columns(pid=pl.col(f"v{id_at}"), day=pl.col(f"v{date_at}"))
        return keyed.join(self._creators(keyed["pid"]), on="pid", how="left", maintain_order="left")

    def _remember(self, done: pl.DataFrame) -> None:
        """Lines an earlier delivery applied: only their creators and days, for duplicates."""
        id_at, date_at = self.mapping.position("platform_id"), self.mapping.position("date")
        self._duplicates(self._keys(self._read(done, [id_at, date_at])))

    def _block(self, frame: pl.DataFrame, result: BlockResult) -> None:
        result.rows = frame.height
        fields = self.mapping.fields
        keyed = self._duplicates(self._keys(self._read(frame, fields)))

        id_at, date_at = self.mapping.position("platform_id"), self.mapping.position("date")
        id_header, date_header = self.mapping.header[id_at], self.mapping.header[date_at]
        # Each problem with the column it is about (the header as the input spelled it), so a caller
        # can point at the cell as well as read the sentence.
        problems = [(self.mapping.header[position], self._cell_reasons(position, name)) for position, name in fields.items()]
        problems += [
            ("", pl.when(pl.col("extra").is_not_null()).then(pl.lit(str(ROW_TOO_LONG)))),
            (id_header, pl.when(pl.col("pid").is_null() & pl.col(problem_column(f"v{id_at}")).is_null()).then(
                _sentence(id_header, problem_text(Problem.REQUIRED)))),
            (date_header, pl.when(pl.col("day").is_null() & pl.col(problem_column(f"v{date_at}")).is_null()).then(
                _sentence(date_header, problem_text(Problem.REQUIRED)))),
            (date_header, pl.when(pl.col("day") > self.today).then(
                _sentence(date_header, DATE_IN_FUTURE, pl.col("day").cast(pl.String)))),
            (date_header, pl.when(pl.col("onboarded_on").is_not_null() & (pl.col("day") < pl.col("onboarded_on"))).then(
                _sentence(date_header, DATE_BEFORE_ONBOARDED, pl.col("onboarded_on").cast(pl.String)))),
            (date_header, pl.when(pl.col("first_line").is_not_null()).then(
                _sentence(f"{id_header}, {date_header}", DUPLICATE_ROW, pl.col("first_line").cast(pl.String)))),
        ]
        if self.missing == MISSING_REPORT:
            problems.append((id_header, pl.when(pl.col("pid").is_not_null() & pl.col("influencer_id").is_null()).then(
                _sentence(id_header, UNKNOWN_CREATOR))))
        reasons = [reason for _column, reason in problems]
        checked = keyed.with_columns(reason=pl.concat_str(reasons, separator="; ", ignore_nulls=True))
        bad = checked["reason"] != ""
        result.rejected = int(bad.sum())
        if result.rejected:
            cells = [pl.col(column_name(p)).fill_null("") for p in range(len(self.mapping.header))]
            located = pl.concat_list([pl.struct(column=pl.lit(column), message=reason) for column, reason in problems])
            result.rejections = checked.filter(bad).select(
                "line", pl.concat_list(cells).alias("cells"), "extra", "reason",
                located.list.filter(pl.element().struct.field("message").is_not_null()).alias("problems"))

        kept = checked.filter(~bad).rename({f"v{position}": name for position, name in fields.items()
                                            if name not in ("platform_id", "date")})
        if self.dry_run:
            result.creators_created = self._would_create(kept)
        else:
            kept = self._create_creators(kept)
            result.creators_created = self._created_now
        if not kept.height:
            return
        self._stage(kept)
        result.new, result.updated, result.earliest_changed = self._write()
        result.unchanged = kept.height - result.new - result.updated
        if not self.dry_run:
            self._lower_first_selling_days(kept)

    def _cell_reasons(self, position: int, name: str) -> pl.Expr:
        """'成交金额: not a number ("abc")' for each refused cell of one column."""
        column = FIELDS.get(name, _MONEY)
        texts = {problem.value: problem_text(problem, limit=column_limit(column)) for problem in Problem}
        problem = pl.col(problem_column(f"v{position}"))
        # The sentence has two per-row parts, the reason and the cell: cut it around both.
        head, _sep, tail = str(CELL_PROBLEM).partition("{reason}")
        mid, _sep, end = tail.partition("{value}")
        return pl.when(problem.is_not_null()).then(pl.concat_str([
            pl.lit(head.format(column=self.mapping.header[position])),
            problem.replace_strict(texts, default="", return_dtype=pl.String),
            pl.lit(mid), pl.col(column_name(position)), pl.lit(end),
        ]))

    # -------------------------------------------------------------- creators

    def _creators(self, platform_ids: pl.Series) -> pl.DataFrame:
        """pid → influencer_id (null for a creator still to create; provisional in a dry run), the
        key of their days, and the first selling day of creators that existed before this import
        (a day before it is refused). One query."""
        _temporary_load(_BLOCK_PIDS, {"pid": _PID}, pl.DataFrame({"pid": platform_ids.drop_nulls().unique()}))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT b.pid, i.id, i.onboarded_on, p.key FROM {_BLOCK_PIDS} b "
                f"LEFT JOIN tiers_influencer i ON i.platform_id = b.pid LEFT JOIN {_PIDS} p ON p.pid = b.pid"
            )
            found = pl.DataFrame(cursor.fetchall(), orient="row", schema={
                "pid": pl.String, "id": pl.Int64, "onboarded_on": pl.Date, "provisional": pl.Int64})
        first_seen = found.filter(pl.col("id").is_null() & pl.col("provisional").is_null())
        if self.missing == MISSING_CREATE and first_seen.height:
            keys = pl.int_range(self._next_key, self._next_key + first_seen.height, eager=True, dtype=pl.Int64) * -1
            self._next_key += first_seen.height
            fresh = first_seen.select("pid", provisional=keys)
            _temporary_append(_PIDS, fresh.rename({"provisional": "key"}))
            found = found.update(fresh, on="pid")
        ours = pl.col("provisional").is_not_null()  # unknown when this import first saw them
        return found.select(
            "pid",
            influencer_id=pl.when(ours & pl.lit(self.dry_run)).then(pl.col("provisional")).otherwise(pl.col("id")),
            key=pl.coalesce("provisional", "id"),
            onboarded_on=pl.when(ours).then(None).otherwise(pl.col("onboarded_on")),
        )

    def _would_create(self, kept: pl.DataFrame) -> int:
        """Dry run: how many creators this block's good rows would create that no earlier block did."""
        new = kept.filter(pl.col("influencer_id") < 0)["pid"].unique()
        if not new.len():
            return 0
        _temporary_load(_BLOCK_PIDS, {"pid": _PID}, pl.DataFrame({"pid": new}))
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {_PIDS} SET counted = true WHERE NOT counted AND pid IN (SELECT pid FROM {_BLOCK_PIDS})")
            return cursor.rowcount

    def _create_creators(self, kept: pl.DataFrame) -> pl.DataFrame:
        """Create the creators this block's good rows name and nobody has, set-based; returns the
        rows with every id filled in, and counts them in `self._created_now`."""
        self._created_now = 0
        unknown = kept.filter(pl.col("influencer_id").is_null())
        if self.missing != MISSING_CREATE or not unknown.height:
            return kept
        given = [name for name in ("handle", "display_name", "main_category") if name in unknown.columns]
        details = unknown.group_by("pid").agg(
            pl.col("day").min().alias("first_day"), *(pl.col(name).drop_nulls().first() for name in given)
        ).select(
            pl.col("pid"),
            pl.coalesce(*[pl.col(n) for n in ("handle",) if n in given], pl.col("pid")).alias("handle"),
            pl.coalesce(*[pl.col(n) for n in ("display_name", "handle") if n in given], pl.col("pid")).alias("display_name"),
            (pl.col("main_category") if "main_category" in given else pl.lit(None, dtype=pl.String)).fill_null("")
            .alias("main_category"),
            pl.col("first_day"),
        )
        _temporary_load(_NEW_CREATORS, _CREATORS_TABLE, details)
        now = timezone.now()
        with connection.cursor() as cursor:
            # A creator another import made meanwhile is simply found, not made twice.
            cursor.execute(
                "INSERT INTO tiers_influencer (created_at, updated_at, platform_id, handle, display_name, main_category, "
                f"onboarded_on, status) SELECT %s, %s, pid, handle, display_name, main_category, first_day, %s "
                f"FROM {_NEW_CREATORS} WHERE true ON CONFLICT (platform_id) DO NOTHING",
                [now, now, InfluencerStatus.ACTIVE],
            )
            cursor.execute(
                f"UPDATE {_PIDS} SET created_id = (SELECT i.id FROM tiers_influencer i WHERE i.platform_id = {_PIDS}.pid), "
                f"first_day = (SELECT c.first_day FROM {_NEW_CREATORS} c WHERE c.pid = {_PIDS}.pid) "
                f"WHERE created_id IS NULL AND pid IN (SELECT pid FROM {_NEW_CREATORS})"
            )
            self._created_now = cursor.rowcount
            self._created_any = self._created_any or cursor.rowcount > 0
            if self.batch_id is not None:
                cursor.execute(
                    "INSERT INTO tiers_importchange (batch_id, influencer_id, first_changed_on, created) "
                    f"SELECT %s, p.created_id, p.first_day, true FROM {_PIDS} p "
                    f"WHERE p.pid IN (SELECT pid FROM {_NEW_CREATORS}) ON CONFLICT (batch_id, influencer_id) DO NOTHING",
                    [self.batch_id],
                )
            cursor.execute(f"SELECT pid, created_id FROM {_PIDS} WHERE pid IN (SELECT pid FROM {_NEW_CREATORS})")
            made = pl.DataFrame(cursor.fetchall(), orient="row", schema={"pid": pl.String, "made": pl.Int64})
        return kept.join(made, on="pid", how="left", maintain_order="left").with_columns(
            influencer_id=pl.coalesce("influencer_id", "made")).drop("made")

    def _lower_first_selling_days(self, kept: pl.DataFrame) -> None:
        """A creator this import created starts selling on the earliest day any block gave them."""
        if not self._created_any:
            return
        _temporary_load(_DAYS, _DAYS_TABLE, kept.group_by("pid").agg(pl.col("day").min()))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE tiers_influencer SET onboarded_on = d.day FROM {_DAYS} d JOIN {_PIDS} p ON p.pid = d.pid "
                "WHERE tiers_influencer.id = p.created_id AND tiers_influencer.onboarded_on > d.day"
            )

    # -------------------------------------------------------------- duplicates

    def _duplicates(self, keyed: pl.DataFrame) -> pl.DataFrame:
        """Adds `first_line`: the earlier line of this file with the same creator and day, if any."""
        first_here = keyed.select("line", "key", "day").drop_nulls(["key", "day"]).group_by("key", "day").agg(
            pl.col("line").min().alias("first"))
        _temporary_load(_BLOCK_KEYS, _SEEN_TABLE, first_here.rename({"first": "line"}))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT s.key, s.day, s.line FROM {_BLOCK_KEYS} b "
                           f"JOIN {_SEEN} s ON s.key = b.key AND s.day = b.day")
            seen = pl.DataFrame(cursor.fetchall(), orient="row", schema={"key": pl.Int64, "day": pl.Date, "seen": pl.Int64})
            cursor.execute(f"INSERT INTO {_SEEN} (key, day, line) SELECT key, day, line FROM {_BLOCK_KEYS} WHERE true "
                           "ON CONFLICT (key, day) DO NOTHING")
        earlier = first_here.join(seen, on=["key", "day"], how="left").select(
            "key", "day", pl.coalesce("seen", "first").alias("first"))
        return keyed.join(earlier, on=["key", "day"], how="left", maintain_order="left").with_columns(
            first_line=pl.when(pl.col("first") < pl.col("line")).then(pl.col("first"))
        ).drop("first")

    # -------------------------------------------------------------- SQL: staging, counts, upsert

    def _stage(self, kept: pl.DataFrame) -> None:
        columns = ["line", "influencer_id", "date"]
        exprs = [pl.col("line"), pl.col("influencer_id"), pl.col("day").cast(pl.String)]
        for name in self.mapping.metric_fields:
            columns.append(name)
            exprs.append(_units_text(pl.col(name), FIELDS[name]).alias(name))
        if self.mapping.categories:
            columns.append("category_gmv")
            exprs.append(_category_patch(self.mapping.categories).alias("category_gmv"))
        _temporary_load(STAGING, _STAGING_TABLE, kept.select(exprs), columns=columns)

    def _changed(self) -> str:
        """SQL true when staged row s differs from stored row m (or m does not exist)."""
        terms = [f"m.{name} {_NULL_SAFE_EQUAL[connection.vendor]} COALESCE(s.{name}, m.{name})"
                 for name in self.mapping.metric_fields]
        if self.mapping.categories:
            terms.append(_CATEGORY_SAME[connection.vendor])
        return f"(m.id IS NULL OR NOT ({' AND '.join(terms)}))"

    def _row_values(self) -> list[str]:
        """The stored row after the import, column by column (METRIC_FIELDS, then category_gmv):
        the file's figure, else the stored one, else the model's default."""
        values = []
        for name in METRIC_FIELDS:
            default = "CAST(NULL AS numeric)" if name == "reputation_score" else "0"
            values.append(f"COALESCE(s.{name}, m.{name}, {default})" if name in self.mapping.metric_fields else default)
        values.append(_CATEGORY_MERGED[connection.vendor] if self.mapping.categories else _EMPTY_JSON[connection.vendor])
        return values

    def _write(self) -> tuple[int, int, datetime.date | None]:
        """Count (new, updated, earliest changed day) and, unless a dry run, write: one statement on
        PostgreSQL (the staged rows joined to the stored ones once), three elsewhere."""
        join = (f"FROM {STAGING} s LEFT JOIN tiers_dailymetric m "
                f"ON m.influencer_id = s.influencer_id AND m.date = s.date")
        counts = ("SUM(CASE WHEN existing IS NULL THEN 1 ELSE 0 END), "
                  "SUM(CASE WHEN existing IS NOT NULL AND changed THEN 1 ELSE 0 END), MIN(CASE WHEN changed THEN date END)")
        columns = ", ".join(["influencer_id", "date", *METRIC_FIELDS, "category_gmv"])
        updates = [*self.mapping.metric_fields, *(["category_gmv"] if self.mapping.categories else [])]
        upsert = (f"ON CONFLICT (influencer_id, date) DO UPDATE SET "
                  f"{', '.join(f'{name} = EXCLUDED.{name}' for name in updates)} WHERE "
                  + " OR ".join(_NULL_SAFE_DISTINCT[connection.vendor].format(a=f"t.{name}", b=f"EXCLUDED.{name}")
                                for name in updates))
        least = "LEAST" if connection.vendor == "postgresql" else "MIN"
        record = (f"INSERT INTO tiers_importchange (batch_id, influencer_id, first_changed_on, created) "
                  f"SELECT %s, influencer_id, MIN(date), false FROM {{rows}} WHERE changed GROUP BY influencer_id "
                  f"ON CONFLICT (batch_id, influencer_id) DO UPDATE SET "
                  f"first_changed_on = {least}(tiers_importchange.first_changed_on, EXCLUDED.first_changed_on)")
        rows = (f"SELECT s.influencer_id, s.date, m.id AS existing, {self._changed()} AS changed, "
                f"{', '.join(f'{value} AS c{k}' for k, value in enumerate(self._row_values()))} {join}")
        values = ", ".join(f"c{k}" for k in range(len(METRIC_FIELDS) + 1))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                writes = ""
                params = []
                if not self.dry_run:
                    writes = (f", written AS (INSERT INTO tiers_dailymetric AS t ({columns}) "
                              f"SELECT influencer_id, date, {values} FROM s WHERE changed {upsert})")
                    if self.batch_id is not None:
                        writes += f", changes AS ({record.format(rows='s')})"
                        params = [self.batch_id]
                cursor.execute(f"WITH s AS MATERIALIZED ({rows}){writes} SELECT {counts} FROM s", params)
                new, updated, earliest = cursor.fetchone()
            else:
                cursor.execute(f"SELECT {counts} FROM ({rows}) AS s")
                new, updated, earliest = cursor.fetchone()
                if not self.dry_run:
                    if self.batch_id is not None:
                        cursor.execute(record.format(rows=f"({rows}) AS s"), [self.batch_id])
                    cursor.execute(f"INSERT INTO tiers_dailymetric AS t ({columns}) "
                                   f"SELECT influencer_id, date, {values} FROM ({rows}) AS s WHERE changed {upsert}")
        return int(new or 0), int(updated or 0), _as_date(earliest)


def _as_date(value) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


_NULL_SAFE_EQUAL = {"postgresql": "IS NOT DISTINCT FROM", "sqlite": "IS"}
_NULL_SAFE_DISTINCT = {"postgresql": "{a} IS DISTINCT FROM {b}", "sqlite": "{a} IS NOT {b}"}
_CATEGORY_SAME = {
    "postgresql": "m.category_gmv = (m.category_gmv || s.category_gmv)",
    "sqlite": "json(m.category_gmv) = json_patch(m.category_gmv, s.category_gmv)",
}
_CATEGORY_MERGED = {
    "postgresql": "COALESCE(m.category_gmv, '{}'::jsonb) || s.category_gmv",
    "sqlite": "json_patch(COALESCE(m.category_gmv, '{}'), s.category_gmv)",
}
_EMPTY_JSON = {"postgresql": "'{}'::jsonb", "sqlite": "'{}'"}

# Temporary tables (one per connection), emptied before each load: (PostgreSQL, SQLite) column types.
_STAGING_TABLE = {
    "line": ("bigint", "integer"), "influencer_id": ("bigint", "integer"), "date": ("date", "date"),
    "followers": ("bigint", "integer"), "gmv": ("numeric(14,2)", "decimal"), "live_gmv": ("numeric(14,2)", "decimal"),
    "video_gmv": ("numeric(14,2)", "decimal"), "storefront_gmv": ("numeric(14,2)", "decimal"),
    "orders": ("bigint", "integer"), "live_sessions": ("integer", "integer"), "live_minutes": ("bigint", "integer"),
    "big_live_sessions": ("integer", "integer"), "videos_posted": ("integer", "integer"),
    "entertainment_videos": ("integer", "integer"), "reputation_score": ("numeric(3,2)", "decimal"),
    "refund_rate": ("numeric(5,4)", "decimal"), "repeat_buyer_rate": ("numeric(5,4)", "decimal"),
    "category_gmv": ("jsonb", "text"),
}
_PID = ("varchar(64)", "text")
_CREATORS_TABLE = {"pid": _PID, "handle": ("varchar(64)", "text"),
                   "display_name": ("varchar(128)", "text"), "main_category": ("varchar(32)", "text"),
                   "first_day": ("date", "date")}
_DAYS_TABLE = {"pid": _PID, "day": ("date", "date")}
_PIDS_TABLE = {"pid": ("varchar(64) PRIMARY KEY", "text PRIMARY KEY"), "key": ("bigint", "integer"),
               "created_id": ("bigint", "integer"), "first_day": ("date", "date"),
               "counted": ("boolean NOT NULL DEFAULT false", "integer NOT NULL DEFAULT 0")}
_SEEN_TABLE = {"key": ("bigint", "integer"), "day": ("date", "date"), "line": ("bigint", "integer")}
_PIDS, _SEEN, _BLOCK_PIDS, _BLOCK_KEYS = "ladder_import_pids", "ladder_import_seen", "ladder_import_block_pids", "ladder_import_block_keys"
_NEW_CREATORS, _DAYS = "ladder_import_creators", "ladder_import_days"
_KEYS = {_PIDS: "", _SEEN: ", PRIMARY KEY (key, day)"}


def _temporary(table: str, types: dict[str, tuple[str, str]]) -> None:
    """Temporary `table` (one per database connection, created on first use), empty."""
    postgres = connection.vendor == "postgresql"
    definition = ", ".join(f"{name} {types[name][0 if postgres else 1]}" for name in types) + _KEYS.get(table, "")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({definition})")
        cursor.execute(f"TRUNCATE {table}" if postgres else f"DELETE FROM {table}")


def _temporary_load(table: str, types: dict[str, tuple[str, str]], frame: pl.DataFrame,
                    columns: list[str] | None = None) -> None:
    """Empty temporary `table` and load `frame` into it."""
    _temporary(table, types)
    _temporary_append(table, frame, columns)


def _temporary_append(table: str, frame: pl.DataFrame, columns: list[str] | None = None) -> None:
    """Add `frame`'s rows to a temporary table: COPY on PostgreSQL, executemany elsewhere."""
    columns = columns or frame.columns
    if not frame.height:
        return
    if connection.vendor == "postgresql":
        bulk.copy_text(table, columns, frame.write_csv(include_header=False, null_value="", date_format="%Y-%m-%d"),
                       csv=True)
    else:
        bulk.insert_rows(table, columns, frame.select(
            [pl.col(c).cast(pl.String) if frame.schema[c] == pl.Date else pl.col(c) for c in frame.columns]).rows())


def _units_text(units: pl.Expr, column: Column) -> pl.Expr:
    """Whole units of 10^-places as exact decimal text: 123450 hundredths is "1234.50"."""
    places = {Kind.MONEY: 2, Kind.SCORE: 2, Kind.RATE: 4}.get(column.kind, 0)
    if not places:
        return units.cast(pl.String)
    scale = 10**places
    return (units // scale).cast(pl.String) + "." + (units % scale).cast(pl.String).str.zfill(places)


def _category_patch(categories: list[str]) -> pl.Expr:
    """{"beauty": "1234.50", …} of the categories this row gives (missing cells leave theirs alone)."""
    parts = [
        pl.when(pl.col(CATEGORY_PREFIX + code).is_not_null()).then(
            pl.lit(f'"{code}": "') + _units_text(pl.col(CATEGORY_PREFIX + code), _MONEY) + pl.lit('"')
        )
        for code in categories
    ]
    return pl.lit("{") + pl.concat_str(parts, separator=", ", ignore_nulls=True) + pl.lit("}")


def ingest_rows(*, header: Sequence, rows: Iterable[Sequence], first_line: int = 2, **options) -> IngestTotals:
    """Import rows of raw cells under a header (the bulk API's entry point): line numbers count
    from `first_line`. Options as `Ingest`."""
    ingest = Ingest(mapping=header_map(header), **options)
    return ingest.rows(((first_line + k, cells) for k, cells in enumerate(rows)))
