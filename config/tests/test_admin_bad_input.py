"""A staff mistake, or a hand-edited URL, gets a form error, a message or a 4xx: never a 500."""

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.utils import timezone

from coaching.models import Enrollment, Program
from coaching.services import NOT_ELIGIBLE, PROGRAM_FULL, WHY_NOT
from coaching.tests.factories import ProgramFactory
from config.tests.admin_walk import browser_form, registered, url
from core.admin_base import LIST_PARAMETERS_INVALID, SELECTION_INVALID
from tiers.choices import PolicyStatus
from tiers.models import DailyMetric, TierOverride, TierPolicy
from tiers.services import OVERRIDE_EXPIRY_PAST

pytestmark = pytest.mark.django_db

# What a hand-edited URL or a careless paste puts where an id, a number or a word belongs: a number
# beyond any column (SQLite fails on it; Django's date hierarchy too), a NUL (PostgreSQL refuses it).
BAD_VALUES = ["99999999999999999999", "\x00"]
BAD_IDS = ["abc", "99999999999999999999", "-1", "%00"]
# What a JSON field must refuse: NaN and infinity (Python's json reads them; PostgreSQL does not), a
# NUL in text (PostgreSQL refuses it), nesting deep enough to break the parser.
BAD_JSON = ["NaN", '{"a": Infinity}', '{"a": "\\u0000"}', "[" * 3000 + "]" * 3000]
ANSWERS = {200, 302, 400, 403, 404}
ADMINS = [pytest.param(model, model_admin, id=model._meta.label) for model, model_admin in registered()]


@pytest.fixture
def answer(admin_client):
    """The status of a request, a 500 included; each request in a savepoint, so one error does not end the test."""
    admin_client.raise_request_exception = False

    def send(method, path, data=None):
        with transaction.atomic():
            response = getattr(admin_client, method)(path, data or {})
            transaction.set_rollback(True)
        return response.status_code

    return send


def _list_parameters(admin_client, model, model_admin) -> set[str]:
    """Every parameter the changelist reads: its filters, its foreign keys by id, search, sort, page, dates."""
    changelist = admin_client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    names = {name for spec in changelist.context["cl"].filter_specs for name in spec.expected_parameters()}
    names |= {f"{field.name}__id__exact" for field in model._meta.fields if field.is_relation}
    names |= {"p", "o", "q", "id__exact", "_to_field"}
    if model_admin.date_hierarchy:
        names |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return names


def test_every_changelist_answers_bad_filters_sorts_and_pages(admin_client, admin_world, answer):
    failures = []
    for model, model_admin in registered():
        for name in sorted(_list_parameters(admin_client, model, model_admin)):
            for value in BAD_VALUES + (["abc"] if name in ("p", "o") else []):
                status = answer("get", url(model, "changelist"), {name: value})
                if status not in ANSWERS:
                    failures.append((model._meta.label, name, value, status))

    assert failures == []


def test_an_impossible_filter_shows_the_whole_list_with_a_message(admin_client, admin_world):
    changelist = url(DailyMetric, "changelist")

    response = admin_client.get(changelist, {"influencer__id__exact": "99999999999999999999"}, follow=True)
    nul = admin_client.get(changelist, {"q": "ks\x00"}, follow=True)

    assert response.status_code == 200 and response.context["cl"].result_count == 0  # matches nothing
    assert nul.status_code == 200 and str(LIST_PARAMETERS_INVALID) in [str(m) for m in get_messages(nul.wsgi_request)]


def test_every_object_page_answers_an_id_that_cannot_exist(admin_world, answer):
    failures = [
        (model._meta.label, view, bad_id, status)
        for model, _ in registered()
        for bad_id in BAD_IDS
        for view in ("change", "delete", "history")
        if (status := answer("get", f"{url(model, 'changelist')}{bad_id}/{view}/")) not in ANSWERS
    ]

    assert failures == []


def test_every_action_refuses_a_selection_of_ids_that_cannot_exist(admin_client, admin_world, answer, rf, admin_user):
    request = rf.post("/")
    request.user = admin_user
    statuses = {
        (model._meta.label, action, selected): answer("post", url(model, "changelist"),
                                                      {"action": action, "_selected_action": [selected], "index": 0})
        for model, model_admin in registered()
        for action in model_admin.get_actions(request)  # those an admin may run; the rest answer 403
        for selected in ("abc", "99999999999999999999")
    }
    refused = admin_client.post(url(TierOverride, "changelist"),
                                {"action": "end_overrides", "_selected_action": ["abc"], "index": 0})

    assert {key: status for key, status in statuses.items() if status != 400} == {}
    assert refused.content.decode() == str(SELECTION_INVALID)


