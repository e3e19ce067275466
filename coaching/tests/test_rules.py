"""Pure assignment rules: eligibility, criteria and enrolment steps, with hypothesis properties."""

import datetime
from decimal import Decimal
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.choices import ReasonCode
from coaching.conditions import Condition
from coaching.rules import (
    NOTHING,
    Creator,
    Eligibility,
    EnrollmentState,
    ProgramSpec,
    StageSpec,
    ineligibility,
    step,
)
from tiers.choices import CreatorType, Tier
from tiers.tests.factories import FeaturesFactory

TODAY = datetime.date(2026, 11, 25)

# A tail creator of a few weeks who sells, live and otherwise, and has done the village's metric tasks.
features = partial(
    FeaturesFactory, days_since_onboarding=100, active_days=20, orders=50, gmv=Decimal("30000"),
    live_gmv=Decimal("15000"), video_gmv=Decimal("10000"), storefront_gmv=Decimal("5000"), followers=20000,
    reputation=Decimal("4.6"), top_category_gmv=Decimal("20000"), live_days=10, live_sessions=10, videos_posted=10,
    entertainment_videos=1, repeat_buyer_rate=0.3,
)


VILLAGE = ProgramSpec(
    id=1,
    auto=True,
    eligibility=Eligibility(tiers=frozenset({Tier.NEWCOMER, Tier.TAIL})),
    stages=(
        StageSpec(id=10, required_tasks=frozenset({100, 101}),
                  metric_tasks=((101, Condition("storefront_gmv", ">", 0)),)),
        StageSpec(id=11, exit=(Condition("orders", ">=", 10),), required_tasks=frozenset({110}),
                  metric_tasks=((110, Condition("live_sessions", ">=", 1)),)),
    ),
    grace_days=0,
)
TAIL = Creator(tier=Tier.TAIL, creator_type=CreatorType.SEEDING, category="beauty", reputation=Decimal("4.6"))


def test_eligibility_names_what_fails():
    rule = Eligibility(tiers=frozenset({Tier.MID}), types=frozenset({CreatorType.SEEDING}),
                       categories=frozenset({"beauty"}), reputation_floor=Decimal("4.0"),
                       starts_on=TODAY, ends_on=TODAY + datetime.timedelta(days=10))
    mid = Creator(tier=Tier.MID, creator_type=CreatorType.SEEDING, category="beauty", reputation=Decimal("4.2"))

    assert ineligibility(rule, mid, TODAY) is None
    assert ineligibility(rule, mid, TODAY - datetime.timedelta(days=1)) == "closed"
    assert ineligibility(rule, Creator(Tier.TAIL, "seeding", "beauty", Decimal("4.2")), TODAY) == "tier_below"
    assert ineligibility(rule, Creator(Tier.HEAD, "seeding", "beauty", Decimal("4.2")), TODAY) == "tier_above"
    assert ineligibility(rule, Creator(Tier.MID, "persona", "beauty", Decimal("4.2")), TODAY) == "type"
    assert ineligibility(rule, Creator(Tier.MID, "seeding", "food", Decimal("4.2")), TODAY) == "category"
    assert ineligibility(rule, Creator(Tier.MID, "seeding", "beauty", None), TODAY) == "reputation"
    assert ineligibility(rule, Creator(Tier.MID, "seeding", "beauty", Decimal("4.2"), active=False), TODAY) == "inactive"


def test_enrolment_ticks_metric_tasks_and_waits_for_self_reported_ones():
    result = step(VILLAGE, TAIL, features(), None, TODAY)

    assert (result.action, result.stage_id, result.completed_now) == ("enrol", 10, frozenset({101}))
    assert [e.reason for e in result.events] == [ReasonCode.ENROLLED]


def test_a_done_stage_advances_and_the_last_one_graduates():
    advanced = step(VILLAGE, TAIL, features(), EnrollmentState(stage_id=10, completed=frozenset({100, 101})), TODAY)
    assert (advanced.action, advanced.stage_id) == ("graduate", 11)
    assert [e.reason for e in advanced.events] == [ReasonCode.STAGE_ADVANCED, ReasonCode.GRADUATED]

    few_orders = step(VILLAGE, TAIL, features(orders=3), EnrollmentState(stage_id=10, completed=frozenset({100, 101})), TODAY)
    assert (few_orders.action, few_orders.stage_id) == ("update", 11)


