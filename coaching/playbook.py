"""The coaching playbook: rules ops write, matched against one creator's features and rendered as advice."""

from __future__ import annotations

import math
import operator
import re
import string
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from coaching.formatting import MISSING, count, is_chinese, money, percent, score
from tiers.choices import Category, CreatorType, Tier
from tiers.rules import Features

# Rule validation messages; a PlaybookError line reads "<path>: <message>", e.g. "conditions[1].op: …".
NOT_AN_OBJECT = "must be an object"
NOT_A_LIST = "must be a list"
UNKNOWN_FIELD = "unknown field"
REQUIRED = "is required"
NOT_A_SLUG = "must be a slug of lowercase letters, digits and underscores"
NOT_A_NAME = "must be a name of lowercase letters, digits and underscores, starting with a letter"
NOT_A_WHOLE_NUMBER = "must be a whole number"
NOT_A_NUMBER = "must be a number"
NOT_TEXT = "must be text"
EMPTY_TEXT = "must not be empty"
NOT_A_SHARE = "must be between 0 and 1 (0.2 for 20%)"
UNKNOWN_FEATURE = "unknown feature {name!r}"  # → "unknown feature 'gvm'"
UNKNOWN_TIER = "unknown tier {name!r}"
UNKNOWN_CREATOR_TYPE = "unknown creator type {name!r}"
UNKNOWN_CATEGORY = "unknown category {name!r}"
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
UNKNOWN_OPERATOR = "must be one of " + ", ".join(OPERATORS)
TEXT_OPERATOR = "text features compare only with == or !="
SHADOWS_FEATURE = "must not reuse a feature's name"
UNKNOWN_PLACEHOLDER = "unknown placeholder {{{name}}}"  # → "unknown placeholder {shrae}"
FORMATTED_PLACEHOLDER = "placeholder {{{name}}} takes no format or conversion; the page formats it"
UNMATCHED_BRACE = "has an unmatched brace; write {{ or }} for a literal one"

_SLUG = re.compile(r"[a-z0-9][a-z0-9_]*")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_FORMATTER = string.Formatter()


class PlaybookError(ValueError):
    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


# --- what a rule can look at ------------------------------------------------------------------

# "score" is a sixth kind beside share, money, count, rate and text: 带货口碑分 is a 0–5 score,
# and neither a percent ("450%") nor a count ("4") reads right for it.
KINDS = ("share", "money", "count", "rate", "score", "text")


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    label_zh: str
    label_en: str


_FEATURE_LIST = (
    # channel GMV in the window
    Feature("gmv", "money", "成交额", "sales (GMV)"),
    Feature("live_gmv", "money", "直播成交额", "live sales"),
    Feature("video_gmv", "money", "短视频成交额", "short-video sales"),
    Feature("storefront_gmv", "money", "橱窗成交额", "storefront sales"),
    Feature("big_live_gmv", "money", "大场直播成交额", "big-event live sales"),
    Feature("top_category_gmv", "money", "第一品类成交额", "top-category sales"),
    # shares of GMV (and of videos)
    Feature("live_share", "share", "直播成交占比", "live share of sales"),
    Feature(
        "short_video_storefront_share",
        "share",
        "短视频+橱窗成交占比",
        "short video + storefront share of sales",
    ),
    Feature("top_category_share", "share", "第一品类成交占比", "top-category share of sales"),
    Feature("big_live_share", "share", "大场直播成交占比", "big-event share of sales"),
    Feature("entertainment_video_share", "share", "娱乐视频占比", "entertainment share of videos"),
    Feature("gmv_change", "share", "成交额环比变化", "sales change on the previous window"),
    # activity and cadence
    Feature("days_since_onboarding", "count", "入驻天数", "days since onboarding"),
    Feature("active_days", "count", "动销天数", "selling days"),
    Feature("live_days", "count", "开播天数", "live days"),
    Feature("live_sessions", "count", "直播场次", "live sessions"),
    Feature("big_live_days", "count", "大场直播天数", "big-event live days"),
    Feature("small_live_days", "count", "小场及日常直播天数", "small and daily live days"),
    Feature("only_big_live", "count", "只做大场(1是/0否)", "only big events (1 yes, 0 no)"),
    Feature("videos_posted", "count", "发布视频数", "videos posted"),
    Feature("entertainment_videos", "count", "娱乐视频数", "entertainment videos"),
    # audience and quality
    Feature("followers", "count", "粉丝数", "followers"),
    Feature("orders", "count", "订单数", "orders"),
    Feature("repeat_buyer_rate", "rate", "复购率", "repeat-buyer rate"),
    Feature(
        "repeat_buyer_rate_change",
        "rate",
        "复购率环比变化",
        "repeat-buyer rate change on the previous window",
    ),
    Feature("refund_rate", "rate", "退款率", "refund rate"),
    Feature("reputation", "score", "带货口碑分", "creator reputation score"),
    # who they are
    Feature("top_category", "text", "第一品类", "top category"),
    Feature("tier", "text", "层级", "tier"),
    Feature("creator_type", "text", "达人类型", "creator type"),
)
FEATURES: dict[str, Feature] = {feature.name: feature for feature in _FEATURE_LIST}

