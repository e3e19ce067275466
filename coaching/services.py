"""Writes of coaching: programme assignment after a refresh, sign-ups, tasks, product picks, rewards, notes."""

import datetime
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tiers.choices import InfluencerStatus
from tiers.models import Influencer, RefreshRun
from tiers.selectors import influencer_features, policy_rules_published, tune_for_batch, window_features
from tiers.services import ServiceError, influencer_chunks

from .choices import (
    AssignmentStatus,
    CompletionSource,
    EnrollmentPolicy,
    EnrollmentSource,
    EnrollmentStatus,
    ProductStatus,
    ProgramKind,
    ReasonCode,
    TaskCheck,
)
from .models import (
    AssignmentRun,
    CoachingNote,
    Enrollment,
    EnrollmentEvent,
    PoolProduct,
    ProductSelection,
    Program,
    Stage,
    Task,
    TaskCompletion,
    TrafficRewardGrant,
)
from .rules import (
    Creator,
    Eligibility,
    EnrollmentState,
    ProgramSpec,
    StageSpec,
    criteria_from_json,
    ineligibility,
    step,
)

logger = logging.getLogger(__name__)

ASSIGNMENT_ALREADY_RUNNING = _("Assignment #{run_id} is still running.")
NOT_OPT_IN = _("{program} is not open for sign-up; creators join it automatically when eligible.")
NOT_ELIGIBLE = _("Not eligible for {program}: {why}.")
PROGRAM_FULL = _("{program} is full.")
CANNOT_LEAVE = _("Only campaigns and opt-in programmes can be left.")
NOT_ACTIVE = _("This enrolment is not active.")
TASK_NOT_SELF_REPORTED = _("This task is checked from your metrics; it cannot be marked by hand.")
TASK_NOT_IN_ENROLLMENT = _("This task is not part of the creator's current programme stages.")
POOL_CLOSED = _("This product pool is not open to the creator.")
PRODUCT_NOT_IN_POOL = _("This product is not in that pool.")
PRODUCT_NOT_ON_SALE = _("This product is not on sale.")
SELECTION_LIMIT = _("At most {limit} products may be picked from {program}.")
NOTE_EMPTY = _("A coaching note cannot be empty.")
GRANT_INVALID = _("Traffic rewards need positive impressions and a period whose end is not before its start.")

WHY_NOT = {
    "closed": _("the programme is not running"),
    "inactive": _("the creator's account is not active"),
    "tier_below": _("tier too low"),
    "tier_above": _("tier above the programme's tiers"),
    "type": _("creator type not eligible"),
    "category": _("category not eligible"),
    "reputation": _("reputation score below the floor"),
}
DEFAULT_CHUNK_SIZE = 5_000


class CoachingError(ServiceError):
    """A request that breaks one of coaching's rules; the message says which, and nothing was changed."""


class AssignmentAlreadyRunning(CoachingError):
    pass


# ---------------------------------------------------------------- assignment


def program_specs(programs) -> list[ProgramSpec]:
    """Programmes (with stages and tasks prefetched) as the pure rules see them."""
    specs = []
    for program in programs:
        stages = []
        for stage in program.stages.all():
            tasks = list(stage.tasks.all())
            stages.append(
                StageSpec(
                    id=stage.pk,
                    entry=criteria_from_json(stage.entry_criteria),
                    exit=criteria_from_json(stage.exit_criteria),
                    exit_needs_tasks=stage.exit_needs_tasks,
                    required_tasks=frozenset(t.pk for t in tasks if t.required),
                    metric_tasks=tuple(
                        (t.pk, criteria_from_json(t.criterion)[0]) for t in tasks if t.check_by == TaskCheck.METRIC and t.criterion
                    ),
                )
            )
        specs.append(
            ProgramSpec(
                id=program.pk,
                auto=program.enrollment_policy == EnrollmentPolicy.AUTO,
                eligibility=eligibility_of(program),
                stages=tuple(stages),
                grace_days=program.exit_grace_days,
            )
        )
    return specs


def eligibility_of(program: Program) -> Eligibility:
    return Eligibility(
        tiers=frozenset(program.eligible_tiers),
        types=frozenset(program.eligible_types),
        categories=frozenset(program.eligible_categories),
        reputation_floor=program.reputation_floor,
        starts_on=program.starts_on,
        ends_on=program.ends_on,
        is_active=program.is_active,
    )


