"""The one condition language of stage and task criteria and playbook rules: features, operators, parsing, evaluation.

A condition is `{"feature": "orders", "op": ">=", "value": 10}`; a list of them holds when every one
holds. The same document means the same thing in a stage's entry or exit criteria, a metric task's
criterion and a playbook rule.

Missing data meets no condition, whatever the operator ("!=" included). A creator with no metrics
yet, or no reputation score yet, has not done anything a condition can count: a newcomer's
"orders >= 10" task stays open, and neither "live_share < 0.2" advice ("raise your live share") nor
a "refund_rate < 0.1" stage exit fires on figures that do not exist. Reading no data as 0, as stage
criteria once did, would have let every "<" condition pass for someone who has not started.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.validation import (
    NOT_A_LIST,
    NOT_A_NUMBER,
    NOT_A_SHARE,
    NOT_AN_OBJECT,
    NOT_TEXT,
    REQUIRED,
    UNKNOWN_FIELD,
    RuleError,
    number,
)
from tiers.choices import Category, CreatorType, Tier
from tiers.rules import Features

UNKNOWN_FEATURE = _("unknown feature {name!r}")  # → "unknown feature 'gvm'"
UNKNOWN_TIER = _("unknown tier {name!r}")
UNKNOWN_CREATOR_TYPE = _("unknown creator type {name!r}")
UNKNOWN_CATEGORY = _("unknown category {name!r}")
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
UNKNOWN_OPERATOR = format_lazy(_("must be one of {operators}"), operators=", ".join(OPERATORS))
TEXT_OPERATOR = _("text features compare only with == or !=")

_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_FIELDS = ("feature", "op", "value")


class ConditionError(RuleError):
    pass


# --- what a condition can look at -------------------------------------------------------------

# "score" is a sixth kind beside share, money, count, rate and text: 带货口碑分 is a 0–5 score,
# and neither a percent ("450%") nor a count ("4") reads right for it.
KINDS = ("share", "money", "count", "rate", "score", "text")


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    label: str


_FEATURE_LIST = (
    # channel GMV in the window
    Feature("gmv", "money", _("Sales (GMV)")),
    Feature("live_gmv", "money", _("Live sales")),
    Feature("video_gmv", "money", _("Short-video sales")),
    Feature("storefront_gmv", "money", _("Storefront sales")),
    Feature("big_live_gmv", "money", _("Big-event live sales")),
    Feature("top_category_gmv", "money", _("Top-category sales")),
    # shares of GMV (and of videos)
    Feature("live_share", "share", _("Live share of sales")),
    Feature("short_video_storefront_share", "share", _("Short video + storefront share of sales")),
    Feature("top_category_share", "share", _("Top-category share of sales")),
    Feature("big_live_share", "share", _("Big-event share of sales")),
    Feature("entertainment_video_share", "share", _("Entertainment share of videos")),
    Feature("gmv_change", "share", _("Sales change on the previous window")),
    # activity and cadence
    Feature("days_since_onboarding", "count", _("Days since onboarding")),
    Feature("active_days", "count", _("Selling days")),
    Feature("live_days", "count", _("Live days")),
    Feature("live_sessions", "count", _("Live sessions")),
    Feature("big_live_days", "count", _("Big-event live days")),
    Feature("small_live_days", "count", _("Small and daily live days")),
    Feature("only_big_live", "count", _("Only big events (1 yes, 0 no)")),
    Feature("videos_posted", "count", _("Videos posted")),
    Feature("entertainment_videos", "count", _("Entertainment videos")),
    # audience and quality
    Feature("followers", "count", _("Followers")),
    Feature("orders", "count", _("Orders")),
    Feature("repeat_buyer_rate", "rate", _("Repeat-buyer rate")),
    Feature("repeat_buyer_rate_change", "rate", _("Repeat-buyer rate change on the previous window")),
    Feature("refund_rate", "rate", _("Refund rate")),
    Feature("reputation", "score", _("Reputation score")),
    # who they are
    Feature("top_category", "text", _("Top category")),
    Feature("tier", "text", _("Tier")),
    Feature("creator_type", "text", _("Creator type")),
)
FEATURES: dict[str, Feature] = {feature.name: feature for feature in _FEATURE_LIST}

# The choices a text feature takes, which also give each value its label.
TEXT_CHOICES = {"tier": Tier, "creator_type": CreatorType, "top_category": Category}
_UNKNOWN_CHOICE = {"tier": UNKNOWN_TIER, "creator_type": UNKNOWN_CREATOR_TYPE, "top_category": UNKNOWN_CATEGORY}

# Features whose values live in [0, 1], so a condition value of 20 is a typo for 0.2 (one that
# would make a stage impossible to leave). The two *_change features can be negative and
# gmv_change can exceed 1, so they are not here.
UNIT_INTERVAL = frozenset(
    {
        "live_share",
        "short_video_storefront_share",
        "top_category_share",
        "big_live_share",
        "entertainment_video_share",
        "repeat_buyer_rate",
        "refund_rate",
    }
)
# Features that compare this window with the previous one.
CHANGE_FEATURES = ("gmv_change", "repeat_buyer_rate_change")
_SHARE_PROPERTIES = (
    "live_share",
    "short_video_storefront_share",
    "top_category_share",
    "big_live_share",
    "entertainment_video_share",
)


def feature_values(
    features: Features | None, previous: Features | None, tier: str | None, creator_type: str | None
) -> dict[str, float | str | None]:
    """Every FEATURES name → the creator's value: numbers as int or float, text as str, None if unknown.

    No features (no metrics in the window) leaves every figure unknown; tier and type still count.
    """
    values: dict[str, float | str | None] = dict.fromkeys(FEATURES)
    values["tier"] = None if tier is None else str(tier)
    values["creator_type"] = None if creator_type is None else str(creator_type)
    if features is None:
        return values
    for f in fields(Features):
        value = getattr(features, f.name)
        # Floats, not Decimals: the values end up in JSON (growth plans) and compare with floats.
        values[f.name] = float(value) if isinstance(value, Decimal) else value
    for name in _SHARE_PROPERTIES:
        values[name] = getattr(features, name)
    values["small_live_days"] = features.live_days - features.big_live_days
    values["only_big_live"] = int(features.big_live_days > 0 and features.live_days == features.big_live_days)
    values["repeat_buyer_rate_change"] = (
        features.repeat_buyer_rate - previous.repeat_buyer_rate if previous is not None else 0.0
    )
    # Growth from nothing has no ratio; 0 keeps a "sales dropped" rule from firing on it.
    values["gmv_change"] = (
        float((features.gmv - previous.gmv) / previous.gmv)
        if previous is not None and previous.gmv > 0
        else 0.0
    )
    return values


# --- conditions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: float | str

    def holds(self, values: Mapping) -> bool:
        """Whether the creator's `values` (see feature_values) meet this condition; missing data never does."""
        actual = values.get(self.feature)
        if actual is None:
            return False
        compare = _COMPARE[self.op]
        if isinstance(self.value, str):
            return isinstance(actual, str) and compare(actual, self.value)
        if isinstance(actual, str):
            return False
        try:
            actual = float(actual)
        except OverflowError:  # an int beyond float range is still plainly large
            actual = math.copysign(math.inf, actual)
        # NaN is no figure at all: missing data, so it meets no condition either.
        return not math.isnan(actual) and compare(actual, self.value)

    def to_json(self) -> dict:
        return {"feature": self.feature, "op": self.op, "value": self.value}


