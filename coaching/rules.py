"""Pure rules of programme assignment: eligibility, stage criteria and the next step of an enrolment."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from tiers.choices import TIER_RANK, Category, CreatorType, Tier
from tiers.rules import Features

from .choices import ReasonCode
from .conditions import (
    CHANGE_FEATURES,
    UNKNOWN_CATEGORY,
    UNKNOWN_CREATOR_TYPE,
    UNKNOWN_TIER,
    Condition,
    all_hold,
    choice_list,
    feature_values,
)


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
    entry: tuple[Condition, ...] = ()
    exit: tuple[Condition, ...] = ()
    exit_needs_tasks: bool = True
    required_tasks: frozenset = frozenset()
    metric_tasks: tuple[tuple[int, Condition], ...] = ()


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
         today: datetime.date, *, opted_out: bool = False) -> Step:
    """Enrol, advance, graduate or exit: the same inputs always give the same step, and applying a
    step then asking again gives "none" (assignment is idempotent).

    `opted_out`: the creator left this programme and has not joined it again since. Their choice
    stands: assignment never puts them back, however eligible they are.
    """
    why_not = ineligibility(program.eligibility, creator, today)
    if state is None:
        if not program.auto or why_not or opted_out:
            return NOTHING
        first = program.stages[0].id if program.stages else None
        stage_id, completed_now, events, graduated = _advance(program, first, frozenset(), creator, features)
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
    stage_id, completed_now, events, graduated = _advance(program, state.stage_id, state.completed, creator, features)
    if graduated:
        return Step("graduate", stage_id=stage_id, events=events, completed_now=completed_now)
    if stage_id != state.stage_id or completed_now or state.ineligible_since is not None:
        return Step("update", stage_id=stage_id, events=events, completed_now=completed_now)
    return NOTHING


def criteria_values(creator: Creator, features: Features | None) -> dict:
    """What stage and task criteria read: the creator's feature values in the window (none without metrics)."""
    values = feature_values(features, None, creator.tier, creator.creator_type)
    # Assignment does not read the window before this one: a change on it is unknown here, not 0.
    values.update(dict.fromkeys(CHANGE_FEATURES))
    return values


def _advance(program: ProgramSpec, stage_id, completed: frozenset, creator: Creator, features):
    """Tick metric tasks and move through every stage whose exit criteria already hold."""
    if not program.stages:
        return stage_id, frozenset(), (), False
    values = criteria_values(creator, features)
    stages = {s.id: i for i, s in enumerate(program.stages)}
    completed_now: set = set()
    events = []
    while stage_id in stages:
        stage = program.stages[stages[stage_id]]
        for task_id, criterion in stage.metric_tasks:
            if task_id not in completed and task_id not in completed_now and criterion.holds(values):
                completed_now.add(task_id)
        done = completed | completed_now
        tasks_ok = not stage.exit_needs_tasks or stage.required_tasks <= done
        if not (tasks_ok and all_hold(stage.exit, values)):
            break
        index = stages[stage_id] + 1
        if index == len(program.stages):
            events.append(Event(ReasonCode.GRADUATED, from_stage=stage_id))
            return stage_id, frozenset(completed_now), tuple(events), True
        following = program.stages[index]
        if not all_hold(following.entry, values):
            break
        events.append(Event(ReasonCode.STAGE_ADVANCED, from_stage=stage_id, to_stage=following.id))
        stage_id = following.id
    return stage_id, frozenset(completed_now), tuple(events), False