def _programs():
    return Program.objects.prefetch_related("stages__tasks")


def as_creator(*, tier, creator_type, category, status, features) -> Creator:
    """A creator as the eligibility rules see them; reputation comes from the window's features."""
    return Creator(tier=tier, creator_type=creator_type, category=category,
                   reputation=features.reputation if features else None, active=status == InfluencerStatus.ACTIVE)


def _capacity_left(programs) -> dict[int, int]:
    """Places left in each programme that has a capacity (one query)."""
    limited = [p for p in programs if p.capacity is not None]
    counts = dict(
        Enrollment.objects.active().filter(program__in=limited).values_list("program_id")
        .annotate(n=Count("id")).values_list("program_id", "n")
    )
    return {p.pk: p.capacity - counts.get(p.pk, 0) for p in limited}


_ENDING = {"graduate": EnrollmentStatus.GRADUATED, "exit": EnrollmentStatus.EXITED}
_UPDATE_FIELDS = ["stage", "status", "reason", "stage_entered_on", "ineligible_since", "ended_on", "graduated_on",
                  "updated_at"]


def _assign_chunk(*, first_id: int, last_id: int, specs: list[ProgramSpec], capacity_left: dict, today,
                  run: AssignmentRun | None, window_days: int) -> dict:
    """Assignment for creators with ids in [first_id, last_id]: a fixed number of queries per chunk."""
    creators = list(
        Influencer.objects.filter(id__range=(first_id, last_id)).values_list(
            "id", "tier", "creator_type", "main_category", "status", "onboarded_on"
        )
    )
    features = window_features(first_id=first_id, last_id=last_id, today=today, window_days=window_days,
                               onboarded={c[0]: c[5] for c in creators})
    enrollments = {
        (e.influencer_id, e.program_id): e
        for e in Enrollment.objects.active().filter(influencer__id__range=(first_id, last_id))
    }
    completed: dict[int, set] = {}
    for enrollment_id, task_id in TaskCompletion.objects.filter(
        enrollment__status=EnrollmentStatus.ACTIVE, enrollment__influencer__id__range=(first_id, last_id)
    ).values_list("enrollment_id", "task_id"):
        completed.setdefault(enrollment_id, set()).add(task_id)

    new_enrollments, new_events, changed, completions = [], [], [], []
    events_of_new = []
    counts = {"enrolled": 0, "advanced": 0, "graduated": 0, "exited": 0, "tasks_checked": 0}
    now = timezone.now()
    for influencer_id, tier, creator_type, category, status, _onboarded in creators:
        creator_features = features.get(influencer_id)
        creator = as_creator(tier=tier, creator_type=creator_type, category=category, status=status,
                             features=creator_features)
        for spec in specs:
            enrollment = enrollments.get((influencer_id, spec.id))
            state = None if enrollment is None else EnrollmentState(
                stage_id=enrollment.stage_id, ineligible_since=enrollment.ineligible_since,
                completed=frozenset(completed.get(enrollment.pk, ())),
            )
            outcome = step(spec, creator, creator_features, state, today)
            if outcome.action == "none":
                continue
            counts["advanced"] += sum(e.reason == ReasonCode.STAGE_ADVANCED for e in outcome.events)
            if enrollment is None:
                left = capacity_left.get(spec.id)
                if left is not None and left <= 0:
                    continue
                if left is not None:
                    capacity_left[spec.id] = left - 1
                enrollment = Enrollment(
                    influencer_id=influencer_id, program_id=spec.id, stage_id=outcome.stage_id,
                    status=_ENDING.get(outcome.action, EnrollmentStatus.ACTIVE), source=EnrollmentSource.AUTO,
                    reason=outcome.events[-1].reason, enrolled_on=today,
                    stage_entered_on=today if outcome.stage_id else None,
                    graduated_on=today if outcome.action == "graduate" else None,
                    ended_on=today if outcome.action == "graduate" else None,
                )
                new_enrollments.append(enrollment)
                events_of_new.append((enrollment, outcome.events))
                counts["enrolled"] += 1
                counts["graduated"] += outcome.action == "graduate"
            else:
                if outcome.stage_id != enrollment.stage_id:
                    enrollment.stage_id = outcome.stage_id
                    enrollment.stage_entered_on = today
                enrollment.ineligible_since = outcome.ineligible_since
                if outcome.events:
                    enrollment.reason = outcome.events[-1].reason
                if outcome.action in _ENDING:
                    enrollment.status = _ENDING[outcome.action]
                    enrollment.ended_on = today
                    if outcome.action == "graduate":
                        enrollment.graduated_on = today
                        counts["graduated"] += 1
                    else:
                        counts["exited"] += 1
                enrollment.updated_at = now
                changed.append(enrollment)
                new_events += [EnrollmentEvent(enrollment=enrollment, reason=e.reason, from_stage_id=e.from_stage,
                                               to_stage_id=e.to_stage, assignment_run=run) for e in outcome.events]
            completions += [(enrollment, task_id) for task_id in outcome.completed_now]

    Enrollment.objects.bulk_create(new_enrollments, batch_size=2_000)
    for enrollment, events in events_of_new:
        new_events += [EnrollmentEvent(enrollment=enrollment, reason=e.reason, from_stage_id=e.from_stage,
                                       to_stage_id=e.to_stage, assignment_run=run) for e in events]
    Enrollment.objects.bulk_update(changed, _UPDATE_FIELDS, batch_size=1_000)
    EnrollmentEvent.objects.bulk_create(new_events, batch_size=2_000)
    TaskCompletion.objects.bulk_create(
        [TaskCompletion(enrollment=e, task_id=t, source=CompletionSource.METRICS) for e, t in completions],
        batch_size=2_000, ignore_conflicts=True,
    )
    counts["tasks_checked"] = len(completions)
    return counts


