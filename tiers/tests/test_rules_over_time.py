"""The tier rules over many daily refreshes: newcomer is only an entry state, and anti-flap holds on every path."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tiers.choices import LADDER, CreatorType, Tier
from tiers.rules import Features, TierState, decide, demotion_date, demotion_warning
from tiers.tests.test_rules import (
    POLICY,
    RANK,
    TODAY,
    check,
    creator,
    expected_target,
    features_st,
    newcomer_checks_fired,
    policies,
    was,
)

START = date(2025, 1, 1)


def state_of(decision) -> TierState:
    """What the refresh stores and hands to the next day's decision."""
    return TierState(decision.tier, decision.creator_type, decision.tier_since, decision.below_keep_since)


@dataclass(frozen=True)
class Day:
    today: date
    features: Features | None
    before: TierState
    decision: object


def run_days(daily_features, policy=POLICY, start=START, state=TierState()):
    """decide() once a day, oldest first, each day fed the state the day before returned."""
    days = []
    for offset, features in enumerate(daily_features):
        today = start + timedelta(days=offset)
        decision = decide(features, policy, state, today)
        days.append(Day(today, features, state, decision))
        state = state_of(decision)
    return days


def tier_changes(days):
    return sum(day.decision.tier != day.before.tier for day in days if day.before.tier is not None)


# --- the scenarios issue 8 found --------------------------------------------------------------


def test_head_creator_in_its_grace_period_with_thin_data_stays_head():
    # given a head creator four days below the keep line, whose window thins to 5 active days
    features = creator(active_days=5, gmv=Decimal("2000000"))

    decision = decide(features, POLICY, was(Tier.HEAD, since_days=60, below_days=4), TODAY)

    # then they stay head, their grace period still counting, and are marked thin
    assert decision.tier == Tier.HEAD
    assert decision.below_keep_since == TODAY - timedelta(days=4)
    assert not check(decision, "anti_flap.grace").passed
    assert not check(decision, "activity.active_days").passed


def test_mid_creator_one_day_under_its_keep_line_with_thin_data_stays_mid():
    features = creator(active_days=6, gmv=Decimal("79999.99"))

    decision = decide(features, POLICY, was(Tier.MID, since_days=60), TODAY)

    assert decision.tier == Tier.MID
    assert decision.below_keep_since == TODAY  # the grace period starts; the tier does not move
    assert newcomer_checks_fired(decision) == []


def test_creator_selling_on_six_or_seven_days_a_window_does_not_flip_mid_and_newcomer():
    # given a mid creator whose window holds 6 or 7 active days, turn about, for 100 daily refreshes
    # (Ladder used to flip them mid <-> newcomer 44 times)
    pattern = [7, 7, 6, 6, 7, 6, 7, 7, 6, 6, 6, 7]
    daily = [creator(active_days=pattern[i % len(pattern)], gmv=Decimal("120000")) for i in range(100)]

    days = run_days(daily, state=TierState(Tier.MID, None, START - timedelta(days=60), None))

    assert {day.decision.tier for day in days} == {Tier.MID}
    assert tier_changes(days) == 0
    assert sum(not check(day.decision, "activity.active_days").passed for day in days) > 0


def test_creator_whose_metrics_stop_steps_down_one_rung_at_a_time_and_keeps_its_type():
    # given a head creator with nothing in the window from day 0 on
    days = run_days([None] * 60, state=TierState(Tier.HEAD, CreatorType.PERSONA, START - timedelta(days=90), None))

    tiers = [day.decision.tier for day in days]
    # day 0 starts the grace period; 14 days later head -> mid, below mid's keep line at once;
    # 14 days after that mid -> tail, and tail it stays: never newcomer
    assert tiers[:14] == [Tier.HEAD] * 14
    assert tiers[14:28] == [Tier.MID] * 14
    assert tiers[28:] == [Tier.TAIL] * 32
    assert {day.decision.creator_type for day in days} == {CreatorType.PERSONA}


# --- properties over random sequences of days -------------------------------------------------

SEQUENCE = settings(max_examples=60, deadline=None)

# A stretch of days with the same window: a normal window (often well rated, so promotions are
# common), a thin one (too few active days, or too new) or no metrics at all. Stretches make grace
# periods and minimum stays actually elapse.
stretches = st.lists(
    st.tuples(
        st.one_of(
            features_st(),
            features_st().map(lambda features: replace(features, reputation=Decimal("4.5"))),
            features_st(newcomer=True),
            st.none(),
        ),
        st.integers(1, 20),
    ),
    min_size=1,
    max_size=12,
)


