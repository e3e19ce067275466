"""A creator uses their growth plan in a real browser: every action updates the page in place."""

import datetime
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from coaching.models import Enrollment, ProductSelection, ReviewRequest
from coaching.services import assignment_run
from demo.population import seed_population
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "ladder-demo"
SCREENSHOTS = Path(os.environ.get("LADDER_SCREENSHOTS_DIR", "")) if os.environ.get("LADDER_SCREENSHOTS_DIR") else None


@pytest.fixture
def demo(settings, live_server, shipped_defaults):
    """The demo population with its logins, refreshed twice and assigned, behind a live server."""
    settings.DEBUG = True  # demo logins are refused unless DEBUG is on
    seed_population(influencers=300, days=60, seed=5, logins=True)
    refresh_run_sync(today=timezone.localdate() - datetime.timedelta(days=30))
    refresh_run_sync()
    assignment_run()
    settings.DEBUG = False
    logins = Influencer.objects.filter(user__username__startswith="creator")
    village = logins.filter(enrollments__program__code="newcomer-village", enrollments__status="active").first()
    pool = logins.filter(enrollments__program__code="mid-product-pool", enrollments__status="active").first()
    assert village and pool, "the demo logins include a village creator and a pool creator"
    return {"url": live_server.url, "village": village, "pool": pool}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}  # Chinese first, as the browser asks


def zh(text):
    """What the Chinese page says for `text`."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def log_in(page, base_url, influencer):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", influencer.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/plan/$"))
    page.evaluate("window.__samePage = true")  # gone after any full reload


def still_same_page(page):
    return page.evaluate("window.__samePage === true")


def test_a_creator_reads_the_plan_ticks_a_task_joins_a_campaign_asks_for_review_and_switches_language(page, demo):
    creator = demo["village"]
    log_in(page, demo["url"], creator)

    # reads the plan, in Chinese
    expect(page.locator("#standing .badge.tier")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name=zh("My programmes"))).to_be_visible()

    # opens a lesson and marks a task done, in place
    enrollment = Enrollment.objects.get(influencer=creator, program__code="newcomer-village", status="active")
    card = page.locator(f"#programme-{enrollment.pk}")
    card.locator("a", has_text=zh("Open lesson")).first.click()
    expect(card.locator("article.lesson")).to_be_visible()
    card.locator("button.check[aria-pressed=false]").first.click()
    expect(page.locator(f"#programme-{enrollment.pk}")).to_contain_text(zh("Moved to the next stage: the stage's goals are met"))
    assert still_same_page(page)

    # signs up for a campaign, in place
    join = page.locator("#campaigns form[action$='/join'] button").first
    join.click()
    expect(page.locator("#campaigns")).to_contain_text(zh("Joined"))
    assert still_same_page(page)
    assert Enrollment.objects.filter(influencer=creator, program__kind="campaign", status="active").exists()

    # asks for a review, in place
    page.select_option("#id_subject", "tier")
    page.fill("#id_message", "我上周的销售额翻倍了，请复核我的层级。")
    page.locator("#review button[type=submit]").click()
    expect(page.locator("#review")).to_contain_text("我上周的销售额翻倍了")
    assert still_same_page(page)
    assert ReviewRequest.objects.filter(influencer=creator, status="open").count() == 1

    # switches to English
    page.select_option("#language", "en")
    page.locator("form.lang button").click()
    expect(page.get_by_role("heading", name="My programmes")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_mid_creator_picks_a_product_from_the_pool(page, demo):
    creator = demo["pool"]
    log_in(page, demo["url"], creator)

    page.locator("a.button[href*='/plan/pools/']").first.click()
    page.evaluate("window.__samePage = true")
    first = page.locator("li.product").first
    first.locator("form[action$='/pick'] button").click()

    expect(page.locator("li.product").first.locator("form[action$='/unpick']")).to_be_visible()
    expect(page.locator("#picked-count")).to_contain_text("1")
    assert still_same_page(page)
    assert ProductSelection.objects.filter(influencer=creator).count() == 1

    # filters narrow the list in place
    page.select_option("#id_category", "food")
    page.locator("form.filters button").click()
    expect(page.locator("#products")).to_be_visible()
    assert still_same_page(page)


@pytest.mark.parametrize("locale,language", [("zh-CN", "zh"), ("en-US", "en")])
@pytest.mark.parametrize("device,width,height", [("phone", 375, 812), ("desktop", 1280, 900)])
def test_the_plan_fits_phones_and_desktops_in_both_languages(browser, demo, locale, language, device, width, height, tmp_path):
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    log_in(page, demo["url"], demo["village"])

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    target = (SCREENSHOTS or tmp_path) / f"plan-{language}-{device}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    context.close()

    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    assert target.stat().st_size > 10_000