def assignment_run(*, refresh_run_id: int | None = None, today: datetime.date | None = None,
                   chunk_size: int | None = None) -> AssignmentRun:
    """Enrol the newly eligible, advance stages, graduate and exit — for every creator, chunk by chunk.

    Idempotent: a second run on the same data finds nothing to do.
    """
    today = today or timezone.localdate()
    try:
        run = AssignmentRun.objects.create(refresh_run_id=refresh_run_id, run_date=today)
    except IntegrityError:
        active = AssignmentRun.objects.filter(active=True).values_list("id", flat=True).first()
        raise AssignmentAlreadyRunning(ASSIGNMENT_ALREADY_RUNNING.format(run_id=active)) from None
    try:
        programs = list(_programs())
        specs = program_specs(programs)
        capacity_left = _capacity_left(programs)
        window_days = policy_rules_published().window_days
        totals = {"enrolled": 0, "advanced": 0, "graduated": 0, "exited": 0, "tasks_checked": 0}
        for first_id, last_id in influencer_chunks(chunk_size or DEFAULT_CHUNK_SIZE):
            with transaction.atomic():
                tune_for_batch()
                counts = _assign_chunk(first_id=first_id, last_id=last_id, specs=specs, capacity_left=capacity_left,
                                       today=today, run=run, window_days=window_days)
            for key, value in counts.items():
                totals[key] += value
        AssignmentRun.objects.filter(pk=run.pk).update(
            status=AssignmentStatus.SUCCEEDED, active=None, finished_at=timezone.now(), **totals
        )
    except BaseException as exc:
        AssignmentRun.objects.filter(pk=run.pk).update(
            status=AssignmentStatus.FAILED, active=None, finished_at=timezone.now(), error=f"{exc.__class__.__name__}: {exc}"
        )
        raise
    run.refresh_from_db()
    return run


def assignment_after_refresh(*, run_id: int) -> None:
    """Listener named in settings.LADDER_AFTER_REFRESH: the tier engine finished refresh `run_id`.

    Assign programmes, then tell creators what changed. The notification writers skip what they
    already wrote, so a redelivered announcement notifies nobody twice.
    """
    from .notifications import notifications_after_assignment, notifications_after_refresh

    # The refresh's date, not today's: a refresh for an earlier day is followed by that day's assignment.
    run_date = RefreshRun.objects.values_list("run_date", flat=True).get(pk=run_id)
    run = assignment_run(refresh_run_id=run_id, today=run_date)
    logger.info("assignment #%s after refresh #%s: %s enrolled, %s advanced, %s graduated, %s exited",
                run.pk, run_id, run.enrolled, run.advanced, run.graduated, run.exited)
    notified = notifications_after_refresh(refresh_run_id=run_id)
    notified += notifications_after_assignment(assignment_run_id=run.pk)
    logger.info("notifications after refresh #%s and assignment #%s: %s created", run_id, run.pk, notified)


