"""An analyst follows the admin's import link in a real browser: a refusal in their language, why, and a way back."""

import re

import pytest
from django.contrib.auth.models import Group
from django.utils import translation
from playwright.sync_api import expect

from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}


def zh(text):
    with translation.override("zh-hans"):
        return translation.gettext(text)


def test_an_analyst_following_the_import_link_reads_why_in_chinese_and_finds_the_way_back(page, live_server,
                                                                                           shipped_defaults):
    analyst = UserFactory(username="browser-analyst", password=PASSWORD, is_staff=True)
    analyst.groups.add(Group.objects.get(name="analysts"))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/tiers/importbatch/")
    page.fill("#id_username", "browser-analyst")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form [type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/tiers/importbatch/$"))

    page.get_by_role("link", name=zh("Import metric files")).click()

    expect(page).to_have_url(re.compile(r"/staff/imports/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("You may not open this page"))
    expect(page.locator("main")).to_contain_text(zh("Importing metric files needs the permission to import them."))
    expect(page.locator("main")).not_to_contain_text("Forbidden")
    page.get_by_role("link", name=zh("Back to the start page")).click()
    expect(page).to_have_url(re.compile(r"/admin/$"))  # staff start in the admin
