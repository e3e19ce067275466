"""Service tokens and sessions: who may call what, revocation at once, throttling with Retry-After."""

import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from api.auth import TOKEN_LOCKED
from api.models import ApiToken
from api.services import token_hash, token_revoke
from tiers.models import DailyMetric, RefreshRun
from tiers.tests.factories import InfluencerFactory, UserFactory

pytestmark = pytest.mark.django_db
BULK = "/api/v1/metrics/bulk/"


def test_no_credentials_is_401_with_the_bearer_challenge(api):
    response = api.get("/api/v1/influencers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail", "code"}


def test_an_unknown_token_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer ldr_not-a-token")
    assert api.get("/api/v1/influencers/").status_code == 401


def test_wrong_tokens_lock_their_address_out_like_wrong_passwords_and_ops_unlock_it(make_token, settings, admin_client):
    good = make_token()
    pipeline = APIClient(REMOTE_ADDR="203.0.113.9")
    pipeline.credentials(HTTP_AUTHORIZATION="Bearer ldr_guessed")
    wrong = [pipeline.get("/api/v1/influencers/") for _ in range(settings.AXES_FAILURE_LIMIT)]

    # the last wrong token reaches the limit: that answer already says so, as JSON like every API answer
    assert [r.status_code for r in wrong] == [401] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert wrong[-1]["Content-Type"] == "application/json" and wrong[-1].json()["code"] == "locked_out"

    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    locked = pipeline.get("/api/v1/influencers/")
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.7")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")

    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert locked.json()["detail"].startswith(str(TOKEN_LOCKED))
    assert elsewhere.get("/api/v1/influencers/").status_code == 200

    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    admin_client.post(reverse("admin:axes_accessattempt_changelist"), {"action": "unlock", "_selected_action": attempts})
    assert pipeline.get("/api/v1/influencers/").status_code == 200


def test_the_command_prints_the_token_once_and_stores_only_its_hash():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "nightly pipeline", "--scope", "read,write-metrics", stdout=out, stderr=err)
    secret = out.getvalue().strip()

    token = ApiToken.objects.get()
    assert token.scope_list == ["read", "write-metrics"]
    assert token.key_hash == token_hash(secret) and secret not in str(token.__dict__)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/influencers/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_command_refuses_an_unknown_scope():
    with pytest.raises(Exception, match="write-everything"):
        call_command("create_api_token", "x", "--scope", "write-everything", stdout=io.StringIO())


def test_a_read_token_cannot_write(bearer):
    api = bearer("read")
    influencer = InfluencerFactory()

    bulk = api.post(BULK, {"rows": [{"platform_id": influencer.platform_id, "date": "2026-01-01", "gmv": 1}]},
                    format="json")
    run = api.post("/api/v1/refresh-runs/")

    assert bulk.status_code == 403 and "write-metrics" in bulk.json()["detail"]
    assert run.status_code == 403 and "write-runs" in run.json()["detail"]
    assert not DailyMetric.objects.exists() and not RefreshRun.objects.exists()


def test_a_write_token_without_read_cannot_read(bearer):
    assert bearer("write-metrics").get("/api/v1/influencers/").status_code == 403


def test_a_revoked_token_is_refused_at_once(api, make_token):
    secret = make_token("read")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/influencers/").status_code == 200

    token_revoke(token=ApiToken.objects.get(key_hash=token_hash(secret)))

    assert api.get("/api/v1/influencers/").status_code == 401


def test_staff_revoke_tokens_in_the_admin_and_are_shown_a_new_one_once(admin_client):
    response = admin_client.post("/admin/api/apitoken/add/", {"name": "bi export", "scope_choice": ["read"]},
                                 follow=True)
    shown = [str(m) for m in response.context["messages"]]
    token = ApiToken.objects.get()
    assert token.scopes == "read" and any(token.prefix in m for m in shown)

    admin_client.post("/admin/api/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None


def _ops(username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name="ops"))
    return user


def test_ops_read_with_a_session_and_staff_without_the_permission_or_a_plain_login_do_not(api):
    api.force_login(_ops("ops1"))
    assert api.get("/api/v1/influencers/").status_code == 200
    api.force_login(UserFactory(username="staff_no_perms", is_staff=True))
    assert api.get("/api/v1/influencers/").status_code == 403
    api.force_login(UserFactory(username="someone"))
    assert api.get("/api/v1/influencers/").status_code == 403


def test_a_session_write_needs_the_csrf_token():
    staff = UserFactory(username="ops2", is_staff=True, is_superuser=True)
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(staff)

    response = api.post(BULK, {"rows": [{"platform_id": "ks-1", "date": "2026-01-01", "gmv": 1}]}, format="json")

    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not DailyMetric.objects.exists()


@override_settings(LADDER_API_THROTTLE_RATES={"token": "3/min", "user": "3/min", "anon": "3/min"})
def test_too_many_requests_are_answered_429_with_retry_after(bearer):
    api = bearer("read")
    answers = [api.get("/api/v1/policies/").status_code for _ in range(4)]
    last = api.get("/api/v1/policies/")

    assert answers == [200, 200, 200, 429]
    assert last.status_code == 429 and int(last["Retry-After"]) > 0
    assert last.json()["code"] == "throttled"


@override_settings(LADDER_API_THROTTLE_RATES={"token": "2/min", "user": "2/min", "anon": "100/min"})
def test_each_token_and_each_user_is_counted_on_its_own(bearer, make_token):
    first = bearer("read")
    assert [first.get("/api/v1/policies/").status_code for _ in range(3)] == [200, 200, 429]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('read')}")
    assert other.get("/api/v1/policies/").status_code == 200
    staff = APIClient()
    staff.force_login(_ops("ops3"))
    assert [staff.get("/api/v1/policies/").status_code for _ in range(3)] == [200, 200, 429]
