"""Tests for the coaching playbook: features, rule checking, matching, rendering and the shipped rules."""

import importlib
import json
import re
from dataclasses import fields, replace
from decimal import Decimal
from functools import partial

import pytest
from django.utils.translation import override
from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.conditions import (
    FEATURES,
    KINDS,
    OPERATORS,
    TEXT_OPERATOR,
    UNKNOWN_CATEGORY,
    UNKNOWN_CREATOR_TYPE,
    UNKNOWN_FEATURE,
    UNKNOWN_OPERATOR,
    UNKNOWN_TIER,
    Condition,
    feature_values,
)
from coaching.playbook import (
    EMPTY_TEXT,
    FORMATTED_PLACEHOLDER,
    NOT_A_NAME,
    NOT_A_SLUG,
    SHADOWS_FEATURE,
    UNKNOWN_PLACEHOLDER,
    UNMATCHED_BRACE,
    PlaybookError,
    PlaybookRule,
    Recommendation,
    matches,
    recommend,
    render,
    rule_from_json,
)
from core.validation import (
    NOT_A_LIST,
    NOT_A_NUMBER,
    NOT_A_SHARE,
    NOT_A_WHOLE_NUMBER,
    NOT_AN_OBJECT,
    NOT_TEXT,
    REQUIRED,
    UNKNOWN_FIELD,
)
from tiers.choices import Category, CreatorType, Tier
from tiers.rules import Features
from tiers.tests.factories import FeaturesFactory, features_st, wild_features_st

ZH, EN = "zh-hans", "en"
# The playbook Ladder ships, as migrating writes it.
SHIPPED = importlib.import_module("coaching.migrations.0003_default_playbook").DEFAULT_RULES
DEFAULTS = {data["code"]: rule_from_json(data) for data in SHIPPED}

# A settled, healthy tail creator who triggers no condition of the shipped playbook: half the
# sales live, some big events among regular sessions, loyal buyers.
creator = partial(
    FeaturesFactory, live_gmv=Decimal("20000"), video_gmv=Decimal("15000"), storefront_gmv=Decimal("10000"),
    big_live_gmv=Decimal("5000"), live_days=8, live_sessions=10, big_live_days=2, repeat_buyer_rate=0.3,
)


def values_of(features=None, previous=None, tier=Tier.TAIL.value, creator_type=CreatorType.SEEDING.value):
    return feature_values(features or creator(), previous, tier, creator_type)


def rule_data(**changes):
    data = {
        "code": "raise_short_video_share",
        "priority": 10,
        "tiers": [],
        "types": [],
        "conditions": [{"feature": "short_video_storefront_share", "op": "<", "value": 0.2}],
        "text_zh": "从{short_video_storefront_share}提升到{target_share}",
        "text_en": "from {short_video_storefront_share} to {target_share}",
        "targets": {"target_share": 0.25},
    }
    data.update(changes)
    return data


def rule(**changes):
    return rule_from_json(rule_data(**changes))


def condition(feature, op, value):
    return rule(
        conditions=[{"feature": feature, "op": op, "value": value}], text_zh="x", text_en="x", targets={}
    )


# --- features ---------------------------------------------------------------------------------


def test_features_cover_every_input_share_and_derived_value():
    shares = {name for name, member in vars(Features).items() if isinstance(member, property)}
    derived = {
        "small_live_days",
        "only_big_live",
        "repeat_buyer_rate_change",
        "gmv_change",
        "tier",
        "creator_type",
    }

    assert {f.name for f in fields(Features)} | shares | derived == set(FEATURES)
    assert {"live_share", "short_video_storefront_share", "entertainment_video_share"} <= shares
    for name, feature in FEATURES.items():
        assert feature.name == name
        assert feature.kind in KINDS
        assert feature.label


