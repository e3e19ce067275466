"""Metric files in: every encoding, separator, header language and file type ops teams send, and what goes in."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tiers.choices import ImportStatus
from tiers.imports import import_file
from tiers.models import DailyMetric, Influencer
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
