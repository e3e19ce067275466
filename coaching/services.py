"""Writes of coaching: programme assignment after a refresh, sign-ups, tasks, product picks, rewards, notes."""

import datetime
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from audit.models import AuditAction
from core import bulk, runs
from core.validation import ServiceError
from tiers.models import Influencer, RefreshRun
from tiers.rules import Features
from tiers.selectors import (
    influencer_chunks,
    influencer_features,
    policy_rules_published,
    tune_for_batch,
    window_features,
)

from .adapters import as_creator, eligibility_of, program_specs
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
    AssignmentChunk,
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
from .notifications import (
    notifications_after_assignment,
    notifications_after_decision,
    notifications_after_refresh,
)
from .rules import EnrollmentState, ProgramSpec, Step, ineligibility, step

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


class CoachingError(ServiceError):
    """A request that breaks one of coaching's rules; the message says which, and nothing was changed."""


class AssignmentAlreadyRunning(CoachingError):
    pass


# ---------------------------------------------------------------- assignment


def _programs():
    return Program.objects.prefetch_related("stages__tasks")


class CreatorRow(NamedTuple):
    """What assignment reads of a creator."""

    id: int
    tier: str | None
    creator_type: str | None
    category: str
    status: str
    onboarded_on: datetime.date


@dataclass(frozen=True)
class ChunkState:
    """Everything assignment reads for one chunk of creators, in a fixed number of queries."""

    creators: list[CreatorRow]
    features: dict[int, Features]
    enrollments: dict[tuple[int, int], Enrollment]  # active ones, by (creator, programme)
    completed: dict[int, frozenset[int]]  # tasks done, by enrolment
    opted_out: frozenset[tuple[int, int]]  # (creator, programme) the creator left and has not joined again


class Move(NamedTuple):
    """One creator's step in one programme; `enrollment` is None when the step is a new place."""

    influencer_id: int
    program_id: int
    enrollment: Enrollment | None
    step: Step


@dataclass
class AssignmentCounts:
    enrolled: int = 0
    advanced: int = 0
    graduated: int = 0
    exited: int = 0
    tasks_checked: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ChunkWrites(NamedTuple):
    """What assigning a chunk wrote: its counts, and the enrolment events its notifications are made from."""

    counts: AssignmentCounts
    events: list[EnrollmentEvent]


_ENDING = {"graduate": EnrollmentStatus.GRADUATED, "exit": EnrollmentStatus.EXITED}
_UPDATE_FIELDS = ["stage", "status", "reason", "stage_entered_on", "ineligible_since", "ended_on", "graduated_on",
                  "updated_at"]


def _read_chunk(*, first_id: int, last_id: int, today: datetime.date, window_days: int) -> ChunkState:
    creators = [
        CreatorRow(*row) for row in Influencer.objects.filter(id__range=(first_id, last_id)).order_by("id").values_list(
            "id", "tier", "creator_type", "main_category", "status", "onboarded_on"
        )
    ]
    features = window_features(first_id=first_id, last_id=last_id, today=today, window_days=window_days,
                               onboarded={c.id: c.onboarded_on for c in creators})
    enrollments = {
        (e.influencer_id, e.program_id): e
        for e in Enrollment.objects.active().filter(influencer__id__range=(first_id, last_id))
    }
    completed: dict[int, set] = {}
    for enrollment_id, task_id in TaskCompletion.objects.filter(
        enrollment__status=EnrollmentStatus.ACTIVE, enrollment__influencer__id__range=(first_id, last_id)
    ).values_list("enrollment_id", "task_id"):
        completed.setdefault(enrollment_id, set()).add(task_id)
    opted_out = frozenset(
        Enrollment.objects.opted_out().filter(influencer__id__range=(first_id, last_id)).values_list("influencer_id", "program_id")
    )
    return ChunkState(creators=creators, features=features, enrollments=enrollments,
                      completed={k: frozenset(v) for k, v in completed.items()}, opted_out=opted_out)


