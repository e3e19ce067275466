"""The staff import page and the import_metrics command: who may import, the check then the apply, progress, rejected rows."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from tiers.choices import ImportStatus
from tiers.imports import import_apply, import_check, import_file
from tiers.metric_files import CSV_SHAPE, FILE_NOT_TABLE, SEPARATORS
from tiers.models import DailyMetric, ImportBatch, RefreshRun
from tiers.tests.factories import InfluencerFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"


@pytest.fixture
def creators():
    InfluencerFactory(platform_id="ks-000001", onboarded_on=datetime.date(2026, 1, 1))
    InfluencerFactory(platform_id="ks-000002", onboarded_on=datetime.date(2026, 11, 2))


@pytest.fixture
def ops(client):
    user = UserFactory(username="ops-importer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_metrics", content_type__app_label="tiers"))
    client.force_login(user)
    return user


def upload(name):
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


def zh(text):
    with translation.override("zh-hans"):
        return str(text)


def test_only_staff_with_the_import_permission_reach_any_import_url(client, creators):
    batch = import_file(path=str(FIXTURES / "bad_cells.csv"))
    urls = [("get", reverse("tiers:imports")), ("post", reverse("tiers:imports")),
            ("get", reverse("tiers:import_detail", args=[batch.pk])),
            ("post", reverse("tiers:import_apply", args=[batch.pk])),
            ("post", reverse("tiers:import_refresh", args=[batch.pk])),
            ("get", reverse("tiers:import_rejected", args=[batch.pk]))]
    staff_without = UserFactory(username="analyst", is_staff=True)
    creator = UserFactory(username="creator-x")
    ops = UserFactory(username="ops-x", is_staff=True)
    ops.user_permissions.add(Permission.objects.get(codename="import_metrics"))

    for method, url in urls:
        client.logout()
        assert getattr(client, method)(url).status_code == 302, url  # to the login page
        for user in (staff_without, creator):
            client.force_login(user)
            assert getattr(client, method)(url).status_code == 403, (url, user)
        client.force_login(ops)
        assert getattr(client, method)(url).status_code in (200, 302), url
    assert ImportBatch.objects.count() == 1  # the refused requests created nothing


def test_an_upload_is_checked_first_and_imported_only_on_confirmation(client, ops, creators,
                                                                   django_capture_on_commit_callbacks):
    # when staff upload a file
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("tiers:imports"), {"file": upload("zh_utf8.csv"), "unknown_creators": "create"})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tiers:import_detail", args=[batch.pk])
    assert len(queued) == 1 and batch.status == ImportStatus.UPLOADED and batch.requested_by == ops

    # then a worker checks it, and the page shows what importing would do, nothing imported yet
    import_check(batch_id=batch.pk)
    page = client.get(reverse("tiers:import_detail", args=[batch.pk])).content.decode()
    assert DailyMetric.objects.count() == 0
    with translation.override("zh-hans"):
        assert str(CSV_SHAPE) % {"encoding": "UTF-8", "separator": zh(SEPARATORS[","]), "line": 3} in page
    assert 'action="%s"' % reverse("tiers:import_apply", args=[batch.pk]) in page

    # when staff confirm, it is queued, and a worker applies it
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("tiers:import_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert len(queued) == 1 and batch.status == ImportStatus.QUEUED
    import_apply(batch_id=batch.pk)
    assert DailyMetric.objects.count() == 4
    assert not default_storage.exists(batch.file.name)  # the upload is not kept once applied

    # and confirming it again is refused with the truth, changing nothing
    response = client.post(reverse("tiers:import_apply", args=[batch.pk]), follow=True)
    assert ImportBatch.objects.get().status == ImportStatus.APPLIED
    assert ImportBatch.objects.get().get_status_display() in response.content.decode()


def test_a_file_that_is_not_a_table_is_a_form_error_and_nothing_is_kept(client, ops):
    files_before = set(default_storage.listdir("imports")[1]) if default_storage.exists("imports") else set()

    response = client.post(reverse("tiers:imports"), {"file": SimpleUploadedFile("report.pdf", b"%PDF-1.7\x00\x01"),
                                                      "unknown_creators": "create"})

    assert response.status_code == 200
    assert zh(FILE_NOT_TABLE) in response.content.decode()
    assert ImportBatch.objects.count() == 0
    files_after = set(default_storage.listdir("imports")[1]) if default_storage.exists("imports") else set()
    assert files_after == files_before


def test_the_page_polls_while_a_worker_runs_and_stops_when_it_is_done(client, ops, creators):
    batch = import_file(path=str(FIXTURES / "zh_utf8.csv"), dry_run=True)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.APPLYING, rows_read=2, progress_done=300,
                                                   progress_total=694)

    running = client.get(reverse("tiers:import_detail", args=[batch.pk]), HTTP_HX_REQUEST="true")
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.APPLIED)
    done = client.get(reverse("tiers:import_detail", args=[batch.pk]), HTTP_HX_REQUEST="true")

    assert running.status_code == 200 and 'hx-trigger="every 1s"' in running.content.decode()
    assert 'value="300"' in running.content.decode()
    assert done.status_code == 286 and "hx-trigger" not in done.content.decode()


def test_the_pages_take_a_fixed_number_of_queries(client, ops, creators, django_assert_num_queries):
    for _ in range(3):
        batch = import_file(path=str(FIXTURES / "bad_cells.csv"))
    # session, user, the user's and their groups' permissions, then the batches (or the batch and its
    # first rejected lines)
    with django_assert_num_queries(5):
        client.get(reverse("tiers:imports"))
    with django_assert_num_queries(6):
        page = client.get(reverse("tiers:import_detail", args=[batch.pk])).content.decode()
    first = batch.rejections.get(line=3)
    assert f"第 3 行: {first.reason}" in page and "第 21 行" in page  # every rejected line, with its reason


def test_the_rejected_rows_download_as_csv(client, ops, creators):
    batch = import_file(path=str(FIXTURES / "bad_cells.csv"))

    response = client.get(reverse("tiers:import_rejected", args=[batch.pk]))

    body = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"].startswith("text/csv")
    assert f"import-{batch.pk}-rejected.csv" in response["Content-Disposition"]
    assert len(body.strip().splitlines()) == 1 + batch.rejected


def test_the_refresh_after_an_import_is_queued_or_refused_with_the_reason(client, ops, creators,
                                                                        django_capture_on_commit_callbacks):
    batch = import_file(path=str(FIXTURES / "zh_utf8.csv"))
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("tiers:import_refresh", args=[batch.pk]))
    assert len(queued) == 1

    # the same file again changed nothing: nothing to refresh, and the page says so
    again = import_file(path=str(FIXTURES / "zh_utf8.csv"))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("tiers:import_refresh", args=[again.pk]), follow=True)
    assert queued == []
    assert f"#{again.pk}" in response.content.decode()


# ---------------------------------------------------------------- the command


def test_the_command_imports_and_reports_counts_and_rejected_lines(creators, tmp_path):
    out = StringIO()
    rejected = tmp_path / "rejected.csv"

    call_command("import_metrics", str(FIXTURES / "bad_cells.csv"), "--no-progress", "--rejected-csv", str(rejected),
                 stdout=out)

    text = out.getvalue()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.APPLIED and DailyMetric.objects.count() == 2
    assert "21" in text and "19" in text
    assert "line 3:" in text or "第 3 行" in text
    assert len(rejected.read_text(encoding="utf-8").strip().splitlines()) == 20


def test_the_command_dry_run_writes_no_metric(creators):
    call_command("import_metrics", str(FIXTURES / "zh_utf8.csv"), "--dry-run", "--no-progress", stdout=StringIO())

    assert DailyMetric.objects.count() == 0
    assert ImportBatch.objects.get().report["check"]["new"] == 4


def test_the_command_refuses_what_it_cannot_import(creators):
    with pytest.raises(CommandError):
        call_command("import_metrics", str(FIXTURES / "empty.csv"), "--no-progress", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("import_metrics", str(FIXTURES / "nothing-here.csv"), "--no-progress", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("import_metrics", str(FIXTURES / "zh_utf8.csv"), "--dry-run", "--refresh", stdout=StringIO())


def test_the_command_refreshes_the_creators_it_changed(creators):
    call_command("import_metrics", str(FIXTURES / "zh_utf8.csv"), "--refresh", "--no-progress", stdout=StringIO())

    run = RefreshRun.objects.get()
    assert run.total == 2 and ImportBatch.objects.get().refresh_run == run
