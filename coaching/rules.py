"""Pure rules of programme assignment: eligibility, stage criteria and the next step of an enrolment."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from tiers.choices import TIER_RANK, Category, CreatorType, Tier
from tiers.rules import Features

from .choices import ReasonCode
from .playbook import UNKNOWN_CATEGORY, UNKNOWN_CREATOR_TYPE, UNKNOWN_TIER, choice_list

OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
# Criteria read these Features attributes (fields and share properties).
METRICS = (
    "gmv", "live_gmv", "video_gmv", "storefront_gmv", "big_live_gmv", "orders", "active_days", "followers",
    "reputation", "top_category_gmv", "live_days", "live_sessions", "big_live_days", "videos_posted",
    "entertainment_videos", "repeat_buyer_rate", "refund_rate", "days_since_onboarding", "live_share",
    "short_video_storefront_share", "top_category_share", "big_live_share", "entertainment_video_share",
)
UNKNOWN_METRIC = "unknown metric {metric!r}"
UNKNOWN_OP = "must be one of " + ", ".join(OPS)
NOT_A_NUMBER = "must be a number"
NOT_AN_OBJECT = "must be an object with metric, op and value"



class CriteriaError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = tuple(errors)
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class Criterion:
    metric: str
    op: str
    value: float

    def holds(self, features: Features | None) -> bool:
        return OPS[self.op](metric_value(features, self.metric), self.value)

    def to_json(self) -> dict:
        return {"metric": self.metric, "op": self.op, "value": self.value}


def metric_value(features: Features | None, metric: str) -> float:
    """A metric as a number; no data reads as 0 (nothing done yet)."""
    if features is None:
        return 0.0
    value = getattr(features, metric)
    return 0.0 if value is None else float(value)


def criteria_from_json(data, path: str = "criteria") -> tuple[Criterion, ...]:
    """Parse a list of {"metric", "op", "value"}; CriteriaError names each bad entry by path."""
    if isinstance(data, dict):
        data = [data]
    errors, criteria = [], []
    for i, item in enumerate(data or []):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: {NOT_AN_OBJECT}")
            continue
        metric, op, value = item.get("metric"), item.get("op"), item.get("value")
        if metric not in METRICS:
            errors.append(f"{where}.metric: {UNKNOWN_METRIC.format(metric=metric)}")
        if op not in OPS:
            errors.append(f"{where}.op: {UNKNOWN_OP}")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            errors.append(f"{where}.value: {NOT_A_NUMBER}")
            continue
        try:
            number = float(value)
        except ValueError:
            errors.append(f"{where}.value: {NOT_A_NUMBER}")
            continue
        criteria.append(Criterion(metric=metric, op=op, value=number))
    if errors:
        raise CriteriaError(errors)
    return tuple(criteria)


def criteria_hold(criteria: tuple[Criterion, ...], features: Features | None) -> bool:
    return all(c.holds(features) for c in criteria)


@dataclass(frozen=True)
class Eligibility:
    tiers: frozenset = frozenset()  # empty: any
    types: frozenset = frozenset()
    categories: frozenset = frozenset()
    reputation_floor: Decimal | None = None
    starts_on: datetime.date | None = None
    ends_on: datetime.date | None = None
    is_active: bool = True


@dataclass(frozen=True)
class Creator:
    tier: str | None
    creator_type: str | None
    category: str | None
    reputation: Decimal | None
    active: bool = True  # paused or banned creators leave programmes and join none


def ineligibility(rule: Eligibility, creator: Creator, today: datetime.date) -> str | None:
    """Why the creator may not be in the programme today ("closed", "inactive", "tier_below", "tier_above",
    "type", "category", "reputation"), or None when they may."""
    if not rule.is_active or (rule.starts_on and today < rule.starts_on) or (rule.ends_on and today > rule.ends_on):
        return "closed"
    if not creator.active:
        return "inactive"
    if rule.tiers and creator.tier not in rule.tiers:
        ranks = [TIER_RANK[t] for t in rule.tiers if t in TIER_RANK]
        rank = TIER_RANK.get(creator.tier, -1)
        return "tier_above" if ranks and rank > max(ranks) else "tier_below"
    if rule.types and creator.creator_type not in rule.types:
        return "type"
    if rule.categories and creator.category not in rule.categories:
        return "category"
    if rule.reputation_floor is not None and (creator.reputation is None or creator.reputation < rule.reputation_floor):
        return "reputation"
    return None


# A programme's eligibility lists: the values each may hold (an empty list means any).
ELIGIBILITY_LISTS = {
    "eligible_tiers": (Tier.values, UNKNOWN_TIER),
    "eligible_types": (CreatorType.values, UNKNOWN_CREATOR_TYPE),
    "eligible_categories": (Category.values, UNKNOWN_CATEGORY),
}


def eligibility_list_errors(name: str, value) -> list[str]:
    """What is wrong with the eligibility list `name` ("eligible_tiers", …); empty when nothing is."""
    errors: list[str] = []
    choice_list({name: value}, name, *ELIGIBILITY_LISTS[name], errors)
    return errors


@dataclass(frozen=True)
class StageSpec:
    id: int
    entry: tuple[Criterion, ...] = ()
    exit: tuple[Criterion, ...] = ()
    exit_needs_tasks: bool = True
    required_tasks: frozenset = frozenset()
    metric_tasks: tuple[tuple[int, Criterion], ...] = ()


@dataclass(frozen=True)
class ProgramSpec:
    id: int
    auto: bool
    eligibility: Eligibility
    stages: tuple[StageSpec, ...] = ()
    grace_days: int = 7


@dataclass(frozen=True)
class EnrollmentState:
    stage_id: int | None
    ineligible_since: datetime.date | None = None
    completed: frozenset = frozenset()


@dataclass(frozen=True)
class Event:
    reason: str
    from_stage: int | None = None
    to_stage: int | None = None


@dataclass(frozen=True)
class Step:
    """What happens to one creator's place in one programme. `action` is one of:
    "none", "enrol", "update" (stage or grace bookkeeping), "graduate", "exit"."""

    action: str
    stage_id: int | None = None
    ineligible_since: datetime.date | None = None
    events: tuple[Event, ...] = ()
    completed_now: frozenset = field(default_factory=frozenset)


NOTHING = Step("none")
_EXIT_REASON = {
    "closed": ReasonCode.EXITED_CLOSED,
    "tier_below": ReasonCode.EXITED_DEMOTED,
    "tier_above": ReasonCode.EXITED_PROMOTED,
}


def step(program: ProgramSpec, creator: Creator, features: Features | None, state: EnrollmentState | None,
         today: datetime.date) -> Step:
    """Enrol, advance, graduate or exit: the same inputs always give the same step, and applying a
    step then asking again gives "none" (assignment is idempotent)."""
    why_not = ineligibility(program.eligibility, creator, today)
    if state is None:
        if not program.auto or why_not:
            return NOTHING
        first = program.stages[0].id if program.stages else None
        stage_id, completed_now, events, graduated = _advance(program, first, frozenset(), features)
        return Step(
            "graduate" if graduated else "enrol",
            stage_id=stage_id,
            events=(Event(ReasonCode.ENROLLED, to_stage=first), *events),
            completed_now=completed_now,
        )
    if why_not:
        since = state.ineligible_since or today
        if why_not == "closed" or (today - since).days >= program.grace_days:
            if why_not == "tier_above" and program.stages:
                # Outgrowing a staged programme (a tail creator promoted to mid) is graduating from it.
                return Step("graduate", stage_id=state.stage_id, events=(Event(ReasonCode.GRADUATED_PROMOTED),))
            return Step("exit", stage_id=state.stage_id,
                        events=(Event(_EXIT_REASON.get(why_not, ReasonCode.EXITED_INELIGIBLE)),))
        if state.ineligible_since is None:
            return Step("update", stage_id=state.stage_id, ineligible_since=since,
                        events=(Event(ReasonCode.INELIGIBLE_GRACE),))
        return NOTHING
    stage_id, completed_now, events, graduated = _advance(program, state.stage_id, state.completed, features)
    if graduated:
        return Step("graduate", stage_id=stage_id, events=events, completed_now=completed_now)
    if stage_id != state.stage_id or completed_now or state.ineligible_since is not None:
        return Step("update", stage_id=stage_id, events=events, completed_now=completed_now)
    return NOTHING


def _advance(program: ProgramSpec, stage_id, completed: frozenset, features):
    """Tick metric tasks and move through every stage whose exit criteria already hold."""
    stages = {s.id: i for i, s in enumerate(program.stages)}
    completed_now: set = set()
    events = []
    while stage_id in stages:
        stage = program.stages[stages[stage_id]]
        for task_id, criterion in stage.metric_tasks:
            if task_id not in completed and task_id not in completed_now and criterion.holds(features):
                completed_now.add(task_id)
        done = completed | completed_now
        tasks_ok = not stage.exit_needs_tasks or stage.required_tasks <= done
        if not (tasks_ok and criteria_hold(stage.exit, features)):
            break
        index = stages[stage_id] + 1
        if index == len(program.stages):
            events.append(Event(ReasonCode.GRADUATED, from_stage=stage_id))
            return stage_id, frozenset(completed_now), tuple(events), True
        following = program.stages[index]
        if not criteria_hold(following.entry, features):
            break
        events.append(Event(ReasonCode.STAGE_ADVANCED, from_stage=stage_id, to_stage=following.id))
        stage_id = following.id
    return stage_id, frozenset(completed_now), tuple(events), False