def _decide_moves(state: ChunkState, specs: list[ProgramSpec], today: datetime.date) -> list[Move]:
    """The pure rules' step for every creator of the chunk in every programme, in creator order."""
    moves = []
    for row in state.creators:
        features = state.features.get(row.id)
        creator = as_creator(tier=row.tier, creator_type=row.creator_type, category=row.category, status=row.status,
                             features=features)
        for spec in specs:
            enrollment = state.enrollments.get((row.id, spec.id))
            current = None if enrollment is None else EnrollmentState(
                stage_id=enrollment.stage_id, ineligible_since=enrollment.ineligible_since,
                completed=state.completed.get(enrollment.pk, frozenset()),
            )
            outcome = step(spec, creator, features, current, today, opted_out=(row.id, spec.id) in state.opted_out)
            if outcome.action != "none":
                moves.append(Move(influencer_id=row.id, program_id=spec.id, enrollment=enrollment, step=outcome))
    return moves


def _take_places(moves: list[Move], programs: list[Program]) -> list[Move]:
    """The moves that fit: a new place in a programme with a capacity only while places are left.

    The programmes whose places this chunk takes are locked first, as a sign-up locks its programme,
    so chunks applied side by side (and sign-ups) count the places in turn. The lowest creator ids
    take the last places.
    """
    capacity = {p.pk: p.capacity for p in programs if p.capacity is not None}
    wanted = sorted({m.program_id for m in moves if m.enrollment is None and m.program_id in capacity})
    if not wanted:
        return moves
    list(Program.objects.select_for_update().filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True))
    taken = dict(
        Enrollment.objects.active().filter(program_id__in=wanted).values_list("program_id")
        .annotate(n=Count("id")).values_list("program_id", "n")
    )
    left = {pk: capacity[pk] - taken.get(pk, 0) for pk in wanted}
    fitting = []
    for move in moves:
        if move.enrollment is None and move.program_id in left:
            if left[move.program_id] <= 0:
                continue
            left[move.program_id] -= 1
        fitting.append(move)
    return fitting


def _new_enrollment(move: Move, today: datetime.date) -> Enrollment:
    outcome = move.step
    return Enrollment(
        influencer_id=move.influencer_id, program_id=move.program_id, stage_id=outcome.stage_id,
        status=_ENDING.get(outcome.action, EnrollmentStatus.ACTIVE), source=EnrollmentSource.AUTO,
        reason=outcome.events[-1].reason, enrolled_on=today,
        stage_entered_on=today if outcome.stage_id else None,
        graduated_on=today if outcome.action == "graduate" else None,
        ended_on=today if outcome.action == "graduate" else None,
    )


def _apply_step(enrollment: Enrollment, outcome: Step, today: datetime.date, now) -> None:
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
    enrollment.updated_at = now  # bulk_update does not touch auto_now fields


