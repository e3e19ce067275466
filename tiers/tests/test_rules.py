"""Tests for the pure tier and type rules: examples for each rule, properties for the whole."""

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tiers.choices import LADDER, Category, CreatorType, Tier
from tiers.rules import (
    KEEP_ABOVE_PROMOTE,
    MID_NOT_BELOW_HEAD,
    NEGATIVE,
    NO_STEP_DOWN,
    NOT_A_NUMBER,
    NOT_A_SHARE,
    NOT_A_WHOLE_NUMBER,
    NOT_AN_OBJECT,
    REPUTATION_FLOOR_OUT_OF_RANGE,
    SCORE_CAP,
    UNKNOWN_FIELD,
    WINDOW_OUT_OF_RANGE,
    AntiFlap,
    DemotionWarning,
    Features,
    Gap,
    Overrides,
    PolicyError,
    PolicyRules,
    TierState,
    TierThresholds,
    decide,
    demotion_warning,
    gap_to_next_tier,
    type_scores,
)
from tiers.tests.factories import FeaturesFactory as creator
from tiers.tests.factories import days_before, features_st, wild_features_st

POLICY = PolicyRules.default()
TODAY = date(2025, 3, 8)
RANK = {tier: rank for rank, tier in enumerate(LADDER)}


days_ago = days_before(TODAY)


def was(tier, since_days=60, below_days=None, creator_type=None):
    return TierState(
        tier=tier,
        creator_type=creator_type,
        tier_since=days_ago(since_days),
        below_keep_since=None if below_days is None else days_ago(below_days),
    )


def newcomer_checks_fired(decision):
    return [
        check.rule for check in decision.checks if check.rule.startswith("newcomer.") and not check.passed
    ]


def check(decision, rule):
    (found,) = [c for c in decision.checks if c.rule == rule]
    return found


# --- policy -----------------------------------------------------------------------------------


def test_default_policy_is_the_briefs_starting_defaults():
    assert POLICY.window_days == 30
    assert POLICY.head == TierThresholds(
        promote_gmv=Decimal("3000000"),
        promote_followers=5_000_000,
        promote_followers_gmv=Decimal("1000000"),
        keep_gmv=Decimal("2400000"),
        reputation_floor=Decimal("4.0"),
    )
    assert POLICY.mid == TierThresholds(
        promote_gmv=Decimal("100000"),
        promote_followers=500_000,
        promote_followers_gmv=Decimal("30000"),
        keep_gmv=Decimal("80000"),
        reputation_floor=Decimal("4.0"),
    )
    assert (POLICY.newcomer.min_days_since_onboarding, POLICY.newcomer.min_active_days) == (30, 7)
    assert POLICY.anti_flap == AntiFlap(max_steps_down=1, min_days_in_tier=14, grace_days=14)
    assert POLICY.types.seeding_min_share == 0.5
    assert POLICY.types.vertical_min_top_category_share == 0.7
    assert POLICY.types.entertainment_min_video_share == 0.6
    assert (POLICY.types.persona_min_live_share, POLICY.types.persona_min_live_days) == (0.6, 12)
    assert POLICY.types.persona_min_repeat_buyer_rate == 0.25
    assert POLICY.validation_errors() == ()


def test_policy_json_round_trips_through_real_json():
    data = json.loads(json.dumps(POLICY.to_json()))

    assert data["head"]["promote_gmv"] == "3000000"
    assert data["anti_flap"]["grace_days"] == 14
    assert PolicyRules.from_json(data) == POLICY


def test_policy_missing_keys_take_defaults():
    policy = PolicyRules.from_json({"mid": {"promote_gmv": "120000"}})

    assert policy.mid.promote_gmv == Decimal("120000")
    assert policy.mid.keep_gmv == POLICY.mid.keep_gmv
    assert policy.head == POLICY.head
    assert PolicyRules.from_json({}) == POLICY


