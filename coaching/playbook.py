"""The coaching playbook: rules ops write, matched against one creator's features and rendered as advice."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from core.language import in_sentence, pick, speaking
from core.validation import (
    NOT_A_NUMBER,
    NOT_A_WHOLE_NUMBER,
    NOT_AN_OBJECT,
    NOT_TEXT,
    REQUIRED,
    UNKNOWN_FIELD,
    RuleError,
    number,
    whole_number,
)
from tiers.choices import CreatorType, Tier

from .conditions import (
    FEATURES,
    TEXT_CHOICES,
    UNKNOWN_CREATOR_TYPE,
    UNKNOWN_TIER,
    Condition,
    ConditionError,
    Feature,
    all_hold,
    choice_list,
    conditions_from_json,
)
from .formatting import MISSING, count, money, percent, score

# Rule validation messages beyond the shared and the conditions' ones; a PlaybookError line reads
# "<path>: <message>", e.g. "conditions[1].op: …".
NOT_A_SLUG = _("must be a slug of lowercase letters, digits and underscores")
NOT_A_NAME = _("must be a name of lowercase letters, digits and underscores, starting with a letter")
EMPTY_TEXT = _("must not be empty")
SHADOWS_FEATURE = _("must not reuse a feature's name")
UNKNOWN_PLACEHOLDER = _("unknown placeholder {{{name}}}")  # → "unknown placeholder {shrae}"
FORMATTED_PLACEHOLDER = _("placeholder {{{name}}} takes no format or conversion; the page formats it")
UNMATCHED_BRACE = _("has an unmatched brace; write {{ or }} for a literal one")

_SLUG = re.compile(r"[a-z0-9][a-z0-9_]*")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FORMATTER = string.Formatter()


class PlaybookError(RuleError):
    pass


# --- rules ------------------------------------------------------------------------------------


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
        priority = whole_number(data["priority"])
        if priority is None:
            errors.append(f"priority: {NOT_A_WHOLE_NUMBER}")

    tiers = choice_list(data, "tiers", Tier.values, UNKNOWN_TIER, errors)
    types = choice_list(data, "types", CreatorType.values, UNKNOWN_CREATOR_TYPE, errors)
    targets = _targets(data.get("targets", {}), errors)
    try:
        conditions = conditions_from_json(data.get("conditions", []), "conditions")
    except ConditionError as error:
        errors += error.errors
        conditions = ()

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
        parsed = number(value)
        if parsed is None:
            errors.append(f"{path}: {NOT_A_NUMBER}")
            continue
        targets[name] = parsed
    return targets


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


# --- matching and rendering -------------------------------------------------------------------


def matches(rule: PlaybookRule, values: dict, tier: str | None, creator_type: str | None) -> bool:
    if rule.tiers and (tier is None or str(tier) not in rule.tiers):
        return False
    if rule.types and (creator_type is None or str(creator_type) not in rule.types):
        return False
    return all_hold(rule.conditions, values)


def render(text: str, values: dict, targets: dict, language: str | None = None) -> str:
    """Fill a rule's placeholders, each formatted by its kind in `language` (the active one when None).

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
    with speaking(language):
        for literal, name, _spec, _conversion in parsed:
            parts.append(literal)
            if name is None:
                continue
            if name in targets:
                parts.append(_format_target(name, targets[name]))
            elif name in FEATURES:
                parts.append(_format(FEATURES[name], values.get(name)))
            else:
                # A feature renamed since the rule was saved: say nothing rather than show "{gvm}".
                parts.append(MISSING)
    return "".join(parts)


def _format_target(name: str, value: float) -> str:
    feature = FEATURES.get(name.removeprefix("target_"))
    if name.startswith("target_") and feature is not None:
        return _format(feature, value)
    return percent(value) if value <= 1 else count(value)


def _format(feature: Feature, value) -> str:
    if value is None:
        return MISSING
    if feature.kind == "text":
        choices = TEXT_CHOICES[feature.name]
        return in_sentence(choices(value).label) if value in choices.values else str(value)
    if isinstance(value, str):
        return value
    if feature.kind in ("share", "rate"):
        return percent(value)
    if feature.kind == "money":
        return money(value)
    if feature.kind == "score":
        return score(value)
    return count(value)


@dataclass(frozen=True)
class Recommendation:
    code: str
    priority: int
    text: str


def recommend(
    rules, values: dict, tier: str | None, creator_type: str | None, language: str | None = None, limit: int = 3
) -> list[Recommendation]:
    """The matching rules, highest priority first (code breaks ties), at most `limit`, rendered in
    `language` (the active one when None)."""
    matching = [rule for rule in rules if matches(rule, values, tier, creator_type)]
    matching.sort(key=lambda rule: (-rule.priority, rule.code))
    return [
        Recommendation(
            code=rule.code,
            priority=rule.priority,
            text=render(pick(rule.text_zh, rule.text_en, language), values, rule.targets, language),
        )
        for rule in matching[: max(limit, 0)]
    ]
