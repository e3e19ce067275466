"""Every audited staff action writes exactly one entry in its own transaction; nobody edits or deletes one."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse

from audit.models import AppendOnly, AuditAction, AuditEntry
from coaching.choices import ReviewSubject
from coaching.models import PlaybookRule, Program
from coaching.reviews import review_close, review_reply, review_request_create
from coaching.services import assignment_run
from config.tests.admin_walk import browser_form
from tiers.choices import ImportSource, ImportStatus, OverrideField, RunTrigger, Tier
from tiers.imports import import_batch_create, import_confirm
from tiers.models import ImportBatch, RefreshRun, TierPolicy
from tiers.refresh import refresh_queue, refresh_start
from tiers.services import override_create, override_end, policy_clone, policy_create_draft, policy_publish, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def staff():
    return UserFactory(username="auditor_staff", is_staff=True, is_superuser=True)


@pytest.fixture
def world(staff, monkeypatch):
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: None)
    creator = InfluencerFactory(handle="audited")
    metric_days(creator, days=10)
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=staff)
    pin = override_create(influencer=creator, field=OverrideField.TIER, value=Tier.MID, reason="pilot", by=staff)
    review = review_request_create(influencer=InfluencerFactory(), subject=ReviewSubject.TIER, message="look again")
    checked = import_batch_create(file_name="a.csv", sha256="a" * 64, size=10, source=ImportSource.UPLOAD, by=staff)
    ImportBatch.objects.filter(pk=checked.pk).update(status=ImportStatus.CHECKED)
    return {"creator": creator, "draft": draft, "pin": pin, "review": review, "checked": checked}


def _running_refresh(staff):
    refresh_start(trigger=RunTrigger.STAFF, by=staff)
    return refresh_queue(trigger=RunTrigger.STAFF, by=staff)


# Each audited service, called as staff call it; the action its entry names.
ACTIONS = {
    "draft": (AuditAction.POLICY_DRAFT_CREATE, lambda s, w: policy_create_draft(
        name="v-next", rules=w["draft"].rules, by=s)),
    "edit draft": (AuditAction.POLICY_DRAFT_UPDATE, lambda s, w: policy_update_draft(
        policy=w["draft"], rules=w["draft"].rules, notes="tuned", by=s)),
    "publish": (AuditAction.POLICY_PUBLISH, lambda s, w: policy_publish(policy=w["draft"], by=s, refresh=False)),
    "override": (AuditAction.OVERRIDE_CREATE, lambda s, w: override_create(
        influencer=w["creator"], field=OverrideField.CREATOR_TYPE, value="seeding", reason="trial", by=s)),
    "end override": (AuditAction.OVERRIDE_END, lambda s, w: override_end(override=w["pin"], by=s)),
    "import": (AuditAction.IMPORT_UPLOAD, lambda s, w: import_batch_create(
        file_name="b.csv", sha256="b" * 64, size=10, source=ImportSource.UPLOAD, by=s)),
    "confirm import": (AuditAction.IMPORT_CONFIRM, lambda s, w: import_confirm(batch=w["checked"], by=s)),
    "refresh": (AuditAction.REFRESH_START, lambda s, w: refresh_start(trigger=RunTrigger.STAFF, by=s)),
    "assignment": (AuditAction.ASSIGNMENT_START, lambda s, w: assignment_run()),
    "reply": (AuditAction.REVIEW_REPLY, lambda s, w: review_reply(review=w["review"], reply="checked", by=s)),
    "close": (AuditAction.REVIEW_CLOSE, lambda s, w: review_close(review=w["review"], by=s)),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_every_audited_action_writes_exactly_one_entry(name, staff, world):
    action, do = ACTIONS[name]
    before = set(AuditEntry.objects.values_list("pk", flat=True))

    do(staff, world)

    new = list(AuditEntry.objects.exclude(pk__in=before))
    assert [(entry.action, entry.actor_id) for entry in new] == [
        (action, None if action == AuditAction.ASSIGNMENT_START else staff.pk)]
    assert new[0].object_type and new[0].object_id


@pytest.mark.parametrize("name", [n for n in ACTIONS if n != "assignment"])  # assignment commits chunk by chunk
def test_an_action_rolled_back_takes_its_entry_with_it(name, staff, world):
    _action, do = ACTIONS[name]
    entries = AuditEntry.objects.count()

    with pytest.raises(Boom), transaction.atomic():
        do(staff, world)
        raise Boom

    assert AuditEntry.objects.count() == entries


def test_a_refresh_asked_for_while_one_runs_is_recorded_as_queued(staff, world):
    before = set(AuditEntry.objects.values_list("pk", flat=True))

    run = _running_refresh(staff)

    actions = list(AuditEntry.objects.exclude(pk__in=before).order_by("id").values_list("action", "object_id"))
    assert actions == [(AuditAction.REFRESH_START, str(RefreshRun.objects.get(active=True).pk)),
                       (AuditAction.REFRESH_QUEUE, str(run.pk))]


def test_the_entry_says_what_changed(staff, world):
    draft = world["draft"]
    rules = {**draft.rules, "mid": {**draft.rules["mid"], "promote_gmv": "120000"}}

    policy_update_draft(policy=draft, rules=rules, by=staff)

    entry = AuditEntry.objects.filter(action=AuditAction.POLICY_DRAFT_UPDATE).get()
    assert entry.before["rules"]["mid"]["promote_gmv"] != "120000"
    assert entry.after["rules"]["mid"]["promote_gmv"] == "120000"
    assert (entry.object_type, entry.object_id, entry.actor_name) == ("tiers.TierPolicy", str(draft.pk), staff.username)


@pytest.mark.django_db(transaction=True)  # a plain test runs inside a transaction of its own
def test_record_outside_a_transaction_is_refused(staff):
    import audit

    with pytest.raises(RuntimeError):
        audit.record(actor=staff, action=AuditAction.ADMIN_CHANGE, object_type="x", object_id=1)


# ---------------------------------------------------------------- admin saves and password sets


def _entries(**filters):
    return list(AuditEntry.objects.filter(**filters).values_list("object_type", "object_id"))


def test_a_programme_edit_in_the_admin_writes_one_entry_with_before_and_after(client, staff):
    client.force_login(staff)
    program = Program.objects.get(code="newcomer-village")
    url = reverse("admin:coaching_program_change", args=[program.pk])
    data, _kinds = browser_form(client.get(url), Program)

    response = client.post(url, {**data, "capacity": "777"})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.ADMIN_CHANGE)
    assert (entry.object_type, entry.object_id) == ("coaching.Program", str(program.pk))
    assert entry.before["capacity"] != 777 and entry.after["capacity"] == 777
    assert entry.after["changes"]


def test_a_playbook_rule_deleted_in_the_admin_is_audited(client, staff):
    client.force_login(staff)
    rule = PlaybookRule.objects.first()

    response = client.post(reverse("admin:coaching_playbookrule_delete", args=[rule.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert _entries(action=AuditAction.ADMIN_DELETE) == [("coaching.PlaybookRule", str(rule.pk))]


def test_a_refused_admin_save_writes_no_entry(client, staff):
    client.force_login(staff)
    program = Program.objects.get(code="newcomer-village")
    url = reverse("admin:coaching_program_change", args=[program.pk])
    data, _kinds = browser_form(client.get(url), Program)

    response = client.post(url, {**data, "eligible_tiers": '["nobody"]'})

    assert response.status_code == 200  # the form again, with its error
    assert AuditEntry.objects.count() == 0


def test_setting_a_password_in_the_admin_is_audited(client, staff):
    client.force_login(staff)
    someone = UserFactory(username="someone")
    url = reverse("admin:auth_user_password_change", args=[someone.pk])

    response = client.post(url, {"password1": "a-long-new-pass-93", "password2": "a-long-new-pass-93",
                                 "set_usable_password": "true", "usable_password": "true"})

    assert response.status_code == 302
    assert _entries(action=AuditAction.PASSWORD_SET) == [(get_user_model()._meta.label, str(someone.pk))]
    assert AuditEntry.objects.get().after == {"usable_password": True}


def test_a_mistyped_password_writes_no_entry(client, staff):
    client.force_login(staff)
    someone = UserFactory(username="someone")

    response = client.post(reverse("admin:auth_user_password_change", args=[someone.pk]),
                           {"password1": "a-long-new-pass-93", "password2": "different-93", "usable_password": "true"})

    assert response.status_code == 200
    assert AuditEntry.objects.count() == 0


# ---------------------------------------------------------------- append-only


@pytest.fixture
def entry(staff):
    with transaction.atomic():
        import audit

        return audit.record(actor=staff, action=AuditAction.ADMIN_CHANGE, object_type="tiers.Influencer",
                            object_id=1, object_repr="x", reason="because")


def test_the_model_refuses_to_change_or_delete_an_entry(entry):
    entry.reason = "rewritten"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == "because"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_raw_sql_updates_and_deletes(entry):
    from django.db import InternalError, ProgrammingError

    for sql in ("UPDATE audit_auditentry SET reason = 'x' WHERE id = %s", "DELETE FROM audit_auditentry WHERE id = %s"):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).reason == "because"


def test_a_superuser_reads_and_filters_the_log_but_cannot_add_edit_or_delete(client, staff, entry):
    client.force_login(staff)
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])

    listed = client.get(reverse("admin:audit_auditentry_changelist"), {"action__exact": AuditAction.ADMIN_CHANGE})
    shown = client.get(change)
    answers = {
        "add": client.post(reverse("admin:audit_auditentry_add"), {}).status_code,
        "change": client.post(change, {"reason": "rewritten"}).status_code,
        "delete": client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code,
        "delete selected": client.post(reverse("admin:audit_auditentry_changelist"),
                                       {"action": "delete_selected", "_selected_action": [entry.pk]}).status_code,
    }

    assert listed.status_code == 200 and list(listed.context["cl"].result_list) == [entry]
    assert shown.status_code == 200 and "because" in shown.content.decode()
    assert answers == {"add": 403, "change": 403, "delete": 403, "delete selected": 403}
    assert AuditEntry.objects.get(pk=entry.pk).reason == "because"
