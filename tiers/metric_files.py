"""Metric files as ops teams get them (CSV in any common encoding and separator, XLSX) read as a header and blocks of rows."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from xml.etree import ElementTree

import polars as pl
from charset_normalizer import from_bytes
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineError, CalamineWorkbook

from .ingest import (
    METRIC_FILE_NEEDS,
    NO_DATA_ROWS,
    IngestRefused,
    column_name,
    field_for_header,
    header_map,
    header_score,
    rows_frame,
)

CSV, XLSX = "csv", "xlsx"
SEPARATORS = {",": _("comma"), "\t": _("tab"), ";": _("semicolon")}
HEADER_SEARCH_ROWS = 30  # title rows above the header: this many rows are searched for it
SAMPLE_BYTES = 256 * 1024
CHUNK_BYTES = 4 * 1024 * 1024  # of CSV per block: bounded memory whatever the file's size
XLSX_BLOCK_ROWS = 20_000

FILE_EMPTY = _("The file is empty.")
FILE_TOO_BIG = _("The file is {size}, over the {limit} limit.")
FILE_NOT_TABLE = _("This is not a CSV or XLSX file.")
FILE_OLD_EXCEL = _("This is an old Excel workbook (.xls): save it as XLSX or CSV and import that.")
FILE_ZIP_NOT_XLSX = _("This ZIP file is not an XLSX workbook: save the sheet as XLSX or CSV and import that.")
FILE_BAD_XLSX = _("This XLSX workbook cannot be read ({error}).")
XLSX_TOO_BIG = _("This sheet would take more than {limit} of memory to read ({size} of XML): save it as CSV "
                 "(UTF-8) and import that.")
XLSX_NO_SHEET = _("The workbook has no sheet named {sheet}; its sheets are {sheets}.")
NO_HEADER = _("No header row: none of the first {rows} rows names both a creator id (达人ID or platform_id) and "
              "a date (日期 or date).")
NO_ID_HEADER = _("No header row: none of the first {rows} rows names a creator id column (达人ID or platform_id).")
ID_LIST_NEEDS = ("platform_id",)
ID_LIST_MAX = 50_000
ID_LIST_TOO_LONG = _("The list names more than {limit} creators; split it.")
UNKNOWN_ENCODING = _("Cannot tell this file's text encoding: name it (for example GB18030 or UTF-8).")
NOT_THIS_ENCODING = _("The file is not valid {encoding} near byte {offset}: name its encoding (for example GB18030).")
NO_SUCH_ENCODING = _("{encoding} is not a text encoding this import knows.")


@dataclass(frozen=True)
class FileShape:
    """What a metric file turned out to be."""

    kind: str
    header_line: int  # the header's line (spreadsheet row), counted from 1
    header: tuple[str, ...]
    total: int  # progress extent: bytes of a CSV, rows of a sheet
    encoding: str = ""
    separator: str = ""
    sheet: str = ""
    def describe(self) -> dict:
        return {"kind": self.kind, "encoding": self.encoding, "separator": self.separator, "sheet": self.sheet,
                "header_line": self.header_line}


CSV_SHAPE = _("CSV in %(encoding)s, %(separator)s separated, header on line %(line)s")
XLSX_SHAPE = _("XLSX, sheet %(sheet)s, header on row %(line)s")


def shape_text(described: dict | None) -> str:
    """What FileShape.describe() recorded, in the staff's words."""
    if not described:
        return ""
    if described["kind"] == CSV:
        return str(CSV_SHAPE) % {"encoding": described["encoding"].upper(), "line": described["header_line"],
                                 "separator": SEPARATORS.get(described["separator"], described["separator"])}
    return str(XLSX_SHAPE) % {"sheet": described["sheet"], "line": described["header_line"]}


def _limit_bytes() -> int:
    return settings.LADDER_IMPORT_MAX_BYTES


def inspect(path: str, *, size: int, encoding: str = "", sheet: str = "", quick: bool = False,
            needs: tuple[str, ...] = METRIC_FILE_NEEDS) -> FileShape | None:
    """Find what kind of file this is, its encoding and separator or sheet, and its header row.

    IngestRefused (with a message for staff) when it is empty, too big, not a table, an XLSX over
    the memory budget, or has no header naming the fields of `needs` (a metric file's: an id and a
    date; a list of creators': `ID_LIST_NEEDS`). `quick` (a web request): an XLSX is checked as a
    ZIP only, not loaded, and None is returned for it.
    """
    if size == 0:
        raise IngestRefused(str(FILE_EMPTY))
    if size > _limit_bytes():
        raise IngestRefused(str(FILE_TOO_BIG).format(size=_megabytes(size), limit=_megabytes(_limit_bytes())))
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _inspect_xlsx(path, sheet, quick=quick, needs=needs)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestRefused(str(FILE_OLD_EXCEL))
    return _inspect_csv(head, size=size, encoding=encoding, needs=needs)