def expand(stretches_drawn):
    return [features for features, length in stretches_drawn for _ in range(length)]


initial_states = st.sampled_from([None, *Tier.values]).map(
    lambda tier: TierState() if tier is None else TierState(tier, None, START - timedelta(days=30), None)
)


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_a_judged_creator_never_becomes_a_newcomer(stretches, policy, initial):
    days = run_days(expand(stretches), policy, state=initial)

    judged = initial.tier in LADDER
    for day in days:
        if judged:
            assert day.decision.tier != Tier.NEWCOMER, day
            assert newcomer_checks_fired(day.decision) == []
        judged = judged or day.decision.tier in LADDER


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_never_more_than_max_steps_down_in_one_refresh(stretches, policy, initial):
    for day in run_days(expand(stretches), policy, state=initial):
        if day.before.tier in LADDER:
            assert RANK[day.before.tier] - RANK[day.decision.tier] <= policy.anti_flap.max_steps_down


def below_keep(features, tier, policy):
    """Under the tier's keep line and not meeting its promote rule: the days grace counts (written
    out independently of the module)."""
    features = features or creator(gmv=Decimal("0"), reputation=None, followers=0)
    return features.gmv < policy.thresholds(tier).keep_gmv and RANK[expected_target(features, policy)] < RANK[tier]


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_no_demotion_before_the_grace_period_and_the_minimum_stay_are_over(stretches, policy, initial):
    days = run_days(expand(stretches), policy, state=initial)

    entered = initial.tier_since  # the day the creator came into their current tier
    below_since = None  # the first of the days in a row they have been below its keep line
    for day in days:
        tier = day.before.tier
        if tier in (Tier.MID, Tier.HEAD) and below_keep(day.features, tier, policy):
            below_since = below_since or day.today
        else:
            below_since = None
        if tier in LADDER and RANK[day.decision.tier] < RANK[tier]:
            assert (day.today - entered).days >= policy.anti_flap.min_days_in_tier, day
            assert below_since is not None and (day.today - below_since).days >= policy.anti_flap.grace_days, day
        if day.decision.tier != tier:
            entered = day.today
            # a step that stops short of where GMV points starts its own grace at once
            below_since = day.today if day.decision.tier in (Tier.MID, Tier.HEAD) and below_keep(
                day.features, day.decision.tier, policy) else None


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_promotions_take_effect_at_once(stretches, policy, initial):
    judged = initial.tier in LADDER
    for day in run_days(expand(stretches), policy, state=initial):
        features, rule = day.features, policy.newcomer
        entering = not judged and features is not None and (
            features.days_since_onboarding >= rule.min_days_since_onboarding
            and features.active_days >= rule.min_active_days
        )
        if entering or (judged and features is not None):
            target = expected_target(features, policy)
            if entering or RANK[target] > RANK[day.before.tier]:
                assert day.decision.tier == target, day
                assert day.decision.tier_since == day.today or day.before.tier == target
        judged = judged or day.decision.tier in LADDER


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_a_type_once_found_never_flaps_to_none(stretches, policy, initial):
    found = False
    for day in run_days(expand(stretches), policy, state=initial):
        if found:
            assert day.decision.creator_type is not None, day
        found = found or day.decision.creator_type is not None


@SEQUENCE
@given(stretches=stretches, policy=policies, initial=initial_states)
def test_the_warned_demotion_date_is_the_day_decide_demotes(stretches, policy, initial):
    # whenever a warning is shown for a creator below the line, replaying the same window from that
    # day on demotes exactly on the date it gave: the warning and decide() count it the same way
    for day in run_days(expand(stretches), policy, state=initial):
        state = state_of(day.decision)
        warning = demotion_warning(day.features, policy, state, day.today)
        if warning is None or warning.gmv >= warning.keep_gmv or day.decision.tier != day.before.tier:
            continue
        later = run_days([day.features] * ((warning.demote_on - day.today).days + 1), policy, day.today, day.before)
        assert [d.decision.tier for d in later[:-1]] == [state.tier] * (len(later) - 1)
        assert RANK[later[-1].decision.tier] < RANK[state.tier]


def test_demotion_date_is_when_both_the_grace_period_and_the_minimum_stay_are_over():
    anti_flap = replace(POLICY.anti_flap, grace_days=14, min_days_in_tier=20)

    assert demotion_date(tier_since=TODAY, below_keep_since=TODAY, anti_flap=anti_flap) == TODAY + timedelta(days=20)
    assert demotion_date(
        tier_since=TODAY - timedelta(days=90), below_keep_since=TODAY, anti_flap=anti_flap
    ) == TODAY + timedelta(days=14)