def assignment_after_decision(*, decision_id: int) -> None:
    """Listener named in settings.LADDER_AFTER_DECISION: staff changed a creator's tier or type.

    Their programmes follow the new tier now, and they are told of the change; sending it twice
    changes nothing more.
    """
    from .notifications import notifications_after_decision

    influencer = Influencer.objects.get(decisions__pk=decision_id)
    assignment_for_influencer(influencer=influencer)
    notifications_after_decision(decision_id=decision_id)


@transaction.atomic
def assignment_for_influencer(*, influencer: Influencer, today: datetime.date | None = None) -> dict:
    """Assignment for one creator now (after a task is marked done), same rules as the nightly pass."""
    programs = list(_programs())
    return _assign_chunk(first_id=influencer.pk, last_id=influencer.pk, specs=program_specs(programs),
                         capacity_left=_capacity_left(programs), today=today or timezone.localdate(), run=None,
                         window_days=policy_rules_published().window_days)


# ---------------------------------------------------------------- sign-ups


def _eligibility_problem(*, influencer: Influencer, program: Program, today) -> str | None:
    features = influencer_features(influencer=influencer, policy_rules=policy_rules_published(), today=today)
    creator = as_creator(tier=influencer.tier, creator_type=influencer.creator_type,
                         category=influencer.main_category, status=influencer.status, features=features)
    return ineligibility(eligibility_of(program), creator, today)


def enrollment_sign_up_check(*, influencer: Influencer, program: Program, source: str, today) -> None:
    """Raise CoachingError, naming the input at fault, unless the creator may join the programme now.

    enrollment_sign_up calls it under its lock, and the admin's form before saving, so both refuse
    the same things.
    """
    if source == EnrollmentSource.CREATOR and program.enrollment_policy != EnrollmentPolicy.OPT_IN:
        raise CoachingError(NOT_OPT_IN.format(program=program.name), field="program")
    problem = _eligibility_problem(influencer=influencer, program=program, today=today)
    if problem:
        raise CoachingError(NOT_ELIGIBLE.format(program=program.name, why=WHY_NOT[problem]), field="influencer")
    if program.capacity is not None and program.enrollments.active().count() >= program.capacity:
        raise CoachingError(PROGRAM_FULL.format(program=program.name), field="program")


@transaction.atomic
def enrollment_sign_up(*, influencer: Influencer, program: Program, by, source: str = EnrollmentSource.CREATOR) -> Enrollment:
    """A creator (or staff for them) joins an opt-in programme. Sending it twice enrols once."""
    program = Program.objects.select_for_update().get(pk=program.pk)  # serialises capacity checks
    influencer = Influencer.objects.get(pk=influencer.pk)  # the tier as of now, not as the caller loaded it
    existing = Enrollment.objects.active().filter(influencer=influencer, program=program).first()
    if existing:
        return existing
    today = timezone.localdate()
    enrollment_sign_up_check(influencer=influencer, program=program, source=source, today=today)
    first_stage = program.stages.order_by("order").first()
    reason = ReasonCode.SIGNED_UP if source == EnrollmentSource.CREATOR else ReasonCode.ADDED_BY_STAFF
    enrollment = Enrollment.objects.create(
        influencer=influencer, program=program, stage=first_stage, source=source, reason=reason, enrolled_on=today,
        stage_entered_on=today if first_stage else None,
    )
    EnrollmentEvent.objects.create(enrollment=enrollment, reason=reason, to_stage=first_stage, actor=by)
    return enrollment


@transaction.atomic
def enrollment_leave(*, enrollment: Enrollment, by) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().select_related("program").get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise CoachingError(NOT_ACTIVE)
    if enrollment.program.enrollment_policy != EnrollmentPolicy.OPT_IN and enrollment.program.kind != ProgramKind.CAMPAIGN:
        raise CoachingError(CANNOT_LEAVE)
    enrollment.status = EnrollmentStatus.EXITED
    enrollment.reason = ReasonCode.LEFT_BY_CREATOR
    enrollment.ended_on = timezone.localdate()
    enrollment.save(update_fields=["status", "reason", "ended_on", "updated_at"])
    EnrollmentEvent.objects.create(enrollment=enrollment, reason=ReasonCode.LEFT_BY_CREATOR, from_stage=enrollment.stage,
                                   actor=by)
    return enrollment


# ---------------------------------------------------------------- tasks


