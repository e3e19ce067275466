"""One condition language for stage and task criteria and playbook rules: parsing, missing data, and
proof that both former languages' valid documents still mean what they meant."""

import datetime
import importlib
import operator

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from coaching.conditions import (
    FEATURES,
    OPERATORS,
    UNIT_INTERVAL,
    Condition,
    ConditionError,
    condition_from_json,
    conditions_from_json,
    feature_values,
)
from coaching.playbook import PlaybookError
from coaching.rules import Creator, Eligibility, ProgramSpec, StageSpec, criteria_values, step
from coaching.tests.test_playbook import any_features, conditions_st, json_values
from core.validation import NOT_A_LIST, NOT_A_NUMBER, NOT_A_SHARE, UNKNOWN_FIELD, RuleError
from tiers.choices import CreatorType, Tier
from tiers.rules import PolicyError
from tiers.tests.factories import FeaturesFactory

MIGRATION = importlib.import_module("coaching.migrations.0005_one_condition_language")
PROPERTY = settings(max_examples=300, deadline=None)
TODAY = datetime.date(2026, 11, 25)
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
           "!=": operator.ne}
TAIL = Creator(tier=Tier.TAIL, creator_type=CreatorType.SEEDING, category="beauty", reputation=None)


# --- one validator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "error"),
    [
        # A share written as a percent: the stage could never be left.
        ([{"feature": "live_share", "op": "<", "value": 60}], f"exit_criteria[0].value: {NOT_A_SHARE}"),
        ([{"feature": "orders", "op": ">=", "value": "nan"}], f"exit_criteria[0].value: {NOT_A_NUMBER}"),
        ([{"feature": "orders", "op": ">=", "value": "Infinity"}], f"exit_criteria[0].value: {NOT_A_NUMBER}"),
        ({"feature": "orders", "op": ">=", "value": 10}, f"exit_criteria: {NOT_A_LIST}"),
        ([{"metric": "orders", "op": ">=", "value": 10}], f"exit_criteria[0].metric: {UNKNOWN_FIELD}"),
    ],
)
def test_stage_criteria_get_the_stricter_validator(criteria, error):
    with pytest.raises(ConditionError) as raised:
        conditions_from_json(criteria, "exit_criteria")

    assert error in raised.value.errors


def test_a_task_criterion_is_one_condition_and_may_read_any_feature():
    assert condition_from_json({"feature": "tier", "op": "==", "value": "tail"}, "criterion") == Condition(
        "tier", "==", "tail")
    assert condition_from_json({"feature": "orders", "op": ">=", "value": "10"}) == Condition("orders", ">=", 10.0)


def test_the_pure_validators_share_one_error():
    assert issubclass(ConditionError, RuleError) and issubclass(PlaybookError, RuleError)
    assert issubclass(PolicyError, RuleError) and issubclass(RuleError, ValueError)


# --- missing data meets no condition ----------------------------------------------------------


@pytest.mark.parametrize("op", OPERATORS)
def test_a_creator_without_metrics_meets_no_condition(op):
    values = criteria_values(TAIL, None)

    assert not Condition("orders", op, 10).holds(values)
    assert not Condition("live_share", op, 0.2).holds(values)


def test_a_newcomer_without_metrics_has_done_no_task_and_left_no_stage():
    # given a stage left with refunds under 10%, and a task checked the same way: criteria that no
    # data used to meet (no data read as 0, and 0 < 0.1)
    stage = StageSpec(id=1, exit=(Condition("refund_rate", "<", 0.1),), exit_needs_tasks=False,
                      metric_tasks=((7, Condition("refund_rate", "<", 0.1)),))
    village = ProgramSpec(id=1, auto=True, eligibility=Eligibility(), stages=(stage,))
    newcomer = Creator(tier=Tier.NEWCOMER, creator_type=None, category=None, reputation=None)

    without_metrics = step(village, newcomer, None, None, TODAY)
    selling = step(village, newcomer, FeaturesFactory(refund_rate=0.05), None, TODAY)

    assert (without_metrics.action, without_metrics.completed_now) == ("enrol", frozenset())
    assert (selling.action, selling.completed_now) == ("graduate", frozenset({7}))


def test_a_change_on_the_previous_window_is_unknown_to_assignment():
    values = criteria_values(TAIL, FeaturesFactory())

    assert values["gmv_change"] is None and not Condition("gmv_change", "<", 0.5).holds(values)
    # The playbook reads the previous window; without one there is no change to speak of.
    assert feature_values(FeaturesFactory(), None, Tier.TAIL, None)["gmv_change"] == 0.0


# --- both former languages still mean the same ------------------------------------------------

# The former stage/task criteria language (coaching.rules at 1ce72be): {"metric", "op", "value"}
# over these metrics, any value float() takes, and no data read as 0.
FORMER_METRICS = (
    "gmv", "live_gmv", "video_gmv", "storefront_gmv", "big_live_gmv", "orders", "active_days", "followers",
    "reputation", "top_category_gmv", "live_days", "live_sessions", "big_live_days", "videos_posted",
    "entertainment_videos", "repeat_buyer_rate", "refund_rate", "days_since_onboarding", "live_share",
    "short_video_storefront_share", "top_category_share", "big_live_share", "entertainment_video_share",
)