# Features whose values live in [0, 1], so a condition value of 20 is a typo for 0.2. The two
# *_change features can be negative and gmv_change can exceed 1, so they are not here.
_UNIT_INTERVAL = frozenset(
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
_SHARE_PROPERTIES = (
    "live_share",
    "short_video_storefront_share",
    "top_category_share",
    "big_live_share",
    "entertainment_video_share",
)

# How text values read on a page. Our own table rather than the choices' lazy labels, so that
# rendering stays pure and a Chinese page does not depend on the active Django translation.
_TEXT_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "tier": {
        Tier.HEAD.value: ("头部", "head"),
        Tier.MID.value: ("腰部", "mid"),
        Tier.TAIL.value: ("尾部", "tail"),
        Tier.NEWCOMER.value: ("新引入", "newcomer"),
    },
    "creator_type": {
        CreatorType.PERSONA.value: ("有人设的职业电商达人", "persona creator"),
        CreatorType.VERTICAL.value: ("垂直电商达人", "vertical creator"),
        CreatorType.SEEDING.value: ("种草型达人", "seeding creator"),
        CreatorType.ENTERTAINMENT.value: ("娱乐电商达人", "entertainment creator"),
    },
    "top_category": {
        Category.BEAUTY.value: ("美妆", "beauty"),
        Category.APPAREL.value: ("服饰", "apparel"),
        Category.FOOD.value: ("食品", "food"),
        Category.FRESH.value: ("生鲜", "fresh produce"),
        Category.JADE.value: ("珠宝玉石", "jade and jewellery"),
        Category.HOME.value: ("家居", "home"),
        Category.DIGITAL.value: ("数码", "digital"),
        Category.MOTHER_BABY.value: ("母婴", "mother and baby"),
    },
}
_TEXT_CHOICES = {
    "tier": (tuple(Tier.values), UNKNOWN_TIER),
    "creator_type": (tuple(CreatorType.values), UNKNOWN_CREATOR_TYPE),
    "top_category": (tuple(Category.values), UNKNOWN_CATEGORY),
}


def feature_values(
    features: Features, previous: Features | None, tier: str | None, creator_type: str | None
) -> dict[str, float | str | None]:
    """Every FEATURES name → the creator's value: numbers as int or float, text as str, None if unknown."""
    values: dict[str, float | str | None] = {}
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
    values["tier"] = None if tier is None else str(tier)
    values["creator_type"] = None if creator_type is None else str(creator_type)
    return values


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: float | str

    def to_json(self) -> dict:
        return {"feature": self.feature, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class PlaybookRule:
    code: str
    priority: int  # higher first
    tiers: tuple[str, ...]  # empty: any tier
    types: tuple[str, ...]  # empty: any creator type
    conditions: tuple[Condition, ...]  # all must hold
    text_zh: str
    text_en: str
    targets: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "priority": self.priority,
            "tiers": list(self.tiers),
            "types": list(self.types),
            "conditions": [condition.to_json() for condition in self.conditions],
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "targets": dict(self.targets),
        }


