"""The tier and type policy, and the pure decision it makes for one creator from plain values."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal

from tiers.choices import LADDER, CreatorType, Tier

# Policy validation messages; a PolicyError line reads "<dotted.path>: <message>".
NOT_AN_OBJECT = "must be an object"
UNKNOWN_FIELD = "unknown field"
NOT_A_NUMBER = "must be a number"
NOT_A_WHOLE_NUMBER = "must be a whole number"
NEGATIVE = "must not be negative"
NOT_A_SHARE = "must be between 0 and 1"
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
WINDOW_OUT_OF_RANGE = f"must be between {MIN_WINDOW_DAYS} and {MAX_WINDOW_DAYS}"
REPUTATION_FLOOR_OUT_OF_RANGE = "must be between 0 and 5"
NO_STEP_DOWN = "must be at least 1"
KEEP_ABOVE_PROMOTE = "must not be above {promote}"  # {promote}: e.g. "head.promote_gmv"
MID_NOT_BELOW_HEAD = "must be below {head}"  # {head}: e.g. "head.keep_gmv"

# One overwhelming ratio (say a 40x repeat-buyer rate) must not decide the type on its own.
SCORE_CAP = 3.0

_RANK = {tier: rank for rank, tier in enumerate(LADDER)}
# A newcomer's next goal is mid: tail is where they land, not something to work towards.
_NEXT_TIER = {Tier.NEWCOMER: Tier.MID, Tier.TAIL: Tier.MID, Tier.MID: Tier.HEAD, Tier.HEAD: None}


class PolicyError(ValueError):
    def __init__(self, errors):
        self.errors = tuple(errors)
        super().__init__("; ".join(self.errors))


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
    value, kind = raw[key], type(default)
    try:
        # bool is an int to Python, but `true` is never a threshold anyone meant.
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise TypeError
        if kind is int:
            number = Decimal(value.strip() if isinstance(value, str) else str(value))
            if not number.is_finite() or number != number.to_integral_value():
                raise ValueError
            return int(number)
        if kind is float:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
        if not number.is_finite():
            raise ValueError
        return number
    except (TypeError, ValueError, ArithmeticError):
        errors.append(f"{path}: {NOT_A_WHOLE_NUMBER if kind is int else NOT_A_NUMBER}")
        unparsed.add(path)
        return default


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
        return _share(self.live_gmv, self.gmv)

    @property
    def short_video_storefront_share(self) -> float:
        return _share(self.video_gmv + self.storefront_gmv, self.gmv)

    @property
    def top_category_share(self) -> float:
        return _share(self.top_category_gmv, self.gmv)

    @property
    def big_live_share(self) -> float:
        return _share(self.big_live_gmv, self.gmv)

    @property
    def entertainment_video_share(self) -> float:
        return _share(self.entertainment_videos, self.videos_posted)

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


@dataclass(frozen=True)
class TierState:
    tier: str | None = None
    creator_type: str | None = None
    tier_since: date | None = None
    below_keep_since: date | None = None


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
    Override checks carry the pinned value in `value`, what the rules gave in `threshold`, and
    the staff member's reason in `note`. A missing input (no reputation yet) reads as "".
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

    Tier: thin or missing data makes a newcomer; otherwise the promote rules give a target, a
    promotion takes effect at once, and a drop below the keep line waits out the minimum stay and
    the grace period, then goes down at most max_steps_down rungs. Overrides win last.
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
    if _is_newcomer(features, policy.newcomer, checks):
        return Tier.NEWCOMER, _since(previous, Tier.NEWCOMER, today), None

    target = _target_tier(features, policy, checks)
    before = Tier(previous.tier) if previous.tier else None
    if before is None or before == Tier.NEWCOMER or _RANK[target] > _RANK[before]:
        return target, _since(previous, target, today), None

    kept = _keeps(features, policy, before, checks)
    # Still meeting the tier's own promote rule keeps it too: the followers path can promote
    # with GMV under the keep line, and must not then demote a creator who would qualify again.
    if kept or target == before:
        return before, _since(previous, before, today), None

    anti_flap = policy.anti_flap
    tier_since = previous.tier_since or today
    below_since = previous.below_keep_since or today
    days_in_tier = (today - tier_since).days
    days_below = (today - below_since).days
    settled = days_in_tier >= anti_flap.min_days_in_tier
    checks.append(
        RuleCheck(
            "anti_flap.min_days", "days_in_tier", str(days_in_tier), str(anti_flap.min_days_in_tier), settled
        )
    )
    graced = days_below >= anti_flap.grace_days
    checks.append(
        RuleCheck("anti_flap.grace", "days_below_keep", str(days_below), str(anti_flap.grace_days), graced)
    )
    wanted = _RANK[before] - _RANK[target]
    steps = min(wanted, anti_flap.max_steps_down)
    if not (settled and graced) or steps < 1:
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
    """Per type, the weakest of its conditions as value/threshold: 1.0 or more means all hold."""
    persona = min(
        _ratio(features.live_share, rules.persona_min_live_share),
        _ratio(features.live_days, rules.persona_min_live_days),
        _ratio(features.repeat_buyer_rate, rules.persona_min_repeat_buyer_rate),
    )
    vertical = _ratio(features.top_category_share, rules.vertical_min_top_category_share)
    seeding = _ratio(features.short_video_storefront_share, rules.seeding_min_share)
    big_live_events = min(
        _ratio(features.big_live_share, rules.entertainment_min_big_live_share),
        _at_most(features.big_live_days, rules.entertainment_max_big_live_days),
    )
    entertainment = max(
        _ratio(features.entertainment_video_share, rules.entertainment_min_video_share),
        big_live_events,
    )
    # Rounded before anything compares them, so the recorded scores explain the choice exactly.
    return {
        CreatorType.PERSONA.value: round(persona, 4),
        CreatorType.VERTICAL.value: round(vertical, 4),
        CreatorType.SEEDING.value: round(seeding, 4),
        CreatorType.ENTERTAINMENT.value: round(entertainment, 4),
    }


def _decide_type(features, rules: TypeRules, previous_type, checks):
    if features is None or not (features.gmv > 0 or features.videos_posted > 0):
        return None, {}, 0.0
    scores = type_scores(features, rules)
    for name, score in scores.items():
        checks.append(RuleCheck(f"type.{name}", "score", _text(score), "1.0", score >= 1.0))
    # sorted() is stable, so a tie goes to the earlier type in CreatorType order.
    best = sorted(scores, key=lambda name: -scores[name])[0]
    if scores[best] <= 0:
        return None, scores, 0.0

    chosen = best
    if previous_type in scores and previous_type != best:
        lead = round(scores[best] - scores[previous_type], 4)
        switched = lead > rules.switch_margin
        checks.append(
            RuleCheck("type.switch_margin", "score_lead", _text(lead), _text(rules.switch_margin), switched)
        )
        if not switched:
            chosen = previous_type
    margin = scores[chosen] - max(score for name, score in scores.items() if name != chosen)
    return CreatorType(chosen), scores, round(margin, 4)


def _ratio(value, threshold) -> float:
    if threshold <= 0:
        return SCORE_CAP
    if not value >= 0:  # negative or NaN input: the condition plainly does not hold
        return 0.0
    return min(SCORE_CAP, value / threshold)


def _at_most(count: int, limit: int) -> float:
    """An upper-bound condition scored the other way round: fewer is stronger, none fails."""
    if count < 1:
        return 0.0
    return min(SCORE_CAP, limit / count)


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
    features: Features, policy: PolicyRules, state: TierState, today: date, near: float = 0.1
) -> DemotionWarning | None:
    """Warn a mid or head creator who is below their keep line, or within `near` above it.

    demote_on is the first refresh date a demotion can happen if GMV stays where it is, with the
    grace period and minimum stay counted the way decide() counts them.
    """
    if state.tier not in (Tier.MID, Tier.HEAD):
        return None
    tier = Tier(state.tier)
    if _RANK[_target_tier(features, policy, None)] >= _RANK[tier]:
        return None
    anti_flap = policy.anti_flap
    keep_gmv = policy.thresholds(tier).keep_gmv
    settled_on = (state.tier_since or today) + timedelta(days=anti_flap.min_days_in_tier)
    if features.gmv < keep_gmv:
        below_since = state.below_keep_since or today
        demote_on = max(today, below_since + timedelta(days=anti_flap.grace_days), settled_on)
    elif features.gmv < keep_gmv * (1 + Decimal(str(near))):
        # Not below yet: the grace period would start at the earliest today.
        demote_on = max(today + timedelta(days=anti_flap.grace_days), settled_on)
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


def _share(part, whole) -> float:
    if not whole:
        return 0.0
    return float(part / whole)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return str(round(value, 4))
    return str(value)


def _json_value(value):
    return format(value, "f") if isinstance(value, Decimal) else value