def _header(row, needs: tuple[str, ...]) -> tuple[str, ...]:
    """The header's cells: a metric file's checked field by field (header_map), any other's as they are."""
    if needs == METRIC_FILE_NEEDS:
        return header_map(row).header
    return tuple("" if cell is None else str(cell).strip() for cell in row)


def _no_header(needs: tuple[str, ...]) -> IngestRefused:
    return IngestRefused(str(NO_HEADER if needs == METRIC_FILE_NEEDS else NO_ID_HEADER).format(rows=HEADER_SEARCH_ROWS))


def _megabytes(size: int) -> str:
    return str(filesizeformat(size))


# ---------------------------------------------------------------- CSV


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by its BOM, else what charset-normalizer finds; a GB
    family answer is read as GB18030, which covers GBK and GB2312."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    if best is None:
        raise IngestRefused(str(UNKNOWN_ENCODING))
    name = codecs.lookup(best.encoding).name
    if name in ("gbk", "gb2312", "gb18030", "cp936", "hz"):
        return "gb18030"
    return name


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise IngestRefused(str(NO_SUCH_ENCODING).format(encoding=encoding)) from None


def _inspect_csv(head: bytes, *, size: int, encoding: str, needs: tuple[str, ...] = METRIC_FILE_NEEDS) -> FileShape:
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IngestRefused(str(FILE_NOT_TABLE))
    encoding = _codec(encoding) if encoding else detect_encoding(head)
    whole = size <= len(head)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=whole)
    except UnicodeDecodeError as error:
        raise IngestRefused(str(NOT_THIS_ENCODING).format(encoding=encoding, offset=error.start)) from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise IngestRefused(str(FILE_EMPTY))
    if not whole:
        text = text[: text.rfind("\n") + 1]  # whole lines only
    best = None
    for separator in SEPARATORS:
        rows = list(csv.reader(io.StringIO(text), delimiter=separator))
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            score = header_score(row, needs)
            if score and (best is None or score > best[0]):
                best = (score, separator, index, row, rows)
            if score:
                break
    if best is None:
        raise _no_header(needs)
    _score, separator, index, row, rows = best
    header = _header(row, needs)
    if whole and not any(any(cell.strip() for cell in r) for r in rows[index + 1:]):
        raise IngestRefused(str(NO_DATA_ROWS))
    return FileShape(kind=CSV, header_line=index + 1, header=header, total=size, encoding=encoding,
                     separator=separator)


def _record_end(buffer: bytes, final: bool) -> int:
    """Where the last whole CSV record in `buffer` ends: after a newline outside quotes."""
    if final:
        return len(buffer)
    cut = buffer.rfind(b"\n")
    # A quote count that is odd before a newline means it is inside a quoted cell.
    while cut >= 0 and buffer.count(b'"', 0, cut) % 2:
        cut = buffer.rfind(b"\n", 0, cut)
    return cut + 1


