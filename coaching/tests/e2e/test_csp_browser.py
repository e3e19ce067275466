"""The main pages under the Content-Security-Policy in a real browser: no violation, htmx still swaps fragments."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from config.tests.admin_walk import make_admin_world
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-and-unusual-passphrase-42"


def _log_in(page, base, username, login_path="/accounts/login/"):
    page.goto(f"{base}{login_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit], #login-form [type=submit]")


def test_the_main_pages_load_and_work_without_a_csp_violation(page, live_server, shipped_defaults, no_csp_violations):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    superuser.set_password(PASSWORD)
    superuser.save()
    world = make_admin_world(superuser)
    creator = world["mid"].user
    creator.set_password(PASSWORD)
    creator.save()
    base = live_server.url
    csp_refusals = []
    page.on("console", lambda m: csp_refusals.append(m.text) if "Content Security Policy" in m.text else None)

    # a creator: the plan, its htmx fragment (the 90-day trend), the pool, the notifications
    _log_in(page, base, creator.username)
    expect(page).to_have_url(re.compile(r"/plan/$"))
    page.evaluate("window.__samePage = true")
    page.locator("#trend a", has_text="90").click()
    expect(page.locator("#trend a[aria-current=true]")).to_have_text("90")
    assert page.evaluate("window.__samePage === true")  # swapped in place by htmx, under the CSP
    page.goto(f"{base}/plan/notifications/")
    expect(page.locator("main")).to_be_visible()

    # staff: the admin (its own scripts), a periodic task's form (django-celery-beat's script, moved to a file),
    # the import page
    page.context.clear_cookies()
    _log_in(page, base, "root", "/admin/login/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    from django_celery_beat.models import PeriodicTask

    page.goto(base + reverse("admin:django_celery_beat_periodictask_change", args=[PeriodicTask.objects.first().pk]))
    expect(page.locator(".field-crontab_translation")).to_be_hidden()  # the moved script ran
    page.goto(base + reverse("admin:tiers_influencer_changelist"))
    expect(page.locator("#result_list")).to_be_visible()
    page.goto(f"{base}/staff/imports/")
    expect(page.locator("main form")).to_be_visible()

    assert csp_refusals == [] and no_csp_violations == []
