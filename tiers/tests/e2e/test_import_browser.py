"""Staff import a metric file in a real browser: the check, the confirmation, the progress bar to the end."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import translation
from playwright.sync_api import expect

from tiers.models import DailyMetric, ImportBatch, Influencer
from tiers.tests.factories import InfluencerFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PASSWORD = "import-test-pass"
CREATORS, DAYS = 2_500, 40  # 100,000 rows: the worker takes a few seconds, long enough to watch


def zh(text, **numbers):
    """The Chinese page's words, its numbers written as the page writes them."""
    with translation.override("zh-hans"):
        return translation.gettext(text) % {name: intcomma(n) for name, n in numbers.items()}


@pytest.fixture
def metric_file(tmp_path):
    start = datetime.date(2026, 9, 1)
    lines = ["达人ID,达人昵称,日期,粉丝数,成交金额,退款率"]
    for creator in range(CREATORS):
        for day in range(DAYS):
            lines.append(f"ks-{creator:06d},达人{creator},{start + datetime.timedelta(days=day)},"
                         f"{1000 + day},\"¥{creator * 1000 + day:,}.50\",{day % 10}%")
    lines.append("ks-000001,达人1,2026-13-01,1,1,1%")  # one bad line: the last
    path = tmp_path / "九月数据.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}


def test_staff_upload_check_confirm_and_watch_the_import_reach_the_end(page, live_server, celery_worker,
                                                                      shipped_defaults, metric_file):
    InfluencerFactory(platform_id="ks-000000", onboarded_on=datetime.date(2026, 1, 1))
    ops = UserFactory(username="ops-browser", password=PASSWORD, is_staff=True)
    ops.user_permissions.add(Permission.objects.get(codename="import_metrics", content_type__app_label="tiers"))

    page.goto(f"{live_server.url}/accounts/login/?next=/staff/imports/")
    page.fill("#id_username", "ops-browser")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/imports/$"))

    # upload: the worker checks the file, and the page shows what importing would do, nothing imported
    page.set_input_files("#id_file", str(metric_file))
    page.click("form.import-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/imports/\d+/$"))
    page.evaluate("window.__samePage = true")
    expect(page.locator("#batch")).to_have_attribute("data-status", "checked", timeout=60_000)
    expect(page.locator("#batch")).to_contain_text(zh("What importing it would do"))
    assert page.evaluate("window.__samePage === true")  # updated in place by htmx, not reloaded
    assert DailyMetric.objects.count() == 0

    # confirm: the progress bar runs while the worker imports, then the counts replace it
    page.click(f"button:has-text('{zh('Import the good rows')}')")
    page.evaluate("window.__samePage = true")
    expect(page.locator("#batch progress")).to_be_visible()
    expect(page.locator("#batch")).to_have_attribute("data-status", "applied", timeout=120_000)
    assert page.evaluate("window.__samePage === true")
    expect(page.locator("#batch progress")).to_have_count(0)
    result = page.locator("#result")
    expect(result).to_contain_text(zh("%(n)s new days", n=100_000))
    expect(result).to_contain_text(zh("%(n)s rejected", n=1))
    expect(page.get_by_role("link", name=zh("Download the rejected rows (CSV, with the reason for each)"))).to_be_visible()

    batch = ImportBatch.objects.get()
    assert (batch.rows_read, batch.new, batch.rejected, batch.creators_created) == (100_001, 100_000, 1, CREATORS - 1)
    assert DailyMetric.objects.count() == 100_000 and Influencer.objects.count() == CREATORS