def test_promotion_out_of_a_staged_programme_is_graduation_and_demotion_is_an_exit_after_grace():
    mid = Creator(tier=Tier.MID, creator_type="seeding", category="beauty", reputation=Decimal("4.6"))
    assert step(VILLAGE, mid, features(), EnrollmentState(stage_id=10), TODAY).events[0].reason == ReasonCode.GRADUATED_PROMOTED

    pool = ProgramSpec(id=2, auto=True, eligibility=Eligibility(tiers=frozenset({Tier.MID})), grace_days=7)
    first = step(pool, TAIL, features(), EnrollmentState(stage_id=None), TODAY)
    assert (first.action, first.ineligible_since) == ("update", TODAY)
    waiting = step(pool, TAIL, features(), EnrollmentState(stage_id=None, ineligible_since=TODAY), TODAY + datetime.timedelta(days=6))
    assert waiting.action == "none"
    out = step(pool, TAIL, features(), EnrollmentState(stage_id=None, ineligible_since=TODAY), TODAY + datetime.timedelta(days=7))
    assert (out.action, out.events[0].reason) == ("exit", ReasonCode.EXITED_DEMOTED)


def test_a_creator_who_left_a_programme_is_not_put_back():
    campaign = ProgramSpec(id=3, auto=True, eligibility=Eligibility(tiers=frozenset({Tier.TAIL})))

    assert step(campaign, TAIL, features(), None, TODAY).action == "enrol"
    assert step(campaign, TAIL, features(), None, TODAY, opted_out=True) == NOTHING


# ---- properties

tiers = st.sampled_from([None, *Tier.values])
creators = st.builds(Creator, tier=tiers, creator_type=st.sampled_from([None, *CreatorType.values]),
                     category=st.sampled_from([None, "beauty", "food"]),
                     reputation=st.one_of(st.none(), st.decimals(0, 5, places=2)), active=st.booleans())
metric_features = st.one_of(st.none(), st.builds(
    features, orders=st.integers(0, 100), storefront_gmv=st.decimals(0, 1000, places=2),
    live_sessions=st.integers(0, 5), reputation=st.one_of(st.none(), st.decimals(0, 5, places=2))))
programmes = st.builds(
    ProgramSpec, id=st.just(1), auto=st.booleans(),
    eligibility=st.builds(Eligibility, tiers=st.frozensets(st.sampled_from(Tier.values)),
                          reputation_floor=st.one_of(st.none(), st.just(Decimal("4.0")))),
    stages=st.sampled_from([(), VILLAGE.stages]), grace_days=st.integers(0, 10))
states = st.one_of(st.none(), st.builds(
    EnrollmentState, stage_id=st.sampled_from([None, 10, 11]),
    ineligible_since=st.one_of(st.none(), st.dates(TODAY - datetime.timedelta(days=20), TODAY)),
    completed=st.frozensets(st.sampled_from([100, 101, 110]))))


def apply(result, state):
    """The enrolment state after a step, as the assignment service stores it."""
    if result.action in ("exit", "graduate"):
        return None  # no longer active
    if result.action == "none":
        return state
    completed = (state.completed if state else frozenset()) | result.completed_now
    return EnrollmentState(stage_id=result.stage_id, ineligible_since=result.ineligible_since, completed=completed)


@settings(max_examples=300)
@given(programmes, creators, metric_features, states)
def test_a_step_applied_then_asked_again_is_nothing(program, creator, feats, state):
    if state is not None and program.stages == () and state.stage_id is not None:
        state = EnrollmentState(stage_id=None, ineligible_since=state.ineligible_since)
    first = step(program, creator, feats, state, TODAY)
    after = apply(first, state)
    if first.action in ("exit", "graduate") or (state is None and first.action == "none"):
        return
    assert step(program, creator, feats, after, TODAY).action == "none"


@settings(max_examples=300)
@given(programmes, creators, metric_features)
def test_nobody_ineligible_is_ever_enrolled(program, creator, feats):
    result = step(program, creator, feats, None, TODAY)

    if ineligibility(program.eligibility, creator, TODAY) is not None or not program.auto:
        assert result.action == "none"
    else:
        assert result.action in ("enrol", "graduate") and result.events[0].reason == ReasonCode.ENROLLED


@settings(max_examples=300)
@given(programmes, creators, metric_features, states)
def test_an_exit_for_ineligibility_only_comes_after_the_grace_period(program, creator, feats, state):
    result = step(program, creator, feats, state, TODAY)
    why = ineligibility(program.eligibility, creator, TODAY)
    if result.action == "exit" and why != "closed":
        since = state.ineligible_since or TODAY
        assert (TODAY - since).days >= program.grace_days


@settings(max_examples=300)
@given(programmes, creators, metric_features)
def test_nobody_who_left_is_enrolled_again(program, creator, feats):
    assert step(program, creator, feats, None, TODAY, opted_out=True) == NOTHING


@settings(max_examples=300)
@given(programmes, creators, metric_features, states.filter(lambda state: state is not None))
def test_leaving_before_changes_nothing_for_a_place_taken_again(program, creator, feats, state):
    # A creator who joined again after leaving is in the programme like anyone else.
    assert step(program, creator, feats, state, TODAY, opted_out=True) == step(program, creator, feats, state, TODAY)
