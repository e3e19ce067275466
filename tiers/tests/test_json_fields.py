"""The tier engine's JSON columns hold only what the code reads: checked in forms, models and the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tiers.models import CATEGORY_GMV_NOT_AN_OBJECT, DailyMetric, TierDecision, TierPolicy, validate_category_gmv
from tiers.policy_form import form_data
from tiers.rules import PolicyRules
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import DailyMetricFactory, InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [{}, {"beauty": "1234.50"}, {"food": 12, "jade": 0.5, "home": "0"}])
def test_gmv_by_category_accepts_known_categories_and_amounts(value):
    validate_category_gmv(value)


@pytest.mark.parametrize(("value", "named"), [
    ([], str(CATEGORY_GMV_NOT_AN_OBJECT)),
    ("beauty", str(CATEGORY_GMV_NOT_AN_OBJECT)),
    ({"shoes": "10"}, "'shoes'"),
    ({"beauty": "-1"}, "beauty"),
    ({"beauty": "1e3"}, "beauty"),
    ({"beauty": "12,5"}, "beauty"),
    ({"beauty": float("nan")}, "beauty"),
    ({"beauty": float("inf")}, "beauty"),
    ({"beauty": True}, "beauty"),
    ({"beauty": None}, "beauty"),
    ({"beauty": {"live": 1}}, "beauty"),
])
def test_gmv_by_category_refuses_what_the_refresh_cannot_sum_naming_it(value, named):
    with pytest.raises(ValidationError) as refused:
        validate_category_gmv(value)

    assert any(named in message for message in refused.value.messages)


def test_a_metric_row_is_validated_by_its_model():
    metric = DailyMetricFactory.build(influencer=InfluencerFactory(), category_gmv={"beauty": "-5"})

    with pytest.raises(ValidationError) as refused:
        metric.full_clean()

    assert list(refused.value.message_dict) == ["category_gmv"]


@pytest.fixture
def rows():
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()
    return {DailyMetric: DailyMetric.objects.first(), TierPolicy: TierPolicy.objects.first(),
            TierDecision: TierDecision.objects.first()}


@pytest.mark.parametrize(("model", "field", "value"), [
    (DailyMetric, "category_gmv", ["beauty", "1000"]),
    (DailyMetric, "category_gmv", "1000"),
    (TierPolicy, "rules", []),
    (TierDecision, "features", 5),
    (TierDecision, "explanation", ["checks"]),
])
def test_the_database_refuses_json_of_the_wrong_shape(rows, model, field, value):
    """Whatever writes it (an import, the API, SQL by hand), the refresh never meets a bad shape."""
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=rows[model].pk).update(**{field: value})


@pytest.mark.parametrize("window_days", ["NaN", "Infinity", "[]", "3e999999999"])
def test_a_policy_draft_refuses_rules_that_are_not_numbers(admin_client, window_days):
    data = {**form_data(PolicyRules.default().to_json()), "window_days": window_days}
    response = admin_client.post(reverse("admin:tiers_tierpolicy_add"), {"name": "bad", "notes": "", **data})

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["window_days"]
    assert not TierPolicy.objects.filter(name="bad").exists()


def test_a_valid_policy_draft_is_saved_with_its_author(admin_client, admin_user):
    response = admin_client.post(reverse("admin:tiers_tierpolicy_add"),
                                 {"name": "tuned", "notes": "", **form_data(PolicyRules.default().to_json())})

    draft = TierPolicy.objects.get(name="tuned")
    assert response.status_code == 302 and (draft.status, draft.created_by, draft.updated_by) == ("draft", admin_user, admin_user)
