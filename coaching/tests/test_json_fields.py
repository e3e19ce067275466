"""Coaching's JSON columns hold only what assignment and the plan read, on every path staff write them."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from coaching.admin import CRITERIA_NOT_A_LIST, CRITERION_NOT_ONE, CRITERION_REQUIRED
from coaching.models import Notification, PlaybookRule, Program, Stage, Task
from coaching.reviews import review_reply, review_request_create
from coaching.tests.factories import ProgramFactory
from config.tests.admin_walk import browser_form
from core.admin_base import JSON_NOT_FINITE
from tiers.tests.factories import InfluencerFactory

pytestmark = pytest.mark.django_db


def errors(response) -> dict:
    """Form errors by field name, the inline rows' included (as "<prefix>-<row>-<field>")."""
    assert response.status_code == 200, "the form was accepted"
    found = {name: [str(e) for e in errs] for name, errs in response.context["adminform"].form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            found.update({f"{form.prefix}-{name}": [str(e) for e in errs] for name, errs in form.errors.items()})
    return found


def edit(admin_client, path, model, **changes):
    """Post the page's form as a browser would, with `changes`."""
    data, _kinds = browser_form(admin_client.get(path), model)
    return admin_client.post(path, {**data, **changes})


# --- programme eligibility -------------------------------------------------------------------------


# Staff read the admin in Chinese: its form errors, validators' messages included, are Chinese too.
@pytest.mark.parametrize(("field", "value", "message"), [
    ("eligible_tiers", "5", "eligible_tiers: 必须是列表"),
    ("eligible_tiers", '["mid", "superstar"]', "eligible_tiers[1]: 未知层级 'superstar'"),
    ("eligible_tiers", '"mid"', "eligible_tiers: 必须是列表"),
    ("eligible_types", '["seeding", 5]', "eligible_types[1]: 未知达人类型 5"),
    ("eligible_categories", '{"beauty": 1}', "eligible_categories: 必须是列表"),
    ("eligible_categories", '["shoes"]', "eligible_categories[0]: 未知类目 'shoes'"),
    ("eligible_tiers", "[NaN]", str(JSON_NOT_FINITE)),
])
def test_programme_eligibility_is_a_list_of_known_values(admin_client, field, value, message):
    programme = ProgramFactory(code="eligibility")
    path = reverse("admin:coaching_program_change", args=[programme.pk])

    response = edit(admin_client, path, Program, **{field: value})

    assert errors(response) == {field: [message]}
    programme.refresh_from_db()
    assert (programme.eligible_tiers, programme.eligible_types, programme.eligible_categories) == (["mid"], [], [])


def test_valid_eligibility_is_saved(admin_client):
    programme = ProgramFactory(code="eligibility")
    path = reverse("admin:coaching_program_change", args=[programme.pk])

    response = edit(admin_client, path, Program, eligible_tiers='["tail", "mid"]', eligible_categories='["beauty"]')

    programme.refresh_from_db()
    assert response.status_code == 302 and (programme.eligible_tiers, programme.eligible_categories) == (["tail", "mid"], ["beauty"])


# --- stage and task criteria, on their own page and as rows of their parent's ----------------------


@pytest.fixture
def village():
    return Program.objects.get(code="newcomer-village")


BAD_CRITERIA = [
    ('[{"feature": "gvm", "op": ">=", "value": 1}]', "entry_criteria[0].feature: 未知指标 'gvm'"),
    ('[{"feature": "orders", "op": "=>", "value": 1}]', "entry_criteria[0].op: 必须是以下之一：<, <=, >, >=, ==, !="),
    ('[{"feature": "orders", "op": ">=", "value": "many"}]', "entry_criteria[0].value: 必须是数字"),
    ('{"feature": "orders", "op": ">=", "value": 1}', str(CRITERIA_NOT_A_LIST)),
    ("5", str(CRITERIA_NOT_A_LIST)),
    ('[{"feature": "orders", "op": ">=", "value": Infinity}]', str(JSON_NOT_FINITE)),
]


@pytest.mark.parametrize(("value", "message"), BAD_CRITERIA)
def test_stage_criteria_are_checked_on_the_stage_page(admin_client, village, value, message):
    stage = village.stages.first()
    path = reverse("admin:coaching_stage_change", args=[stage.pk])

    response = edit(admin_client, path, Stage, entry_criteria=value)

    assert errors(response) == {"entry_criteria": [message]}
    stage.refresh_from_db()
    assert stage.entry_criteria == []


@pytest.mark.parametrize(("value", "message"), BAD_CRITERIA)
def test_stage_criteria_are_checked_as_a_row_of_the_programme(admin_client, village, value, message):
    """The inline used to skip the stage's form: a typo there made a stage impossible to enter."""
    stage = village.stages.order_by("order").first()
    path = reverse("admin:coaching_program_change", args=[village.pk])

    response = edit(admin_client, path, Program, **{"stages-0-entry_criteria": value})

    assert errors(response) == {"stages-0-entry_criteria": [message]}
    stage.refresh_from_db()
    assert stage.entry_criteria == []


@pytest.mark.parametrize(("check_by", "value", "message"), [
    ("metric", '{"feature": "orders", "op": "=>", "value": 1}', "criterion.op: 必须是以下之一：<, <=, >, >=, ==, !="),
    ("metric", '[{"feature": "orders", "op": ">=", "value": 1}]', str(CRITERION_NOT_ONE)),
    ("metric", "{}", str(CRITERION_REQUIRED)),
    ("metric", '{"feature": "orders", "op": ">=", "value": NaN}', str(JSON_NOT_FINITE)),
    ("self_report", '{"feature": "nope", "op": ">=", "value": 1}', "criterion.feature: 未知指标 'nope'"),
])
def test_task_criteria_are_checked_as_a_row_of_the_stage(admin_client, village, check_by, value, message):
    stage = village.stages.order_by("order").first()
    task = stage.tasks.order_by("order").first()
    path = reverse("admin:coaching_stage_change", args=[stage.pk])
    before = task.criterion

    response = edit(admin_client, path, Stage, **{"tasks-0-check_by": check_by, "tasks-0-criterion": value})

    assert errors(response) == {"tasks-0-criterion": [message]}
    task.refresh_from_db()
    assert task.criterion == before


def test_valid_criteria_are_saved_through_the_inline(admin_client, village):
    stage = village.stages.order_by("order").first()
    criteria = [{"feature": "orders", "op": ">=", "value": 3}]

    response = edit(admin_client, reverse("admin:coaching_program_change", args=[village.pk]), Program,
                    **{"stages-0-entry_criteria": json.dumps(criteria)})

    stage.refresh_from_db()
    assert response.status_code == 302 and stage.entry_criteria == criteria


# --- the playbook ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["tiers", "types", "conditions", "targets"])
def test_playbook_json_refuses_nan(admin_client, field):
    rule = PlaybookRule.objects.first()
    path = reverse("admin:coaching_playbookrule_change", args=[rule.pk])

    response = edit(admin_client, path, PlaybookRule, **{field: "[NaN]" if field != "targets" else '{"x": NaN}'})

    assert errors(response) == {field: [str(JSON_NOT_FINITE)]}


# --- the database refuses what the code would choke on, whatever writes it ----------------------------


@pytest.fixture
def rows(village, admin_user):
    creator = InfluencerFactory()
    review = review_request_create(influencer=creator, subject="tier", message="why?")
    review_reply(review=review, reply="because", by=admin_user)
    stage = village.stages.first()
    return {Program: village, Stage: stage, Task: stage.tasks.first(), PlaybookRule: PlaybookRule.objects.first(),
            Notification: Notification.objects.first()}


@pytest.mark.parametrize(("model", "field", "value"), [
    (Program, "eligible_tiers", 5),
    (Program, "eligible_tiers", ["superstar"]),
    (Program, "eligible_tiers", [["mid"]]),
    (Program, "eligible_tiers", ["mid "]),
    (Program, "eligible_types", "seeding"),
    (Program, "eligible_types", ["seeding", "actor"]),
    (Program, "eligible_categories", {"beauty": 1}),
    (Program, "eligible_categories", ["shoes"]),
    (Stage, "entry_criteria", {"feature": "orders", "op": ">=", "value": 1}),
    (Stage, "exit_criteria", 5),
    (Task, "criterion", []),
    (PlaybookRule, "tiers", ["superstar"]),
    (PlaybookRule, "types", 5),
    (PlaybookRule, "conditions", {}),
    (PlaybookRule, "targets", []),
    (Notification, "data", ["tier"]),
])
def test_the_database_refuses_json_the_code_would_choke_on(rows, model, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=rows[model].pk).update(**{field: value})


@pytest.mark.parametrize(("field", "value"), [
    ("eligible_tiers", []), ("eligible_tiers", ["newcomer", "tail", "mid", "head"]),
    ("eligible_types", ["persona", "vertical", "seeding", "entertainment"]),
    ("eligible_categories", ["mother_baby", "jade", "fresh"]),
])
def test_the_database_keeps_every_list_of_known_values(rows, field, value):
    Program.objects.filter(pk=rows[Program].pk).update(**{field: value})

    assert getattr(Program.objects.get(pk=rows[Program].pk), field) == value