_RULE_FIELDS = ("code", "priority", "tiers", "types", "conditions", "text_zh", "text_en", "targets")
_CONDITION_FIELDS = ("feature", "op", "value")


def rule_from_json(data: dict) -> PlaybookRule:
    """Parse and check a rule as ops wrote it; PlaybookError lists every problem, not just the first."""
    if not isinstance(data, dict):
        raise PlaybookError([f"rule: {NOT_AN_OBJECT}"])
    errors = [f"{key}: {UNKNOWN_FIELD}" for key in data if key not in _RULE_FIELDS]

    code = data.get("code")
    if code is None:
        errors.append(f"code: {REQUIRED}")
    elif not isinstance(code, str) or not _SLUG.fullmatch(code):
        errors.append(f"code: {NOT_A_SLUG}")

    priority = None
    if "priority" not in data:
        errors.append(f"priority: {REQUIRED}")
    else:
        priority = _whole_number(data["priority"])
        if priority is None:
            errors.append(f"priority: {NOT_A_WHOLE_NUMBER}")

    tiers = choice_list(data, "tiers", Tier.values, UNKNOWN_TIER, errors)
    types = choice_list(data, "types", CreatorType.values, UNKNOWN_CREATOR_TYPE, errors)
    targets = _targets(data.get("targets", {}), errors)
    conditions = _conditions(data.get("conditions", []), errors)

    placeholders = set(FEATURES) | set(targets)
    texts = {}
    for key in ("text_zh", "text_en"):
        text = data.get(key)
        if text is None:
            errors.append(f"{key}: {REQUIRED}")
        elif not isinstance(text, str):
            errors.append(f"{key}: {NOT_TEXT}")
        elif not text.strip():
            errors.append(f"{key}: {EMPTY_TEXT}")
        else:
            errors += [f"{key}: {error}" for error in _placeholder_errors(text, placeholders)]
            texts[key] = text

    if errors:
        raise PlaybookError(errors)
    return PlaybookRule(
        code=code,
        priority=priority,
        tiers=tiers,
        types=types,
        conditions=conditions,
        text_zh=texts["text_zh"],
        text_en=texts["text_en"],
        targets=targets,
    )


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


def _targets(raw, errors) -> dict[str, float]:
    if not isinstance(raw, dict):
        errors.append(f"targets: {NOT_AN_OBJECT}")
        return {}
    targets = {}
    for name, value in raw.items():
        path = f"targets.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            errors.append(f"{path}: {NOT_A_NAME}")
            continue
        if name in FEATURES:
            # The placeholder would be ambiguous: the creator's value, or the target?
            errors.append(f"{path}: {SHADOWS_FEATURE}")
            continue
        number = _number(value)
        if number is None:
            errors.append(f"{path}: {NOT_A_NUMBER}")
            continue
        targets[name] = number
    return targets


def _conditions(raw, errors) -> tuple[Condition, ...]:
    if not isinstance(raw, list):
        errors.append(f"conditions: {NOT_A_LIST}")
        return ()
    conditions = []
    for index, item in enumerate(raw):
        path = f"conditions[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{path}: {NOT_AN_OBJECT}")
            continue
        problems = [f"{path}.{key}: {UNKNOWN_FIELD}" for key in item if key not in _CONDITION_FIELDS]
        problems += [f"{path}.{key}: {REQUIRED}" for key in _CONDITION_FIELDS if key not in item]
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
                elif feature.name in _TEXT_CHOICES:
                    allowed, unknown = _TEXT_CHOICES[feature.name]
                    if value not in allowed:
                        problems.append(f"{path}.value: {unknown.format(name=value)}")
            else:
                value = _number(value)
                if value is None:
                    problems.append(f"{path}.value: {NOT_A_NUMBER}")
                elif feature.name in _UNIT_INTERVAL and not 0 <= value <= 1:
                    problems.append(f"{path}.value: {NOT_A_SHARE}")
        errors += problems
        if not problems:
            conditions.append(Condition(feature=name, op=op, value=value))
    return tuple(conditions)


