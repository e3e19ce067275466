"""Staff manage coaching in the admin: notes carry their author, rules are validated, enrolment goes through services."""

import json

import pytest
from django.urls import reverse

from coaching.models import CoachingNote, Enrollment, PlaybookRule
from coaching.services import enrollment_sign_up
from coaching.tests.factories import ProgramFactory
from config.tests.admin_walk import browser_form
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db


def test_a_coaching_note_is_written_by_whoever_is_logged_in(admin_client, admin_user):
    creator = InfluencerFactory()

    admin_client.post(reverse("admin:coaching_coachingnote_add"), {"influencer": creator.pk, "body": "1:1 — plan three small lives a week"})

    note = CoachingNote.objects.get()
    assert (note.author, note.influencer) == (admin_user, creator)


def test_a_playbook_rule_with_a_typo_is_refused_naming_the_field(admin_client):
    data = {"code": "typo_rule", "priority": 10, "tiers": "[]", "types": "[]",
            "conditions": json.dumps([{"feature": "gvm", "op": "<", "value": 1}]), "targets": "{}",
            "text_zh": "文案", "text_en": "Text", "is_active": "on"}

    page = admin_client.post(reverse("admin:coaching_playbookrule_add"), data).content.decode()

    assert "conditions[0].feature" in page and not PlaybookRule.objects.filter(code="typo_rule").exists()


def test_staff_add_a_creator_to_a_campaign_through_the_service(admin_client):
    campaign = ProgramFactory(eligible_tiers=["tail"], enrollment_policy="opt_in")
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()

    admin_client.post(reverse("admin:coaching_enrollment_add"), {"influencer": creator.pk, "program": campaign.pk})

    enrollment = Enrollment.objects.get(program=campaign)
    assert (enrollment.source, enrollment.reason) == ("staff", "added_by_staff")


def test_recording_a_campaign_result_records_who_did_it(admin_client, admin_user):
    campaign = ProgramFactory(eligible_tiers=["tail"], enrollment_policy="opt_in")
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()
    enrollment = enrollment_sign_up(influencer=creator, program=campaign, by=admin_user, source="staff")
    path = reverse("admin:coaching_enrollment_change", args=[enrollment.pk])
    form, _kinds = browser_form(admin_client.get(path), Enrollment)

    response = admin_client.post(path, {**form, "result_gmv": "52000.00", "result_note": "3.8 sale"})

    enrollment.refresh_from_db()
    assert response.status_code == 302
    assert (str(enrollment.result_gmv), enrollment.result_note, enrollment.result_recorded_by) == (
        "52000.00", "3.8 sale", admin_user)
    assert admin_user.username in admin_client.get(path).content.decode()