def _write_moves(moves: list[Move], *, run_id: int | None, today: datetime.date) -> ChunkWrites:
    """New places, changed places, their events and the tasks ticked from metrics: bulk writes."""
    counts = AssignmentCounts()
    now = timezone.now()
    created, changed, events = [], [], []
    # Ticks of new places cannot meet a creator's own tick (nobody else sees the place yet): COPYed. Ticks of
    # existing places may, and are inserted ignoring a duplicate.
    new_ticks, ticks = [], []
    for move in moves:
        outcome = move.step
        counts.advanced += sum(e.reason == ReasonCode.STAGE_ADVANCED for e in outcome.events)
        counts.graduated += outcome.action == "graduate"
        if move.enrollment is None:
            enrollment = _new_enrollment(move, today)
            created.append(enrollment)
            counts.enrolled += 1
        else:
            enrollment = move.enrollment
            _apply_step(enrollment, outcome, today, now)
            changed.append(enrollment)
            counts.exited += outcome.action == "exit"
        events += [(enrollment, event) for event in outcome.events]
        (new_ticks if move.enrollment is None else ticks).extend(
            TaskCompletion(enrollment=enrollment, task_id=task_id, source=CompletionSource.METRICS)
            for task_id in outcome.completed_now)

    bulk.insert_objects(Enrollment, created)
    Enrollment.objects.bulk_update(changed, _UPDATE_FIELDS, batch_size=1_000)
    # Built after the new enrolments are saved, so each event knows its enrolment's id.
    written = [EnrollmentEvent(enrollment_id=enrollment.pk, reason=e.reason, from_stage_id=e.from_stage,
                               to_stage_id=e.to_stage, assignment_run_id=run_id) for enrollment, e in events]
    bulk.insert_objects(EnrollmentEvent, written)
    bulk.insert_objects(TaskCompletion, new_ticks)
    TaskCompletion.objects.bulk_create(ticks, batch_size=2_000, ignore_conflicts=True)
    counts.tasks_checked = len(new_ticks) + len(ticks)
    return ChunkWrites(counts=counts, events=written)


def _assign_creators(*, first_id: int, last_id: int, today: datetime.date, run_id: int | None) -> ChunkWrites:
    """Assignment for creators with ids in [first_id, last_id]: a fixed number of queries however many they are."""
    programs = list(_programs())
    state = _read_chunk(first_id=first_id, last_id=last_id, today=today,
                        window_days=policy_rules_published().window_days)
    moves = _take_places(_decide_moves(state, program_specs(programs), today), programs)
    return _write_moves(moves, run_id=run_id, today=today)


@transaction.atomic
def assignment_for_influencer(*, influencer: Influencer, today: datetime.date | None = None) -> AssignmentCounts:
    """Assignment for one creator now (after a task is marked done), same rules as the nightly pass."""
    return _assign_creators(first_id=influencer.pk, last_id=influencer.pk, today=today or timezone.localdate(),
                            run_id=None).counts


# ---------------------------------------------------------------- assignment runs


def _assignment_work(run: AssignmentRun, chunk: AssignmentChunk) -> runs.ChunkResult:
    """Assign one chunk of creators and tell them what changed, in the chunk's transaction (core.runs.apply_chunk)."""
    tune_for_batch()
    counts, events = _assign_creators(first_id=chunk.first_id, last_id=chunk.last_id, today=run.run_date, run_id=run.pk)
    notified = 0
    if events:
        # From this chunk's first event on: the run's earlier events are never read again, so each
        # chunk costs the same however far the run has got.
        notified += notifications_after_assignment(assignment_run_id=run.pk, first_id=chunk.first_id,
                                                   last_id=chunk.last_id, from_event_id=min(e.pk for e in events))
    if run.refresh_run_id is not None:
        notified += notifications_after_refresh(refresh_run_id=run.refresh_run_id, first_id=chunk.first_id,
                                                last_id=chunk.last_id)
    return runs.ChunkResult(counts={**counts.as_dict(), "notified": notified})


def assignment_chunk_apply(*, run_id: int, index: int) -> bool:
    """Assign one chunk of creators and tell them what changed, once; False if it was already applied.

    The enrolments and the notifications commit with the chunk's mark (core.runs.apply_chunk), so a redelivered
    or duplicated task either finds it done or finds nothing applied; the chunks of a run apply side by side.
    """
    return runs.apply_chunk(ASSIGNMENT, run_id=run_id, index=index, work=_assignment_work)


def assignment_finish(*, run_id: int) -> bool:
    """Mark the run succeeded once every chunk is done; True only for the call that did it."""
    finished = runs.end_succeeded(ASSIGNMENT, run_id=run_id)
    if finished:
        run = AssignmentRun.objects.get(pk=run_id)
        logger.info("assignment #%s (refresh #%s) succeeded: %s enrolled, %s advanced, %s graduated, %s exited, "
                    "%s notifications", run.pk, run.refresh_run_id, run.enrolled, run.advanced, run.graduated,
                    run.exited, run.notified)
    return finished