def test_feature_values_has_every_feature_as_plain_numbers_and_text():
    values = values_of(creator(), None, Tier.MID, CreatorType.VERTICAL)

    assert set(values) == set(FEATURES)
    assert values["gmv"] == 50000.0 and isinstance(values["gmv"], float)
    assert values["reputation"] == 4.5
    assert values["followers"] == 120_000
    assert values["short_video_storefront_share"] == 0.5
    assert values["entertainment_video_share"] == pytest.approx(0.1)
    assert values["small_live_days"] == 6
    assert values["only_big_live"] == 0
    assert (values["tier"], values["creator_type"]) == ("mid", "vertical")
    assert type(values["tier"]) is str
    json.dumps(values)  # growth plans store them


@pytest.mark.parametrize(
    ("live_days", "big_live_days", "only_big_live"), [(4, 4, 1), (8, 2, 0), (0, 0, 0), (3, 0, 0)]
)
def test_only_big_live(live_days, big_live_days, only_big_live):
    values = values_of(creator(live_days=live_days, big_live_days=big_live_days))

    assert values["only_big_live"] == only_big_live


def test_changes_compare_with_the_previous_window():
    previous = creator(gmv=Decimal("62500"), repeat_buyer_rate=0.35)

    values = values_of(creator(), previous)

    assert values["gmv_change"] == pytest.approx(-0.2)
    assert values["repeat_buyer_rate_change"] == pytest.approx(-0.05)


@pytest.mark.parametrize("previous", [None, creator(gmv=Decimal("0"), repeat_buyer_rate=0.3)])
def test_changes_are_zero_without_a_previous_window_or_previous_sales(previous):
    values = values_of(creator(), previous)

    assert values["gmv_change"] == 0.0
    assert values["repeat_buyer_rate_change"] == 0.0


def test_missing_inputs_stay_missing():
    values = values_of(creator(reputation=None, top_category=None), tier=None, creator_type=None)

    assert values["reputation"] is None
    assert values["top_category"] is None
    assert values["tier"] is None and values["creator_type"] is None


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "holds"),
    [
        ("<", 9, True),
        ("<", 8, False),
        ("<=", 8, True),
        ("<=", 7, False),
        (">", 7, True),
        (">", 8, False),
        (">=", 8, True),
        (">=", 9, False),
        ("==", 8, True),
        ("==", 7, False),
        ("!=", 7, True),
        ("!=", 8, False),
    ],
)
def test_each_operator_on_a_number(op, value, holds):
    # given a creator with 8 live days
    values = values_of(creator(live_days=8))

    assert matches(condition("live_days", op, value), values, Tier.TAIL, None) is holds


@pytest.mark.parametrize(
    ("op", "value", "holds"),
    [("==", "tail", True), ("==", "mid", False), ("!=", "mid", True), ("!=", "tail", False)],
)
def test_each_operator_on_text(op, value, holds):
    values = values_of(tier="tail")

    assert matches(condition("tier", op, value), values, "tail", None) is holds


@pytest.mark.parametrize("op", OPERATORS)
def test_a_missing_value_meets_no_condition(op):
    values = values_of(creator(reputation=None))

    assert not matches(condition("reputation", op, 4.0), values, Tier.TAIL, None)


def test_all_conditions_must_hold():
    both = rule(
        conditions=[
            {"feature": "live_days", "op": ">=", "value": 8},
            {"feature": "refund_rate", "op": ">", "value": 0.1},
        ]
    )

    assert not matches(both, values_of(creator(live_days=8, refund_rate=0.05)), "tail", None)
    assert not matches(both, values_of(creator(live_days=7, refund_rate=0.2)), "tail", None)
    assert matches(both, values_of(creator(live_days=8, refund_rate=0.2)), "tail", None)


def test_a_rule_without_conditions_always_matches():
    assert matches(rule(conditions=[]), values_of(), "tail", None)