def _utf8_chunks(path: str, encoding: str, *, on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    """The file as UTF-8 bytes, a few MB at a time, each ending at a record boundary."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    rest = b""
    with open(path, "rb") as handle:
        while True:
            raw = handle.read(CHUNK_BYTES)
            final = not raw
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as error:
                raise IngestRefused(str(NOT_THIS_ENCODING).format(encoding=encoding, offset=offset + error.start)) from None
            if encoding == "utf-8":
                data = raw  # checked above; polars reads it as it is
            elif encoding == "utf-8-sig":
                data = raw.removeprefix(codecs.BOM_UTF8) if offset == 0 else raw
            else:
                data = text.encode("utf-8")
            offset += len(raw)
            buffer = rest + data
            end = _record_end(buffer, final)
            if end:
                yield buffer[:end]
            rest = buffer[end:]
            on_bytes(offset)
            if final:
                return


def _csv_blocks(path: str, shape: FileShape, *, after_line: int, on_progress) -> Iterator[pl.DataFrame]:
    width = len(shape.header)
    schema = {name: pl.String for name in [*(column_name(p) for p in range(width)), "extra"]}
    first_line = 1
    for chunk in _utf8_chunks(path, shape.encoding, on_bytes=lambda done: on_progress(done, shape.total)):
        frame = pl.read_csv(
            chunk, has_header=False, separator=shape.separator, quote_char='"', infer_schema=False, schema=schema,
            missing_columns="insert", truncate_ragged_lines=True, raise_if_empty=False,
        )
        lines = pl.int_range(first_line, first_line + frame.height, dtype=pl.Int64, eager=True)
        first_line += frame.height
        frame = frame.with_columns(line=lines).filter(pl.col("line") > max(shape.header_line, after_line))
        if frame.height:
            yield frame


# ---------------------------------------------------------------- XLSX


def _inspect_xlsx(path: str, sheet: str, *, quick: bool = False,
                  needs: tuple[str, ...] = METRIC_FILE_NEEDS) -> FileShape | None:
    budget = settings.LADDER_IMPORT_XLSX_MAX_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise IngestRefused(str(FILE_ZIP_NOT_XLSX))
            sheets = _sheet_parts(archive)
            if not sheets:
                raise IngestRefused(str(FILE_ZIP_NOT_XLSX))
            name = sheet or next(iter(sheets))
            if name not in sheets:
                raise IngestRefused(str(XLSX_NO_SHEET).format(sheet=name, sheets=", ".join(sheets)))
            parts = [sheets[name], "xl/sharedStrings.xml"]
            # Declared sizes first (cheap), then the real ones, counted while inflating and stopped at
            # the budget, so a ZIP that lies about its sizes cannot get past.
            declared = sum(archive.getinfo(part).file_size for part in parts if part in archive.namelist())
            if declared > budget:
                raise IngestRefused(str(XLSX_TOO_BIG).format(size=_megabytes(declared), limit=_megabytes(budget)))
            actual = 0
            for part in parts:
                if part not in archive.namelist():
                    continue
                with archive.open(part) as member:
                    while block := member.read(1 << 20):
                        actual += len(block)
                        if actual > budget:
                            raise IngestRefused(str(XLSX_TOO_BIG).format(size=f"> {_megabytes(budget)}",
                                                                         limit=_megabytes(budget)))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as error:
        raise IngestRefused(str(FILE_BAD_XLSX).format(error=error)) from None
    if quick:
        return None
    sheet = _open_sheet(path, name)
    for index, (line, row) in enumerate(_sheet_rows(sheet)):
        if index >= HEADER_SEARCH_ROWS:
            break
        if header_score(row, needs):
            height = (sheet.start[0] if sheet.start else 0) + sheet.height
            return FileShape(kind=XLSX, header_line=line, header=_header(row, needs), total=height, sheet=name)
    raise _no_header(needs)


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its XML part, in the workbook's order."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.findall("rel:Relationship", _NS)}
    parts = {}
    for node in workbook.findall("m:sheets/m:sheet", _NS):
        target = targets.get(node.get(f"{{{_NS['r']}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        parts[node.get("name")] = part
    return parts


def _open_sheet(path: str, name: str):
    try:
        return CalamineWorkbook.from_path(path).get_sheet_by_name(name)
    except CalamineError as error:
        raise IngestRefused(str(FILE_BAD_XLSX).format(error=error)) from None


def _sheet_rows(sheet) -> Iterator[tuple[int, list]]:
    """(line, cells) of a sheet, lines as the spreadsheet numbers its rows."""
    first_row = sheet.start[0] if sheet.start else 0
    first_column = sheet.start[1] if sheet.start else 0
    for index, row in enumerate(sheet.iter_rows()):
        # Cells left of the used range are empty: keep positions as the spreadsheet shows them.
        yield first_row + index + 1, [None] * first_column + list(row)


def _xlsx_blocks(path: str, shape: FileShape, *, after_line: int, on_progress) -> Iterator[pl.DataFrame]:
    width = len(shape.header)
    pending = []
    for line, cells in _sheet_rows(_open_sheet(path, shape.sheet)):
        if line <= max(shape.header_line, after_line):
            continue
        pending.append((line, cells))
        if len(pending) >= XLSX_BLOCK_ROWS:
            yield rows_frame(pending, width)
            on_progress(line, shape.total)
            pending = []
    if pending:
        yield rows_frame(pending, width)
    on_progress(shape.total, shape.total)


def read_blocks(path: str, shape: FileShape, *, after_line: int = 0,
                on_progress: Callable[[int, int], None] = lambda done, total: None) -> Iterator[pl.DataFrame]:
    """Blocks of data rows (after the header, and after `after_line` when resuming), as `Ingest.block` takes them."""
    reader = _csv_blocks if shape.kind == CSV else _xlsx_blocks
    return reader(path, shape, after_line=after_line, on_progress=on_progress)


def platform_ids(path: str, *, size: int) -> list[str]:
    """The creator ids of a list of creators (a CSV or XLSX with a 达人ID / platform_id column, other
    columns ignored), in file order without repeats; IngestRefused as `inspect` refuses, or when there
    are more than ID_LIST_MAX."""
    shape = inspect(path, size=size, needs=ID_LIST_NEEDS)
    position = next(i for i, cell in enumerate(shape.header) if field_for_header(cell) == "platform_id")
    seen: dict[str, None] = {}
    for frame in read_blocks(path, shape):
        for value in frame.get_column(column_name(position)).drop_nulls().str.strip_chars():
            if value:
                seen[value] = None
        if len(seen) > ID_LIST_MAX:
            raise IngestRefused(str(ID_LIST_TOO_LONG).format(limit=ID_LIST_MAX))
    if not seen:
        raise IngestRefused(str(NO_DATA_ROWS))
    return list(seen)