def _task_in_reach(enrollment: Enrollment, task: Task) -> bool:
    """A creator may tick tasks of their current stage or of stages already behind them."""
    return (
        enrollment.stage_id is not None
        and task.stage.program_id == enrollment.program_id
        and task.stage.order <= Stage.objects.filter(pk=enrollment.stage_id).values_list("order", flat=True).get()
    )


@transaction.atomic
def task_complete(*, enrollment: Enrollment, task: Task, by, source: str = CompletionSource.CREATOR,
                  today: datetime.date | None = None) -> TaskCompletion:
    """Mark a self-reported task done (idempotent), then let the creator advance at once if the stage is done."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise CoachingError(NOT_ACTIVE)
    if task.check_by != TaskCheck.SELF_REPORT and source == CompletionSource.CREATOR:
        raise CoachingError(TASK_NOT_SELF_REPORTED)
    if not _task_in_reach(enrollment, task):
        raise CoachingError(TASK_NOT_IN_ENROLLMENT)
    completion, _created = TaskCompletion.objects.get_or_create(enrollment=enrollment, task=task, defaults={"source": source})
    assignment_for_influencer(influencer=enrollment.influencer, today=today)
    return completion


@transaction.atomic
def task_undo(*, enrollment: Enrollment, task: Task, by) -> None:
    """Un-tick a self-reported task the creator ticked by mistake (metric checks cannot be undone)."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise CoachingError(NOT_ACTIVE)
    if task.check_by != TaskCheck.SELF_REPORT:
        raise CoachingError(TASK_NOT_SELF_REPORTED)
    TaskCompletion.objects.filter(enrollment=enrollment, task=task).delete()


# ---------------------------------------------------------------- product pools


@transaction.atomic
def product_select(*, influencer: Influencer, pool: Program, product_id: int) -> ProductSelection:
    """Pick a product from a pool the creator is in; picking it again changes nothing."""
    if not Enrollment.objects.active().filter(influencer=influencer, program=pool, program__kind=ProgramKind.PRODUCT_POOL).exists():
        raise CoachingError(POOL_CLOSED)
    entry = PoolProduct.objects.select_related("product").filter(pool=pool, product_id=product_id).first()
    if entry is None:
        raise CoachingError(PRODUCT_NOT_IN_POOL)
    existing = ProductSelection.objects.filter(influencer=influencer, product_id=product_id).first()
    if existing:
        return existing
    if entry.product.status != ProductStatus.ON_SALE:
        raise CoachingError(PRODUCT_NOT_ON_SALE)
    Influencer.objects.select_for_update().filter(pk=influencer.pk).first()  # serialise the limit check
    if pool.selection_limit is not None and ProductSelection.objects.filter(influencer=influencer, pool=pool).count() >= pool.selection_limit:
        raise CoachingError(SELECTION_LIMIT.format(limit=pool.selection_limit, program=pool.name))
    return ProductSelection.objects.create(influencer=influencer, pool=pool, product_id=product_id)


def product_unselect(*, influencer: Influencer, product_id: int) -> None:
    ProductSelection.objects.filter(influencer=influencer, product_id=product_id).delete()


# ---------------------------------------------------------------- campaigns, rewards, notes


def campaign_record_result(*, enrollment: Enrollment, gmv: Decimal, note: str = "", by) -> Enrollment:
    enrollment.result_gmv = gmv
    enrollment.result_note = note
    enrollment.result_recorded_by = by
    enrollment.save(update_fields=["result_gmv", "result_note", "result_recorded_by", "updated_at"])
    return enrollment


def traffic_reward_grant(*, influencer: Influencer, program: Program, merchant: str, impressions: int,
                         period_start: datetime.date, period_end: datetime.date, note: str = "") -> TrafficRewardGrant:
    """Grant Chuanliu traffic for one merchant and period; the same grant sent twice is stored once."""
    if impressions <= 0 or period_end < period_start:
        raise CoachingError(GRANT_INVALID)
    grant, _created = TrafficRewardGrant.objects.get_or_create(
        influencer=influencer, merchant=merchant, period_start=period_start, period_end=period_end,
        defaults={"program": program, "impressions": impressions, "note": note},
    )
    return grant


def coaching_note_create(*, influencer: Influencer, author, body: str) -> CoachingNote:
    if not body.strip():
        raise CoachingError(NOTE_EMPTY)
    return CoachingNote.objects.create(influencer=influencer, author=author, body=body.strip())