@pytest.mark.parametrize(
    ("tiers", "types", "tier", "creator_type", "matched"),
    [
        ([], [], "head", "persona", True),
        ([], [], None, None, True),
        (["mid", "head"], [], "head", None, True),
        (["mid", "head"], [], "tail", None, False),
        (["mid"], [], None, None, False),
        ([], ["vertical"], "tail", "vertical", True),
        ([], ["vertical"], "tail", "seeding", False),
        ([], ["vertical"], "tail", None, False),
        (["tail"], ["vertical"], "tail", "vertical", True),
        (["tail"], ["vertical"], "mid", "vertical", False),
        (["tail"], ["vertical"], Tier.TAIL, CreatorType.VERTICAL, True),
    ],
)
def test_tier_and_type_filters(tiers, types, tier, creator_type, matched):
    filtered = rule(tiers=tiers, types=types, conditions=[])

    assert matches(filtered, values_of(), tier, creator_type) is matched


def test_recommend_orders_by_priority_then_code_and_stops_at_the_limit():
    rules = [
        rule(code="low", priority=1, conditions=[]),
        rule(code="b_high", priority=9, conditions=[]),
        rule(code="a_high", priority=9, conditions=[]),
        rule(code="middle", priority=5, conditions=[]),
        rule(code="never", priority=100, tiers=["head"], conditions=[]),
    ]
    values = values_of()

    codes = [r.code for r in recommend(rules, values, "tail", None, EN)]

    assert codes == ["a_high", "b_high", "middle"]
    assert [r.code for r in recommend(rules, values, "tail", None, EN, limit=10)] == [
        "a_high",
        "b_high",
        "middle",
        "low",
    ]
    assert recommend(rules, values, "tail", None, EN, limit=1)[0].code == "a_high"
    assert recommend(rules, values, "tail", None, EN, limit=0) == []
    assert recommend([], values, "tail", None, EN) == []


def test_recommend_renders_in_the_pages_language():
    values = values_of(creator(video_gmv=Decimal("3000"), storefront_gmv=Decimal("3000")))

    (zh,) = recommend([rule()], values, "tail", None, ZH)
    (en,) = recommend([rule()], values, "tail", None, EN)

    assert zh == Recommendation(code="raise_short_video_share", priority=10, text="从12%提升到25%")
    assert en.text == "from 12% to 25%"


# --- rendering --------------------------------------------------------------------------------


def test_render_formats_each_placeholder_by_its_kind():
    values = values_of(
        creator(gmv=Decimal("3000000"), followers=123_456, reputation=Decimal("3.8")),
        tier=Tier.HEAD,
        creator_type=CreatorType.PERSONA,
    )
    text = "{gmv}|{followers}|{live_share}|{refund_rate}|{reputation}|{tier}|{creator_type}|{top_category}"

    assert render(text, values, {}, ZH) == "¥300万|12.3万|0.6%|5%|3.8|头部|人设型|美妆"
    assert render(text, values, {}, EN) == "¥3M|123,456|0.6%|5%|3.8|head|persona|beauty"


def test_render_formats_targets_by_size_or_by_the_feature_they_name():
    targets = {"target_share": 0.25, "target_days": 12, "target_reputation": 4.0, "target_gmv": 100000}
    text = "{target_share} {target_days} {target_reputation} {target_gmv}"

    assert render(text, values_of(), targets, ZH) == "25% 12 4.0 ¥10万"
    assert render(text, values_of(), targets, EN) == "25% 12 4.0 ¥100,000"


def test_render_shows_a_dash_for_a_missing_value_and_keeps_escaped_braces():
    values = values_of(creator(reputation=None), tier=None)

    assert render("{reputation} {tier}", values, {}, ZH) == "— —"
    assert render("{{literal}} {live_days}", values, {}, EN) == "{literal} 8"


def test_render_survives_text_that_slipped_past_validation():
    assert render("{gvm} left", values_of(), {}, EN) == "— left"
    assert render("50% {", values_of(), {}, EN) == "50% {"


# --- reading a rule ---------------------------------------------------------------------------