def assignment_fail(*, run_id: int, error: str) -> bool:
    return runs.end_failed(ASSIGNMENT, run_id=run_id, error=error)


def assignment_request(*, refresh_run_id: int, today: datetime.date) -> AssignmentRun:
    """The assignment run of a refresh, waiting its turn; the same refresh announced again gets the same run.

    A refresh whose assignment failed may be assigned again.
    """
    existing = AssignmentRun.objects.filter(refresh_run_id=refresh_run_id).exclude(status=AssignmentStatus.FAILED)
    run = existing.first()
    if run is not None:
        return run
    try:
        with transaction.atomic():
            return AssignmentRun.objects.create(refresh_run_id=refresh_run_id, run_date=today,
                                                status=AssignmentStatus.WAITING, active=None)
    except IntegrityError:  # the same announcement, delivered twice at the same moment
        return existing.get()


def _record_start(run: AssignmentRun, chunks: int) -> None:
    # Assignments follow refreshes, started by jobs: no staff actor.
    audit.record(actor=None, action=AuditAction.ASSIGNMENT_START, obj=run,
                 after={"refresh_run_id": run.refresh_run_id, "run_date": run.run_date, "chunks": chunks})


def _make_chunks(run_id: int, chunk_size: int | None) -> int:
    return runs.make_chunks(ASSIGNMENT, run_id=run_id, bounds=influencer_chunks(runs.chunk_size(chunk_size)))


def assignment_start_next(*, chunk_size: int | None = None) -> AssignmentRun | None:
    """Start the oldest waiting run and make its chunks, unless a run is running; the run started, or None."""
    run = AssignmentRun.objects.filter(status=AssignmentStatus.WAITING).order_by("pk").first()
    if run is None:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            started = AssignmentRun.objects.filter(pk=run.pk, status=AssignmentStatus.WAITING).update(
                status=AssignmentStatus.RUNNING, active=True, started_at=now, updated_at=now
            )
            if not started:
                return None  # another process started it
            chunks = _make_chunks(run.pk, chunk_size)
            _record_start(run, chunks)
    except IntegrityError:  # one_active_assignment: another run is running; this one waits for it
        return None
    run.refresh_from_db()
    return run


def _run_here(run_id: int) -> None:
    runs.run_here(ASSIGNMENT, run_id=run_id)


def _start_waiting(*, in_process: bool) -> None:
    """Start the waiting runs: here, one after another, or (on the workers) the oldest, whose last chunk's task
    starts the next."""
    while (run := assignment_start_next()) is not None:
        if not runs.undone_indexes(ASSIGNMENT, run.pk):
            assignment_finish(run_id=run.pk)  # nobody to assign
        elif in_process:
            _run_here(run.pk)
        else:
            runs.send_after_commit(ASSIGNMENT, run_id=run.pk)
            return


def _after_end_on_workers(ended: bool) -> None:
    # A run that ended (finished or failed) lets the next waiting one start.
    if ended:
        _start_waiting(in_process=False)


def assignment_proceed(*, in_process: bool, now: datetime.datetime | None = None) -> None:
    """Resume or fail a run that stopped moving (core.runs.recover), then start the waiting runs.

    `in_process`: do the work here, chunk by chunk, until no run waits. Otherwise send it to the
    workers and return; the chunk task that finishes a run starts the next.
    """
    runs.recover(ASSIGNMENT, now=now, resume=_run_here if in_process else None)
    _start_waiting(in_process=in_process)


