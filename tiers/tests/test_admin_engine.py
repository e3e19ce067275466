"""Staff run the tier engine from the admin: policies, overrides, refreshes, the ledger."""

import pytest
from django.urls import reverse

from tiers.choices import DecisionCause, PolicyStatus, RunTrigger
from tiers.models import TierDecision, TierOverride, TierPolicy
from tiers.rules import PolicyRules
from tiers.services import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db


def test_clone_edit_and_publish_a_policy(admin_client, monkeypatch, django_capture_on_commit_callbacks):
    published = TierPolicy.objects.published().get()
    changelist = reverse("admin:tiers_tierpolicy_changelist")
    queued = []
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: queued.append(kwargs))

    admin_client.post(changelist, {"action": "clone_to_draft", "_selected_action": [published.pk]})
    draft = TierPolicy.objects.get(status=PolicyStatus.DRAFT)
    rules = PolicyRules.default().to_json()
    rules["mid"]["keep_gmv"] = "150000"  # above mid.promote_gmv: refused, naming the field
    refused = admin_client.post(reverse("admin:tiers_tierpolicy_change", args=[draft.pk]),
                                {"name": "v2", "rules": __import__("json").dumps(rules), "notes": ""})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})

    assert draft.version == 2
    assert "mid.keep_gmv" in refused.content.decode()
    assert list(TierPolicy.objects.values_list("version", "status")) == [(2, "published"), (1, "archived")]
    assert queued == [{"trigger": RunTrigger.POLICY_PUBLISH, "requested_by_id": TierPolicy.objects.get(version=2).published_by_id}]


def test_a_published_policy_cannot_be_edited_in_the_admin(admin_client):
    published = TierPolicy.objects.published().get()

    page = admin_client.get(reverse("admin:tiers_tierpolicy_change", args=[published.pk]))

    assert 'name="rules"' not in page.content.decode()


def test_staff_pin_a_tier_with_a_reason_and_the_ledger_records_who(admin_client, admin_user):
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()

    admin_client.post(reverse("admin:tiers_tieroverride_add"),
                      {"influencer": creator.pk, "field": "tier", "value": "mid", "reason": "Pilot partner"})

    override = TierOverride.objects.get()
    decision = TierDecision.objects.filter(influencer=creator).first()
    assert (override.created_by, override.reason) == (admin_user, "Pilot partner")
    assert (decision.cause, decision.actor, decision.tier_after) == (DecisionCause.OVERRIDE, admin_user, "mid")


def test_refresh_now_queues_a_refresh_and_the_ledger_is_read_only(admin_client, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: queued.append(kwargs))
    metric_days(InfluencerFactory(), days=30, gmv="1000")
    refresh_run_sync()
    decision = TierDecision.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))

    assert response.status_code == 302 and queued[0]["trigger"] == RunTrigger.STAFF
    assert admin_client.get(reverse("admin:tiers_refreshrun_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:tiers_tierdecision_change", args=[decision.pk])).content.decode()
    assert "mid.promote_gmv" in page and 'type="submit" value="Save"' not in page
    assert admin_client.post(reverse("admin:tiers_tierdecision_delete", args=[decision.pk])).status_code == 403


def test_the_creator_page_explains_the_current_tier_and_lists_enrolments_and_notes(admin_client):
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()
    from coaching.services import assignment_run

    assignment_run()
    page = admin_client.get(reverse("admin:tiers_influencer_change", args=[creator.pk])).content.decode()

    assert "mid.promote_gmv" in page  # the live explanation
    assert "newcomer-village" in page or "达人新手村" in page
    assert "coaching_notes-TOTAL_FORMS" in page