def test_policy_accepts_numbers_written_as_json_numbers_or_strings():
    policy = PolicyRules.from_json(
        {"window_days": "45", "head": {"keep_gmv": 2_000_000.5}, "types": {"switch_margin": "0.1"}}
    )

    assert policy.window_days == 45
    assert policy.head.keep_gmv == Decimal("2000000.5")
    assert policy.types.switch_margin == 0.1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"window_days": 0}, f"window_days: {WINDOW_OUT_OF_RANGE}"),
        ({"window_days": 91}, f"window_days: {WINDOW_OUT_OF_RANGE}"),
        ({"window_days": 30.5}, f"window_days: {NOT_A_WHOLE_NUMBER}"),
        (
            {"head": {"keep_gmv": "3000001"}},
            f"head.keep_gmv: {KEEP_ABOVE_PROMOTE.format(promote='head.promote_gmv')}",
        ),
        (
            {"mid": {"keep_gmv": "100001"}},
            f"mid.keep_gmv: {KEEP_ABOVE_PROMOTE.format(promote='mid.promote_gmv')}",
        ),
        (
            {"mid": {"promote_gmv": "3000000", "keep_gmv": "80000"}},
            f"mid.promote_gmv: {MID_NOT_BELOW_HEAD.format(head='head.promote_gmv')}",
        ),
        (
            {"mid": {"keep_gmv": "2400000", "promote_gmv": "2500000"}},
            f"mid.keep_gmv: {MID_NOT_BELOW_HEAD.format(head='head.keep_gmv')}",
        ),
        ({"mid": {"promote_followers": -1}}, f"mid.promote_followers: {NEGATIVE}"),
        ({"mid": {"promote_followers_gmv": "-0.01"}}, f"mid.promote_followers_gmv: {NEGATIVE}"),
        ({"newcomer": {"min_active_days": -1}}, f"newcomer.min_active_days: {NEGATIVE}"),
        ({"anti_flap": {"grace_days": -3}}, f"anti_flap.grace_days: {NEGATIVE}"),
        ({"anti_flap": {"max_steps_down": 0}}, f"anti_flap.max_steps_down: {NO_STEP_DOWN}"),
        ({"types": {"seeding_min_share": 1.5}}, f"types.seeding_min_share: {NOT_A_SHARE}"),
        ({"types": {"switch_margin": -0.1}}, f"types.switch_margin: {NOT_A_SHARE}"),
        ({"types": {"persona_min_live_days": -12}}, f"types.persona_min_live_days: {NEGATIVE}"),
        ({"head": {"reputation_floor": "5.5"}}, f"head.reputation_floor: {REPUTATION_FLOOR_OUT_OF_RANGE}"),
        ({"mid": {"reputation_floor": "-1"}}, f"mid.reputation_floor: {REPUTATION_FLOOR_OUT_OF_RANGE}"),
        ({"head": {"promote_gmv": "lots"}}, f"head.promote_gmv: {NOT_A_NUMBER}"),
        ({"head": {"promote_gmv": "NaN"}}, f"head.promote_gmv: {NOT_A_NUMBER}"),
        ({"head": {"promote_gmv": True}}, f"head.promote_gmv: {NOT_A_NUMBER}"),
        ({"types": {"seeding_min_share": "Infinity"}}, f"types.seeding_min_share: {NOT_A_NUMBER}"),
        ({"head": ["promote_gmv"]}, f"head: {NOT_AN_OBJECT}"),
        ({"head": {"promot_gmv": "1"}}, f"head.promot_gmv: {UNKNOWN_FIELD}"),
        ({"windows_days": 30}, f"windows_days: {UNKNOWN_FIELD}"),
    ],
)
def test_policy_validation_error(data, error):
    with pytest.raises(PolicyError) as raised:
        PolicyRules.from_json(data)

    assert raised.value.errors == (error,)
    assert error in str(raised.value)


def test_policy_error_lists_every_bad_field():
    with pytest.raises(PolicyError) as raised:
        PolicyRules.from_json(
            {
                "window_days": 0,
                "head": {"keep_gmv": "4000000"},
                "types": {"vertical_min_top_category_share": 2},
                "anti_flap": {"min_days_in_tier": "two weeks"},
            }
        )

    assert set(raised.value.errors) == {
        f"window_days: {WINDOW_OUT_OF_RANGE}",
        f"head.keep_gmv: {KEEP_ABOVE_PROMOTE.format(promote='head.promote_gmv')}",
        f"types.vertical_min_top_category_share: {NOT_A_SHARE}",
        f"anti_flap.min_days_in_tier: {NOT_A_WHOLE_NUMBER}",
    }


def test_policy_error_does_not_compare_against_a_field_that_did_not_parse():
    # head.promote_gmv falls back to its default; blaming mid.promote_gmv for that would mislead.
    with pytest.raises(PolicyError) as raised:
        PolicyRules.from_json({"head": {"promote_gmv": "x"}, "mid": {"promote_gmv": "5000000"}})

    assert raised.value.errors == (f"head.promote_gmv: {NOT_A_NUMBER}",)


def test_policy_that_is_not_an_object_is_refused():
    with pytest.raises(PolicyError):
        PolicyRules.from_json(["not", "a", "policy"])


# --- newcomer ---------------------------------------------------------------------------------


def test_no_metrics_is_newcomer_not_tail():
    decision = decide(None, POLICY, TierState(), TODAY)

    assert decision.tier == Tier.NEWCOMER
    assert decision.creator_type is None
    assert newcomer_checks_fired(decision) == ["newcomer.no_metrics"]


def test_newcomer_by_onboarding_even_with_head_sales():
    decision = decide(creator(days_since_onboarding=29, gmv=Decimal("5000000")), POLICY, TierState(), TODAY)

    assert decision.tier == Tier.NEWCOMER
    assert newcomer_checks_fired(decision) == ["newcomer.onboarding"]
    assert check(decision, "newcomer.onboarding").value == "29"


def test_newcomer_by_thin_data():
    decision = decide(creator(active_days=6), POLICY, TierState(), TODAY)

    assert decision.tier == Tier.NEWCOMER
    assert newcomer_checks_fired(decision) == ["newcomer.active_days"]


def test_onboarding_exactly_on_the_line_is_judged():
    decision = decide(creator(days_since_onboarding=30, active_days=7), POLICY, TierState(), TODAY)

    assert decision.tier == Tier.TAIL


