"""Every 400/403/404/500 page is the site's own: in the reader's language, with the reason and a way back."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import include, path
from django.utils import translation

from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _broken(request):
    raise RuntimeError("a bug")


def _refused(request):
    raise PermissionDenied


urlpatterns = [
    path("test-broken/", _broken),
    path("test-refused/", _refused),
    path("", include("config.urls")),
]


def t(text, language):
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def analyst(client):
    user = UserFactory(username="analyst-reader", is_staff=True)
    user.groups.add(Group.objects.get(name="analysts"))
    client.force_login(user)
    return user


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN,zh;q=0.9"), ("en", "en-US,en;q=0.9")])
def test_an_analyst_following_the_admins_import_link_reads_why_and_where_to_go(client, analyst, language, accept):
    response = client.get("/staff/imports/", HTTP_ACCEPT_LANGUAGE=accept)

    body = response.content.decode()
    assert response.status_code == 403
    assert f'lang="{language}"' in body
    assert "403 Forbidden" not in body
    assert t("You may not open this page", language) in body
    assert t("Importing metric files needs the permission to import them.", language) in body  # the reason
    assert 'href="/"' in body and t("Back to the start page", language) in body  # a way back
    assert "analyst-reader" in body  # who they are logged in as


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN"), ("en", "en")])
def test_a_refusal_without_a_message_still_says_what_is_missing(client, analyst, settings, language, accept):
    settings.ROOT_URLCONF = __name__

    body = client.get("/test-refused/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    assert t("Your account does not have the permission this page needs.", language) in body


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN"), ("en", "en")])
def test_a_page_that_does_not_exist_says_so_in_the_readers_language(client, language, accept):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=accept)

    body = response.content.decode()
    assert response.status_code == 404
    assert f'lang="{language}"' in body and t("Page not found", language) in body
    assert "/no-such-page/" in body
    assert 'href="/"' in body


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN"), ("en", "en")])
def test_a_server_error_has_a_page_of_its_own_in_the_readers_language(client, settings, language, accept):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False

    response = client.get("/test-broken/", HTTP_ACCEPT_LANGUAGE=accept)

    body = response.content.decode()
    assert response.status_code == 500
    assert f'lang="{language}"' in body and t("Something went wrong on our side", language) in body
    assert "RuntimeError" not in body and "a bug" not in body
    assert 'href="/"' in body


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN"), ("en", "en")])
def test_a_form_sent_without_its_csrf_token_is_told_to_reload(language, accept):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "x", "password": "y"}, HTTP_ACCEPT_LANGUAGE=accept)

    body = response.content.decode()
    assert response.status_code == 403
    assert f'lang="{language}"' in body and t("This form has expired", language) in body
    assert "CSRF verification failed" not in body


@pytest.mark.parametrize("language,accept", [("zh-hans", "zh-CN"), ("en", "en")])
def test_a_request_the_site_cannot_read_has_a_page_of_its_own(client, language, accept):
    response = client.get("/accounts/login/", HTTP_HOST="not-our-host.example", HTTP_ACCEPT_LANGUAGE=accept)

    body = response.content.decode()
    assert response.status_code == 400
    assert f'lang="{language}"' in body and t("The request could not be read", language) in body


def test_the_favicon_browsers_ask_for_exists(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an icon file