def test_rule_json_round_trips_through_real_json():
    parsed = rule(tiers=["mid"], types=["seeding"], priority=3)

    again = rule_from_json(json.loads(json.dumps(parsed.to_json())))

    assert again == parsed
    assert parsed.conditions == (Condition("short_video_storefront_share", "<", 0.2),)
    assert parsed.targets == {"target_share": 0.25}


def test_rule_missing_optional_keys_take_defaults():
    parsed = rule_from_json({"code": "hello", "priority": 1, "text_zh": "你好", "text_en": "hello"})

    assert parsed == PlaybookRule("hello", 1, (), (), (), "你好", "hello", {})


def test_rule_accepts_numbers_written_as_strings():
    parsed = rule(
        priority="7",
        conditions=[{"feature": "gmv", "op": ">=", "value": "100000"}],
        targets={"target_share": "0.5"},
    )

    assert parsed.priority == 7
    assert parsed.conditions[0].value == 100000.0
    assert parsed.targets == {"target_share": 0.5}


def test_the_errors_read_as_the_brief_promised():
    with pytest.raises(PlaybookError) as raised, override("en"):
        rule(
            priority=2.5,
            conditions=[
                {"feature": "gmv", "op": "=<", "value": 1},
                {"feature": "gvm", "op": "<", "value": 1},
            ],
            text_zh="{shrae}",
        )

    assert raised.value.errors == (
        "priority: must be a whole number",
        "conditions[0].op: must be one of <, <=, >, >=, ==, !=",
        "conditions[1].feature: unknown feature 'gvm'",
        "text_zh: unknown placeholder {shrae}",
    )


