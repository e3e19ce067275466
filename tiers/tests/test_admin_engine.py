"""Staff run the tier engine from the admin: policies, overrides, refreshes, the ledger."""


import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.translation import gettext

from core.models import OutboxMessage
from core.outbox import JOBS_UNAVAILABLE, flush
from core.validation import ServiceError
from tiers.choices import DecisionCause, PolicyStatus, RunStatus, RunTrigger
from tiers.models import (
    RefreshRun,
    TierDecision,
    TierOverride,
    TierPolicy,
)
from tiers.policy_form import form_data
from tiers.refresh import (
    REFRESH_QUEUED,
    REFRESH_QUEUED_AFTER,
    refresh_run_sync,
    refresh_start,
)
from tiers.rules import PolicyRules
from tiers.services import override_create, override_end, policy_clone
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def sent(monkeypatch):
    """The chunks sent to the broker (nothing leaves the process)."""
    sent = []
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: sent.append(kwargs))
    return sent


# Transactional, as the admin runs: the chunks are sent when the publish commits, before staff are told.
@pytest.mark.django_db(transaction=True)
def test_clone_edit_and_publish_a_policy(shipped_defaults, admin_client, sent):
    InfluencerFactory()
    published = TierPolicy.objects.published().get()
    changelist = reverse("admin:tiers_tierpolicy_changelist")

    admin_client.post(changelist, {"action": "clone_to_draft", "_selected_action": [published.pk]})
    draft = TierPolicy.objects.get(status=PolicyStatus.DRAFT)
    rules = PolicyRules.default().to_json()
    rules["mid"]["keep_gmv"] = "150000"  # above mid.promote_gmv: refused, naming the field
    refused = admin_client.post(reverse("admin:tiers_tierpolicy_change", args=[draft.pk]),
                                {"name": "v2", "notes": "", **form_data(rules)})
    response = admin_client.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})

    assert draft.version == 2
    assert list(refused.context["adminform"].form.errors) == ["mid__keep_gmv"]
    assert list(TierPolicy.objects.values_list("version", "status")) == [(2, "published"), (1, "archived")]
    run = RefreshRun.objects.get()
    assert (run.trigger, run.policy_id, run.status) == (RunTrigger.POLICY_PUBLISH, draft.pk, RunStatus.RUNNING)
    assert sent == [{"kind": "refresh", "run_id": run.pk, "indexes": list(range(run.chunk_count))}]
    assert told(response) == [gettext("v%(version)s published. %(refresh)s") % {"version": 2, "refresh": REFRESH_QUEUED.format(run_id=run.pk)}]


def test_a_published_policy_cannot_be_edited_in_the_admin(admin_client):
    published = TierPolicy.objects.published().get()

    page = admin_client.get(reverse("admin:tiers_tierpolicy_change", args=[published.pk]))

    page = page.content.decode()
    assert 'name="rules"' not in page and 'name="mid__keep_gmv"' not in page
    assert "policy-compare" in page


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


# Transactional, as the admin runs: what happens when the request's writes commit (the chunks are
# sent, or the broker refuses them) happens before staff are told.
@pytest.mark.django_db(transaction=True)
def test_refresh_now_starts_a_refresh_and_the_ledger_is_read_only(shipped_defaults, admin_client, sent):
    metric_days(InfluencerFactory(), days=30, gmv="1000")
    refresh_run_sync()
    decision = TierDecision.objects.get()

    response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))

    run = RefreshRun.objects.exclude(pk=decision.refresh_run_id).get()
    assert response.status_code == 302 and run.trigger == RunTrigger.STAFF and run.status == RunStatus.RUNNING
    assert sent == [{"kind": "refresh", "run_id": run.pk, "indexes": [0]}]
    assert told(response) == [REFRESH_QUEUED.format(run_id=run.pk)]
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


