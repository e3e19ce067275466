"""The ops desk's pages: who may see and do what, bad input as 400, and queries that stay flat with the data."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ops.models import WhatIf
from tiers.choices import PolicyStatus, RunStatus
from tiers.models import RefreshRun, TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.services import policy_clone
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def user_with(*perms, username="staff"):
    user = UserFactory(username=username, is_staff=True)
    for dotted in perms:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def analyst(client):
    """Read-only: the view permissions an analyst holds, nothing that changes."""
    user = user_with("tiers.view_influencer", "tiers.view_tierpolicy", "tiers.view_refreshrun", "tiers.view_tierdecision",
                     username="analyst")
    client.force_login(user)
    return user


@pytest.fixture
def ops(client):
    user = user_with("tiers.view_influencer", "tiers.view_tierpolicy", "tiers.change_tierpolicy",
                     "tiers.publish_tierpolicy", "tiers.view_refreshrun", "tiers.start_refreshrun",
                     "tiers.view_tierdecision", username="ops-desk")
    client.force_login(user)
    return user


def population(n, *, start=0):
    for i in range(start, start + n):
        creator = InfluencerFactory(handle=f"c{i}", main_category=["beauty", "food", "apparel"][i % 3])
        metric_days(creator, days=30, gmv=str(500 + 400 * i))


def draft(by=None):
    return policy_clone(policy=TierPolicy.objects.published().get(), by=by)


def test_the_dashboard_queries_stay_flat_with_the_data(client, analyst):
    population(4)
    refresh_run_sync()
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("ops:dashboard")).status_code == 200
    population(30, start=4)
    refresh_run_sync(today=TODAY)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("ops:dashboard"))
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_dashboard_shows_the_tier_type_matrix_linked_to_the_admin(client, analyst):
    population(6)
    refresh_run_sync()
    response = client.get(reverse("ops:dashboard"))
    page = response.content.decode()
    assert "/admin/tiers/influencer/?tier__exact=tail" in page
    assert "?refresh_run__id__exact=" in page
    assert 'class="chart movements"' in page


@pytest.mark.parametrize("query", ["changes=1", "changes=abc", "days=0", "days=9999", "changes=2&days=-3"])
def test_bad_flap_parameters_are_a_400_naming_the_field(client, analyst, query):
    response = client.get(reverse("ops:dashboard") + "?" + query)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_flap_report_counts_creators_who_changed_tier_often(client, analyst):
    from tiers.models import TierDecision

    creator = InfluencerFactory(handle="flappy")
    for offset, (before, after) in enumerate([("tail", "mid"), ("mid", "tail"), ("tail", "mid")]):
        TierDecision.objects.create(influencer=creator, tier_before=before, tier_after=after, cause="refresh",
                                    decided_on=TODAY - datetime.timedelta(days=offset))
    response = client.get(reverse("ops:dashboard") + "?changes=3&days=10")
    assert response.status_code == 200
    assert response.context["flap"]["total"] == 1
    assert response.context["flap"]["shown"][0].handle == "flappy"
    assert client.get(reverse("ops:dashboard") + "?changes=4&days=10").context["flap"]["total"] == 0


def test_an_analyst_sees_but_cannot_start_or_publish(client, analyst, django_capture_on_commit_callbacks):
    policy = draft()
    assert client.get(reverse("ops:policy_whatif", args=[policy.pk])).status_code == 200
    assert client.get(reverse("ops:refresh")).status_code == 200
    for url in (reverse("ops:whatif_start", args=[policy.pk]), reverse("ops:policy_publish", args=[policy.pk]),
                reverse("ops:refresh_start")):
        assert client.post(url, {"refresh": "now"}).status_code == 403
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.DRAFT
    assert not WhatIf.objects.exists() and not RefreshRun.objects.exists()
    page = client.get(reverse("ops:policy_whatif", args=[policy.pk])).content.decode()
    assert "start-whatif" not in page and "publish-refresh" not in page


def test_no_permission_is_a_403_and_no_login_goes_to_the_login_page(client):
    client.force_login(UserFactory(username="plain", is_staff=True))
    assert client.get(reverse("ops:dashboard")).status_code == 403
    client.logout()
    assert client.get(reverse("ops:dashboard")).status_code == 302


def test_staff_start_a_whatif_and_its_fragment_stops_polling_at_the_end(client, ops, django_capture_on_commit_callbacks):
    population(3)
    refresh_run_sync()
    policy = draft(ops)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("ops:whatif_start", args=[policy.pk]))
    whatif = WhatIf.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("ops:whatif_detail", args=[whatif.pk])
    running = client.get(reverse("ops:whatif_detail", args=[whatif.pk]), headers={"HX-Request": "true"})
    assert running.status_code == 200 and b"<progress" in running.content and b'hx-trigger="every 1s"' in running.content
    assert "HX-Request" in running["Vary"]
    # a second start while it runs is told which one runs
    again = client.post(reverse("ops:whatif_start", args=[policy.pk]), follow=True)
    assert f"#{whatif.pk}".encode() in again.content
    from ops.whatif import whatif_chunk_apply, whatif_finish

    for index in range(whatif.chunk_count):
        whatif_chunk_apply(run_id=whatif.pk, index=index)
    whatif_finish(run_id=whatif.pk)
    done = client.get(reverse("ops:whatif_detail", args=[whatif.pk]), headers={"HX-Request": "true"})
    assert done.status_code == 286 and b"<progress" not in done.content and b'id="moves"' in done.content


def test_publish_and_refresh_now_records_who_and_when_and_shows_the_run(client, ops, django_capture_on_commit_callbacks):
    population(3)
    policy = draft(ops)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("ops:policy_publish", args=[policy.pk]), {"refresh": "now"})
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.PUBLISHED and policy.published_by == ops and policy.published_at
    run = RefreshRun.objects.get(policy=policy)
    assert response["Location"] == reverse("ops:run_detail", args=[run.pk])
    assert run.status == RunStatus.RUNNING
    page = client.get(reverse("ops:run_detail", args=[run.pk]), headers={"HX-Request": "true"})
    assert page.status_code == 200 and b"<progress" in page.content


def test_refresh_from_the_staff_page(client, ops, django_capture_on_commit_callbacks):
    population(2)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("ops:refresh_start"))
    run = RefreshRun.objects.get()
    assert response["Location"] == reverse("ops:run_detail", args=[run.pk])