OK = {"feature": "gmv", "op": ">", "value": 0}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"prio": 1}, f"prio: {UNKNOWN_FIELD}"),
        ({"code": None}, f"code: {REQUIRED}"),
        ({"code": "Raise Share"}, f"code: {NOT_A_SLUG}"),
        ({"code": 7}, f"code: {NOT_A_SLUG}"),
        ({"priority": 1.5}, f"priority: {NOT_A_WHOLE_NUMBER}"),
        ({"priority": "high"}, f"priority: {NOT_A_WHOLE_NUMBER}"),
        ({"priority": True}, f"priority: {NOT_A_WHOLE_NUMBER}"),
        ({"priority": None}, f"priority: {NOT_A_WHOLE_NUMBER}"),
        ({"priority": "1e999999999"}, f"priority: {NOT_A_WHOLE_NUMBER}"),
        ({"tiers": "head"}, f"tiers: {NOT_A_LIST}"),
        ({"tiers": ["head", "hed"]}, f"tiers[1]: {UNKNOWN_TIER.format(name='hed')}"),
        ({"types": ["celebrity"]}, f"types[0]: {UNKNOWN_CREATOR_TYPE.format(name='celebrity')}"),
        ({"conditions": {}}, f"conditions: {NOT_A_LIST}"),
        ({"conditions": [OK, "gmv > 0"]}, f"conditions[1]: {NOT_AN_OBJECT}"),
        ({"conditions": [{**OK, "unit": "yuan"}]}, f"conditions[0].unit: {UNKNOWN_FIELD}"),
        ({"conditions": [{"feature": "gmv", "op": ">"}]}, f"conditions[0].value: {REQUIRED}"),
        (
            {"conditions": [{"feature": "gvm", "op": ">", "value": 0}]},
            f"conditions[0].feature: {UNKNOWN_FEATURE.format(name='gvm')}",
        ),
        ({"conditions": [{**OK, "op": "=>"}]}, f"conditions[0].op: {UNKNOWN_OPERATOR}"),
        ({"conditions": [{**OK, "value": "lots"}]}, f"conditions[0].value: {NOT_A_NUMBER}"),
        ({"conditions": [{**OK, "value": "NaN"}]}, f"conditions[0].value: {NOT_A_NUMBER}"),
        ({"conditions": [{**OK, "value": True}]}, f"conditions[0].value: {NOT_A_NUMBER}"),
        ({"conditions": [{**OK, "value": None}]}, f"conditions[0].value: {NOT_A_NUMBER}"),
        (
            {"conditions": [{"feature": "live_share", "op": "<", "value": 20}]},
            f"conditions[0].value: {NOT_A_SHARE}",
        ),
        (
            {"conditions": [{"feature": "tier", "op": "<", "value": "mid"}]},
            f"conditions[0].op: {TEXT_OPERATOR}",
        ),
        ({"conditions": [{"feature": "tier", "op": "==", "value": 2}]}, f"conditions[0].value: {NOT_TEXT}"),
        (
            {"conditions": [{"feature": "tier", "op": "==", "value": "hed"}]},
            f"conditions[0].value: {UNKNOWN_TIER.format(name='hed')}",
        ),
        (
            {"conditions": [{"feature": "creator_type", "op": "!=", "value": "idol"}]},
            f"conditions[0].value: {UNKNOWN_CREATOR_TYPE.format(name='idol')}",
        ),
        (
            {"conditions": [{"feature": "top_category", "op": "==", "value": "shoes"}]},
            f"conditions[0].value: {UNKNOWN_CATEGORY.format(name='shoes')}",
        ),
        ({"targets": [0.25], "text_zh": "x", "text_en": "x"}, f"targets: {NOT_AN_OBJECT}"),
        (
            {"targets": {"Target Share": 0.25}, "text_zh": "x", "text_en": "x"},
            f"targets.Target Share: {NOT_A_NAME}",
        ),
        ({"targets": {"gmv": 1}, "text_zh": "x", "text_en": "x"}, f"targets.gmv: {SHADOWS_FEATURE}"),
        ({"targets": {"t": "a quarter"}, "text_zh": "x", "text_en": "x"}, f"targets.t: {NOT_A_NUMBER}"),
        ({"targets": {"t": float("inf")}, "text_zh": "x", "text_en": "x"}, f"targets.t: {NOT_A_NUMBER}"),
        ({"text_en": None}, f"text_en: {REQUIRED}"),
        ({"text_en": ["hi"]}, f"text_en: {NOT_TEXT}"),
        ({"text_zh": "   "}, f"text_zh: {EMPTY_TEXT}"),
        ({"text_zh": "{shrae}"}, f"text_zh: {UNKNOWN_PLACEHOLDER.format(name='shrae')}"),
        ({"text_en": "{}"}, f"text_en: {UNKNOWN_PLACEHOLDER.format(name='')}"),
        ({"text_en": "{target_share:.0%}"}, f"text_en: {FORMATTED_PLACEHOLDER.format(name='target_share')}"),
        ({"text_en": "{gmv!r}"}, f"text_en: {FORMATTED_PLACEHOLDER.format(name='gmv')}"),
        ({"text_en": "up 5% {"}, f"text_en: {UNMATCHED_BRACE}"),
        ({"text_en": "a } b"}, f"text_en: {UNMATCHED_BRACE}"),
    ],
)
def test_rule_validation_error(changes, error):
    data = rule_data(**changes)
    data = {key: value for key, value in data.items() if not (key in ("code", "text_en") and value is None)}

    with pytest.raises(PlaybookError) as raised:
        rule_from_json(data)

    assert raised.value.errors == (error,)
    assert error in str(raised.value)


@override("en")
def test_the_spelled_out_examples_of_the_constants():
    assert UNKNOWN_FEATURE.format(name="gvm") == "unknown feature 'gvm'"
    assert UNKNOWN_OPERATOR == "must be one of <, <=, >, >=, ==, !="
    assert UNKNOWN_PLACEHOLDER.format(name="shrae") == "unknown placeholder {shrae}"


def test_a_rule_that_is_not_an_object():
    with pytest.raises(PlaybookError) as raised:
        rule_from_json(["code"])

    assert raised.value.errors == (f"rule: {NOT_AN_OBJECT}",)


