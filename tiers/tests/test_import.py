"""Metric files in: every encoding, separator, header language and file type ops teams send, and what goes in."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import translation

from tiers import metric_files
from tiers.cells import Problem, column_limit, problem_text
from tiers.choices import ImportSource, ImportStatus, RunTrigger, UnknownCreators
from tiers.imports import (
    ImportAlreadyRunning,
    ImportStateError,
    file_digest,
    import_apply,
    import_batch_create,
    import_changed_ids,
    import_confirm,
    import_file,
    refresh_after_import,
    rejected_rows_csv,
)
from tiers.ingest import (
    DATE_BEFORE_ONBOARDED,
    DATE_IN_FUTURE,
    DUPLICATE_ROW,
    FIELDS as FIELDS_BY_NAME,
    HEADER_DUPLICATE,
    HEADER_NO_DATE,
    HEADER_NO_ID,
    HEADER_NO_METRIC,
    HEADER_WORDS,
    NO_DATA_ROWS,
    ROW_TOO_LONG,
    UNKNOWN_CREATOR,
    Ingest,
    IngestRefused,
    header_key,
    header_map,
)
from tiers.metric_files import (
    FILE_BAD_XLSX,
    FILE_EMPTY,
    FILE_NOT_TABLE,
    FILE_OLD_EXCEL,
    FILE_TOO_BIG,
    FILE_ZIP_NOT_XLSX,
    NO_HEADER,
    NOT_THIS_ENCODING,
    XLSX_TOO_BIG,
)
from tiers.models import DailyMetric, ImportBatch, ImportChange, Influencer, TierDecision
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"
DAY = datetime.date(2026, 11, 1)
FIELDS = ["followers", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders", "live_sessions", "live_minutes",
          "big_live_sessions", "videos_posted", "entertainment_videos", "reputation_score", "refund_rate",
          "repeat_buyer_rate", "category_gmv"]


def D(text):
    return Decimal(text)


# What the four rows of every "same data" fixture put in the database, whatever the file looks like.
EXPECTED = {
    ("ks-000001", DAY): [1234567, D("1234.50"), D("1000.00"), D("134.50"), D("100.00"), 12, 1, 90, 0, 2, 0, D("4.85"),
                         D("0.0250"), D("0.1800"), {"beauty": "1234.50"}],
    ("ks-000001", DAY + datetime.timedelta(days=1)): [12000, D("2345.60"), D("2000.00"), D("200.00"), D("145.60"), 20, 1,
                                                      120, 0, 1, 0, D("4.90"), D("0.0300"), D("0.2000"),
                                                      {"beauty": "2345.60"}],
    # missing cells ("-", "—", empty): the model's defaults for a new row, no rating
    ("ks-000001", DAY + datetime.timedelta(days=2)): [1234567, D("0"), D("0"), D("0"), D("0"), 0, 0, 0, 0, 3, 1, None,
                                                      D("0"), D("0"), {}],
    ("ks-900001", DAY): [3000, D("10000.00"), D("10000.00"), D("0"), D("0"), 50, 2, 200, 1, 0, 0, D("4.20"), D("0.0150"),
                         D("0.2550"), {}],
}
SAME_DATA = ["zh_utf8.csv", "zh_utf8_bom_semicolon.csv", "zh_gbk_tab.csv", "zh_gb18030.csv", "en_utf8.csv",
             "en_tab.tsv", "zh_libreoffice.xlsx", "en_libreoffice.xlsx"]


@pytest.fixture
def creators():
    return (
        InfluencerFactory(platform_id="ks-000001", handle="wangxiaomei", onboarded_on=datetime.date(2026, 1, 1)),
        InfluencerFactory(platform_id="ks-000002", handle="lijia", onboarded_on=datetime.date(2026, 11, 2)),
    )


def stored():
    rows = DailyMetric.objects.select_related("influencer").order_by("influencer__platform_id", "date")
    return {(m.influencer.platform_id, m.date): [getattr(m, name) for name in FIELDS] for m in rows}


def run(name, **options):
    return import_file(path=str(FIXTURES / name), **options)


@pytest.mark.parametrize("name", SAME_DATA)
def test_every_kind_of_file_puts_in_the_same_rows(creators, name):
    batch = run(name)

    assert batch.status == ImportStatus.APPLIED, batch.error
    assert stored() == EXPECTED
    assert (batch.rows_read, batch.new, batch.updated, batch.unchanged, batch.rejected, batch.creators_created) == (
        4, 4, 0, 0, 0, 1)
    created = Influencer.objects.get(platform_id="ks-900001")
    assert (created.handle, created.display_name, created.main_category, created.onboarded_on) == (
        "新达人", "新达人", "food", DAY)


# ---------------------------------------------------------------- bad input


def zh(text, **names):
    """A message as the Chinese staff read it (with its {names} filled in, if given)."""
    with translation.override("zh-hans"):
        return str(text).format(**names) if names else str(text)


def gettext_zh(message):
    with translation.override("zh-hans"):
        return translation.gettext(message)


def problem(kind, column=None):
    with translation.override("zh-hans"):
        return problem_text(kind, limit=column_limit(column) if column else "")


# Line → the column named and what the staff read about it (bad_cells.csv, lines 3–21).
BAD_LINES = {
    3: ("粉丝数", problem(Problem.NOT_A_NUMBER)),
    4: ("成交金额", problem(Problem.NEGATIVE)),
    5: ("粉丝数", problem(Problem.NOT_WHOLE)),
    6: ("订单数", problem(Problem.TOO_LARGE, FIELDS_BY_NAME["orders"])),
    7: ("退款率", problem(Problem.RATE_RANGE)),
    8: ("带货口碑分", problem(Problem.SCORE_RANGE)),
    9: ("成交金额", problem(Problem.PERCENT_NOT_A_RATE)),
    10: ("日期", problem(Problem.NOT_A_DATE)),
    11: ("日期", problem(Problem.AMBIGUOUS_DATE)),
    12: ("日期", zh(DATE_IN_FUTURE, value="2099-01-01")),
    13: ("达人ID", problem(Problem.REQUIRED)),
    14: ("日期", problem(Problem.REQUIRED)),
    15: ("日期", zh(DATE_BEFORE_ONBOARDED, value="2026-11-02")),
    16: ("日期", zh(DUPLICATE_ROW, value="2")),
    17: ("主营类目", problem(Problem.UNKNOWN_CATEGORY, FIELDS_BY_NAME["main_category"])),
    18: ("达人昵称", problem(Problem.TOO_LONG, FIELDS_BY_NAME["handle"])),
    19: ("", zh(ROW_TOO_LONG)),
    20: ("成交金额", problem(Problem.NEGATIVE)),
    21: ("成交金额", problem(Problem.NOT_A_NUMBER)),
}


def test_each_bad_cell_is_reported_with_its_line_column_and_reason_and_only_good_rows_go_in(creators):
    batch = run("bad_cells.csv")

    reasons = dict(batch.rejections.values_list("line", "reason"))
    assert sorted(reasons) == sorted(BAD_LINES)
    for line, (column, sentence) in BAD_LINES.items():
        assert column in reasons[line] and sentence in reasons[line], (line, reasons[line])
    assert problem(Problem.NOT_A_NUMBER) in reasons[20]  # both of its bad cells, not just the first
    # lines 2 and 22 went in, nothing else did
    assert sorted(stored()) == [("ks-000001", DAY), ("ks-000001", datetime.date(2026, 11, 14))]
    assert DailyMetric.objects.get(date=datetime.date(2026, 11, 14)).gmv == Decimal("12000.00")
    assert (batch.rows_read, batch.new, batch.rejected) == (21, 2, 19)


def test_rejected_rows_come_back_as_a_csv_to_fix_with_formulas_neutralised_and_import_the_same_way_again(creators, tmp_path):
    batch = run("bad_cells.csv")

    text = "".join(rejected_rows_csv(batch=batch))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:5] == [gettext_zh("line"), gettext_zh("reason"), "达人ID", "日期", "粉丝数"]
    assert [int(row[0]) for row in body] == sorted(BAD_LINES)
    negative = next(row for row in body if row[0] == "4")
    assert negative[5] == "'-5"  # a spreadsheet must not read it as a formula
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)

    # uploaded again as it is, the same rows are refused for the same reasons (the apostrophe and
    # the line and reason columns are ours, not data)
    again = tmp_path / "fix-me.csv"
    again.write_text(text, encoding="utf-8")
    second = import_file(path=str(again))
    assert second.status == ImportStatus.APPLIED and second.report["mapping"]["unknown"] == []
    # all refused again but line 16, which repeated line 2: line 2 is in now, so it changes nothing
    assert (second.new, second.unchanged, second.rejected) == (0, 1, len(BAD_LINES) - 1)
    assert problem(Problem.NEGATIVE) in second.rejections.get(line=3).reason  # "-5" again, not "'-5"


def test_the_same_file_twice_changes_nothing_the_second_time(creators):
    run("zh_utf8.csv")
    before = stored()

    second = run("zh_utf8.csv")
    # and the same data in another file type and language
    third = run("en_libreoffice.xlsx")

    assert stored() == before
    for batch in (second, third):
        assert (batch.new, batch.updated, batch.unchanged, batch.creators_created) == (0, 0, 4, 0)
    assert second.sha256 == ImportBatch.objects.earliest("created_at").sha256
    assert not ImportChange.objects.filter(batch__in=[second, third]).exists()


def test_a_dry_run_counts_what_an_import_would_do_and_writes_nothing(creators):
    batch = run("zh_utf8.csv", dry_run=True)

    assert batch.status == ImportStatus.CHECKED
    assert batch.report["check"] == {"rows_read": 4, "new": 4, "updated": 0, "unchanged": 0, "rejected": 0,
                                     "creators_created": 1}
    assert DailyMetric.objects.count() == 0
    assert not Influencer.objects.filter(platform_id="ks-900001").exists()
    assert not ImportChange.objects.exists()


def test_a_dry_run_after_the_import_finds_everything_unchanged(creators):
    run("zh_utf8.csv")
    before = stored()

    batch = run("bad_cells.csv", dry_run=True)
    check = run("zh_utf8.csv", dry_run=True)

    assert stored() == before
    assert batch.report["check"]["rejected"] == len(BAD_LINES)
    assert (check.new, check.updated, check.unchanged) == (0, 0, 4)


def test_a_file_with_only_followers_updates_followers_only(creators):
    run("zh_utf8.csv")
    before = stored()

    batch = run("followers_only.csv")

    after = stored()
    assert (batch.new, batch.updated, batch.unchanged) == (0, 2, 0)
    followers = FIELDS.index("followers")
    for key in before:
        expected = list(before[key])
        if key == ("ks-000001", DAY):
            expected[followers] = 999
        if key == ("ks-000001", DAY + datetime.timedelta(days=1)):
            expected[followers] = 15000
        assert after[key] == expected, key


def test_a_missing_cell_keeps_the_stored_figure_and_category_columns_merge(creators, tmp_path):
    run("zh_utf8.csv")
    path = tmp_path / "correction.csv"
    path.write_text("达人ID,日期,粉丝数,成交金额,食品GMV\nks-000001,2026-11-01,-,\"¥2,000\",500\n", encoding="utf-8")

    batch = import_file(path=str(path))

    row = DailyMetric.objects.get(influencer__platform_id="ks-000001", date=DAY)
    assert batch.updated == 1
    assert row.followers == 1234567  # "-": no figure, the stored one stays
    assert row.gmv == Decimal("2000.00")
    assert row.category_gmv == {"beauty": "1234.50", "food": "500.00"}
    assert ImportChange.objects.get(batch=batch).first_changed_on == DAY


def test_unknown_creators_are_rejected_rows_when_asked(creators):
    batch = run("zh_utf8.csv", unknown_creators=UnknownCreators.REPORT)

    assert not Influencer.objects.filter(platform_id="ks-900001").exists()
    assert list(batch.rejections.values_list("line", flat=True)) == [7]
    assert zh(UNKNOWN_CREATOR) in batch.rejections.get().reason
    assert (batch.new, batch.rejected, batch.creators_created) == (3, 1, 0)


def test_a_named_sheet_is_read_instead_of_the_first(creators):
    batch = run("zh_libreoffice.xlsx", sheet="汇总")

    assert batch.status == ImportStatus.APPLIED, batch.error
    assert list(DailyMetric.objects.values_list("date", "followers")) == [(datetime.date(2026, 11, 5), 777)]


def test_month_first_dates_need_the_format_named(creators, tmp_path):
    path = tmp_path / "us.csv"
    path.write_text("platform_id,date,followers\nks-000001,11/24/2026,5\n", encoding="utf-8")

    refused = import_file(path=str(path))
    named = import_file(path=str(path), date_format="MM/DD/YYYY")

    assert refused.rejected == 1 and problem(Problem.AMBIGUOUS_DATE) in refused.rejections.get().reason
    assert named.new == 1 and DailyMetric.objects.get().date == datetime.date(2026, 11, 24)


def test_the_encoding_can_be_named_and_a_wrong_one_is_refused_with_where(creators):
    wrong = run("zh_gbk_tab.csv", encoding="utf-8")
    right = run("zh_gbk_tab.csv", encoding="GB18030")

    assert wrong.status == ImportStatus.REFUSED
    assert wrong.error == zh(NOT_THIS_ENCODING, encoding="utf-8", offset=0)  # its first character is GBK
    assert right.status == ImportStatus.APPLIED and right.new == 4


def test_duplicate_days_are_found_across_blocks():
    InfluencerFactory(platform_id="ks-000001", onboarded_on=datetime.date(2026, 1, 1))
    header = ["platform_id", "date", "followers"]
    rows = [["ks-000001", f"2026-11-0{day}", "1"] for day in (1, 2, 3)] + [["ks-000001", "2026-11-01", "2"]]
    ingest = Ingest(mapping=header_map(header))
    rejected = []
    ingest.on_block = lambda result: rejected.extend(
        [] if result.rejections is None else result.rejections["line"].to_list())

    ingest.rows(((k + 2, row) for k, row in enumerate(rows)), block_rows=2)

    assert rejected == [5]
    assert DailyMetric.objects.get(date=DAY).followers == 1


@pytest.mark.parametrize("header, message", [
    (["达人ID", "日期", "成交金额", "GMV"], HEADER_DUPLICATE),
    (["达人ID", "粉丝数"], HEADER_NO_DATE),
    (["日期", "粉丝数"], HEADER_NO_ID),
    (["达人ID", "日期", "达人昵称"], HEADER_NO_METRIC),
])
def test_headers_that_cannot_work_are_refused(header, message):
    with pytest.raises(IngestRefused) as refused:
        header_map(header)
    assert str(message).split("{")[0] in str(refused.value)


def test_headers_are_read_whatever_their_case_spacing_and_width():
    mapping = header_map(["达人ＩＤ", " Date ", "直播时长（分钟）", "LIVE GMV", "成交金额(元)", "口碑分", "美妆 GMV", "备注"])

    assert list(mapping.fields.values()) == ["platform_id", "date", "live_minutes", "live_gmv", "gmv",
                                             "reputation_score", "category_gmv:beauty"]
    assert mapping.unknown == ("备注",)


def test_no_two_fields_answer_to_the_same_header():
    spellings = {}
    for name, words in HEADER_WORDS.items():
        for word in [name, *words]:
            assert spellings.setdefault(header_key(word), name) == name, word


# ---------------------------------------------------------------- files refused whole


def _refused(path, **options):
    batch = import_file(path=str(path), **options)
    assert batch.status == ImportStatus.REFUSED
    assert DailyMetric.objects.count() == 0 and Influencer.objects.count() == 2
    return batch.error


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_empty_and_header_only_files_are_refused(creators):
    assert _refused(FIXTURES / "empty.csv") == zh(FILE_EMPTY)
    assert _refused(FIXTURES / "header_only.csv") == zh(NO_DATA_ROWS)


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(creators, settings):
    settings.LADDER_IMPORT_MAX_BYTES = 600

    error = _refused(FIXTURES / "zh_utf8.csv")

    with translation.override("zh-hans"):
        assert error == zh(FILE_TOO_BIG, size=filesizeformat(694), limit=filesizeformat(600))


def test_files_that_are_not_tables_are_refused(creators, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    zipped = _zip(tmp_path / "photos.zip", {"a.txt": "hello"})
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")

    assert _refused(pdf) == zh(FILE_NOT_TABLE)
    assert _refused(xls) == zh(FILE_OLD_EXCEL)
    assert _refused(zipped) == zh(FILE_ZIP_NOT_XLSX)
    assert _refused(broken).startswith(zh(FILE_BAD_XLSX).split("{")[0])


def test_an_xlsx_that_would_expand_beyond_the_memory_budget_is_refused_before_it_is_read(creators, settings,
                                                                                       monkeypatch):
    settings.LADDER_IMPORT_XLSX_MAX_BYTES = 2_000
    opened = []
    monkeypatch.setattr(metric_files, "_open_sheet", lambda *args: opened.append(args))

    error = _refused(FIXTURES / "zh_libreoffice.xlsx")

    assert error.startswith(zh(XLSX_TOO_BIG).split("{")[0]) and "CSV" in error
    assert opened == []  # refused from the ZIP's directory, before calamine loaded the sheet


def test_a_zip_that_lies_about_its_sizes_is_stopped_before_the_sheet_is_read(creators, settings, tmp_path,
                                                                              monkeypatch):
    settings.LADDER_IMPORT_XLSX_MAX_BYTES = 50_000
    opened = []
    monkeypatch.setattr(metric_files, "_open_sheet", lambda *args: opened.append(args))
    source = zipfile.ZipFile(FIXTURES / "zh_libreoffice.xlsx")
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"] + b" " * 200_000
    path = _zip(tmp_path / "bomb.xlsx", members)
    # the directory now claims the sheet is tiny
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    real = len(members["xl/worksheets/sheet1.xml"]).to_bytes(4, "little")
    for start in range(len(data)):
        if data[start:start + 4] in (b"PK\x01\x02",) and name in data[start:start + 46 + len(name)]:
            assert data[start + 24:start + 28] == real
            data[start + 24:start + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))

    error = _refused(path)

    assert error.startswith(zh(XLSX_TOO_BIG).split("{")[0]) or error.startswith(zh(FILE_BAD_XLSX).split("{")[0])
    assert opened == []


def test_a_sheet_that_does_not_exist_is_refused_naming_the_sheets(creators):
    error = _refused(FIXTURES / "zh_libreoffice.xlsx", sheet="十二月")

    assert "十二月" in error and "日报, 汇总" in error


def test_a_file_with_no_header_row_is_refused(creators, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("这是一份说明\n没有数据列\n", encoding="utf-8")

    assert _refused(path) == zh(NO_HEADER, rows=30)


# ---------------------------------------------------------------- one writer, crashes, the refresh after


class WorkerDied(BaseException):
    """What the import sees of its process being killed: nothing it could handle."""


def _month_file(tmp_path, days=30):
    lines = ["达人ID,日期,粉丝数,成交金额"]
    lines += [f"ks-000001,2026-10-{day:02d},{day},{day * 100}" for day in range(1, days + 1)]
    lines.insert(7, "ks-000001,2026-10-99,1,1")  # one bad row in the middle: line 8
    lines.append("ks-000001,2026-10-01,9,9")  # line 33 repeats line 2, which the first delivery applied
    path = tmp_path / "october.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_apply_whose_worker_died_resumes_after_its_last_committed_block_and_counts_once(creators, tmp_path,
                                                                                        monkeypatch):
    path = _month_file(tmp_path)
    monkeypatch.setattr(metric_files, "CHUNK_BYTES", 64)  # a block every few lines
    sha256, size = file_digest(str(path))
    batch = import_batch_create(file_name="october.csv", sha256=sha256, size=size, source=ImportSource.COMMAND,
                                confirmed=True)
    write, calls = Ingest._write, []

    def dies_in_the_fourth_block(self):
        calls.append(1)
        if len(calls) == 4:
            raise WorkerDied
        return write(self)

    monkeypatch.setattr(Ingest, "_write", dies_in_the_fourth_block)
    with pytest.raises(WorkerDied):
        import_apply(batch_id=batch.pk, path=str(path), claim="delivery-of-task-7")
    batch.refresh_from_db()
    assert batch.status == ImportStatus.APPLYING and 1 < batch.resume_after_line < 31
    applied_before = DailyMetric.objects.count()
    assert 0 < applied_before < 30

    # when the broker delivers the same task again
    monkeypatch.setattr(Ingest, "_write", write)
    done = import_apply(batch_id=batch.pk, path=str(path), claim="delivery-of-task-7")

    # then every row is in once and the counts are those of one clean run
    assert done.status == ImportStatus.APPLIED
    assert DailyMetric.objects.count() == 30
    assert (done.rows_read, done.new, done.updated, done.unchanged, done.rejected) == (32, 30, 0, 0, 2)
    assert list(done.rejections.values_list("line", flat=True)) == [8, 33]
    assert DailyMetric.objects.get(date=datetime.date(2026, 10, 1)).followers == 1
    # and any other delivery changes nothing
    assert import_apply(batch_id=batch.pk, path=str(path), claim="someone-else").rows_read == 32


def test_two_imports_of_the_same_file_at_once_exactly_one_runs(creators):
    path = str(FIXTURES / "zh_utf8.csv")
    sha256, size = file_digest(path)
    running = import_batch_create(file_name="zh_utf8.csv", sha256=sha256, size=size, source=ImportSource.COMMAND,
                                  confirmed=True)

    with pytest.raises(ImportAlreadyRunning) as second:
        import_file(path=path)
    checked = run("zh_utf8.csv", dry_run=True)  # a check writes nothing: it may run meanwhile
    with pytest.raises(ImportAlreadyRunning):
        import_confirm(batch=checked)

    assert second.value.batch_id == running.pk
    assert str(running.pk) in str(second.value)
    checked.refresh_from_db()
    assert checked.status == ImportStatus.CHECKED and DailyMetric.objects.count() == 0
    # once the first is done, the same file may be imported again
    import_apply(batch_id=running.pk, path=path)
    assert import_file(path=path).unchanged == 4


def test_confirming_an_import_that_is_not_checked_is_refused(creators):
    batch = run("zh_utf8.csv")

    with pytest.raises(ImportStateError):
        import_confirm(batch=batch)


def test_the_refresh_after_an_import_decides_just_the_creators_it_changed(creators):
    untouched = InfluencerFactory(platform_id="ks-000003")
    batch = run("zh_utf8.csv")

    run_ = refresh_after_import(batch=batch)

    changed = {creators[0].pk, Influencer.objects.get(platform_id="ks-900001").pk}
    assert run_.total == 2 and run_.status == "succeeded"
    assert set(TierDecision.objects.filter(refresh_run=run_).values_list("influencer_id", flat=True)) == changed
    assert Influencer.objects.filter(pk__in=[creators[1].pk, untouched.pk], tier__isnull=False).count() == 0
    batch.refresh_from_db()
    assert batch.refresh_run == run_ and batch.replay_from is None


def _outcome(ids):
    """The changed creators' state and effective ledger, without what only says how it was reached
    (creators by platform id: a creator the file made has another row id each time)."""
    states = set(Influencer.objects.filter(pk__in=ids).values_list("platform_id", "tier", "creator_type", "tier_since",
                                                                    "below_keep_since"))
    ledger = sorted(TierDecision.objects.filter(influencer_id__in=ids, superseded_by__isnull=True).values_list(
        "influencer__platform_id", "tier_before", "tier_after", "type_before", "type_after", "decided_on"))
    return states, ledger


class _Rollback(Exception):
    pass


def test_an_import_that_corrects_days_a_refresh_already_judged_replays_them_as_if_on_time(creators):
    # given: what a refresh gives when the file's data had arrived before it (then undone)
    try:
        with transaction.atomic():
            on_time = run("zh_utf8.csv")
            refresh_run_sync()
            expected = _outcome(import_changed_ids(batch=on_time))
            raise _Rollback
    except _Rollback:
        pass
    assert not ImportBatch.objects.exists() and not TierDecision.objects.exists()

    # when the refresh judges today first, and the file arrives late
    refresh_run_sync()
    batch = run("zh_utf8.csv")
    assert batch.earliest_changed_on == DAY and batch.replay_from == DAY
    changed = import_changed_ids(batch=batch)
    assert sorted(changed) == sorted([creators[0].pk, Influencer.objects.get(platform_id="ks-900001").pk])

    last = refresh_after_import(batch=batch)

    # then the changed creators were replayed from that day, and end as if the data had come on time
    assert last.trigger == RunTrigger.REPLAY and last.status == "succeeded"
    assert last.replay.from_date == DAY and last.replay.influencer_ids == sorted(changed)
    assert _outcome(changed) == expected
    batch.refresh_from_db()
    assert batch.refresh_run == last


def test_an_import_that_changed_nothing_has_nothing_to_refresh(creators):
    run("zh_utf8.csv")
    again = run("zh_utf8.csv")

    with pytest.raises(ImportStateError):
        refresh_after_import(batch=again)
