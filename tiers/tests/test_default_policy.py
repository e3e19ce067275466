"""The shipped policy is BRIEF's defaults, published, and the only published version."""

import pytest

from tiers.models import TierPolicy
from tiers.rules import PolicyRules


@pytest.mark.django_db
def test_the_migration_ships_the_default_policy_published():
    policy = TierPolicy.objects.published().get()

    assert policy.version == 1
    assert PolicyRules.from_json(policy.rules) == PolicyRules.default()
