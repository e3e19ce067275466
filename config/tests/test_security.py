"""Logins, sessions and headers: lockout and unlock, the CSP, private pages, staff idle expiry, no open redirect, passwords."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from config.security import (
    DEMO_PASSWORD_REFUSED,
    LOCKED_OUT,
    login_attempt_allowed,
    login_attempt_failed,
    token_credentials,
)
from tiers.tests.factories import InfluencerFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-unusual-passphrase-42"
EVIL = "https://evil.example/steal"


def _user(username, **kwargs):
    user = UserFactory(username=username, **kwargs)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _locked_message(minutes: int) -> str:
    with translation.override("zh-hans"):
        return translation.ngettext(*LOCKED_OUT, minutes) % {"minutes": minutes}


def _fail(client, login_url, username, times):
    return [client.post(login_url, {"username": username, "password": "wrong-guess"}).status_code for _ in range(times)]


# ---------------------------------------------------------------- lockout


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_login_even_for_the_right_password_then_staff_unlock_it(client, login_url):
    _user("victim", is_staff=True)
    ops = _user("opsperson", is_staff=True)
    ops.groups.add(Group.objects.get(name="ops"))

    # given: the limit of wrong passwords
    wrong = _fail(client, login_url, "victim", settings.AXES_FAILURE_LIMIT)
    # when: the right one comes next
    locked = client.post(login_url, {"username": "victim", "password": PASSWORD})

    # then: refused with the lockout page, in Chinese, and no session
    assert wrong[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert locked.status_code == 429
    assert _locked_message(30) in locked.content.decode()
    assert "_auth_user_id" not in client.session

    # when: an ops member unlocks it in the admin
    staff = client.__class__()
    staff.force_login(ops)
    attempt = AccessAttempt.objects.get(username="victim")
    unlocked = staff.post(reverse("admin:axes_accessattempt_changelist"),
                          {"action": "unlock", "_selected_action": [attempt.pk]})
    again = client.post(login_url, {"username": "victim", "password": PASSWORD})

    assert unlocked.status_code == 302 and not AccessAttempt.objects.filter(username="victim").exists()
    assert again.status_code == 302 and client.session["_auth_user_id"] == str(get_user_model().objects.get(username="victim").pk)


def test_fewer_wrong_passwords_than_the_limit_do_not_lock_and_a_success_resets_the_count(client):
    _user("forgetful")

    _fail(client, "/accounts/login/", "forgetful", settings.AXES_FAILURE_LIMIT - 1)
    first = client.post("/accounts/login/", {"username": "forgetful", "password": PASSWORD})
    client.logout()
    _fail(client, "/accounts/login/", "forgetful", settings.AXES_FAILURE_LIMIT - 1)
    second = client.post("/accounts/login/", {"username": "forgetful", "password": PASSWORD})

    assert (first.status_code, second.status_code) == (302, 302)


def test_a_staff_member_without_the_unlock_permission_cannot_unlock(client):
    _user("victim")
    _fail(client, "/accounts/login/", "victim", settings.AXES_FAILURE_LIMIT)
    viewer = UserFactory(username="viewer", is_staff=True)
    client.force_login(viewer)

    refused = client.post(reverse("admin:axes_accessattempt_changelist"),
                          {"action": "unlock", "_selected_action": [AccessAttempt.objects.get(username="victim").pk]})

    assert refused.status_code == 403 and AccessAttempt.objects.filter(username="victim").exists()


def test_token_authentication_is_locked_out_by_the_same_counts():
    """The hook an API token authentication calls (config.security): wrong tokens from one address lock it."""
    request = RequestFactory().get("/api/v1/", REMOTE_ADDR="203.0.113.9")
    credentials = token_credentials(request)

    allowed_before = login_attempt_allowed(request, credentials=credentials)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_attempt_failed(request, credentials=credentials)
    other = RequestFactory().get("/api/v1/", REMOTE_ADDR="198.51.100.7")

    assert allowed_before is True
    assert login_attempt_allowed(request, credentials=credentials) is False
    assert login_attempt_allowed(other, credentials=token_credentials(other)) is True


# ---------------------------------------------------------------- headers


def _creator_client(client):
    influencer = InfluencerFactory(user=UserFactory(username="headercreator"))
    client.force_login(influencer.user)
    return influencer


def test_every_page_carries_a_strict_content_security_policy_and_a_permissions_policy(client):
    pages = [client.get("/accounts/login/")]
    _creator_client(client)
    pages.append(client.get("/plan/"))

    for response in pages:
        policy = response["Content-Security-Policy"]
        directives = dict((part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in policy.split(";")) if part)
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_htmx_is_configured_for_the_csp(client):
    body = client.get("/accounts/login/").content.decode()

    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false' in body
    assert '"allowEval": false' in body


def test_personal_pages_are_private_and_never_stored(client, admin_user):
    influencer = _creator_client(client)
    creator_page = client.get("/plan/")
    notifications = client.get("/plan/notifications/")
    client.force_login(admin_user)
    staff_pages = [client.get(reverse("coaching:staff_plan", args=[influencer.pk])), client.get("/staff/imports/"),
                   client.get("/admin/")]

    for response in [creator_page, notifications, *staff_pages]:
        assert response.status_code == 200
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, response.request["PATH_INFO"]


# ---------------------------------------------------------------- sessions


def _session_expiry(client) -> datetime.timedelta:
    return Session.objects.get(session_key=client.session.session_key).expire_date - timezone.now()


def test_staff_sessions_expire_after_a_short_idleness_and_creators_keep_theirs(client, admin_user):
    idle = datetime.timedelta(seconds=settings.LADDER_STAFF_SESSION_IDLE_SECONDS)
    client.post("/admin/login/", {"username": admin_user.username, "password": "password"})
    client.get("/admin/")
    staff_expiry = _session_expiry(client)

    creator = client.__class__()
    _creator_client(creator)
    creator.get("/plan/")

    assert idle - datetime.timedelta(minutes=1) < staff_expiry <= idle
    assert _session_expiry(creator) > datetime.timedelta(days=13)


def test_production_cookies_are_secure():
    from config.tests.test_settings import PRODUCTION_ENV, _manage

    printed = _manage("shell", "-c", "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
                      "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY)", env=PRODUCTION_ENV)

    assert printed.stdout.split()[-4:] == ["True", "True", "True", "True"], printed.stderr


# ---------------------------------------------------------------- no open redirect


def test_login_does_not_redirect_to_another_site(client):
    _user("traveller")

    response = client.post(f"/accounts/login/?next={EVIL}", {"username": "traveller", "password": PASSWORD, "next": EVIL})

    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_admin_login_does_not_redirect_to_another_site(client):
    _user("stafftraveller", is_staff=True)

    response = client.post(f"/admin/login/?next={EVIL}", {"username": "stafftraveller", "password": PASSWORD,
                                                          "next": EVIL})

    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_logout_does_not_redirect_to_another_site(client):
    client.force_login(_user("leaver"))

    response = client.post(f"/accounts/logout/?next={EVIL}", {"next": EVIL})

    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_the_language_switch_does_not_redirect_to_another_site(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": EVIL}, HTTP_REFERER=EVIL)

    assert response.status_code == 302 and "evil.example" not in response["Location"]


# ---------------------------------------------------------------- passwords


def test_django_password_validators_are_on():
    names = {validator["NAME"].rsplit(".", 1)[-1] for validator in settings.AUTH_PASSWORD_VALIDATORS}
    user = get_user_model()(username="zhangsan")

    assert {"UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
            "NumericPasswordValidator"} <= names
    for weak in ("short", "password123", "12345678901", "zhangsan1"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password(PASSWORD, user)


def test_the_demo_password_is_refused_outside_debug():
    with pytest.raises(ValidationError) as refused:
        validate_password(settings.DEMO_PASSWORD)
    with override_settings(DEBUG=True):
        validate_password(settings.DEMO_PASSWORD)  # the demo site's own logins

    assert refused.value.messages == [translation.gettext(DEMO_PASSWORD_REFUSED)]


def test_staff_cannot_give_anyone_the_demo_password_in_the_admin(admin_client):
    user = UserFactory(username="someone")

    response = admin_client.post(reverse("admin:auth_user_password_change", args=[user.pk]),
                                 {"password1": settings.DEMO_PASSWORD, "password2": settings.DEMO_PASSWORD,
                                  "usable_password": "true"})

    assert response.status_code == 200 and translation.gettext(DEMO_PASSWORD_REFUSED) in response.content.decode()