def former_criterion(document) -> tuple | None:
    """What the former criteria_from_json made of one entry, or None where it refused it."""
    value = document["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return document["metric"], document["op"], float(value)
    except ValueError:
        return None


def former_criterion_holds(criterion, features) -> bool:
    metric, op, value = criterion
    actual = None if features is None else getattr(features, metric)
    return COMPARE[op](0.0 if actual is None else float(actual), value)


former_values = st.one_of(
    st.integers(-(10**6), 10**9),
    st.floats(-1e9, 1e9),
    st.floats(-1e9, 1e9).map(str),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "60", "20", "0.6", " 10 ", "1e3", "1_000", "ten", ""]),
    st.booleans(),
    st.none(),
)
former_documents = st.fixed_dictionaries(
    {"metric": st.sampled_from(FORMER_METRICS), "op": st.sampled_from(OPERATORS), "value": former_values}
)
tiers = st.one_of(st.none(), st.sampled_from(Tier.values))
creator_types = st.one_of(st.none(), st.sampled_from(CreatorType.values))


@PROPERTY
@given(former_documents, st.one_of(st.none(), any_features), tiers, creator_types)
def test_a_former_criterion_means_what_it_meant_except_where_it_was_wrong(document, features, tier, creator_type):
    former = former_criterion(document)
    assume(former is not None)  # only what the former language accepted

    # when the migration converts it and the one language reads it
    converted = MIGRATION.stage_criteria([document])
    try:
        (condition,) = conditions_from_json(converted, "exit_criteria")
    except ConditionError as refused:
        # then it is refused only where the former accepted a mistake: a value that is no number
        # ("nan", "inf"), or a share written as a percent (60 for 0.6), never to be met
        _, _, value = former
        shares = document["metric"] in UNIT_INTERVAL
        assert value != value or value in (float("inf"), float("-inf")) or (shares and not 0 <= value <= 1)
        assert refused.errors in ((f"exit_criteria[0].value: {NOT_A_NUMBER}",),
                                  (f"exit_criteria[0].value: {NOT_A_SHARE}",))
        return
    creator = Creator(tier=tier, creator_type=creator_type, category=None, reputation=None)
    now = condition.holds(criteria_values(creator, features))
    if features is None or getattr(features, document["metric"]) is None:
        # The former read no data (no metrics, no reputation score yet) as 0, so "orders < 5" held for
        # someone who had not started: missing data now meets no condition.
        assert now is False
    else:
        assert now == former_criterion_holds(former, features)


def test_the_named_exception_does_happen():
    # given "fewer than 5 orders" for a creator without metrics
    document = {"metric": "orders", "op": "<", "value": 5}
    (condition,) = conditions_from_json(MIGRATION.stage_criteria([document]))

    assert former_criterion_holds(former_criterion(document), None) is True
    assert condition.holds(criteria_values(TAIL, None)) is False


def former_playbook_holds(op, value, actual) -> bool:
    """The former playbook's _holds: no value, NaN or a value of the other kind met no condition."""
    comparable = actual is not None and actual == actual and isinstance(actual, str) == isinstance(value, str)
    return comparable and COMPARE[op](actual if isinstance(actual, str) else float(actual), value)


@PROPERTY
@given(conditions_st(), any_features, st.one_of(st.none(), any_features), tiers, creator_types)
def test_a_former_playbook_condition_means_what_it_meant(document, features, previous, tier, creator_type):
    # given a condition the former playbook accepted (its validator is the one language's now)
    condition = condition_from_json(document)
    values = feature_values(features, previous, tier, creator_type)

    assert condition.to_json()["feature"] == document["feature"]
    assert condition.holds(values) == former_playbook_holds(condition.op, condition.value, values[condition.feature])


# --- the migration reports exactly what the one language refuses -----------------------------

any_documents = st.one_of(
    conditions_st(),
    former_documents.map(lambda document: MIGRATION.stage_criteria([document])[0]),
    st.dictionaries(st.sampled_from(["feature", "op", "value", "metric", "unit"]), json_values, max_size=4),
    json_values,
)


@PROPERTY
@given(any_documents)
@example({"feature": "live_share", "op": "<", "value": 60})
@example({"feature": "live_share", "op": "<", "value": 1.5})
@example({"feature": "orders", "op": ">=", "value": "nan"})
@example({"feature": "tier", "op": ">", "value": "mid"})
def test_the_migration_reports_exactly_what_the_one_language_refuses(document):
    problems = MIGRATION.condition_problems(document, "criterion")
    try:
        condition_from_json(document, "criterion")
    except ConditionError as refused:
        assert problems and [p.split(": ")[0] for p in problems] == [e.split(": ")[0] for e in refused.errors]
    else:
        assert problems == []


def test_every_feature_is_known_to_the_migration():
    assert set(MIGRATION.KINDS) == set(FEATURES)
    assert {name for name, kind in MIGRATION.KINDS.items() if kind == "share"} == UNIT_INTERVAL
