"""Staff pin the tier or type of many creators at once: preview, then apply once, each creator told."""

import uuid
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext

from audit.models import AuditAction, AuditEntry
from tiers.choices import OverrideField, Tier
from tiers.models import OverrideBatch, TierDecision, TierOverride
from tiers.services import override_bulk_apply, override_bulk_preview
from tiers.tasks import after_decision
from tiers.tests.factories import InfluencerFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"
PIN = reverse("admin:tiers_influencer_pin")


@pytest.fixture
def told_creators(monkeypatch):
    """The decisions whose creators are told (after_decision tasks the outbox sends after commit)."""
    told = []

    def send_task(*, name, args):
        if name == after_decision.name:
            told.append(args[0])

    monkeypatch.setattr("core.outbox.send_task", send_task)
    return told


def _form(ids, **overrides):
    return {"field": OverrideField.TIER, "value": Tier.MID, "reason": "3.8 festival key accounts",
            "expires_at": "2099-03-09T00:00", "ids": ",".join(map(str, ids)), **overrides}


def told(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_action_opens_the_pin_form_for_the_selected_creators(admin_client):
    creators = InfluencerFactory.create_batch(3, tier=Tier.TAIL)

    response = admin_client.post(reverse("admin:tiers_influencer_changelist"),
                                 {"action": "pin_selected", "_selected_action": [c.pk for c in creators]})

    assert response.status_code == 200
    assert response.context["form"]["ids"].value() == ",".join(str(c.pk) for c in sorted(creators, key=lambda c: c.pk))
    assert response.context["selected"] == 3


def test_the_preview_shows_what_changes_and_writes_nothing(admin_client):
    tail, already_mid = InfluencerFactory(tier=Tier.TAIL), InfluencerFactory(tier=Tier.MID)

    response = admin_client.post(PIN, _form([tail.pk, already_mid.pk]))

    assert response.status_code == 200
    preview = response.context["preview"]
    assert sorted(preview.to_pin) == sorted([tail.pk, already_mid.pk]) and preview.unchanged == []
    assert response.context["moving"] == 1  # the mid creator's tier stays what it is
    assert response.context["form"]["token"].value()  # the confirm form carries its one-time token
    assert (TierOverride.objects.count(), OverrideBatch.objects.count(), AuditEntry.objects.count()) == (0, 0, 0)


def test_the_same_form_sent_twice_applies_once(admin_client, told_creators, django_capture_on_commit_callbacks):
    creators = InfluencerFactory.create_batch(4, tier=Tier.TAIL)
    confirm = {**_form([c.pk for c in creators]), "token": str(uuid.uuid4())}

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(PIN, confirm)
    told_first = len(told_creators)
    with django_capture_on_commit_callbacks(execute=True):
        second = admin_client.post(PIN, confirm)

    assert first.status_code == second.status_code == 302
    assert TierOverride.objects.filter(ended_at__isnull=True, value=Tier.MID).count() == 4
    assert TierOverride.objects.count() == 4 and OverrideBatch.objects.get().pinned == 4
    assert told_first == 4 and len(told_creators) == 4  # each creator told once, by the first send only
    assert TierDecision.objects.filter(tier_after=Tier.MID).count() == 4
    assert AuditEntry.objects.filter(action=AuditAction.OVERRIDE_CREATE).count() == 4
    # in the site's language (Chinese: the test sends no other)
    assert gettext("Bulk override #%(id)s was already applied; nothing changed this time.") % {
        "id": OverrideBatch.objects.get().pk} in told(second)


def test_a_new_bulk_pin_with_the_same_values_leaves_pinned_creators_as_they_are():
    staff = UserFactory(username="ops_bulk")
    creators = InfluencerFactory.create_batch(2)
    ids = [c.pk for c in creators]
    values = {"field": OverrideField.TIER, "value": Tier.HEAD, "reason": "key accounts", "expires_at": None}

    first, applied = override_bulk_apply(token=uuid.uuid4(), influencer_ids=ids, by=staff, **values)
    again, applied_again = override_bulk_apply(token=uuid.uuid4(), influencer_ids=ids, by=staff, **values)
    replay, applied_replay = override_bulk_apply(token=first.token, influencer_ids=ids, by=staff, **values)

    assert (applied, first.pinned, first.unchanged) == (True, 2, 0)
    assert (applied_again, again.pinned, again.unchanged) == (True, 0, 2)
    assert (applied_replay, replay.pk) == (False, first.pk)
    assert TierOverride.objects.count() == 2


@pytest.mark.parametrize("name", ["zh_utf8.csv", "zh_libreoffice.xlsx"])
def test_a_file_of_platform_ids_names_the_creators_and_the_unknown_ids(admin_client, name):
    known = InfluencerFactory(platform_id="ks-000001", tier=Tier.TAIL)
    upload = SimpleUploadedFile(name, (FIXTURES / name).read_bytes())

    response = admin_client.post(PIN, {**_form([]), "file": upload})

    assert response.status_code == 200
    assert response.context["preview"].to_pin == [known.pk]
    assert response.context["unknown"] == ["ks-900001"]
    assert response.context["form"]["ids"].value() == str(known.pk)


def test_a_file_without_an_id_column_is_a_form_error(admin_client):
    upload = SimpleUploadedFile("list.csv", "名字\n某人\n".encode())

    response = admin_client.post(PIN, {**_form([]), "file": upload})

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert TierOverride.objects.count() == 0


def test_mistakes_come_back_on_their_fields(admin_client):
    creator = InfluencerFactory()

    response = admin_client.post(PIN, _form([creator.pk], value="persona", reason=" ", expires_at="2001-01-01T00:00"))

    errors = response.context["form"].errors
    assert response.status_code == 200 and {"value", "reason", "expires_at"} <= set(errors)


def test_the_preview_takes_as_many_queries_for_many_creators_as_for_few(admin_client):
    def queries(count):
        ids = [c.pk for c in InfluencerFactory.create_batch(count)]
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.post(PIN, _form(ids)).status_code == 200
        return len(ctx.captured_queries)

    assert queries(3) == queries(40)


def test_the_service_preview_is_two_queries(django_assert_num_queries):
    ids = [c.pk for c in InfluencerFactory.create_batch(30)]

    with django_assert_num_queries(2):
        override_bulk_preview(influencer_ids=ids, field=OverrideField.TIER, value=Tier.MID, reason="r", expires_at=None)


def test_pinning_in_bulk_needs_the_permission_to_create_overrides(client):
    viewer = UserFactory(username="bulk_viewer", is_staff=True)
    creator = InfluencerFactory()
    client.force_login(viewer)

    answers = [client.get(PIN).status_code, client.post(PIN, {**_form([creator.pk]), "token": str(uuid.uuid4())}).status_code]

    assert answers == [403, 403] and TierOverride.objects.count() == 0
