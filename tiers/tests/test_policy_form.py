"""The policy editor: a labelled field per rule with its unit, errors from PolicyRules on their fields, the
published version beside each value."""

from dataclasses import fields

import pytest
from django.urls import reverse
from django.utils import translation

from tiers.choices import PolicyStatus
from tiers.models import TierPolicy
from tiers.policy_form import RULES, TierPolicyForm, form_data
from tiers.rules import _SECTIONS, PolicyRules
from tiers.services import policy_clone

pytestmark = pytest.mark.django_db


def test_every_rule_of_the_policy_has_exactly_one_field():
    default = PolicyRules.default()
    paths = {"window_days"} | {f"{name}.{f.name}" for name in _SECTIONS for f in fields(getattr(default, name))}
    assert sorted(rule.path for rule in RULES) == sorted(paths)


def test_shares_are_shown_as_percentages_and_stored_as_the_same_json():
    data = form_data(PolicyRules.default().to_json())
    assert data["types__seeding_min_share"] == "50" and data["types__persona_min_repeat_buyer_rate"] == "25"
    assert data["mid__promote_gmv"] == "100000"
    form = TierPolicyForm(data={"name": "same", "notes": "", **data})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["rules"] == PolicyRules.default().to_json()


@pytest.mark.parametrize(("field", "value", "error"), [
    ("mid__keep_gmv", "150000", "must not be above “promote at GMV”"),
    ("mid__promote_gmv", "5000000", "must be below head's “promote at GMV”"),
    ("types__seeding_min_share", "120", "must be between 0% and 100%"),
    ("types__vertical_min_top_category_share", "-5", "must be between 0% and 100%"),
    ("window_days", "120", "must be between 1 and 90 days"),
    ("anti_flap__grace_days", "2.5", "must be a whole number"),
    ("head__reputation_floor", "6", "must be between 0 and 5"),
    ("mid__promote_followers", "lots", "must be a whole number"),
    ("anti_flap__max_steps_down", "0", "must be at least 1"),
])
def test_a_mistake_is_shown_on_its_field_in_the_staff_language(field, value, error):
    data = {"name": "bad", "notes": "", **form_data(PolicyRules.default().to_json()), field: value}
    with translation.override("en"):
        form = TierPolicyForm(data=data)
        assert not form.is_valid()
        assert form.errors == {field: [error]}
    with translation.override("zh-hans"):
        form = TierPolicyForm(data=data)
        form.is_valid()
        assert form.errors[field][0] != error  # said in Chinese


def test_the_admin_shows_the_draft_beside_the_published_version_with_changes_highlighted(admin_client, admin_user):
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=admin_user)
    rules = {**draft.rules, "mid": {**draft.rules["mid"], "promote_gmv": "120000"}}
    path = reverse("admin:tiers_tierpolicy_change", args=[draft.pk])
    saved = admin_client.post(path, {"name": "raised", "notes": "", **form_data(rules)})
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.rules["mid"]["promote_gmv"] == "120000" and draft.status == PolicyStatus.DRAFT

    with translation.override("en"):
        page = admin_client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="changed" id="id_mid__promote_gmv"' in page or 'id="id_mid__promote_gmv" class="changed"' in page \
        or ('name="mid__promote_gmv"' in page and 'class="changed"' in page)
    assert page.count('<tr class="changed">') == 1  # only the value that changed
    assert "¥100,000" in page and "¥120,000" in page