def test_every_problem_is_reported_at_once():
    with pytest.raises(PlaybookError) as raised:
        rule_from_json({"tiers": ["hed"], "conditions": [{"feature": "gvm"}]})

    assert raised.value.errors == (
        f"code: {REQUIRED}",
        f"priority: {REQUIRED}",
        f"tiers[0]: {UNKNOWN_TIER.format(name='hed')}",
        f"conditions[0].op: {REQUIRED}",
        f"conditions[0].value: {REQUIRED}",
        f"conditions[0].feature: {UNKNOWN_FEATURE.format(name='gvm')}",
        f"text_zh: {REQUIRED}",
        f"text_en: {REQUIRED}",
    )


# --- the shipped playbook ---------------------------------------------------------------------


def test_default_rules_are_valid_unique_and_round_trip():
    assert len(DEFAULTS) == len(SHIPPED) >= 10
    for data in SHIPPED:
        parsed = rule_from_json(data)
        assert parsed.to_json() == rule_from_json(json.loads(json.dumps(data))).to_json()
        assert re.search(r"[\u4e00-\u9fff]", parsed.text_zh), parsed.code  # Chinese first
        assert not re.search(r"[\u4e00-\u9fff]", parsed.text_en), parsed.code


# code → (creator, previous window, tier, type) that should fire it, and one that should not.
FIRES = {
    "raise_reputation": (
        (creator(reputation=Decimal("3.8")), None, "mid", "seeding"),
        (creator(reputation=Decimal("4.0")), None, "mid", "seeding"),
    ),
    "reduce_refunds": (
        (creator(refund_rate=0.2), None, "tail", "seeding"),
        (creator(refund_rate=0.15), None, "tail", "seeding"),
    ),
    "raise_short_video_share": (
        (creator(video_gmv=Decimal("3000"), storefront_gmv=Decimal("3000")), None, "tail", "persona"),
        (creator(), None, "tail", "persona"),
    ),
    "mix_live_sessions": (
        (creator(live_days=4, big_live_days=4), None, "mid", "entertainment"),
        (creator(live_days=8, big_live_days=2), None, "mid", "entertainment"),
    ),
    "deepen_vertical_expertise": (
        (creator(repeat_buyer_rate=0.2), creator(repeat_buyer_rate=0.3), "tail", "vertical"),
        (creator(repeat_buyer_rate=0.28), creator(repeat_buyer_rate=0.3), "tail", "vertical"),
    ),
    "combine_content_with_seeding": (
        (
            creator(entertainment_videos=20, video_gmv=Decimal("5000"), storefront_gmv=Decimal("5000")),
            None,
            "tail",
            "entertainment",
        ),
        (creator(entertainment_videos=20), None, "tail", "entertainment"),
    ),
    "strengthen_persona": (
        (creator(repeat_buyer_rate=0.1), None, "tail", "seeding"),
        (creator(repeat_buyer_rate=0.1), None, "tail", "vertical"),
    ),
    "join_newcomer_village": (
        (creator(active_days=5), None, "newcomer", None),
        (creator(), None, "mid", "seeding"),
    ),
    "join_campaigns_and_product_pool": (
        (creator(gmv=Decimal("150000")), None, "mid", "seeding"),
        (creator(), None, "tail", "seeding"),
    ),
    "work_with_account_manager": (
        (creator(gmv=Decimal("3500000"), followers=6_000_000), None, "head", "persona"),
        (creator(), None, "mid", "persona"),
    ),
}


def test_every_default_rule_has_a_firing_case():
    assert set(FIRES) == set(DEFAULTS)


@pytest.mark.parametrize("code", sorted(FIRES))
def test_default_rule_fires_when_it_should_and_not_otherwise(code):
    (features, previous, tier, creator_type), (other, other_previous, other_tier, other_type) = FIRES[code]

    assert matches(DEFAULTS[code], feature_values(features, previous, tier, creator_type), tier, creator_type)
    assert not matches(
        DEFAULTS[code], feature_values(other, other_previous, other_tier, other_type), other_tier, other_type
    )