def assignment_run(*, refresh_run_id: int | None = None, today: datetime.date | None = None,
                   chunk_size: int | None = None) -> AssignmentRun:
    """One whole assignment now, in this process, chunk by chunk: enrol the newly eligible, advance stages,
    graduate and exit, and tell creators. Raises AssignmentAlreadyRunning while another run is running.

    Idempotent: a second run on the same data finds nothing to do.
    """
    try:
        with transaction.atomic():
            run = AssignmentRun.objects.create(refresh_run_id=refresh_run_id, run_date=today or timezone.localdate())
            _record_start(run, _make_chunks(run.pk, chunk_size))
    except IntegrityError:
        active = AssignmentRun.objects.filter(active=True).values_list("id", flat=True).first()
        if active is None:
            raise
        raise AssignmentAlreadyRunning(ASSIGNMENT_ALREADY_RUNNING.format(run_id=active)) from None
    _run_here(run.pk)
    run.refresh_from_db()
    return run


def assignment_after_refresh(*, run_id: int, in_process: bool = True) -> None:
    """Listener named in settings.LADDER_AFTER_REFRESH: the tier engine finished refresh `run_id`.

    Assign programmes for the refresh's day and tell creators what changed, chunk by chunk, after
    any run still going. `in_process` (the refresh_tiers command, tests): all of it now, here.
    Otherwise (the Celery task that follows a refresh): the run and its chunks are made and sent to
    the workers, and this returns at once. Announced twice, the refresh is still assigned once.
    """
    run_date = RefreshRun.objects.values_list("run_date", flat=True).get(pk=run_id)
    run = assignment_request(refresh_run_id=run_id, today=run_date)
    assignment_proceed(in_process=in_process)
    run.refresh_from_db()
    logger.info("assignment #%s after refresh #%s: %s", run.pk, run_id, run.status)


def assignment_after_decision(*, decision_id: int) -> None:
    """Listener named in settings.LADDER_AFTER_DECISION: staff changed a creator's tier or type.

    Their programmes follow the new tier now, and they are told of the change; sending it twice
    changes nothing more.
    """
    influencer = Influencer.objects.get(decisions__pk=decision_id)
    assignment_for_influencer(influencer=influencer)
    notifications_after_decision(decision_id=decision_id)


ASSIGNMENT = runs.RunKind(
    name="assignment", run_model=AssignmentRun, chunk_model=AssignmentChunk, chunk_task="coaching.assignment_chunk",
    apply=assignment_chunk_apply, finish=assignment_finish, fail=assignment_fail, follow=_after_end_on_workers,
    start_waiting=lambda: _start_waiting(in_process=False),
    # IntegrityError: a creator's own task tick enrolled them between the chunk's read and its write; a retry reads
    # the new state. OperationalError: a lost connection or a lock timeout.
    transient=(OperationalError, IntegrityError),
)


# ---------------------------------------------------------------- sign-ups


def _eligibility_problem(*, influencer: Influencer, program: Program, today) -> str | None:
    features = influencer_features(influencer=influencer, policy_rules=policy_rules_published(), today=today)
    creator = as_creator(tier=influencer.tier, creator_type=influencer.creator_type,
                         category=influencer.main_category, status=influencer.status, features=features)
    return ineligibility(eligibility_of(program), creator, today)


def _creator_may_join(influencer: Influencer, program: Program) -> bool:
    """Opt-in programmes, and an automatic one the creator left: leaving it is undone only by joining again."""
    return (program.enrollment_policy == EnrollmentPolicy.OPT_IN
            or Enrollment.objects.opted_out().filter(influencer=influencer, program=program).exists())


def enrollment_sign_up_check(*, influencer: Influencer, program: Program, source: str, today) -> None:
    """Raise CoachingError, naming the input at fault, unless the creator may join the programme now.

    enrollment_sign_up calls it under its lock, and the admin's form before saving, so both refuse
    the same things.
    """
    if source == EnrollmentSource.CREATOR and not _creator_may_join(influencer, program):
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
    """A creator leaves a campaign or an opt-in programme; assignment leaves them out until they join again."""
    enrollment = Enrollment.objects.select_for_update().select_related("program").get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise CoachingError(NOT_ACTIVE)
    if not enrollment.program.creators_may_leave:
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

