"""Ship the default tier policy (BRIEF's starting defaults) as published v1."""

from django.db import migrations
from django.utils import timezone

# Frozen here, not read from tiers.rules, so this migration means the same thing forever.
DEFAULT_RULES = {
    "window_days": 30,
    "head": {
        "promote_gmv": "3000000",
        "promote_followers": 5000000,
        "promote_followers_gmv": "1000000",
        "keep_gmv": "2400000",
        "reputation_floor": "4.0",
    },
    "mid": {
        "promote_gmv": "100000",
        "promote_followers": 500000,
        "promote_followers_gmv": "30000",
        "keep_gmv": "80000",
        "reputation_floor": "4.0",
    },
    "newcomer": {"min_days_since_onboarding": 30, "min_active_days": 7},
    "anti_flap": {"max_steps_down": 1, "min_days_in_tier": 14, "grace_days": 14},
    "types": {
        "seeding_min_share": 0.5,
        "vertical_min_top_category_share": 0.7,
        "entertainment_min_video_share": 0.6,
        "entertainment_min_big_live_share": 0.5,
        "entertainment_max_big_live_days": 4,
        "persona_min_live_share": 0.6,
        "persona_min_live_days": 12,
        "persona_min_repeat_buyer_rate": 0.25,
        "switch_margin": 0.05,
    },
}


def create_default_policy(apps, schema_editor):
    TierPolicy = apps.get_model("tiers", "TierPolicy")
    if not TierPolicy.objects.exists():
        TierPolicy.objects.create(
            version=1,
            name="Default policy",
            status="published",
            rules=DEFAULT_RULES,
            notes="BRIEF's starting defaults; clone it to tune.",
            published_at=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [("tiers", "0002_tier_engine")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
