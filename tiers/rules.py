"""The tier and type policy, and the pure decision it makes for one creator from plain values."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.validation import (
    NOT_A_NUMBER,
    NOT_A_SHARE,
    NOT_A_WHOLE_NUMBER,
    NOT_AN_OBJECT,
    UNKNOWN_FIELD,
    RuleError,
    decimal,
    number,
    whole_number,
)
from tiers.choices import LADDER, CreatorType, Tier

# Policy validation messages beyond the shared ones; a PolicyError line reads "<dotted.path>: <message>".
NEGATIVE = _("must not be negative")
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
WINDOW_OUT_OF_RANGE = format_lazy(_("must be between {low} and {high}"), low=MIN_WINDOW_DAYS, high=MAX_WINDOW_DAYS)
REPUTATION_FLOOR_OUT_OF_RANGE = _("must be between 0 and 5")
NO_STEP_DOWN = _("must be at least 1")
KEEP_ABOVE_PROMOTE = _("must not be above {promote}")  # {promote}: e.g. "head.promote_gmv"
MID_NOT_BELOW_HEAD = _("must be below {head}")  # {head}: e.g. "head.keep_gmv"

# One overwhelming ratio (say a 40x repeat-buyer rate) must not decide the type on its own.
SCORE_CAP = 3.0
# A type's rule holds when its score reaches this.
_TYPE_RULE_HOLDS = Decimal(1)

_RANK = {tier: rank for rank, tier in enumerate(LADDER)}
# A newcomer's next goal is mid: tail is where they land, not something to work towards.
_NEXT_TIER = {Tier.NEWCOMER: Tier.MID, Tier.TAIL: Tier.MID, Tier.MID: Tier.HEAD, Tier.HEAD: None}


class PolicyError(RuleError):
    pass


# --- the policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TierThresholds:
    promote_gmv: Decimal
    promote_followers: int
    promote_followers_gmv: Decimal
    keep_gmv: Decimal  # lower than promote_gmv, so a creator on the line does not flap
    reputation_floor: Decimal  # gates promotion only; keeping a tier is about GMV


@dataclass(frozen=True)
class NewcomerRule:
    min_days_since_onboarding: int = 30
    min_active_days: int = 7


@dataclass(frozen=True)
class AntiFlap:
    max_steps_down: int = 1
    min_days_in_tier: int = 14
    grace_days: int = 14


@dataclass(frozen=True)
class TypeRules:
    seeding_min_share: float = 0.5
    vertical_min_top_category_share: float = 0.7
    entertainment_min_video_share: float = 0.6
    entertainment_min_big_live_share: float = 0.5
    entertainment_max_big_live_days: int = 4
    persona_min_live_share: float = 0.6
    persona_min_live_days: int = 12
    persona_min_repeat_buyer_rate: float = 0.25
    switch_margin: float = 0.05


_SECTIONS = ("head", "mid", "newcomer", "anti_flap", "types")


@dataclass(frozen=True)
class PolicyRules:
    window_days: int
    head: TierThresholds
    mid: TierThresholds
    newcomer: NewcomerRule
    anti_flap: AntiFlap
    types: TypeRules

    @classmethod
    def default(cls) -> PolicyRules:
        return cls(
            window_days=30,
            head=TierThresholds(
                promote_gmv=Decimal("3000000"),
                promote_followers=5_000_000,
                promote_followers_gmv=Decimal("1000000"),
                keep_gmv=Decimal("2400000"),
                reputation_floor=Decimal("4.0"),
            ),
            mid=TierThresholds(
                promote_gmv=Decimal("100000"),
                promote_followers=500_000,
                promote_followers_gmv=Decimal("30000"),
                keep_gmv=Decimal("80000"),
                reputation_floor=Decimal("4.0"),
            ),
            newcomer=NewcomerRule(),
            anti_flap=AntiFlap(),
            types=TypeRules(),
        )

    def thresholds(self, tier: str) -> TierThresholds:
        return self.head if tier == Tier.HEAD else self.mid

    def to_json(self) -> dict:
        data = {"window_days": self.window_days}
        for name in _SECTIONS:
            section = getattr(self, name)
            data[name] = {f.name: _json_value(getattr(section, f.name)) for f in fields(section)}
        return data

    @classmethod
    def from_json(cls, data: dict) -> PolicyRules:
        if not isinstance(data, dict):
            raise PolicyError([f"policy: {NOT_AN_OBJECT}"])
        default = cls.default()
        errors: list[str] = []
        unparsed: set[str] = set()
        errors += [f"{key}: {UNKNOWN_FIELD}" for key in data if key not in ("window_days", *_SECTIONS)]
        window_days = _parse(data, "window_days", default.window_days, "window_days", errors, unparsed)
        sections = {}
        for name in _SECTIONS:
            base = getattr(default, name)
            raw = data.get(name, {})
            if not isinstance(raw, dict):
                errors.append(f"{name}: {NOT_AN_OBJECT}")
                unparsed.add(name)
                sections[name] = base
                continue
            known = {f.name for f in fields(base)}
            errors += [f"{name}.{key}: {UNKNOWN_FIELD}" for key in raw if key not in known]
            values = {
                f.name: _parse(raw, f.name, getattr(base, f.name), f"{name}.{f.name}", errors, unparsed)
                for f in fields(base)
            }
            sections[name] = type(base)(**values)
        policy = cls(window_days=window_days, **sections)
        # A field that did not parse stands at its default; comparing others against it would
        # report a problem the author never wrote.
        errors += [
            error for error in policy.validation_errors() if not any(path in error for path in unparsed)
        ]
        if errors:
            raise PolicyError(errors)
        return policy

    def validation_errors(self) -> tuple[str, ...]:
        errors = []

        def require(ok: bool, path: str, message: str) -> None:
            if not ok:
                errors.append(f"{path}: {message}")

        require(MIN_WINDOW_DAYS <= self.window_days <= MAX_WINDOW_DAYS, "window_days", WINDOW_OUT_OF_RANGE)
        for name in _SECTIONS:
            section = getattr(self, name)
            for f in fields(section):
                path, value = f"{name}.{f.name}", getattr(section, f.name)
                if f.name == "reputation_floor":
                    require(0 <= value <= 5, path, REPUTATION_FLOOR_OUT_OF_RANGE)
                elif f.name == "max_steps_down":
                    # Zero would pin everyone above their keep line for ever, below_keep_since growing.
                    require(value >= 1, path, NO_STEP_DOWN)
                elif isinstance(value, float):
                    require(0 <= value <= 1, path, NOT_A_SHARE)
                else:
                    require(value >= 0, path, NEGATIVE)
        for name in ("head", "mid"):
            section = getattr(self, name)
            require(
                section.keep_gmv <= section.promote_gmv,
                f"{name}.keep_gmv",
                KEEP_ABOVE_PROMOTE.format(promote=f"{name}.promote_gmv"),
            )
        for field_name in ("promote_gmv", "keep_gmv"):
            require(
                getattr(self.mid, field_name) < getattr(self.head, field_name),
                f"mid.{field_name}",
                MID_NOT_BELOW_HEAD.format(head=f"head.{field_name}"),
            )
        return tuple(errors)


def _parse(raw: dict, key: str, default, path: str, errors: list[str], unparsed: set[str]):
    if key not in raw:
        return default
    kind = type(default)
    parsed = {int: whole_number, float: number}.get(kind, decimal)(raw[key])
    if parsed is None:
        errors.append(f"{path}: {NOT_A_WHOLE_NUMBER if kind is int else NOT_A_NUMBER}")
        unparsed.add(path)
        return default
    return parsed


# --- one creator's inputs and previous state ------------------------------------------------


_FEATURE_DECIMALS = frozenset(
    {"gmv", "live_gmv", "video_gmv", "storefront_gmv", "big_live_gmv", "top_category_gmv"}
)


@dataclass(frozen=True)
class Features:
    days_since_onboarding: int
    active_days: int
    orders: int
    gmv: Decimal
    live_gmv: Decimal
    video_gmv: Decimal
    storefront_gmv: Decimal
    big_live_gmv: Decimal
    followers: int
    reputation: Decimal | None
    top_category: str | None
    top_category_gmv: Decimal
    live_days: int
    live_sessions: int
    big_live_days: int
    videos_posted: int
    entertainment_videos: int
    repeat_buyer_rate: float
    refund_rate: float

    @property
    def live_share(self) -> float:
        return float(_share(self.live_gmv, self.gmv))

    @property
    def short_video_storefront_share(self) -> float:
        return float(_share(self.video_gmv + self.storefront_gmv, self.gmv))

    @property
    def top_category_share(self) -> float:
        return float(_share(self.top_category_gmv, self.gmv))

    @property
    def big_live_share(self) -> float:
        return float(_share(self.big_live_gmv, self.gmv))

    @property
    def entertainment_video_share(self) -> float:
        return float(_share(self.entertainment_videos, self.videos_posted))

    def to_json(self) -> dict:
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> Features:
        """Rebuild the inputs a decision recorded, to replay or audit it."""
        values = dict(data)
        for name in _FEATURE_DECIMALS:
            values[name] = Decimal(values[name])
        if values["reputation"] is not None:
            values["reputation"] = Decimal(values["reputation"])
        return cls(**values)


# What a judged creator with no metrics in the window is judged on: no sales, nothing known.
# (days_since_onboarding is never read for them: the newcomer rule no longer applies.)
_NO_SALES = Features(
    days_since_onboarding=0,
    active_days=0,
    orders=0,
    gmv=Decimal(0),
    live_gmv=Decimal(0),
    video_gmv=Decimal(0),
    storefront_gmv=Decimal(0),
    big_live_gmv=Decimal(0),
    followers=0,
    reputation=None,
    top_category=None,
    top_category_gmv=Decimal(0),
    live_days=0,
    live_sessions=0,
    big_live_days=0,
    videos_posted=0,
    entertainment_videos=0,
    repeat_buyer_rate=0.0,
    refund_rate=0.0,
)


@dataclass(frozen=True)
class TierState:
    tier: str | None = None
    creator_type: str | None = None
    tier_since: date | None = None
    below_keep_since: date | None = None
    # Judged by the rules before, though the tier no longer says so (a staff pin just lapsed).
    judged_before: bool = False

    @property
    def judged(self) -> bool:
        """Once judged (head, mid or tail), a creator is never a newcomer again."""
        return self.judged_before or self.tier in LADDER


@dataclass(frozen=True)
class Overrides:
    tier: str | None = None
    creator_type: str | None = None
    tier_reason: str = ""
    type_reason: str = ""


NO_OVERRIDES = Overrides()


# --- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleCheck:
    """One line of the explanation.

    `passed` reads the rule as written: value meets threshold. For newcomer checks a failure is
    what made the creator a newcomer; for anti-flap checks a pass is what let a demotion through.
    A judged creator gets activity.active_days instead of the newcomer checks: a failure marks
    thin data (or none, value "0") without changing the tier. type.no_evidence means the window
    showed no type at all and the type in `value` was kept. Override checks carry the pinned
    value in `value`, what the rules gave in `threshold`, and the staff member's reason in `note`.
    A missing input (no reputation yet) reads as "". Shown values are never rounded across the
    threshold: `passed` comes from the exact comparison, and a value shows as many digits as it
    takes to read that way.
    """

    rule: str
    metric: str
    value: str
    threshold: str
    passed: bool
    note: str = ""

    def to_json(self) -> dict:
        return {
            "rule": self.rule,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True)
class Decision:
    tier: str
    creator_type: str | None
    tier_since: date
    below_keep_since: date | None
    type_scores: dict[str, float]
    # Chosen type's score minus the best other; slightly negative when the previous type was kept
    # within the switch margin.
    type_margin: float
    checks: tuple[RuleCheck, ...]

    def explanation_json(self) -> dict:
        return {
            "checks": [check.to_json() for check in self.checks],
            "type_scores": dict(self.type_scores),
            "type_margin": self.type_margin,
        }


def decide(
    features: Features | None,
    policy: PolicyRules,
    previous: TierState,
    today: date,
    overrides: Overrides = NO_OVERRIDES,
) -> Decision:
    """Tier and type for one creator at this refresh, with every rule consulted in order.

    Tier: newcomer is an entry state. A creator never judged is a newcomer while new or thin on
    data. Once judged (head, mid or tail) the newcomer rule no longer applies: thin data is judged
    by the usual lines, and no metrics in the window count as no sales. The promote rules give a
    target; a promotion takes effect at once; a drop below the keep line waits until
    demotion_date(), then goes down at most max_steps_down rungs. Overrides win last.

    Type: the strongest score, compared unrounded. The switch margin keeps the previous type only
    while its own rule still holds. A window with no evidence of any type (no sales and no videos,
    or nothing that scores) keeps the previous type: a quiet month is not a change of type.
    """
    checks: list[RuleCheck] = []
    tier, tier_since, below_keep_since = _decide_tier(features, policy, previous, today, checks)
    if overrides.tier:
        pinned = Tier(overrides.tier)
        checks.append(RuleCheck("override.tier", "tier", str(pinned), str(tier), True, overrides.tier_reason))
        # The pin replaces the rules' bookkeeping: when it expires the creator starts afresh.
        tier, tier_since, below_keep_since = pinned, _since(previous, pinned, today), None

    creator_type, scores, margin = _decide_type(features, policy.types, previous.creator_type, checks)
    if overrides.creator_type:
        pinned_type = CreatorType(overrides.creator_type)
        checks.append(
            RuleCheck(
                "override.type",
                "creator_type",
                str(pinned_type),
                str(creator_type or ""),
                True,
                overrides.type_reason,
            )
        )
        creator_type = pinned_type

    return Decision(
        tier=tier,
        creator_type=creator_type,
        tier_since=tier_since,
        below_keep_since=below_keep_since,
        type_scores=scores,
        type_margin=margin,
        checks=tuple(checks),
    )


def _decide_tier(features, policy, previous, today, checks):
    if not previous.judged:
        if _is_newcomer(features, policy.newcomer, checks):
            return Tier.NEWCOMER, _since(previous, Tier.NEWCOMER, today), None
    else:
        _record_activity(features, policy.newcomer, checks)
        if features is None:
            features = _NO_SALES

    target = _target_tier(features, policy, checks)
    before = Tier(previous.tier) if previous.tier in LADDER else None
    if before is None or _RANK[target] > _RANK[before]:
        return target, _since(previous, target, today), None

    kept = _keeps(features, policy, before, checks)
    # Still meeting the tier's own promote rule keeps it too: the followers path can promote
    # with GMV under the keep line, and must not then demote a creator who would qualify again.
    if kept or target == before:
        return before, _since(previous, before, today), None

    anti_flap = policy.anti_flap
    tier_since = previous.tier_since or today
    below_since = previous.below_keep_since or today
    demote_on = demotion_date(tier_since=tier_since, below_keep_since=below_since, anti_flap=anti_flap)
    days_in_tier = (today - tier_since).days
    days_below = (today - below_since).days
    checks.append(
        RuleCheck(
            "anti_flap.min_days",
            "days_in_tier",
            str(days_in_tier),
            str(anti_flap.min_days_in_tier),
            days_in_tier >= anti_flap.min_days_in_tier,
        )
    )
    checks.append(
        RuleCheck(
            "anti_flap.grace",
            "days_below_keep",
            str(days_below),
            str(anti_flap.grace_days),
            days_below >= anti_flap.grace_days,
        )
    )
    wanted = _RANK[before] - _RANK[target]
    steps = min(wanted, anti_flap.max_steps_down)
    if today < demote_on or steps < 1:
        return before, tier_since, below_since

    checks.append(
        RuleCheck(
            "anti_flap.max_steps", "steps_down", str(wanted), str(anti_flap.max_steps_down), wanted == steps
        )
    )
    tier = LADDER[_RANK[before] - steps]
    # A step that stops short of the target usually leaves the creator below the new keep line
    # too; the next step then waits out its own grace period and minimum stay.
    still_below = tier != target and not _keeps(features, policy, tier, None)
    return tier, today, today if still_below else None


def demotion_date(*, tier_since: date, below_keep_since: date, anti_flap: AntiFlap) -> date:
    """The first refresh that may demote a creator below their keep line since below_keep_since:
    both the grace period below the line and the minimum stay in the tier must be over.

    The one place this is counted: decide(), demotion_warning() and the creator's warning
    notification all ask it.
    """
    return max(
        below_keep_since + timedelta(days=anti_flap.grace_days),
        tier_since + timedelta(days=anti_flap.min_days_in_tier),
    )


def _since(previous: TierState, tier: str, today: date) -> date:
    if previous.tier == tier:
        return previous.tier_since or today
    return today


def pin(previous: TierState, field: str, value: str, reason: str, today: date) -> tuple[TierState, RuleCheck]:
    """The state a staff pin leaves at once, before any refresh, and the check that explains it.

    `field` is "tier" or "creator_type". A tier pin restarts the anti-flap bookkeeping as `decide`
    does for a pinned tier. The check's threshold is what the creator had before the pin.
    """
    if field == "tier":
        pinned = Tier(value)
        state = TierState(tier=pinned, creator_type=previous.creator_type, tier_since=_since(previous, pinned, today),
                          below_keep_since=None)
        return state, RuleCheck("override.tier", field, str(pinned), str(previous.tier or ""), True, reason)
    pinned_type = CreatorType(value)
    state = TierState(tier=previous.tier, creator_type=pinned_type, tier_since=previous.tier_since,
                      below_keep_since=previous.below_keep_since)
    return state, RuleCheck("override.type", field, str(pinned_type), str(previous.creator_type or ""), True, reason)


def _is_newcomer(features, rule: NewcomerRule, checks) -> bool:
    if features is None:
        checks.append(RuleCheck("newcomer.no_metrics", "metrics", "", "", False))
        return True
    onboarded = features.days_since_onboarding >= rule.min_days_since_onboarding
    checks.append(
        RuleCheck(
            "newcomer.onboarding",
            "days_since_onboarding",
            str(features.days_since_onboarding),
            str(rule.min_days_since_onboarding),
            onboarded,
        )
    )
    active = features.active_days >= rule.min_active_days
    checks.append(
        RuleCheck(
            "newcomer.active_days",
            "active_days",
            str(features.active_days),
            str(rule.min_active_days),
            active,
        )
    )
    return not (onboarded and active)


def _record_activity(features, rule: NewcomerRule, checks) -> None:
    """A judged creator's thin window, on the newcomer rule's own line, marked for ops; the tier
    is judged as usual whatever it says."""
    active_days = 0 if features is None else features.active_days
    checks.append(
        RuleCheck(
            "activity.active_days",
            "active_days",
            str(active_days),
            str(rule.min_active_days),
            active_days >= rule.min_active_days,
        )
    )


def _target_tier(features: Features, policy: PolicyRules, checks) -> Tier:
    """The highest tier whose promote rule the creator meets right now, ignoring history."""
    for tier in (Tier.HEAD, Tier.MID):
        if _qualifies(features, tier, policy.thresholds(tier), checks):
            return tier
    return Tier.TAIL


def _qualifies(features: Features, tier: Tier, rule: TierThresholds, checks) -> bool:
    by_gmv = features.gmv >= rule.promote_gmv
    by_followers = features.followers >= rule.promote_followers
    followers_gmv = features.gmv >= rule.promote_followers_gmv
    # Not rated yet is not good enough: the floor exists to keep unknown sellers out of programmes.
    reputable = features.reputation is not None and features.reputation >= rule.reputation_floor
    if checks is not None:
        gmv = _text(features.gmv)
        checks.extend(
            [
                RuleCheck(f"{tier}.promote_gmv", "gmv", gmv, _text(rule.promote_gmv), by_gmv),
                RuleCheck(
                    f"{tier}.promote_followers",
                    "followers",
                    str(features.followers),
                    str(rule.promote_followers),
                    by_followers,
                ),
                RuleCheck(
                    f"{tier}.promote_followers_gmv",
                    "gmv",
                    gmv,
                    _text(rule.promote_followers_gmv),
                    followers_gmv,
                ),
                RuleCheck(
                    f"{tier}.reputation_floor",
                    "reputation",
                    _text(features.reputation),
                    _text(rule.reputation_floor),
                    reputable,
                ),
            ]
        )
    return (by_gmv or (by_followers and followers_gmv)) and reputable


def _keeps(features: Features, policy: PolicyRules, tier: Tier, checks) -> bool:
    if tier == Tier.TAIL:
        return True
    keep_gmv = policy.thresholds(tier).keep_gmv
    kept = features.gmv >= keep_gmv
    if checks is not None:
        checks.append(RuleCheck(f"{tier}.keep_gmv", "gmv", _text(features.gmv), _text(keep_gmv), kept))
    return kept


# --- creator type -----------------------------------------------------------------------------


def type_scores(features: Features, rules: TypeRules) -> dict[str, float]:
    """Per type, the weakest of its conditions as value/threshold: 1.0 or more means all hold.

    Not rounded: a top category of 69.997% scores just under 1.0 against a 70% line.
    """
    return {name: float(score) for name, score in _type_scores(features, rules).items()}


def _type_scores(features: Features, rules: TypeRules) -> dict[str, Decimal]:
    # Exact decimals, so a share that sits on its line scores exactly 1 and a lead exactly at the
    # switch margin is not a float hair above it.
    gmv = features.gmv
    persona = min(
        _ratio(_share(features.live_gmv, gmv), rules.persona_min_live_share),
        _ratio(features.live_days, rules.persona_min_live_days),
        _ratio(features.repeat_buyer_rate, rules.persona_min_repeat_buyer_rate),
    )
    vertical = _ratio(_share(features.top_category_gmv, gmv), rules.vertical_min_top_category_share)
    seeding = _ratio(_share(features.video_gmv + features.storefront_gmv, gmv), rules.seeding_min_share)
    big_live_events = min(
        _ratio(_share(features.big_live_gmv, gmv), rules.entertainment_min_big_live_share),
        _at_most(features.big_live_days, rules.entertainment_max_big_live_days),
    )
    entertainment = max(
        _ratio(
            _share(features.entertainment_videos, features.videos_posted),
            rules.entertainment_min_video_share,
        ),
        big_live_events,
    )
    return {
        CreatorType.PERSONA.value: persona,
        CreatorType.VERTICAL.value: vertical,
        CreatorType.SEEDING.value: seeding,
        CreatorType.ENTERTAINMENT.value: entertainment,
    }


def _decide_type(features, rules: TypeRules, previous_type, checks):
    if features is None or not (features.gmv > 0 or features.videos_posted > 0):
        return _kept_without_evidence(previous_type, {}, checks)
    exact = _type_scores(features, rules)
    scores = {name: float(score) for name, score in exact.items()}
    for name, score in exact.items():
        checks.append(
            RuleCheck(
                f"type.{name}",
                "score",
                _shown(score, lambda value: value >= _TYPE_RULE_HOLDS),
                "1.0",
                score >= _TYPE_RULE_HOLDS,
            )
        )
    # max() takes the first of equals, so a tie goes to the earlier type in CreatorType order.
    best = max(exact, key=exact.__getitem__)
    if exact[best] <= 0:
        return _kept_without_evidence(previous_type, scores, checks)

    chosen = best
    # The margin keeps the previous type against a stronger one only while its own rule holds: a
    # type whose rule fails gives way.
    if previous_type in exact and previous_type != best and exact[previous_type] >= _TYPE_RULE_HOLDS:
        lead = exact[best] - exact[previous_type]
        switch_margin = _exact_threshold(rules.switch_margin)
        switched = lead > switch_margin
        checks.append(
            RuleCheck(
                "type.switch_margin",
                "score_lead",
                _shown(lead, lambda value: value > switch_margin),
                _text(rules.switch_margin),
                switched,
            )
        )
        if not switched:
            chosen = previous_type
    margin = exact[chosen] - max(score for name, score in exact.items() if name != chosen)
    return CreatorType(chosen), scores, float(margin)


def _kept_without_evidence(previous_type, scores, checks):
    """No evidence of any type this window: keep the last type rather than flap to none and back."""
    kept = CreatorType(previous_type) if previous_type in CreatorType.values else None
    checks.append(RuleCheck("type.no_evidence", "creator_type", str(kept or ""), "", False))
    return kept, scores, 0.0


_ZERO = Decimal(0)
_SCORE_CAP = Decimal(repr(SCORE_CAP))


def _exact(value) -> Decimal | None:
    """A feature number as the decimal it reads as (a rate of 0.25 is 0.25); None for NaN."""
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(repr(value))
    return Decimal(value)


@functools.lru_cache(maxsize=64)
def _exact_threshold(threshold: float | int) -> Decimal:
    """A policy line as the decimal it was written as: 0.7 is 0.7, not the float just under it."""
    return Decimal(repr(threshold))


def _ratio(value, threshold) -> Decimal:
    if threshold <= 0:
        return _SCORE_CAP
    number = _exact(value)
    if number is None or number < 0:  # negative or NaN input: the condition plainly does not hold
        return _ZERO
    return min(_SCORE_CAP, number / _exact_threshold(threshold))


def _at_most(count: int, limit: int) -> Decimal:
    """An upper-bound condition scored the other way round: fewer is stronger, none fails."""
    if count < 1:
        return _ZERO
    return min(_SCORE_CAP, Decimal(limit) / Decimal(count))


# --- what the growth plan needs ---------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    metric: str
    current: Decimal
    target: Decimal
    missing: Decimal

    def to_json(self) -> dict:
        return {
            "metric": self.metric,
            "current": _json_value(self.current),
            "target": _json_value(self.target),
            "missing": _json_value(self.missing),
        }


def gap_to_next_tier(
    features: Features, policy: PolicyRules, tier: str
) -> tuple[str | None, tuple[Gap, ...]]:
    """The next tier up and, per promote condition, how far the creator is from it.

    Promotion needs gmv, or followers together with followers_gmv, and always reputation.
    """
    next_tier = _NEXT_TIER[Tier(tier)]
    if next_tier is None:
        return None, ()
    rule = policy.thresholds(next_tier)
    reputation = features.reputation if features.reputation is not None else Decimal(0)
    gaps = (
        _gap("gmv", features.gmv, rule.promote_gmv),
        _gap("followers", Decimal(features.followers), Decimal(rule.promote_followers)),
        _gap("followers_gmv", features.gmv, rule.promote_followers_gmv),
        _gap("reputation", reputation, rule.reputation_floor),
    )
    return next_tier, gaps


def _gap(metric: str, current: Decimal, target: Decimal) -> Gap:
    return Gap(metric, current, target, max(Decimal(0), target - current))


@dataclass(frozen=True)
class DemotionWarning:
    tier: str
    keep_gmv: Decimal
    gmv: Decimal
    missing: Decimal
    demote_on: date


def demotion_warning(
    features: Features | None, policy: PolicyRules, state: TierState, today: date, near: float = 0.1
) -> DemotionWarning | None:
    """Warn a mid or head creator who is below their keep line, or within `near` above it.

    demote_on is the first refresh date a demotion can happen if GMV stays where it is, from
    demotion_date() as decide() uses it. No metrics in the window count as no sales, as in decide().
    """
    if state.tier not in (Tier.MID, Tier.HEAD):
        return None
    if features is None:
        features = _NO_SALES
    tier = Tier(state.tier)
    if _RANK[_target_tier(features, policy, None)] >= _RANK[tier]:
        return None
    anti_flap = policy.anti_flap
    keep_gmv = policy.thresholds(tier).keep_gmv
    tier_since = state.tier_since or today
    if features.gmv < keep_gmv:
        below_since = state.below_keep_since or today
        demote_on = max(
            today, demotion_date(tier_since=tier_since, below_keep_since=below_since, anti_flap=anti_flap)
        )
    elif features.gmv < keep_gmv * (1 + Decimal(str(near))):
        # Not below yet: the grace period would start at the earliest today.
        demote_on = demotion_date(tier_since=tier_since, below_keep_since=today, anti_flap=anti_flap)
    else:
        return None
    return DemotionWarning(
        tier=tier,
        keep_gmv=keep_gmv,
        gmv=features.gmv,
        missing=max(Decimal(0), keep_gmv - features.gmv),
        demote_on=demote_on,
    )


# --- small helpers ----------------------------------------------------------------------------


def _share(part, whole) -> Decimal:
    """Exact, for the type rules; the Features properties give it as a float for display."""
    if not whole:
        return Decimal(0)
    return Decimal(part) / Decimal(whole)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _shown(value: Decimal, meets: Callable[[Decimal], bool]) -> str:
    """value cut to 4 decimals, or to as many more as it takes to read on the same side of its
    line as the value itself: 0.99996 against 1.0 shows "0.99996", never "1.0"."""
    for places in range(4, 26):
        shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
        if meets(shown) == meets(value):
            break
    else:
        shown = value
    text = format(shown, "f")
    if "." in text:
        text = text.rstrip("0")
        text += "0" if text.endswith(".") else ""
    return text


def _json_value(value):
    return format(value, "f") if isinstance(value, Decimal) else value
