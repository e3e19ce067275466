"""The API's documentation page (Swagger UI) renders under the site's own CSP with no console error."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from coaching.tests.e2e.conftest import REPORT_CSP_VIOLATIONS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def console_errors(page):
    """Every console error and uncaught script error of the page (CSP violations reported as errors too)."""
    errors = []
    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    return errors


@pytest.fixture(params=["zh-CN", "en-US"])
def browser_context_args(browser_context_args, request):
    return {**browser_context_args, "locale": request.param}


def test_swagger_ui_lists_the_operations_under_the_sites_csp(page, live_server, console_errors):
    response = page.goto(live_server.url + reverse("api:swagger_ui"))

    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    page.locator("#swagger-ui .opblock-summary-control").first.click()  # an operation opens: its icons, its styles
    expect(page.locator("#swagger-ui .opblock.is-open").first).to_be_visible()
    page.wait_for_timeout(500)
    assert console_errors == []


def test_the_old_redoc_address_opens_swagger_ui_under_the_sites_csp(page, live_server, console_errors):
    """ReDoc showed "Something went wrong" under the site's CSP (its bundle writes styles before a nonce can reach it
    and loads its logo from a CDN): it is gone, and its address opens Swagger UI."""
    page.goto(live_server.url + reverse("api:redoc"))

    expect(page).to_have_url(live_server.url + reverse("api:swagger_ui"))
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    expect(page.locator("body")).not_to_contain_text("Something went wrong")
    page.wait_for_timeout(500)
    assert console_errors == []