@pytest.mark.parametrize("code", sorted(FIRES))
@pytest.mark.parametrize("language", [ZH, EN])
def test_default_rule_renders_completely_in_both_languages(code, language):
    (features, previous, tier, creator_type), _ = FIRES[code]
    shipped = DEFAULTS[code]
    values = feature_values(features, previous, tier, creator_type)

    text = render(shipped.text_zh if language == ZH else shipped.text_en, values, shipped.targets, language)

    assert "{" not in text and "}" not in text
    assert "—" not in text  # every number the advice quotes is there
    assert re.search(r"\d", text)  # concrete, with the creator's numbers


def test_a_healthy_tail_creator_only_gets_the_newcomer_village():
    values = values_of(creator())

    recommended = recommend(DEFAULTS.values(), values, "tail", "seeding", ZH)

    assert [r.code for r in recommended] == ["join_newcomer_village"]


def test_the_channel_mix_advice_quotes_the_creators_share():
    values = values_of(creator(video_gmv=Decimal("3000"), storefront_gmv=Decimal("3000")))
    shipped = DEFAULTS["raise_short_video_share"]

    zh = render(shipped.text_zh, values, shipped.targets, ZH)
    en = render(shipped.text_en, values, shipped.targets, EN)

    assert "从12%提升到25%" in zh and "卖货不止在直播时段" in zh
    assert "from 12% to 25%" in en and "beyond your live hours" in en


def test_the_live_cadence_advice_quotes_the_creators_days():
    values = values_of(creator(live_days=5, big_live_days=5))
    shipped = DEFAULTS["mix_live_sessions"]

    zh = render(shipped.text_zh, values, shipped.targets, ZH)

    assert "开播5天" in zh and "大场5天" in zh and "大场+小场+日常场" in zh


def test_the_reputation_advice_reads_the_score_with_one_decimal():
    values = values_of(creator(reputation=Decimal("3.85")))
    shipped = DEFAULTS["raise_reputation"]

    assert render(shipped.text_en, values, shipped.targets, EN).startswith(
        "Your creator reputation score is 3.8, below 4.0."
    )


def test_the_most_urgent_advice_comes_first():
    troubled = creator(
        reputation=Decimal("3.5"), refund_rate=0.3, video_gmv=Decimal("0"), storefront_gmv=Decimal("0")
    )

    recommended = recommend(DEFAULTS.values(), values_of(troubled), "tail", "seeding", EN)

    assert [r.code for r in recommended] == ["raise_reputation", "reduce_refunds", "raise_short_video_share"]


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=120, deadline=None)

any_features = st.one_of(features_st(), wild_features_st())
TEXT_CHOICES = {"tier": Tier.values, "creator_type": CreatorType.values, "top_category": Category.values}
# Shares and rates that must lie in [0, 1]; the *_change features may be negative.
UNIT_INTERVAL = {
    name for name, f in FEATURES.items() if f.kind in ("share", "rate") and not name.endswith("_change")
}


@st.composite
def conditions_st(draw):
    feature = draw(st.sampled_from(sorted(FEATURES)))
    if FEATURES[feature].kind == "text":
        return {
            "feature": feature,
            "op": draw(st.sampled_from(["==", "!="])),
            "value": draw(st.sampled_from(TEXT_CHOICES[feature])),
        }
    if feature in UNIT_INTERVAL:
        value = draw(st.floats(0, 1))
    else:
        value = draw(st.one_of(st.integers(-100, 10**7), st.floats(-1e7, 1e7)))
    return {"feature": feature, "op": draw(st.sampled_from(OPERATORS)), "value": value}


literal_text = st.text(alphabet=st.characters(exclude_characters="{}"), max_size=6)


