"""Exports: streamed CSV and XLSX, each dangerous first character neutralised, filters checked."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from python_calamine import CalamineWorkbook

from core.spreadsheets import FORMULA_STARTS, csv_rows, neutralise, xlsx_file
from ops.whatif import whatif_run_sync
from tiers.models import TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.services import policy_clone, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days


def sheet_rows(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_each_dangerous_first_character_is_neutralised(start):
    cell = f"{start}HYPERLINK(\"http://x\")"
    assert neutralise(cell) == "'" + cell
    [_, row] = list(csv.reader(io.StringIO("".join(csv_rows(["h"], [[cell]])).lstrip("\ufeff"), newline="")))
    assert row == ["'" + cell]
    assert sheet_rows(xlsx_file(["h"], [[cell]]).read())[1] == ["'" + cell]


def test_all_six_are_covered_and_harmless_cells_pass_through():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}
    assert [neutralise(v) for v in ("达人", "a=b", 12, None, "")] == ["达人", "a=b", "12", "", ""]


@pytest.fixture
def staff(client, db):
    user = UserFactory(username="exporter", is_staff=True)
    for codename in ("view_influencer", "view_tierdecision", "view_tierpolicy"):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="tiers", codename=codename))
    client.force_login(user)
    return user


def _csv(response):
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.django_db
def test_the_creator_list_is_filtered_and_a_handle_like_a_formula_is_defused(client, staff):
    evil = InfluencerFactory(handle="=cmd|' /C calc'!A0", main_category="food")
    metric_days(evil, days=30, gmv="5000")
    InfluencerFactory(handle="other", main_category="beauty")
    refresh_run_sync()
    rows = _csv(client.get(reverse("ops:creators_export", args=["csv"]) + "?main_category=food"))
    assert len(rows) == 2 and rows[1][1] == "'=cmd|' /C calc'!A0"
    response = client.get(reverse("ops:creators_export", args=["xlsx"]))
    assert len(sheet_rows(b"".join(response.streaming_content))) == 3


@pytest.mark.django_db
def test_the_ledger_and_a_whatif_export(client, staff):
    creator = InfluencerFactory(handle="c1")
    metric_days(creator, days=30, gmv="5000")
    refresh_run_sync()
    ledger = _csv(client.get(reverse("ops:ledger_export", args=["csv"])))
    assert len(ledger) == 2 and ledger[1][2] == "c1"
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=staff)
    rules = {**draft.rules, "mid": {**draft.rules["mid"], "keep_gmv": "180000", "promote_gmv": "200000"}}
    rules["anti_flap"] = {**rules["anti_flap"], "grace_days": 0, "min_days_in_tier": 0}
    whatif = whatif_run_sync(policy=policy_update_draft(policy=draft, rules=rules, by=staff), by=staff)
    rows = _csv(client.get(reverse("ops:whatif_export", args=[whatif.pk, "csv"])))
    assert len(rows) == 2 and rows[1][1] == "c1" and "mid.keep_gmv" in rows[1][8]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["tier=king", "since=yesterday", "since=2026-02-01&until=2026-01-01"])
def test_bad_filters_are_a_400(client, staff, query):
    url = reverse("ops:ledger_export" if "since" in query else "ops:creators_export", args=["csv"])
    assert client.get(f"{url}?{query}").status_code == 400


@pytest.mark.django_db
def test_an_unknown_format_is_a_404_and_no_permission_a_403(client, staff):
    assert client.get(reverse("ops:creators_export", args=["pdf"])).status_code == 404
    client.force_login(UserFactory(username="nobody", is_staff=True))
    assert client.get(reverse("ops:ledger_export", args=["csv"])).status_code == 403