@pytest.mark.parametrize(
    ("gmv", "tier"),
    [(Decimal("3000000"), Tier.HEAD), (Decimal("100000"), Tier.MID), (Decimal("99999.99"), Tier.TAIL)],
)
def test_newcomer_graduates_straight_to_any_tier(gmv, tier):
    decision = decide(creator(gmv=gmv), POLICY, was(Tier.NEWCOMER, since_days=40), TODAY)

    assert decision.tier == tier
    assert decision.tier_since == TODAY
    assert decision.below_keep_since is None
    assert not any(c.rule.startswith("anti_flap") for c in decision.checks)


def test_staying_newcomer_keeps_its_start_date():
    decision = decide(creator(active_days=2), POLICY, was(Tier.NEWCOMER, since_days=10), TODAY)

    assert decision.tier_since == days_ago(10)


# --- promotion --------------------------------------------------------------------------------


def test_promotion_by_gmv():
    decision = decide(creator(gmv=Decimal("100000")), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.MID
    assert decision.tier_since == TODAY
    assert check(decision, "mid.promote_gmv").passed


def test_promotion_by_followers_path():
    decision = decide(creator(followers=500_000, gmv=Decimal("30000")), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.MID
    assert not check(decision, "mid.promote_gmv").passed
    assert check(decision, "mid.promote_followers").passed
    assert check(decision, "mid.promote_followers_gmv").passed


def test_followers_without_enough_gmv_do_not_promote():
    decision = decide(creator(followers=9_000_000, gmv=Decimal("29999.99")), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.TAIL


def test_promotion_can_jump_several_steps():
    decision = decide(creator(gmv=Decimal("3000000")), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.HEAD


@pytest.mark.parametrize("reputation", [Decimal("3.9"), None])
def test_reputation_floor_blocks_promotion(reputation):
    decision = decide(creator(gmv=Decimal("3500000"), reputation=reputation), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.TAIL
    assert not check(decision, "head.reputation_floor").passed
    assert not check(decision, "mid.reputation_floor").passed


def test_head_floor_blocks_head_but_mid_floor_can_still_promote_to_mid():
    policy = replace(POLICY, head=replace(POLICY.head, reputation_floor=Decimal("4.8")))

    decision = decide(
        creator(gmv=Decimal("3500000"), reputation=Decimal("4.5")), policy, was(Tier.TAIL), TODAY
    )

    assert decision.tier == Tier.MID


def test_followers_path_head_is_not_demoted_for_being_under_the_keep_line():
    # Followers path promotes at 1,000,000 GMV, under the 2,400,000 keep line: still qualifying keeps it.
    features = creator(followers=6_000_000, gmv=Decimal("1200000"))

    decision = decide(features, POLICY, was(Tier.HEAD, since_days=90, below_days=60), TODAY)

    assert decision.tier == Tier.HEAD
    assert decision.below_keep_since is None


# --- keeping and anti-flap --------------------------------------------------------------------


def test_hysteresis_keeps_mid_between_keep_and_promote_lines():
    decision = decide(creator(gmv=Decimal("85000")), POLICY, was(Tier.MID, since_days=5), TODAY)

    assert decision.tier == Tier.MID
    assert decision.tier_since == days_ago(5)
    assert decision.below_keep_since is None
    assert check(decision, "mid.keep_gmv").passed


def test_tail_with_the_same_gmv_is_not_promoted():
    decision = decide(creator(gmv=Decimal("85000")), POLICY, was(Tier.TAIL), TODAY)

    assert decision.tier == Tier.TAIL


def test_first_refresh_below_the_keep_line_starts_the_grace_period():
    decision = decide(creator(gmv=Decimal("70000")), POLICY, was(Tier.MID, since_days=60), TODAY)

    assert decision.tier == Tier.MID
    assert decision.below_keep_since == TODAY
    assert not check(decision, "anti_flap.grace").passed


def test_grace_period_holds_off_demotion():
    decision = decide(
        creator(gmv=Decimal("70000")), POLICY, was(Tier.MID, since_days=60, below_days=13), TODAY
    )

    assert decision.tier == Tier.MID
    assert decision.below_keep_since == days_ago(13)
    assert check(decision, "anti_flap.grace").value == "13"


def test_demotion_after_grace_period():
    decision = decide(
        creator(gmv=Decimal("70000")), POLICY, was(Tier.MID, since_days=60, below_days=14), TODAY
    )

    assert decision.tier == Tier.TAIL
    assert decision.tier_since == TODAY
    assert decision.below_keep_since is None
    assert check(decision, "anti_flap.grace").passed


def test_recovering_above_the_keep_line_clears_the_grace_period():
    decision = decide(
        creator(gmv=Decimal("80000")), POLICY, was(Tier.MID, since_days=60, below_days=13), TODAY
    )

    assert decision.tier == Tier.MID
    assert decision.below_keep_since is None


def test_minimum_stay_holds_off_demotion_even_after_grace():
    decision = decide(
        creator(gmv=Decimal("70000")), POLICY, was(Tier.MID, since_days=13, below_days=20), TODAY
    )

    assert decision.tier == Tier.MID
    assert not check(decision, "anti_flap.min_days").passed
    assert check(decision, "anti_flap.grace").passed


def test_head_drops_one_step_at_a_time_even_with_gmv_near_zero():
    features = creator(
        gmv=Decimal("10"), live_gmv=0, video_gmv=0, storefront_gmv=0, top_category_gmv=Decimal("10")
    )

    first = decide(features, POLICY, was(Tier.HEAD, since_days=90, below_days=30), TODAY)

    assert first.tier == Tier.MID
    assert (first.tier_since, first.below_keep_since) == (TODAY, TODAY)
    steps = check(first, "anti_flap.max_steps")
    assert (steps.value, steps.threshold, steps.passed) == ("2", "1", False)

    # the next step waits out its own minimum stay and grace period
    state = TierState(first.tier, first.creator_type, first.tier_since, first.below_keep_since)
    assert decide(features, POLICY, state, TODAY + timedelta(days=13)).tier == Tier.MID
    assert decide(features, POLICY, state, TODAY + timedelta(days=14)).tier == Tier.TAIL


def test_capped_demotion_clears_grace_when_gmv_holds_the_new_keep_line():
    decision = decide(
        creator(gmv=Decimal("90000")), POLICY, was(Tier.HEAD, since_days=90, below_days=30), TODAY
    )

    assert decision.tier == Tier.MID
    assert decision.below_keep_since is None


def test_more_steps_down_when_policy_allows():
    policy = replace(POLICY, anti_flap=replace(POLICY.anti_flap, max_steps_down=2))

    decision = decide(creator(gmv=Decimal("10")), policy, was(Tier.HEAD, since_days=90, below_days=30), TODAY)

    assert decision.tier == Tier.TAIL


@pytest.mark.parametrize("tier", LADDER)
def test_thin_data_does_not_make_a_judged_creator_a_newcomer_and_is_marked(tier):
    decision = decide(creator(active_days=3, gmv=Decimal("3500000")), POLICY, was(tier, since_days=90), TODAY)

    assert decision.tier == Tier.HEAD
    assert newcomer_checks_fired(decision) == []
    thin = check(decision, "activity.active_days")
    assert (thin.value, thin.threshold, thin.passed) == ("3", "7", False)


def test_an_active_judged_creator_is_marked_active():
    decision = decide(creator(active_days=7), POLICY, was(Tier.TAIL), TODAY)

    assert check(decision, "activity.active_days").passed


def test_no_metrics_judges_a_judged_creator_as_no_sales():
    # given a mid creator long past the grace period, whose metrics stopped
    decision = decide(None, POLICY, was(Tier.MID, since_days=60, below_days=14, creator_type="persona"), TODAY)

    # then they step down to tail like any creator with no sales, and keep their type
    assert (decision.tier, decision.creator_type) == (Tier.TAIL, CreatorType.PERSONA)
    assert check(decision, "mid.keep_gmv").value == "0"
    assert check(decision, "activity.active_days").value == "0"
    assert not check(decision, "activity.active_days").passed


def test_no_metrics_starts_the_grace_period_of_a_judged_creator():
    decision = decide(None, POLICY, was(Tier.HEAD, since_days=60), TODAY)

    assert (decision.tier, decision.below_keep_since) == (Tier.HEAD, TODAY)


def test_a_creator_judged_before_a_lapsed_pin_is_not_a_newcomer():
    # the refresh wipes a lapsed pin's tier, but remembers that the rules had judged the creator
    previous = TierState(judged_before=True)

    decision = decide(creator(active_days=2), POLICY, previous, TODAY)

    assert decision.tier == Tier.TAIL
    assert decision.tier_since == TODAY
    assert newcomer_checks_fired(decision) == []


# --- overrides --------------------------------------------------------------------------------


def test_tier_override_wins_and_is_explained():
    overrides = Overrides(tier=Tier.HEAD, tier_reason="strategic partner, contract until June")

    # given a mid creator the rules would demote to tail today
    decision = decide(creator(), POLICY, was(Tier.MID, since_days=60, below_days=20), TODAY, overrides)

    assert decision.tier == Tier.HEAD
    assert decision.tier_since == TODAY
    assert decision.below_keep_since is None
    pinned = check(decision, "override.tier")
    assert (pinned.value, pinned.threshold, pinned.note) == (
        "head",
        "tail",
        "strategic partner, contract until June",
    )
    assert "override.tier" in [line["rule"] for line in decision.explanation_json()["checks"]]


def test_tier_override_wins_over_newcomer():
    decision = decide(None, POLICY, TierState(), TODAY, Overrides(tier="mid", tier_reason="migrated account"))

    assert decision.tier == Tier.MID


def test_type_override_wins_and_is_explained():
    overrides = Overrides(creator_type=CreatorType.PERSONA, type_reason="agency says so")

    decision = decide(creator(), POLICY, TierState(), TODAY, overrides)

    assert decision.creator_type == CreatorType.PERSONA
    pinned = check(decision, "override.type")
    assert (pinned.value, pinned.threshold, pinned.note) == ("persona", "seeding", "agency says so")


# --- types ------------------------------------------------------------------------------------


def test_seeding_creator():
    decision = decide(creator(), POLICY, TierState(), TODAY)

    assert decision.creator_type == CreatorType.SEEDING
    assert check(decision, "type.seeding").passed


def test_vertical_creator():
    features = creator(
        top_category=Category.JADE.value, top_category_gmv=Decimal("45000"), video_gmv=Decimal("5000")
    )

    decision = decide(features, POLICY, TierState(), TODAY)

    assert decision.creator_type == CreatorType.VERTICAL


def test_persona_creator():
    features = creator(
        live_gmv=Decimal("40000"),
        video_gmv=Decimal("5000"),
        storefront_gmv=Decimal("5000"),
        live_days=20,
        live_sessions=24,
        repeat_buyer_rate=0.4,
    )

    decision = decide(features, POLICY, TierState(), TODAY)

    assert decision.creator_type == CreatorType.PERSONA


def test_persona_needs_enough_live_days():
    assert type_scores(creator(live_gmv=Decimal("40000"), live_days=6, repeat_buyer_rate=0.4), POLICY.types)[
        "persona"
    ] == pytest.approx(0.5)


def test_entertainment_creator_by_videos():
    features = creator(
        video_gmv=Decimal("5000"), storefront_gmv=Decimal("5000"), videos_posted=40, entertainment_videos=36
    )

    decision = decide(features, POLICY, TierState(), TODAY)

    assert decision.creator_type == CreatorType.ENTERTAINMENT


def test_entertainment_creator_by_a_few_big_live_events():
    features = creator(
        live_gmv=Decimal("45000"),
        video_gmv=Decimal("2000"),
        storefront_gmv=Decimal("1000"),
        big_live_gmv=Decimal("42000"),
        big_live_days=2,
        live_days=5,
        entertainment_videos=0,
    )

    decision = decide(features, POLICY, TierState(), TODAY)

    assert decision.creator_type == CreatorType.ENTERTAINMENT


def test_many_big_live_days_are_not_a_few_big_events():
    scores = type_scores(
        creator(big_live_gmv=Decimal("45000"), big_live_days=16, entertainment_videos=0), POLICY.types
    )

    assert scores["entertainment"] == pytest.approx(0.25)


def test_one_huge_ratio_is_capped():
    scores = type_scores(
        creator(repeat_buyer_rate=1.0, live_gmv=Decimal("50000"), live_days=30), POLICY.types
    )

    assert max(scores.values()) <= SCORE_CAP


def vertical_and_seeding(top_category_gmv, video_gmv):
    """A ¥100 creator whose vertical and seeding scores are set by two amounts, nothing else scoring."""
    return creator(
        gmv=Decimal("100"),
        live_gmv=Decimal("0"),
        video_gmv=Decimal(video_gmv),
        storefront_gmv=Decimal("0"),
        top_category_gmv=Decimal(top_category_gmv),
        videos_posted=0,
        entertainment_videos=0,
    )


def test_type_switch_needs_more_than_the_margin():
    # both rules hold (vertical 0.8/0.7, seeding 0.7/0.5): the margin decides
    features = vertical_and_seeding(top_category_gmv="80", video_gmv="70")
    scores = type_scores(features, POLICY.types)
    lead = scores["seeding"] - scores["vertical"]
    assert scores["vertical"] >= 1.0 and lead > 0

    sticky = replace(POLICY, types=replace(POLICY.types, switch_margin=min(1.0, lead + 0.01)))
    loose = replace(POLICY, types=replace(POLICY.types, switch_margin=max(0.0, lead - 0.01)))
    previous = TierState(tier=Tier.TAIL, creator_type=CreatorType.VERTICAL, tier_since=days_ago(60))

    kept = decide(features, sticky, previous, TODAY)
    switched = decide(features, loose, previous, TODAY)

    assert kept.creator_type == CreatorType.VERTICAL
    assert kept.type_margin == pytest.approx(-lead)
    assert not check(kept, "type.switch_margin").passed
    assert switched.creator_type == CreatorType.SEEDING
    assert switched.type_margin == pytest.approx(lead)


def test_type_switch_exactly_at_the_margin_keeps_the_previous_type():
    # 1.05 - 1.0 is a hair above 0.05 in floating point; scores are exact decimals, so it is not.
    features = vertical_and_seeding(top_category_gmv="70", video_gmv="52.5")
    policy = replace(POLICY, types=replace(POLICY.types, switch_margin=0.05))
    scores = type_scores(features, policy.types)
    assert (scores["seeding"], scores["vertical"]) == (1.05, 1.0)

    decision = decide(features, policy, TierState(creator_type="vertical"), TODAY)

    assert decision.creator_type == CreatorType.VERTICAL
    margin = check(decision, "type.switch_margin")
    assert (margin.value, margin.threshold, margin.passed) == ("0.05", "0.05", False)


def test_a_type_whose_rule_fails_is_not_kept_by_the_margin():
    # vertical 0.69/0.7 fails, seeding 0.51/0.5 holds; seeding leads by 0.034, less than the margin
    features = vertical_and_seeding(top_category_gmv="69", video_gmv="51")

    decision = decide(features, POLICY, TierState(creator_type="vertical"), TODAY)

    assert decision.creator_type == CreatorType.SEEDING
    assert not check(decision, "type.vertical").passed and check(decision, "type.seeding").passed


def test_a_top_category_a_hair_under_the_line_is_not_vertical_and_does_not_read_as_passing():
    # 69.997% of sales in one category against the 70% line
    features = vertical_and_seeding(top_category_gmv="69.997", video_gmv="10")

    decision = decide(features, POLICY, TierState(), TODAY)

    vertical = check(decision, "type.vertical")
    assert vertical.passed is False
    assert Decimal(vertical.value) < 1
    assert vertical.value == "0.9999"
    assert decision.type_scores["vertical"] < 1.0


def test_a_lead_a_hair_over_the_margin_shows_the_digits_that_make_it_so():
    # seeding 1.05001 leads vertical 1.0 by 0.00001 more than the 0.05 margin: it switches, and
    # the lead must not read "0.05", which would not beat a 0.05 margin
    features = vertical_and_seeding(top_category_gmv="70", video_gmv="52.5005")

    decision = decide(features, POLICY, TierState(creator_type="vertical"), TODAY)

    assert decision.creator_type == CreatorType.SEEDING
    margin = check(decision, "type.switch_margin")
    assert (margin.value, margin.threshold, margin.passed) == ("0.05001", "0.05", True)


def test_scores_show_four_decimals_when_that_does_not_cross_the_line():
    decision = decide(vertical_and_seeding(top_category_gmv="50", video_gmv="10"), POLICY, TierState(), TODAY)

    assert check(decision, "type.vertical").value == "0.7142"  # 0.714285…, cut, not rounded up
    assert check(decision, "type.seeding").value == "0.2"


NOTHING_SOLD_OR_POSTED = dict(
    gmv=Decimal("0"),
    live_gmv=Decimal("0"),
    video_gmv=Decimal("0"),
    storefront_gmv=Decimal("0"),
    top_category_gmv=Decimal("0"),
    videos_posted=0,
    entertainment_videos=0,
)


def test_no_sales_and_no_videos_has_no_type_yet():
    decision = decide(creator(**NOTHING_SOLD_OR_POSTED), POLICY, TierState(), TODAY)

    assert (decision.creator_type, decision.type_scores, decision.type_margin) == (None, {}, 0.0)


@pytest.mark.parametrize("features", [creator(**NOTHING_SOLD_OR_POSTED), None], ids=["nothing", "no metrics"])
def test_no_evidence_keeps_the_last_type(features):
    decision = decide(features, POLICY, was(Tier.MID, creator_type="persona"), TODAY)

    assert (decision.creator_type, decision.type_scores, decision.type_margin) == (CreatorType.PERSONA, {}, 0.0)
    kept = check(decision, "type.no_evidence")
    assert (kept.value, kept.passed) == ("persona", False)


def test_sales_that_score_for_no_type_keep_the_last_type():
    # live sales with no repeat buyers, no category, no videos, no big events: nothing scores
    features = creator(
        live_gmv=Decimal("50000"), video_gmv=Decimal("0"), storefront_gmv=Decimal("0"), top_category_gmv=Decimal("0"),
        repeat_buyer_rate=0.0, videos_posted=0, entertainment_videos=0,
    )

    decision = decide(features, POLICY, was(Tier.TAIL, creator_type="seeding"), TODAY)

    assert set(decision.type_scores.values()) == {0.0}
    assert decision.creator_type == CreatorType.SEEDING


def test_explanation_is_json_safe_and_in_evaluation_order():
    decision = decide(creator(gmv=Decimal("120000")), POLICY, was(Tier.TAIL), TODAY)

    explanation = json.loads(json.dumps(decision.explanation_json()))

    rules = [line["rule"] for line in explanation["checks"]]
    assert rules[0] == "activity.active_days"  # judged before: the newcomer rule is not consulted
    assert "newcomer.onboarding" not in rules
    assert rules.index("head.promote_gmv") < rules.index("mid.promote_gmv") < rules.index("type.persona")
    assert set(explanation["type_scores"]) == set(CreatorType.values)
    assert check(decision, "mid.promote_gmv").value == "120000"


def test_a_creator_never_judged_is_checked_against_the_newcomer_rule_first():
    decision = decide(creator(gmv=Decimal("120000")), POLICY, was(Tier.NEWCOMER), TODAY)

    rules = [line.rule for line in decision.checks]
    assert rules[:2] == ["newcomer.onboarding", "newcomer.active_days"]
    assert "activity.active_days" not in rules


def test_features_json_round_trip():
    features = creator(reputation=None)

    assert Features.from_json(json.loads(json.dumps(features.to_json()))) == features


def test_shares_are_zero_without_a_denominator():
    features = creator(gmv=Decimal("0"), videos_posted=0)

    assert features.live_share == 0.0
    assert features.short_video_storefront_share == 0.0
    assert features.top_category_share == 0.0
    assert features.big_live_share == 0.0
    assert features.entertainment_video_share == 0.0


# --- growth-plan helpers ----------------------------------------------------------------------


def test_gap_to_mid_from_tail():
    next_tier, gaps = gap_to_next_tier(creator(reputation=None), POLICY, Tier.TAIL)

    assert next_tier == Tier.MID
    assert gaps == (
        Gap("gmv", Decimal("50000"), Decimal("100000"), Decimal("50000")),
        Gap("followers", Decimal("120000"), Decimal("500000"), Decimal("380000")),
        Gap("followers_gmv", Decimal("50000"), Decimal("30000"), Decimal("0")),
        Gap("reputation", Decimal("0"), Decimal("4.0"), Decimal("4.0")),
    )


def test_newcomer_aims_at_mid_and_head_has_nowhere_further():
    assert gap_to_next_tier(creator(), POLICY, Tier.NEWCOMER)[0] == Tier.MID
    assert gap_to_next_tier(creator(), POLICY, Tier.MID)[0] == Tier.HEAD
    assert gap_to_next_tier(creator(), POLICY, Tier.HEAD) == (None, ())


def test_demotion_warning_below_the_keep_line():
    state = was(Tier.MID, since_days=60, below_days=5)

    warning = demotion_warning(creator(gmv=Decimal("70000")), POLICY, state, TODAY)

    assert warning == DemotionWarning(
        tier=Tier.MID,
        keep_gmv=Decimal("80000"),
        gmv=Decimal("70000"),
        missing=Decimal("10000"),
        demote_on=days_ago(5) + timedelta(days=14),
    )


def test_demotion_warning_respects_the_minimum_stay():
    state = was(Tier.MID, since_days=3, below_days=3)

    warning = demotion_warning(creator(gmv=Decimal("70000")), POLICY, state, TODAY)

    assert warning.demote_on == days_ago(3) + timedelta(days=14)


def test_demotion_warning_near_the_keep_line():
    warning = demotion_warning(creator(gmv=Decimal("85000")), POLICY, was(Tier.MID, since_days=60), TODAY)

    assert warning.missing == Decimal("0")
    assert warning.demote_on == TODAY + timedelta(days=14)


@pytest.mark.parametrize(
    ("tier", "gmv"),
    [(Tier.MID, Decimal("88000")), (Tier.TAIL, Decimal("10")), (Tier.NEWCOMER, Decimal("10"))],
)
def test_no_demotion_warning_when_safe_or_nothing_to_lose(tier, gmv):
    assert demotion_warning(creator(gmv=gmv), POLICY, was(tier, since_days=60), TODAY) is None


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=100, deadline=None)

judged_features = features_st(newcomer=False)


@st.composite
def states_st(draw, tiers=(None, *Tier.values)):
    tier = draw(st.sampled_from(tiers))
    creator_type = draw(st.one_of(st.none(), st.sampled_from(CreatorType.values)))
    if tier is None:
        return TierState(creator_type=creator_type)
    tier_since = draw(st.one_of(st.none(), st.integers(0, 120).map(days_ago)))
    below_keep_since = draw(st.one_of(st.none(), st.integers(0, 60).map(days_ago)))
    return TierState(tier, creator_type, tier_since, below_keep_since)


policies = st.builds(
    lambda anti_flap: replace(POLICY, anti_flap=anti_flap),
    st.builds(
        AntiFlap,
        max_steps_down=st.integers(1, 2),
        min_days_in_tier=st.integers(0, 30),
        grace_days=st.integers(0, 30),
    ),
)
overrides_st = st.one_of(
    st.just(Overrides()),
    st.builds(
        Overrides,
        tier=st.one_of(st.none(), st.sampled_from(Tier.values)),
        creator_type=st.one_of(st.none(), st.sampled_from(CreatorType.values)),
        tier_reason=st.text(max_size=10),
        type_reason=st.text(max_size=10),
    ),
)


def expected_target(features, policy):
    """The promote rule written out independently of the module."""
    for tier, rule in ((Tier.HEAD, policy.head), (Tier.MID, policy.mid)):
        promotes = features.gmv >= rule.promote_gmv or (
            features.followers >= rule.promote_followers and features.gmv >= rule.promote_followers_gmv
        )
        if promotes and features.reputation is not None and features.reputation >= rule.reputation_floor:
            return tier
    return Tier.TAIL


def scaled(features, factor):
    return replace(
        features,
        gmv=features.gmv * factor,
        live_gmv=features.live_gmv * factor,
        video_gmv=features.video_gmv * factor,
        storefront_gmv=features.storefront_gmv * factor,
        big_live_gmv=features.big_live_gmv * factor,
        top_category_gmv=features.top_category_gmv * factor,
    )


@PROPERTY
@given(
    features=st.one_of(st.none(), features_st(), wild_features_st()),
    policy=policies,
    previous=states_st(),
    overrides=overrides_st,
)
def test_decide_is_total(features, policy, previous, overrides):
    decision = decide(features, policy, previous, TODAY, overrides)

    assert decision.tier in Tier.values
    assert decision.creator_type is None or decision.creator_type in CreatorType.values
    assert decision.tier_since <= TODAY or decision.tier_since == previous.tier_since
    assert all(0.0 <= score <= SCORE_CAP for score in decision.type_scores.values())
    json.dumps(decision.explanation_json())


@PROPERTY
@given(
    features=st.one_of(st.none(), features_st()),
    policy=policies,
    previous=states_st(),
    overrides=overrides_st,
)
def test_decide_is_deterministic(features, policy, previous, overrides):
    assert decide(features, policy, previous, TODAY, overrides) == decide(
        features, policy, previous, TODAY, overrides
    )


@PROPERTY
@given(
    features=features_st(),
    factor=st.sampled_from([1, 2, 5, 30, 1000]),
    policy=policies,
    previous=states_st(),
)
def test_more_gmv_never_lowers_the_tier(features, factor, policy, previous):
    before = decide(features, policy, previous, TODAY)
    after = decide(scaled(features, factor), policy, previous, TODAY)

    if before.tier == Tier.NEWCOMER:
        assert after.tier == Tier.NEWCOMER  # newcomer is about time and activity, not money
    else:
        assert RANK[after.tier] >= RANK[before.tier]


@PROPERTY
@given(features=judged_features, policy=policies, previous=states_st(tiers=LADDER))
def test_never_more_than_max_steps_down_per_refresh(features, policy, previous):
    decision = decide(features, policy, previous, TODAY)

    assert RANK[previous.tier] - RANK[decision.tier] <= policy.anti_flap.max_steps_down


@PROPERTY
@given(features=judged_features, policy=policies, previous=states_st(tiers=LADDER))
def test_no_demotion_inside_grace_or_minimum_stay(features, policy, previous):
    days_in_tier = (TODAY - (previous.tier_since or TODAY)).days
    days_below = (TODAY - (previous.below_keep_since or TODAY)).days
    assume(days_in_tier < policy.anti_flap.min_days_in_tier or days_below < policy.anti_flap.grace_days)

    decision = decide(features, policy, previous, TODAY)

    assert RANK[decision.tier] >= RANK[previous.tier]


@PROPERTY
@given(features=st.one_of(st.none(), features_st(newcomer=True)), policy=policies,
       previous=states_st(tiers=(None, Tier.NEWCOMER)))
def test_thin_data_is_newcomer_until_judged(features, policy, previous):
    decision = decide(features, policy, previous, TODAY)

    assert decision.tier == Tier.NEWCOMER
    assert decision.below_keep_since is None


@PROPERTY
@given(features=judged_features, policy=policies, previous=states_st(tiers=(None, Tier.NEWCOMER)))
def test_first_judgement_has_no_anti_flap(features, policy, previous):
    decision = decide(features, policy, previous, TODAY)

    assert decision.tier == expected_target(features, policy)
    assert decision.tier_since == TODAY
    assert decision.below_keep_since is None
    assert not any(check.rule.startswith("anti_flap") for check in decision.checks)


@PROPERTY
@given(features=judged_features, policy=policies, previous=states_st(tiers=LADDER))
def test_promotion_is_immediate_and_stays_are_above_the_target(features, policy, previous):
    decision = decide(features, policy, previous, TODAY)
    target = expected_target(features, policy)

    if RANK[target] > RANK[previous.tier]:
        assert decision.tier == target
    else:
        assert RANK[target] <= RANK[decision.tier] <= RANK[previous.tier]


@PROPERTY
@given(features=judged_features, policy=policies, previous=states_st(tiers=(Tier.MID, Tier.HEAD)))
def test_demotion_warning_date_is_when_decide_demotes(features, policy, previous):
    warning = demotion_warning(features, policy, previous, TODAY)
    assume(warning is not None and features.gmv < warning.keep_gmv)

    first = decide(features, policy, previous, TODAY)
    if first.tier != previous.tier:
        assert warning.demote_on == TODAY
        return
    state = TierState(first.tier, first.creator_type, first.tier_since, first.below_keep_since)
    assert RANK[decide(features, policy, state, warning.demote_on).tier] < RANK[previous.tier]
    if warning.demote_on > TODAY:
        day_before = warning.demote_on - timedelta(days=1)
        assert decide(features, policy, state, day_before).tier == previous.tier


@PROPERTY
@given(features=features_st(), previous_type=st.one_of(st.none(), st.sampled_from(CreatorType.values)))
def test_type_is_the_best_score_or_the_previous_one_within_the_margin(features, previous_type):
    decision = decide(features, POLICY, TierState(creator_type=previous_type), TODAY)
    assume(decision.creator_type is not None)

    scores = decision.type_scores
    if not scores or max(scores.values()) == 0:
        assert decision.creator_type == previous_type  # no evidence of any type: nothing changes
        return
    best = max(scores.values())
    if decision.creator_type == previous_type and scores[previous_type] < best:
        assert scores[previous_type] >= 1.0  # the margin keeps only a type whose rule holds
        assert best - scores[previous_type] <= POLICY.types.switch_margin + 1e-9
    else:
        assert scores[decision.creator_type] == best
    assert decision.type_margin >= -POLICY.types.switch_margin - 1e-9


@st.composite
def valid_policies(draw):
    amount = st.integers(0, 10**8).map(Decimal)
    mid_keep = draw(amount)
    mid_promote = mid_keep + draw(amount)
    head_keep = max(mid_keep + 1, draw(amount))
    head_promote = max(head_keep, mid_promote + 1) + draw(amount)
    floor = st.integers(0, 50).map(lambda tenths: Decimal(tenths) / 10)
    share = st.floats(0, 1)

    def thresholds(promote, keep):
        return TierThresholds(promote, draw(st.integers(0, 10**8)), draw(amount), keep, draw(floor))

    return replace(
        POLICY,
        window_days=draw(st.integers(1, 90)),
        head=thresholds(head_promote, head_keep),
        mid=thresholds(mid_promote, mid_keep),
        anti_flap=AntiFlap(draw(st.integers(1, 3)), draw(st.integers(0, 60)), draw(st.integers(0, 60))),
        types=replace(POLICY.types, seeding_min_share=draw(share), switch_margin=draw(share)),
    )


@settings(max_examples=50, deadline=None)
@given(policy=valid_policies())
def test_valid_policies_round_trip_through_json(policy):
    assert policy.validation_errors() == ()
    assert PolicyRules.from_json(json.loads(json.dumps(policy.to_json()))) == policy
