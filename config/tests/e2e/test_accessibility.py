"""Every page type, in both languages, passes axe-core with no critical or serious violation.

axe-core (bundled by axe-playwright-python) is injected into each page, which a strict CSP would refuse: these
contexts bypass the CSP (`bypass_csp=True`); the site's own CSP is held by every other browser test."""


import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from config.tests.admin_walk import make_admin_world
from ops.whatif import whatif_run_sync
from tiers.models import ImportBatch, RefreshRun
from tiers.services import policy_update_draft
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-and-unusual-passphrase-42"
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
PHONE, DESKTOP = {"width": 375, "height": 812}, {"width": 1280, "height": 900}
BLOCKING = ("critical", "serious")
axe = Axe()


@pytest.fixture
def world(shipped_defaults):
    root = UserFactory(username="a11y-root", is_staff=True, is_superuser=True)
    root.set_password(PASSWORD)
    root.save()
    made = make_admin_world(root)
    creator = made["mid"].user
    creator.set_password(PASSWORD)
    creator.save()
    draft = made["draft"]
    # a draft that moves someone, so the what-if shows its matrices and samples
    draft = policy_update_draft(policy=draft, by=root, rules={
        **draft.rules, "mid": {**draft.rules["mid"], "promote_gmv": "20000", "keep_gmv": "15000"}})
    whatif = whatif_run_sync(policy=draft, by=root)
    pool = made["mid"].enrollments.filter(program__code="mid-product-pool").get().program
    return {"root": root, "creator": creator, "mid": made["mid"], "draft": draft, "whatif": whatif, "pool": pool,
            "review": made["review"]}


def creator_pages(world):
    return [
        ("plan (phone)", "/plan/", PHONE),
        ("plan (desktop)", "/plan/", DESKTOP),
        ("product pool", reverse("coaching:pool", args=[world["pool"].pk]), PHONE),
        ("notifications", reverse("coaching:notifications"), PHONE),
    ]


def staff_pages(world):
    mid = world["mid"]
    return [
        ("ops dashboard", reverse("ops:dashboard"), DESKTOP),
        ("ops refresh", reverse("ops:refresh"), DESKTOP),
        ("ops run", reverse("ops:run_detail", args=[RefreshRun.objects.latest("pk").pk]), DESKTOP),
        ("policy what-if", reverse("ops:policy_whatif", args=[world["draft"].pk]), DESKTOP),
        ("what-if report", reverse("ops:whatif_detail", args=[world["whatif"].pk]), DESKTOP),
        ("imports", reverse("tiers:imports"), DESKTOP),
        ("import", reverse("tiers:import_detail", args=[ImportBatch.objects.latest("pk").pk]), DESKTOP),
        ("review queue", reverse("coaching:reviews"), DESKTOP),
        ("review", reverse("coaching:review_detail", args=[world["review"].pk]), DESKTOP),
        ("staff view of a plan", reverse("coaching:staff_plan", args=[mid.pk]), DESKTOP),
        ("admin index", reverse("admin:index"), DESKTOP),
        ("admin list", reverse("admin:tiers_influencer_changelist"), DESKTOP),
        ("admin list (phone)", reverse("admin:tiers_influencer_changelist"), PHONE),
        ("admin change", reverse("admin:tiers_influencer_change", args=[mid.pk]), DESKTOP),
        ("admin policy", reverse("admin:tiers_tierpolicy_change", args=[world["draft"].pk]), DESKTOP),
        ("page not found", "/no-such-page/", DESKTOP),
    ]


def api_pages():
    return [
        ("API docs (Swagger UI)", reverse("api:swagger_ui"), DESKTOP, "#swagger-ui .opblock"),
    ]


def blocking_violations(page) -> list[str]:
    results = axe.run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            for violation in results.response["violations"] if violation["impact"] in BLOCKING]


def log_in(context, base, username):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return page


def check(browser, base, language, pages, username=None):
    """{page name: its blocking violations} for each page, each opened at its own width."""
    found = {}
    for name, path, viewport, *ready in pages:
        context = browser.new_context(bypass_csp=True, locale=LOCALES[language], viewport=viewport)
        page = log_in(context, base, username) if username else context.new_page()
        page.goto(base + path)
        if ready:  # a page that draws itself with script: wait until it has
            page.wait_for_selector(ready[0], timeout=30_000)
        assert page.locator("html").get_attribute("lang") == language, name  # read aloud in the page's language
        if problems := blocking_violations(page):
            found[f"{name} {path}"] = problems
        context.close()
    return found


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_type_has_no_critical_or_serious_accessibility_violation(browser, live_server, world, language):
    base = live_server.url
    found = check(browser, base, language, [("login", "/accounts/login/", PHONE)])
    found |= check(browser, base, language, creator_pages(world), username=world["creator"].username)
    found |= check(browser, base, language, staff_pages(world), username=world["root"].username)
    found |= check(browser, base, language, api_pages())

    assert found == {}, "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in found.items())


@pytest.fixture
def creator(shipped_defaults):
    from tiers.refresh import refresh_run_sync
    from tiers.tests.factories import InfluencerFactory, metric_days

    influencer = InfluencerFactory(handle="phone_reader", user=UserFactory(username="phone-reader"))
    influencer.user.set_password(PASSWORD)
    influencer.user.save()
    metric_days(influencer, days=30, gmv="1000")
    refresh_run_sync()
    return influencer.user


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("username", [None, "phone-reader"], ids=["logged-out", "creator"])
def test_the_header_takes_at_most_two_short_lines_on_a_phone(browser, live_server, creator, language, username):
    context = browser.new_context(locale=LOCALES[language], viewport=PHONE)
    page = log_in(context, live_server.url, username) if username else context.new_page()
    page.goto(live_server.url + ("/plan/" if username else "/accounts/login/"))

    height = page.locator("header.topbar").bounding_box()["height"]
    context.close()

    assert height <= 100, f"the header takes {height:.0f} of {PHONE['height']} px"