def _placeholder_errors(text: str, names: set[str]) -> list[str]:
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        return [UNMATCHED_BRACE]
    errors = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            errors.append(FORMATTED_PLACEHOLDER.format(name=name))
        elif name not in names:
            errors.append(UNKNOWN_PLACEHOLDER.format(name=name))
    return errors


def _whole_number(value) -> int | None:
    # bool is an int to Python, but `true` is never a priority anyone meant.
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    # Past 10^18 no database column holds it, and int("1e999999999") would build a billion digits.
    if not number.is_finite() or number != number.to_integral_value() or number.adjusted() > 18:
        return None
    return int(number)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


# --- matching and rendering -------------------------------------------------------------------


def matches(rule: PlaybookRule, values: dict, tier: str | None, creator_type: str | None) -> bool:
    if rule.tiers and (tier is None or str(tier) not in rule.tiers):
        return False
    if rule.types and (creator_type is None or str(creator_type) not in rule.types):
        return False
    return all(_holds(condition, values.get(condition.feature)) for condition in rule.conditions)


def _holds(condition: Condition, actual) -> bool:
    # A value the creator does not have yet (no reputation score, no tier) meets no condition,
    # "!=" included: advice about a number must not fire on the absence of one.
    if actual is None:
        return False
    compare = _COMPARE[condition.op]
    if isinstance(condition.value, str):
        return isinstance(actual, str) and compare(actual, condition.value)
    if isinstance(actual, str):
        return False
    try:
        number = float(actual)
    except OverflowError:  # an int beyond float range is still plainly large
        number = math.copysign(math.inf, actual)
    return not math.isnan(number) and compare(number, condition.value)


def render(text: str, values: dict, targets: dict, language: str) -> str:
    """Fill a rule's placeholders, each formatted by its kind for the page's language.

    Placeholders name a feature (the creator's value) or a target. A target called
    target_<feature> formats like that feature (target_reputation: 4.0, not 4); any other target
    reads as a percent when ≤ 1 and as a count above.
    """
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        # Validation refuses such text; one that slipped in shows as written rather than failing
        # the whole growth plan.
        return text
    parts = []
    for literal, name, _spec, _conversion in parsed:
        parts.append(literal)
        if name is None:
            continue
        if name in targets:
            parts.append(_format_target(name, targets[name], language))
        elif name in FEATURES:
            parts.append(_format(FEATURES[name], values.get(name), language))
        else:
            # A feature renamed since the rule was saved: say nothing rather than show "{gvm}".
            parts.append(MISSING)
    return "".join(parts)


def _format_target(name: str, value: float, language: str) -> str:
    feature = FEATURES.get(name.removeprefix("target_"))
    if name.startswith("target_") and feature is not None:
        return _format(feature, value, language)
    return percent(value, language) if value <= 1 else count(value, language)


def _format(feature: Feature, value, language: str) -> str:
    if value is None:
        return MISSING
    if feature.kind == "text":
        labels = _TEXT_LABELS.get(feature.name, {}).get(str(value))
        if labels is None:
            return str(value)
        return labels[0] if is_chinese(language) else labels[1]
    if isinstance(value, str):
        return value
    if feature.kind in ("share", "rate"):
        return percent(value, language)
    if feature.kind == "money":
        return money(value, language)
    if feature.kind == "score":
        return score(value, language)
    return count(value, language)


@dataclass(frozen=True)
class Recommendation:
    code: str
    priority: int
    text: str


def recommend(
    rules, values: dict, tier: str | None, creator_type: str | None, language: str, limit: int = 3
) -> list[Recommendation]:
    """The matching rules, highest priority first (code breaks ties), at most `limit`, rendered."""
    matching = [rule for rule in rules if matches(rule, values, tier, creator_type)]
    matching.sort(key=lambda rule: (-rule.priority, rule.code))
    chinese = is_chinese(language)
    return [
        Recommendation(
            code=rule.code,
            priority=rule.priority,
            text=render(rule.text_zh if chinese else rule.text_en, values, rule.targets, language),
        )
        for rule in matching[: max(limit, 0)]
    ]


