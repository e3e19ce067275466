"""Daily refreshes against the database: a judged creator never becomes a newcomer, and no tier flaps."""

import datetime
from collections import defaultdict

import pytest
from django.utils import timezone

from tiers.choices import LADDER, TIER_RANK, CreatorType, OverrideField, Tier
from demo.population import seed_population
from tiers.models import Influencer, TierDecision, TierOverride
from tiers.selectors import policy_rules_published, window_features
from tiers.refresh import refresh_run_sync
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

def test_a_judged_creator_whose_metrics_stop_is_never_a_newcomer_and_keeps_their_type(days_ago):
    # given a mid creator (¥600k in the window, one category) whose last sale was 45 days ago
    creator = InfluencerFactory()
    metric_days(creator, days=30, end=days_ago(45), gmv="20000")
    refresh_run_sync(today=days_ago(45))

    # when every day since is refreshed: the window thins out, falls under the keep line on days_ago(18)
    # and is empty from days_ago(15) on
    for n in range(44, -1, -1):
        refresh_run_sync(today=days_ago(n))

    # then they were never a newcomer, stepped down once the grace period was over, and kept their type
    moves = list(TierDecision.objects.filter(influencer=creator).order_by("decided_on", "pk")
                 .values_list("decided_on", "tier_after", "type_after"))
    assert moves == [(days_ago(45), Tier.MID, CreatorType.VERTICAL), (days_ago(4), Tier.TAIL, CreatorType.VERTICAL)]
    creator.refresh_from_db()
    assert (creator.tier, creator.creator_type) == (Tier.TAIL, CreatorType.VERTICAL)


def test_a_judged_creator_whose_tier_pin_lapses_during_thin_data_is_not_a_newcomer(days_ago):
    # given a tail creator, judged by the rules 40 days ago, then pinned to mid by staff
    creator = InfluencerFactory()
    metric_days(creator, days=30, end=days_ago(40), gmv="1000")
    refresh_run_sync(today=days_ago(40))
    staff = UserFactory(username="ops-lead", is_staff=True)
    pin = override_create(influencer=creator, field=OverrideField.TIER, value=Tier.MID, reason="trial",
                          expires_at=timezone.now() + datetime.timedelta(hours=1), by=staff)

    # when the pin lapses on a day with only 3 active days in the window
    TierOverride.objects.filter(pk=pin.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    metric_days(creator, days=3, end=days_ago(0), gmv="100")
    refresh_run_sync(today=days_ago(0))

    # then the rules judge them as they would have without the pin: tail, not newcomer
    creator.refresh_from_db()
    assert creator.tier == Tier.TAIL


def test_a_creator_pinned_before_ever_being_judged_is_judged_afresh_when_the_pin_lapses(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(5))
    metric_days(creator, days=5, gmv="1000")
    refresh_run_sync()
    staff = UserFactory(username="ops-lead", is_staff=True)
    pin = override_create(influencer=creator, field=OverrideField.TIER, value=Tier.MID, reason="migrated account",
                          expires_at=timezone.now() + datetime.timedelta(hours=1), by=staff)

    TierOverride.objects.filter(pk=pin.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    refresh_run_sync()

    creator.refresh_from_db()
    assert creator.tier == Tier.NEWCOMER  # the pin was never a judgement


# --- the demo population over 29 daily refreshes ------------------------------------------------

DEMO_CREATORS, DEMO_DAYS, REFRESHES = 3_000, 60, 29


def test_demo_population_over_29_daily_refreshes_never_turns_judged_into_newcomer_nor_flaps(days_ago, today):
    # given the demo population, 60 days of metrics ending today
    seed_population(influencers=DEMO_CREATORS, days=DEMO_DAYS, seed=8, logins=False, progress=False)
    rules = policy_rules_published()
    anti_flap = rules.anti_flap
    min_stay = datetime.timedelta(days=anti_flap.min_days_in_tier)

    # when it is refreshed once a day for 29 days, the oldest first
    for n in range(REFRESHES - 1, -1, -1):
        refresh_run_sync(today=days_ago(n))

    # then, from the ledger: no judged creator became a newcomer
    ledger = defaultdict(list)
    for row in TierDecision.objects.order_by("influencer_id", "decided_on", "pk").values_list(
        "influencer_id", "decided_on", "tier_before", "tier_after"
    ):
        ledger[row[0]].append(row[1:])
    judged_to_newcomer = [
        (creator, moves) for creator, moves in ledger.items()
        if any(before in LADDER and after == Tier.NEWCOMER for _, before, after in moves)
    ]
    assert judged_to_newcomer == []

    # and from the states: everyone the ledger ever shows judged is judged now
    ever_judged = {creator for creator, moves in ledger.items() if any(after in LADDER for _, _, after in moves)}
    newcomers_now = set(Influencer.objects.filter(tier=Tier.NEWCOMER).values_list("id", flat=True))
    assert ever_judged & newcomers_now == set()

    # and no tier flapped: one step down at most, never within the minimum stay of the last move,
    # so no down-up-down or up-down-up within it either
    demotions = promotions = 0
    for creator, moves in ledger.items():
        tier_moves = [(on, before, after) for on, before, after in moves if before != after]
        for (entered_on, _, _), (on, before, after) in zip(tier_moves, tier_moves[1:]):
            if before is not None and TIER_RANK[after] < TIER_RANK[before]:
                demotions += 1
                assert TIER_RANK[before] - TIER_RANK[after] <= anti_flap.max_steps_down, (creator, moves)
                assert on - entered_on >= min_stay, (creator, moves)
            elif before is not None:
                promotions += 1
        directions = [TIER_RANK[after] > TIER_RANK[before] for _, before, after in tier_moves if before is not None]
        dates = [on for on, before, _ in tier_moves if before is not None]
        for i in range(len(directions) - 2):
            alternating = directions[i] != directions[i + 1] != directions[i + 2]
            assert not (alternating and dates[i + 2] - dates[i] < min_stay), (creator, moves)

    # and the run did exercise what it claims: tiers moved both ways, and judged creators went thin
    assert demotions > 0 and promotions > 0
    onboarded = dict(Influencer.objects.values_list("id", "onboarded_on"))
    windows = window_features(first_id=min(onboarded), last_id=max(onboarded), today=today,
                              window_days=rules.window_days, onboarded=onboarded)
    thin_judged = [
        creator for creator in Influencer.objects.filter(tier__in=LADDER).values_list("id", flat=True)
        if creator not in windows or windows[creator].active_days < rules.newcomer.min_active_days
    ]
    assert thin_judged  # each of them a newcomer under the old rule
