"""Staff run a refresh and a policy what-if from the ops desk in a real browser, watch each progress bar to the
end, and read the dashboard in Chinese and English."""

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from playwright.sync_api import expect

from ops.models import WhatIf
from tiers.choices import RunStatus
from tiers.models import DailyMetric, Influencer, RefreshRun, TierPolicy
from tiers.services import policy_clone, policy_update_draft
from tiers.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PASSWORD = "desk-test-pass"
CREATORS, DAYS = 600, 30  # 200 chunks of 3 on the test worker: seconds of progress to watch
SCREENSHOTS = Path(os.environ["LADDER_SCREENSHOTS_DIR"]) if os.environ.get("LADDER_SCREENSHOTS_DIR") else None


def zh(text):
    with translation.override("zh-hans"):
        return translation.gettext(text)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def population(shipped_defaults):
    today = timezone.localdate()
    categories = ["beauty", "food", "apparel", "fresh", "jade"]
    creators = Influencer.objects.bulk_create(
        Influencer(platform_id=f"ks-desk-{i:05d}", handle=f"desk_{i}", display_name=f"desk {i}",
                   onboarded_on=today - datetime.timedelta(days=200), main_category=categories[i % 5])
        for i in range(CREATORS))
    rows = []
    for i, creator in enumerate(creators):
        gmv = Decimal(500 + (i % 60) * 100)  # ¥15k … ¥192k in the window
        live = (gmv * Decimal("0.6") if i % 2 else gmv * Decimal("0.1")).quantize(Decimal("0.01"))
        for day in range(DAYS):
            rows.append(DailyMetric(influencer=creator, date=today - datetime.timedelta(days=day), followers=10_000 + i,
                                    gmv=gmv, live_gmv=live, video_gmv=gmv - live, storefront_gmv=0, orders=10,
                                    live_sessions=1, videos_posted=1, reputation_score=Decimal("4.5"),
                                    repeat_buyer_rate=Decimal("0.3"),
                                    category_gmv={categories[i % 5]: str(gmv)}))
    DailyMetric.objects.bulk_create(rows, batch_size=5_000)


def log_in(page, url):
    ops = UserFactory(username="desk-ops", password=PASSWORD, is_staff=True)
    ops.groups.add(Group.objects.get(name="ops"))
    page.goto(f"{url}/accounts/login/?next=/ops/refresh/")
    page.fill("#id_username", "desk-ops")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    return ops


def watch_the_bar_to_the_end(page, url_pattern: str, section: str) -> None:
    """On the job's page: the bar shows while it runs, then htmx swaps in the result, the page never reloaded."""
    expect(page).to_have_url(re.compile(url_pattern))
    page.evaluate("window.__samePage = true")
    expect(page.locator(f"{section} progress")).to_be_visible()
    expect(page.locator(section)).to_have_attribute("data-status", "succeeded", timeout=120_000)
    assert page.evaluate("window.__samePage === true")
    expect(page.locator(f"{section} progress")).to_have_count(0)


def shot(page, name, tmp_path):
    target = (SCREENSHOTS or tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_staff_refresh_then_preview_a_draft_watching_each_bar_to_the_end(page, live_server, celery_worker, population,
                                                                         tmp_path):
    ops = log_in(page, live_server.url)
    expect(page).to_have_url(re.compile(r"/ops/refresh/$"))

    # a refresh from the staff page: the bar runs, then the counts replace it, on the same page
    page.click("#start-refresh")
    watch_the_bar_to_the_end(page, r"/ops/runs/\d+/$", "#run")
    expect(page.locator("#result")).to_be_visible()
    run = RefreshRun.objects.get()
    assert (run.status, run.done, run.total) == (RunStatus.SUCCEEDED, CREATORS, CREATORS)

    # a draft that lowers the mid line, previewed over everyone: the bar runs, then the report
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=ops)
    rules = {**draft.rules, "mid": {**draft.rules["mid"], "promote_gmv": "60000", "keep_gmv": "50000"}}
    draft = policy_update_draft(policy=draft, rules=rules, by=ops)
    tiers_before = list(Influencer.objects.order_by("id").values_list("tier", "creator_type"))
    page.goto(f"{live_server.url}/ops/policies/{draft.pk}/whatif/")
    page.click("#start-whatif")
    watch_the_bar_to_the_end(page, r"/ops/whatifs/\d+/$", "#whatif")
    expect(page.locator("#moves")).to_contain_text(zh("Promoted"))
    expect(page.locator("#tier-matrix td.changed").first).to_be_visible()
    whatif = WhatIf.objects.get()
    assert whatif.status == RunStatus.SUCCEEDED and whatif.done == CREATORS
    assert whatif.summary["moves"]["promoted"] > 0
    assert list(Influencer.objects.order_by("id").values_list("tier", "creator_type")) == tiers_before
    shot(page, "ops-whatif-zh.png", tmp_path)


def test_the_dashboard_reads_in_chinese_and_in_english(page, live_server, celery_worker, population, tmp_path):
    from tiers.refresh import refresh_run_sync

    refresh_run_sync()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ops/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name=zh("Creators by tier and type"))).to_be_visible()
    expect(page.locator("#matrix tfoot .total")).to_contain_text(f"{CREATORS}")
    expect(page.locator("svg.movements").first).to_be_visible()
    shot(page, "ops-dashboard-zh.png", tmp_path)

    page.select_option("#language", "en")
    page.click("form.lang button")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Creators by tier and type")).to_be_visible()
    expect(page.get_by_role("heading", name="Programme funnels")).to_be_visible()
    shot(page, "ops-dashboard-en.png", tmp_path)