# --- the playbook Ladder ships (the article's coaching; ops tune it in the admin) --------------

DEFAULT_RULES: list[dict] = [
    {
        # 带货口碑分 gates promotion to mid and head (the policy's reputation floor) and programmes.
        "code": "raise_reputation",
        "priority": 90,
        "tiers": [],
        "types": [],
        "conditions": [{"feature": "reputation", "op": "<", "value": 4.0}],
        "text_zh": (
            "你的带货口碑分是{reputation}，低于{target_reputation}。晋级腰部、头部和参加平台扶持都要求"
            "口碑分不低于{target_reputation}：从商品品质、服务响应和售后三方面改进，把分数提上去。"
        ),
        "text_en": (
            "Your creator reputation score is {reputation}, below {target_reputation}. Promotion to mid or "
            "head and the platform's support programmes need at least {target_reputation}: improve product "
            "quality, service and after-sales to bring it up."
        ),
        "targets": {"target_reputation": 4.0},
    },
    {
        "code": "reduce_refunds",
        "priority": 85,
        "tiers": [],
        "types": [],
        "conditions": [{"feature": "refund_rate", "op": ">", "value": 0.15}],
        "text_zh": (
            "你的退款率是{refund_rate}，高于{target_refund_rate}。把好选品关、如实描述商品、及时发货和回复，"
            "把退款率降到{target_refund_rate}以下，这也会拉高你的带货口碑分。"
        ),
        "text_en": (
            "Your refund rate is {refund_rate}, above {target_refund_rate}. Choose products carefully, "
            "describe them honestly, ship and reply promptly to bring refunds under {target_refund_rate}; "
            "it lifts your reputation score too."
        ),
        "targets": {"target_refund_rate": 0.15},
    },
    {
        # The article: buyers increasingly come to buy on their own, so short video and the
        # storefront widen where a creator sells.
        "code": "raise_short_video_share",
        "priority": 80,
        "tiers": [],
        "types": [],
        "conditions": [
            {"feature": "gmv", "op": ">", "value": 0},
            {"feature": "short_video_storefront_share", "op": "<", "value": 0.2},
        ],
        "text_zh": (
            "把短视频和橱窗的成交占比从{short_video_storefront_share}提升到{target_share}："
            "多发带货短视频，把主推商品常挂橱窗，卖货不止在直播时段。"
        ),
        "text_en": (
            "Raise the share of your sales from short videos and your storefront from "
            "{short_video_storefront_share} to {target_share}: post more selling videos and keep your best "
            "products in the storefront, so you sell beyond your live hours."
        ),
        "targets": {"target_share": 0.25},
    },
    {
        "code": "mix_live_sessions",
        "priority": 70,
        "tiers": [],
        "types": [],
        "conditions": [{"feature": "only_big_live", "op": "==", "value": 1}],
        "text_zh": (
            "这个周期你开播{live_days}天，其中大场{big_live_days}天，全是大场。试试大场+小场+日常场结合："
            "大场冲销量，小场和日常场保持节奏，培养粉丝稳定的购买心智。"
        ),
        "text_en": (
            "You went live on {live_days} days this window and all {big_live_days} were big events. Mix big, "
            "small and daily sessions: big events for volume, small and daily ones to keep a rhythm, so your "
            "followers build a steadier habit of buying from you."
        ),
        "targets": {},
    },
    {
        "code": "deepen_vertical_expertise",
        "priority": 65,
        "tiers": [],
        "types": [CreatorType.VERTICAL.value],
        "conditions": [{"feature": "repeat_buyer_rate_change", "op": "<", "value": -0.03}],
        "text_zh": (
            "你的复购率降到{repeat_buyer_rate}（较上个周期{repeat_buyer_rate_change}）。作为{top_category}"
            "垂类达人，加强专业内容（选品讲解、使用教程、行业知识）和售前售后服务，把老客留住。"
        ),
        "text_en": (
            "Your repeat-buyer rate fell to {repeat_buyer_rate} ({repeat_buyer_rate_change} on the previous "
            "window). As a {top_category} specialist, deepen your expert content (how you choose products, "
            "how-tos, trade know-how) and your service before and after the sale to keep your regular buyers."
        ),
        "targets": {},
    },
    {
        # The article's creative-content creators: become more professional, or add seeding.
        "code": "combine_content_with_seeding",
        "priority": 60,
        "tiers": [],
        "types": [],
        "conditions": [
            {"feature": "entertainment_video_share", "op": ">=", "value": 0.6},
            {"feature": "short_video_storefront_share", "op": "<", "value": 0.3},
        ],
        "text_zh": (
            "你的视频有{entertainment_video_share}是娱乐内容，但短视频和橱窗只带来{short_video_storefront_share}"
            "的成交。两条路：提升专业度，做懂行的带货内容；或者内容+种草，在粉丝爱看的视频里自然带出商品。"
        ),
        "text_en": (
            "{entertainment_video_share} of your videos are entertainment, yet short videos and your "
            "storefront bring only {short_video_storefront_share} of your sales. Either become more "
            "professional, with content that knows its products, or combine content with seeding: let "
            "products appear naturally in the videos your audience already enjoys."
        ),
        "targets": {},
    },
    {
        # The article's practical-content creators: strengthen the persona, so buyers come back to them.
        "code": "strengthen_persona",
        "priority": 55,
        "tiers": [],
        "types": [CreatorType.PERSONA.value, CreatorType.SEEDING.value],
        "conditions": [{"feature": "repeat_buyer_rate", "op": "<", "value": 0.2}],
        "text_zh": (
            "你的复购率只有{repeat_buyer_rate}：内容实用，但粉丝记住的是商品，不是你。强化人设："
            "固定开播时间和风格，多讲你自己的选品标准和使用体验，让粉丝因为信任你回购，把复购率提升到"
            "{target_repeat_buyer_rate}。"
        ),
        "text_en": (
            "Only {repeat_buyer_rate} of your buyers come back: your content is useful, but followers "
            "remember the products, not you. Strengthen your persona: keep a regular schedule and style, "
            "talk about how you choose and use products, and give followers a reason to buy from you "
            "again. Aim for {target_repeat_buyer_rate}."
        ),
        "targets": {"target_repeat_buyer_rate": 0.25},
    },
    {
        "code": "join_newcomer_village",
        "priority": 40,
        "tiers": [Tier.TAIL.value, Tier.NEWCOMER.value],
        "types": [],
        "conditions": [],
        "text_zh": (
            "加入达人新手村：跟着课程和任务学会选品、短视频带货和直播入门。这个周期你有{active_days}天"
            "在卖货，成交额{gmv}，完成新手村任务能帮你更快起步。"
        ),
        "text_en": (
            "Join the newcomer village: its lessons and tasks teach the basics of choosing products, selling "
            "through short videos and going live. You sold on {active_days} days this window for {gmv}; the "
            "village tasks will get you going faster."
        ),
        "targets": {},
    },
    {
        "code": "join_campaigns_and_product_pool",
        "priority": 40,
        "tiers": [Tier.MID.value],
        "types": [],
        "conditions": [],
        "text_zh": (
            "你是腰部达人（成交额{gmv}，粉丝{followers}）。报名平台营销活动拿流量扶持，"
            "再从快分销货盘里挑佣金合适的商品，扩充你的货盘。"
        ),
        "text_en": (
            "As a mid creator ({gmv} in sales, {followers} followers), sign up for the platform's marketing "
            "campaigns for traffic support, and pick products with good commission from the distribution "
            "product pool to widen your range."
        ),
        "targets": {},
    },
    {
        "code": "work_with_account_manager",
        "priority": 40,
        "tiers": [Tier.HEAD.value],
        "types": [],
        "conditions": [],
        "text_zh": (
            "你是头部达人（成交额{gmv}，粉丝{followers}）。和你的专属客户经理一起定制经营方案："
            "大促排期、独家货品和流量资源。"
        ),
        "text_en": (
            "As a head creator ({gmv} in sales, {followers} followers), plan with your dedicated account "
            "manager: your big-sale calendar, exclusive products and traffic support."
        ),
        "targets": {},
    },
]
