"""Fuzzed metric files, by the command's path and the staff upload page: refused or reported, never a traceback or a half row."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiers.choices import ImportStatus
from tiers.imports import import_check, import_file
from tiers.ingest import IngestRefused
from tiers.models import DailyMetric, ImportBatch, Influencer
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 1)
METRICS = ["粉丝数", "成交金额", "带货口碑分", "退款率", "订单数"]
JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["NaN", "inf", "-1", "1e400", "9" * 40, "=1+1", "@SUM(A1)", "１２", "1.2万万", "¥", "%", "--",
                     "12.5%%", "0x1F", "\x00", "1,2,3", "—", "", " ", "2026-13-45", "万"]),
    st.text(min_size=5000, max_size=20000, alphabet="9"),  # a huge cell
)
GOOD = st.sampled_from(["1234", "1.2万", "¥1,234.50", "0", "4.8", "12.5%", "-", ""])


@st.composite
def metric_files(draw):
    """(file bytes, its rows, its columns): a CSV with junk in some cells, some rows repeated, perhaps a column
    missing, in one of several encodings (or garbage)."""
    columns = ["达人ID", "日期", *draw(st.lists(st.sampled_from(METRICS), min_size=0, max_size=4))]
    if draw(st.booleans()):
        columns.remove(draw(st.sampled_from(columns)))  # a missing column, perhaps the id or the date
    rows, bad, keys = [], {}, []
    for index in range(draw(st.integers(min_value=0, max_value=8))):
        key = (f"fz-{draw(st.integers(0, 3))}", (DAY + datetime.timedelta(days=index)).isoformat())
        if keys and draw(st.integers(0, 5)) == 0:
            key = draw(st.sampled_from(keys))  # a duplicate row
        keys.append(key)
        cells = []
        for column in columns:
            if column == "达人ID":
                cells.append(key[0])
            elif column == "日期":
                cells.append(key[1] if draw(st.integers(0, 6)) else draw(JUNK))
            elif draw(st.integers(0, 3)) == 0:
                cells.append(draw(JUNK))
                bad.setdefault(index + 2, column)
            else:
                cells.append(draw(GOOD))
        rows.append(cells)
    text = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in line) for line in [columns, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1-garbage"]))
    data = text.encode("utf-8")[::-1][:200] + b"\xff\xfe\x00" if encoding == "latin-1-garbage" else \
        text.encode(encoding, errors="replace")
    return data, rows, columns


def _report_is_whole(batch: ImportBatch, rows, columns):
    """Every rejection names its line and why; no line it rejected left a row behind unless an accepted
    line had the same creator and day."""
    rejections = list(batch.rejections.values_list("line", "reason"))
    assert all(line >= 2 and reason.strip() for line, reason in rejections), rejections
    if "达人ID" not in columns or "日期" not in columns:
        return
    rejected_lines = {line for line, _ in rejections}
    accepted_keys = {(row[0], row[1]) for line, row in enumerate(rows, start=2) if line not in rejected_lines}
    stored = set(DailyMetric.objects.values_list("influencer__platform_id", "date"))
    for line in rejected_lines:
        platform_id, day = rows[line - 2][0], rows[line - 2][1]
        if (platform_id, day) not in accepted_keys:
            try:
                date = datetime.date.fromisoformat(day)
            except ValueError:
                continue
            assert (platform_id, date) not in stored, f"line {line} was rejected but its row is stored"


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=metric_files())
def test_the_import_command_refuses_or_reports_any_file_and_never_half_applies_a_row(file, tmp_path):
    data, rows, columns = file
    DailyMetric.objects.all().delete()
    Influencer.objects.filter(platform_id__startswith="fz-").delete()
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)

    try:
        batch = import_file(path=str(path))
    except IngestRefused as refused:
        assert str(refused).strip()  # a sentence saying what is wrong
        assert not DailyMetric.objects.exists()
        return
    # refused with its reason, or applied with its report; "failed" would be an error nobody foresaw
    assert batch.status in (ImportStatus.APPLIED, ImportStatus.REFUSED), (batch.status, batch.error)
    if batch.status == ImportStatus.REFUSED:
        assert batch.error.strip() and not DailyMetric.objects.exists()
        return
    _report_is_whole(batch, rows, columns)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=metric_files(), name=st.sampled_from(["m.csv", "m.xlsx", "m.xls", "m", "m.txt"]))
def test_the_staff_upload_page_answers_any_file_with_a_page_never_a_500(file, name, client):
    data, _rows, _columns = file
    staff = UserFactory(username=f"uploader{ImportBatch.objects.count()}", is_superuser=True, is_staff=True)
    client.force_login(staff)

    upload = client.post(reverse("tiers:imports"), {"file": SimpleUploadedFile(name, data), "unknown_creators": "create",
                                                    "encoding": "", "sheet": "", "date_format": ""})

    assert upload.status_code in (200, 302), upload.status_code
    if upload.status_code == 302:
        batch = ImportBatch.objects.latest("pk")
        import_check(batch_id=batch.pk)  # what the worker does next
        detail = client.get(reverse("tiers:import_detail", args=[batch.pk]))
        assert detail.status_code == 200
        rejected = client.get(reverse("tiers:import_rejected", args=[batch.pk]))
        assert rejected.status_code == 200
        lines = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode("utf-8-sig"))))
        # a header, then every rejected line, in order
        assert [int(row[0]) for row in lines[1:]] == list(batch.rejections.order_by("line").values_list("line", flat=True))
    else:
        assert upload.context["form"].errors


def test_a_huge_cell_is_reported_on_its_line_and_column(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("达人ID,日期,粉丝数\nfz-1,2026-11-01,12\nfz-1,2026-11-02," + "9" * 20000 + "\n", encoding="utf-8")

    batch = import_file(path=str(path))

    (line, reason), = batch.rejections.values_list("line", "reason")
    assert line == 3 and "粉丝数" in reason
    assert list(DailyMetric.objects.values_list("date", flat=True)) == [datetime.date(2026, 11, 1)]


