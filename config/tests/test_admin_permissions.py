"""Every staff write is permission-checked: a view-only user is refused everywhere, ops do their work and no more."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from coaching.models import Enrollment, Program, ReviewRequest
from config.tests.admin_walk import browser_form, registered, snapshot, url, walk
from core.admin_base import StaffAdminMixin, StaffInlineMixin
from demo.population import demo_logins_ensure
from tiers.choices import PolicyStatus
from tiers.models import DailyMetric, TierOverride, TierPolicy
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    """A staff user who may look at everything and change nothing."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def test_every_admin_follows_the_staff_rules():
    """The rules (403 on a refused action, JSON without NaN…) live in StaffAdminMixin: no admin escapes them."""
    outside = [model._meta.label for model, model_admin in registered() if not isinstance(model_admin, StaffAdminMixin)]
    inlines = [inline.__name__ for _, model_admin in registered() for inline in model_admin.inlines
               if not issubclass(inline, StaffInlineMixin)]

    assert (outside, inlines) == ([], [])


def test_a_view_only_staff_user_is_refused_every_write(client, admin_world, viewer):
    client.force_login(viewer)
    before = snapshot()

    reads, answers = walk(client)

    assert {key: code for key, code in answers.items() if code != 403} == {}
    assert {label: codes for label, codes in reads.items() if codes != (200, 200)} == {}  # looking is allowed
    assert snapshot() == before


def test_the_refresh_button_needs_its_own_permission(client, viewer, monkeypatch):
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: None)
    refresh_now = reverse("admin:tiers_refreshrun_refresh_now")
    client.force_login(viewer)

    refused = client.post(refresh_now)
    hidden = client.get(reverse("admin:tiers_refreshrun_changelist")).content.decode()
    viewer.user_permissions.add(Permission.objects.get(codename="start_refreshrun"))
    wrong_method = client.get(refresh_now)
    shown = client.get(reverse("admin:tiers_refreshrun_changelist")).content.decode()

    assert refused.status_code == 403 and refresh_now not in hidden
    assert wrong_method.status_code == 405 and refresh_now in shown


def test_a_creators_plan_needs_the_growth_plan_permission(client, admin_world, viewer):
    plan = reverse("coaching:staff_plan", args=[admin_world["mid"].pk])
    staff = UserFactory(username="plain_staff", is_staff=True)

    anonymous = client.get(plan)
    client.force_login(staff)
    without = client.get(plan)
    client.force_login(viewer)  # holds coaching.view_growth_plan, like every view permission
    with_permission = client.get(plan)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert without.status_code == 403
    assert with_permission.status_code == 200 and "walk_mid" in with_permission.content.decode()


def test_ops_do_their_work_and_nothing_more(client, admin_world, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: None)
    demo_logins_ensure(password="ladder-test-pass")
    ops = get_user_model().objects.get(username="ops")
    client.force_login(ops)
    draft, mid, tail = admin_world["draft"], admin_world["mid"], admin_world["tail"]
    campaign = Program.objects.get(code="walk-campaign")
    enrollment = Enrollment.objects.get(program=campaign, influencer=mid)
    open_override = TierOverride.objects.get(ended_at__isnull=True)
    review = admin_world["review"]
    result_form, _kinds = browser_form(client.get(url(Enrollment, "change", enrollment.pk)), Enrollment)

    with django_capture_on_commit_callbacks(execute=True):
        done = {
            "clone": client.post(url(TierPolicy, "changelist"), {"action": "clone_to_draft", "_selected_action": [draft.pk]}),
            "publish": client.post(url(TierPolicy, "changelist"), {"action": "publish", "_selected_action": [draft.pk]}),
            "override": client.post(url(TierOverride, "add"), {"influencer": tail.pk, "field": "tier", "value": "mid",
                                                                "reason": "pilot"}),
            "end": client.post(url(TierOverride, "changelist"), {"action": "end_overrides",
                                                                 "_selected_action": [open_override.pk]}),
            "refresh": client.post(reverse("admin:tiers_refreshrun_refresh_now")),
            "result": client.post(url(Enrollment, "change", enrollment.pk),
                                  {**result_form, "result_gmv": "12000", "result_note": "3.8 sale"}),
            "close": client.post(url(ReviewRequest, "changelist"), {"action": "close_requests",
                                                                   "_selected_action": [review.pk]}),
            "plan": client.get(reverse("coaching:staff_plan", args=[mid.pk])),
        }
    refused = {
        "delete a programme": client.post(url(Program, "delete", campaign.pk), {"post": "yes"}),
        "add a metric": client.get(url(DailyMetric, "add")),
        "change a user": client.post(url(get_user_model(), "change", ops.pk), {}),
    }

    assert not ops.is_superuser
    assert {name: r.status_code for name, r in done.items()} == {name: 200 if name == "plan" else 302 for name in done}
    draft.refresh_from_db()
    assert draft.status == PolicyStatus.PUBLISHED and TierPolicy.objects.filter(status=PolicyStatus.DRAFT).exists()
    assert TierOverride.objects.get(pk=open_override.pk).ended_by == ops
    assert TierOverride.objects.get(influencer=tail, ended_at__isnull=True).created_by == ops
    assert Enrollment.objects.get(pk=enrollment.pk).result_recorded_by == ops
    assert ReviewRequest.objects.get(pk=review.pk).closed_by == ops
    assert {name: r.status_code for name, r in refused.items()} == {name: 403 for name in refused}
