"""Spreadsheets Ladder writes (exports, rejected rows): streamed CSV and XLSX, every cell neutralised against formulas."""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

import xlsxwriter
from django.http import StreamingHttpResponse

# A spreadsheet reads a cell starting with one of these as a formula (tab and CR hide one after whitespace).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STREAM_BYTES = 256 * 1024


def neutralise(value) -> str:
    """A cell as text that no spreadsheet runs: one starting with =, +, -, @, tab or CR gets a leading quote.

    Numbers are written as text too, so a negative amount reads '-12 rather than being dropped.
    """
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV in blocks of about STREAM_BYTES, with a BOM so Excel reads the Chinese as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise(cell) for cell in header])
    yield "\ufeff" + taken()
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        if buffer.tell() >= STREAM_BYTES:
            yield taken()
    yield taken()


def xlsx_file(header: list[str], rows: Iterable[Iterable]):
    """The workbook written row by row in xlsxwriter's constant-memory mode to a temporary file; the file, rewound."""
    spool = tempfile.TemporaryFile()
    with tempfile.TemporaryDirectory() as scratch:
        workbook = xlsxwriter.Workbook(spool, {"constant_memory": True, "tmpdir": scratch,
                                               "strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, [neutralise(cell) for cell in header])
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, [neutralise(cell) for cell in row])
        workbook.close()
    spool.seek(0)
    return spool


def _chunks(spool) -> Iterator[bytes]:
    try:
        while block := spool.read(STREAM_BYTES):
            yield block
    finally:
        spool.close()


def export_response(*, name: str, file_format: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed download of `rows` as CSV (generated while sent) or XLSX (written to a temporary file, then sent)."""
    if file_format == "xlsx":
        response = StreamingHttpResponse(_chunks(xlsx_file(header, rows)), content_type=XLSX_TYPE)
    else:
        file_format = "csv"
        response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{file_format}"'
    return response