def all_hold(conditions, values: Mapping) -> bool:
    return all(condition.holds(values) for condition in conditions)


def condition_from_json(item, path: str = "condition") -> Condition:
    """Parse one {"feature", "op", "value"}; ConditionError names every problem by path."""
    if not isinstance(item, dict):
        raise ConditionError([f"{path}: {NOT_AN_OBJECT}"])
    problems = [f"{path}.{key}: {UNKNOWN_FIELD}" for key in item if key not in _FIELDS]
    problems += [f"{path}.{key}: {REQUIRED}" for key in _FIELDS if key not in item]
    name, op, value = item.get("feature"), item.get("op"), item.get("value")
    feature = FEATURES.get(name) if isinstance(name, str) else None
    if "feature" in item and feature is None:
        problems.append(f"{path}.feature: {UNKNOWN_FEATURE.format(name=name)}")
    if "op" in item and op not in OPERATORS:
        problems.append(f"{path}.op: {UNKNOWN_OPERATOR}")
    # The value can only be judged against a known feature.
    if feature is not None and "value" in item:
        if feature.kind == "text":
            if op in OPERATORS and op not in ("==", "!="):
                problems.append(f"{path}.op: {TEXT_OPERATOR}")
            if not isinstance(value, str):
                problems.append(f"{path}.value: {NOT_TEXT}")
            elif value not in TEXT_CHOICES[feature.name].values:
                problems.append(f"{path}.value: {_UNKNOWN_CHOICE[feature.name].format(name=value)}")
        else:
            value = number(value)
            if value is None:
                problems.append(f"{path}.value: {NOT_A_NUMBER}")
            elif feature.name in UNIT_INTERVAL and not 0 <= value <= 1:
                problems.append(f"{path}.value: {NOT_A_SHARE}")
    if problems:
        raise ConditionError(problems)
    return Condition(feature=name, op=op, value=value)


def conditions_from_json(data, path: str = "conditions") -> tuple[Condition, ...]:
    """Parse a list of conditions (all must hold); ConditionError names every problem in every entry."""
    if not isinstance(data, list):
        raise ConditionError([f"{path}: {NOT_A_LIST}"])
    errors, conditions = [], []
    for index, item in enumerate(data):
        try:
            conditions.append(condition_from_json(item, f"{path}[{index}]"))
        except ConditionError as error:
            errors += error.errors
    if errors:
        raise ConditionError(errors)
    return tuple(conditions)


def choice_list(data, key, allowed, unknown, errors) -> tuple[str, ...]:
    """The list at data[key], each value among `allowed`; every problem appended to `errors` as "key[i]: …"."""
    raw = data.get(key, [])
    if not isinstance(raw, list):
        errors.append(f"{key}: {NOT_A_LIST}")
        return ()
    for index, value in enumerate(raw):
        if value not in allowed:
            errors.append(f"{key}[{index}]: {unknown.format(name=value)}")
    return tuple(raw)