@st.composite
def rule_data_st(draw):
    """A rule ops could save: valid by construction, placeholders drawn from what the rule may use."""
    targets = draw(
        st.dictionaries(st.from_regex(r"target_[a-z]{1,6}", fullmatch=True), st.floats(-10, 1e9), max_size=3)
    )
    names = sorted(set(FEATURES) | set(targets))

    def text():
        pieces = draw(
            st.lists(st.one_of(literal_text, st.sampled_from(names).map("{{{}}}".format)), max_size=6)
        )
        return "提示" + "".join(pieces)

    return {
        "code": draw(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)),
        "priority": draw(st.integers(-100, 100)),
        "tiers": draw(st.lists(st.sampled_from(Tier.values), unique=True, max_size=2)),
        "types": draw(st.lists(st.sampled_from(CreatorType.values), unique=True, max_size=2)),
        "conditions": draw(st.lists(conditions_st(), max_size=3)),
        "text_zh": text(),
        "text_en": "Tip " + text(),
        "targets": targets,
    }


tiers = st.one_of(st.none(), st.sampled_from(Tier.values))
creator_types = st.one_of(st.none(), st.sampled_from(CreatorType.values))
languages = st.sampled_from([ZH, EN, "zh", "en-gb"])


@PROPERTY
@given(
    any_features,
    st.one_of(st.none(), any_features),
    tiers,
    creator_types,
    st.lists(rule_data_st(), max_size=4),
    languages,
    st.integers(0, 5),
)
def test_recommend_is_total_bounded_sorted_and_deterministic(
    features, previous, tier, creator_type, extra_rules, language, limit
):
    rules = [*DEFAULTS.values(), *(rule_from_json(data) for data in extra_rules)]
    values = feature_values(features, previous, tier, creator_type)

    recommended = recommend(rules, values, tier, creator_type, language, limit)

    assert len(recommended) <= limit
    order = [(-r.priority, r.code) for r in recommended]
    assert order == sorted(order)
    assert recommend(rules, values, tier, creator_type, language, limit) == recommended
    # They are the top of the matching rules: nothing matching and left out outranks them.
    matching = sorted((-r.priority, r.code) for r in rules if matches(r, values, tier, creator_type))
    assert order == matching[:limit]
    for advice in recommended:
        assert "{" not in advice.text and "}" not in advice.text


@PROPERTY
@given(rule_data_st(), any_features, st.one_of(st.none(), any_features), tiers, creator_types, languages)
def test_render_fills_every_placeholder_of_a_valid_rule(
    data, features, previous, tier, creator_type, language
):
    parsed = rule_from_json(data)
    values = feature_values(features, previous, tier, creator_type)

    for text in (parsed.text_zh, parsed.text_en):
        rendered = render(text, values, parsed.targets, language)
        assert "{" not in rendered and "}" not in rendered


@PROPERTY
@given(rule_data_st())
def test_valid_rules_round_trip(data):
    parsed = rule_from_json(data)

    assert rule_from_json(json.loads(json.dumps(parsed.to_json()))) == parsed


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@PROPERTY
@given(
    st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(
                ["code", "priority", "tiers", "types", "conditions", "text_zh", "text_en", "targets"]
            ),
            json_values,
        ),
        rule_data_st().flatmap(
            lambda data: st.builds(
                lambda key, value: {**data, key: value}, st.sampled_from(sorted(data)), json_values
            )
        ),
    )
)
def test_any_json_is_either_a_rule_or_a_clean_refusal(data):
    try:
        parsed = rule_from_json(data)
    except PlaybookError as error:
        assert error.errors
        assert all(isinstance(line, str) and ": " in line for line in error.errors)
    else:
        assert isinstance(parsed, PlaybookRule)
        assert rule_from_json(parsed.to_json()) == parsed


def test_replacing_a_rules_field_keeps_it_frozen_and_comparable():
    parsed = rule()

    assert replace(parsed, priority=11) != parsed
    with pytest.raises(AttributeError):
        parsed.priority = 11