@pytest.mark.parametrize(("model", "model_admin"), ADMINS)
def test_every_form_answers_bad_input_with_form_errors(admin_client, admin_world, answer, model, model_admin):
    """Each add and change form as a browser sends it, then with bad values: every field at once, and
    each JSON and number field alone (so the rest of the form is valid and the value reaches the save)."""
    obj = admin_world["draft"] if model is TierPolicy else model._default_manager.first()
    failures = []
    for page in (url(model, "add"), url(model, "change", obj.pk)):
        shown = admin_client.get(page)
        if shown.status_code == 403:
            continue  # nobody may add or change these; the permission test holds that
        assert shown.status_code == 200, page
        data, kinds = browser_form(shown, model)
        # The empty row templates of inlines (__prefix__) are ignored by Django; later rows repeat the first.
        fields = {name: kind for name, kind in kinds.items() if "__prefix__" not in name
                  and not any(f"-{row}-" in name for row in range(1, 100))}
        attempts = [("as shown", data)]
        attempts += [(f"every field {value!r}", {name: (value if fields.get(name) not in (None, "hidden", "checkbox", "radio")
                                                          else current) for name, current in data.items()})
                     for value in [*BAD_VALUES, "abc", "NaN"]]
        for name, kind in fields.items():
            for value in BAD_JSON if kind == "textarea" else [BAD_VALUES[0]] if kind == "number" else []:
                attempts.append((f"{name}={value[:20]!r}", {**data, name: value}))
        for what, sent in attempts:
            if (status := answer("post", page, sent)) not in ANSWERS:
                failures.append((page, what, status))

    assert failures == []


# --- the mistakes the issue found, each back on its field -------------------------------------------


def _form_errors(response) -> dict:
    return {name: [str(e) for e in errors] for name, errors in response.context["adminform"].form.errors.items()}


def test_an_override_value_that_does_not_fit_its_field_is_a_form_error(admin_client, admin_world):
    response = admin_client.post(url(TierOverride, "add"), {"influencer": admin_world["tail"].pk, "field": "tier",
                                                            "value": "seeding", "reason": "pilot"})
    free_text = admin_client.post(url(TierOverride, "add"), {"influencer": admin_world["tail"].pk, "field": "tier",
                                                             "value": "superstar", "reason": "pilot"})

    assert response.status_code == 200 and list(_form_errors(response)) == ["value"]
    assert "'seeding'" in _form_errors(response)["value"][0]
    assert free_text.status_code == 200 and list(_form_errors(free_text)) == ["value"]
    assert not TierOverride.objects.filter(influencer=admin_world["tail"], ended_at__isnull=True).exists()


def test_an_override_expiring_in_the_past_is_a_form_error(admin_client, admin_world):
    past = timezone.localtime() - timezone.timedelta(days=1)

    response = admin_client.post(url(TierOverride, "add"), {
        "influencer": admin_world["tail"].pk, "field": "tier", "value": "mid", "reason": "pilot",
        "expires_at_0": past.strftime("%Y-%m-%d"), "expires_at_1": past.strftime("%H:%M:%S"),
    })

    errors = _form_errors(response)
    assert response.status_code == 200 and list(errors) == ["expires_at"]
    assert errors["expires_at"][0].startswith(str(OVERRIDE_EXPIRY_PAST).split("{")[0])


def test_an_ineligible_or_full_enrolment_is_a_form_error(admin_client, admin_world):
    head_only = ProgramFactory(code="head-only", eligible_tiers=["head"], enrollment_policy="opt_in")
    full = ProgramFactory(code="full", eligible_tiers=["tail"], enrollment_policy="opt_in", capacity=0)

    ineligible = admin_client.post(url(Enrollment, "add"), {"influencer": admin_world["tail"].pk, "program": head_only.pk})
    no_room = admin_client.post(url(Enrollment, "add"), {"influencer": admin_world["tail"].pk, "program": full.pk})

    assert _form_errors(ineligible) == {"influencer": [NOT_ELIGIBLE.format(program=head_only.name, why=WHY_NOT["tier_below"])]}
    assert _form_errors(no_room) == {"program": [PROGRAM_FULL.format(program=full.name)]}
    assert not Enrollment.objects.filter(program__in=[head_only, full]).exists()


def test_a_service_refusing_after_the_form_passed_is_a_message_and_changes_nothing(admin_client, admin_world, monkeypatch):
    """Between the form's check and the save another request can fill the last place: the service's
    own check, under its lock, refuses, and staff are told."""
    last_place = ProgramFactory(code="last-place", eligible_tiers=["tail"], enrollment_policy="opt_in", capacity=1)
    monkeypatch.setattr("coaching.admin.enrollment_sign_up_check", lambda **kwargs: None)  # the form saw a free place
    Enrollment.objects.create(influencer=admin_world["mid"], program=last_place, reason="added_by_staff",
                              enrolled_on=timezone.localdate())  # … then it went

    response = admin_client.post(url(Enrollment, "add"), {"influencer": admin_world["tail"].pk, "program": last_place.pk})

    assert response.status_code == 302 and response["Location"] == url(Enrollment, "add")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [PROGRAM_FULL.format(program=last_place.name)]
    assert Enrollment.objects.filter(program=last_place).count() == 1


def test_a_published_policy_cannot_be_saved(admin_client, admin_world):
    published = TierPolicy.objects.published().get()

    response = admin_client.post(url(TierPolicy, "change", published.pk), {"name": "renamed"})

    assert response.status_code == 403
    published.refresh_from_db()
    assert published.status == PolicyStatus.PUBLISHED and published.name != "renamed"
    assert Program.objects.exists()  # the world is still there: nothing else was touched