@pytest.mark.django_db(transaction=True)
def test_refresh_now_while_a_refresh_runs_says_it_is_queued_after_it(shipped_defaults, admin_client, sent):
    metric_days(InfluencerFactory(), days=30, gmv="1000")
    running = refresh_start(trigger=RunTrigger.SCHEDULE)

    response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))

    queued = RefreshRun.objects.get(trigger=RunTrigger.STAFF)
    assert queued.status == RunStatus.PENDING and sent == []
    assert told(response) == [REFRESH_QUEUED_AFTER.format(run_id=queued.pk, active_id=running.pk, done=0, count=running.chunk_count)]


@pytest.mark.django_db(transaction=True)
def test_refresh_now_with_the_broker_refusing_records_the_run_says_so_and_sends_it_later(shipped_defaults, admin_client,
                                                                                       monkeypatch):
    # given a broker that refuses every message
    sent = []

    def broker_down(**kwargs):
        raise ConnectionRefusedError("Error 111 connecting to redis")

    monkeypatch.setattr("core.runs.send_chunks", broker_down)
    metric_days(InfluencerFactory(), days=30, gmv="1000")

    # when staff ask for a refresh
    response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))

    # then the run is recorded and waits, and staff are told plainly why nothing moves yet
    run = RefreshRun.objects.get()
    assert response.status_code == 302
    assert (run.status, run.active, run.chunks_done) == (RunStatus.RUNNING, True, 0)
    assert told(response) == [REFRESH_QUEUED.format(run_id=run.pk), str(JOBS_UNAVAILABLE)]
    waiting = OutboxMessage.objects.get(sent_at__isnull=True)
    assert (waiting.sender, waiting.kwargs, waiting.attempts) == ("core.runs.dispatch", {"kind": "refresh", "run_id": run.pk}, 1)
    assert "Error 111" in waiting.last_error

    # and once the broker takes messages again, beat's flush sends the chunks
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: sent.append(kwargs))
    assert flush() == 1
    assert sent == [{"kind": "refresh", "run_id": run.pk, "indexes": [0]}]
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def test_editing_a_draft_records_who_edited_it_and_shows_it(admin_client, admin_user):
    author = UserFactory(username="policy-author", is_staff=True)
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=author)
    rules = PolicyRules.default().to_json()
    rules["mid"]["keep_gmv"] = "90000"
    path = reverse("admin:tiers_tierpolicy_change", args=[draft.pk])

    response = admin_client.post(path, {"name": "tighter keep", "notes": "Q3", **form_data(rules)})

    draft.refresh_from_db()
    assert response.status_code == 302
    assert (draft.name, draft.notes, draft.rules["mid"]["keep_gmv"]) == ("tighter keep", "Q3", "90000")
    assert (draft.created_by, draft.updated_by) == (author, admin_user)
    assert admin_user.username in admin_client.get(reverse("admin:tiers_tierpolicy_changelist")).content.decode()


def test_ending_an_override_records_who_ended_it_and_shows_it(admin_client, admin_user):
    creator = InfluencerFactory()
    pinned_by = UserFactory(username="pinner", is_staff=True)
    override = override_create(influencer=creator, field="tier", value="mid", reason="pilot", by=pinned_by)

    admin_client.post(reverse("admin:tiers_tieroverride_changelist"),
                      {"action": "end_overrides", "_selected_action": [override.pk]})
    page = admin_client.get(reverse("admin:tiers_tieroverride_change", args=[override.pk])).content.decode()

    override.refresh_from_db()
    assert (override.created_by, override.ended_by, override.end_reason) == (pinned_by, admin_user, "revoked")
    assert "pinner" in page and admin_user.username in page and "运营人员已结束" in page
    with pytest.raises(ServiceError, match="运营人员已结束"):  # the reason, in words, not a code
        override_end(override=override, by=admin_user)


def test_a_replaced_override_records_who_replaced_it():
    creator = InfluencerFactory()
    first_by, second_by = UserFactory(username="first", is_staff=True), UserFactory(username="second", is_staff=True)
    first = override_create(influencer=creator, field="tier", value="mid", reason="pilot", by=first_by)

    override_create(influencer=creator, field="tier", value="head", reason="signed", by=second_by)

    first.refresh_from_db()
    assert (first.end_reason, first.ended_by) == ("replaced", second_by)
