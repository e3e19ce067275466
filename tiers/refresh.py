"""The refresh from start to announcement, for the Celery workers and in-process runs alike."""

import datetime
import inspect
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import redis
from django.conf import settings
from django.core import checks
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

import audit
from audit.models import AuditAction
from core import bulk, outbox
from core import runs
from core.runs import Resent

from .choices import (
    TIER_RANK,
    DecisionCause,
    OverrideField,
    RunStatus,
    RunTrigger,
    StateSource,
    Tier,
)
from .models import (
    Influencer,
    RefreshChunk,
    RefreshRun,
    Replay,
    TierDecision,
    TierOverride,
    TierPolicy,
    TierStateChange,
)
from .rules import Features, PolicyRules, RuleCheck, TierState, decide, pin
from .selectors import (
    influencer_chunks,
    judged_by_rules,
    overrides_created_between,
    overrides_from,
    overrides_in_force_at,
    overrides_open_between,
    states_before,
    tune_for_batch,
    window_features,
)

logger = logging.getLogger(__name__)

REFRESH_ALREADY_RUNNING = _("Refresh #{run_id} is still running; two refreshes never overlap.")
REFRESH_START_BUSY = _("Another process is starting a refresh right now; try again in a minute.")
REFRESH_NO_POLICY = _("No policy is published: publish one before refreshing.")
REFRESH_DATE_IN_PAST = _(
    "Refusing to refresh as of {date}: refresh #{run_id} already ran as of {latest}, and a refresh never goes back "
    "in time. To recompute the days from {date} on, replay them: manage.py refresh_tiers --replay-from {date}"
)
REPLAY_DAY_FAILED = _("Not run: refresh #{run_id}, an earlier day of the same replay, failed.")
REPLAY_NOTHING = _("Nothing to replay from {date}: no refresh ran as of that day or later.")
REPLAY_BEFORE_HISTORY = _(
    "Cannot replay from {date}: refresh #{run_id} ran before the state history began ({since}). "
    "Replay from a day refreshed after it."
)
REPLAY_NO_CREATORS = _("A refresh or replay of some creators needs at least one creator id.")
REPLAY_UNKNOWN_CREATORS = _("No creator has the id(s) {ids}.")

# What staff are told about the refresh they asked for, where a job is started.
REFRESH_QUEUED = _("Refresh #{run_id} queued; its progress appears under refresh runs.")
REFRESH_QUEUED_AFTER = _("Refresh #{run_id} queued after refresh #{active_id}, which is still running "
                         "({done}/{count} chunks).")
REFRESH_RESENT = _("Refresh #{run_id} had stopped moving: its {chunks} unfinished chunks were sent to the workers again.")
REFRESH_FINISHED = _("Refresh #{run_id} already finished.")
REFRESH_FAILED = _("Refresh #{run_id} failed: {error}")
REFRESH_REQUEST_FAILED = _("Refresh failed: {error}")

# Only one process at a time may start a refresh; the database guard (one active run) is the real
# one, this lock keeps two beats (or an impatient operator) from racing to compute chunk bounds.
# Named after the site's queue, so two sites sharing a Redis never hold each other's lock.
START_LOCK = f"ladder:{settings.CELERY_TASK_DEFAULT_QUEUE}:refresh:start"
START_LOCK_SECONDS = 120
# A Redis that is down or never answers costs a start this long; then the database guard alone holds.
START_LOCK_REDIS_TIMEOUT_SECONDS = getattr(settings, "BROKER_TIMEOUT_SECONDS", 2.0)
# Long enough to outwait another starter's chunk bounds, short enough for a web request.
START_LOCK_WAIT_SECONDS = 5.0
WRITE_BATCH = 2_000


class RefreshError(Exception):
    """A refresh that cannot be started or queued; the message says why, and nothing was changed."""


class RefreshAlreadyRunning(RefreshError):
    def __init__(self, run_id):
        self.run_id = run_id
        super().__init__(REFRESH_ALREADY_RUNNING.format(run_id=run_id))


class RefreshDateInPast(RefreshError):
    pass


# ---------------------------------------------------------------- start


@contextmanager
def _start_lock():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=START_LOCK_REDIS_TIMEOUT_SECONDS,
                                  socket_timeout=START_LOCK_REDIS_TIMEOUT_SECONDS)
    lock = client.lock(START_LOCK, timeout=START_LOCK_SECONDS, blocking_timeout=START_LOCK_WAIT_SECONDS)
    try:
        acquired = lock.acquire()
    except redis.RedisError as exc:
        # The lock is the second guard; the first, one active run in the database, holds without
        # Redis. A refresh asked for while Redis is down is recorded, and its chunks wait in the outbox.
        logger.warning("refresh start lock not taken, Redis cannot be reached (%s: %s); the database guard holds",
                       exc.__class__.__name__, exc)
        client.close()
        yield
        return
    if not acquired:
        client.close()
        raise RefreshError(str(REFRESH_START_BUSY))
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.RedisError:  # it expired, or Redis went away: the database guard still holds
            logger.warning("the refresh start lock could not be released; it expires by itself")
        client.close()


def refresh_recover(*, now: datetime.datetime | None = None) -> list[Resent]:
    """Refreshes that stopped moving: their unfinished chunks sent again, or the run failed so the one queued
    behind can start (core.runs.recover). What was sent again. Beat's run watch calls it, and so does every
    request for a refresh, so staff asking for one never wait behind a dead run."""
    return runs.recover(REFRESH, now=now)


def _refuse_going_back(today: datetime.date) -> None:
    """Time only moves forward: anti-flap builds on the state the latest run left."""
    latest = (
        RefreshRun.objects.filter(Q(status__in=[RunStatus.SUCCEEDED, RunStatus.RUNNING, RunStatus.PENDING])
                                  | Q(status=RunStatus.FAILED, chunks_done__gt=0))
        .order_by("-run_date", "-id").values_list("pk", "run_date").first()
    )
    if latest is not None and today < latest[1]:
        raise RefreshDateInPast(REFRESH_DATE_IN_PAST.format(date=today.isoformat(), run_id=latest[0],
                                                            latest=latest[1].isoformat()))


def _published_policy() -> TierPolicy:
    policy = TierPolicy.objects.published().first()
    if policy is None:
        raise RefreshError(str(REFRESH_NO_POLICY))
    return policy


def _active_run_locked() -> RefreshRun | None:
    # Locked until this transaction ends, so the run cannot finish (and miss a run queued behind it) meanwhile.
    return RefreshRun.objects.select_for_update().filter(active=True).first()


def _chunk_bounds(run: RefreshRun) -> tuple[list[tuple[int, int, list[int] | None]], int]:
    """The run's chunks as (first_id, last_id, ids or None for everyone in between), and how many creators."""
    some = run.replay.influencer_ids if run.replay_id else run.influencer_ids
    if some is None:
        return [(first, last, None) for first, last in influencer_chunks(run.chunk_size)], Influencer.objects.count()
    slices = [some[i:i + run.chunk_size] for i in range(0, len(some), run.chunk_size)]
    return [(ids[0], ids[-1], ids) for ids in slices], len(some)


def _activate(run: RefreshRun, now) -> RefreshRun:
    """Make `run` the active run: its chunks as of now, its start time."""
    bounds, total = _chunk_bounds(run)
    chunk_count = runs.make_chunks(REFRESH, run_id=run.pk, bounds=bounds)
    run.status, run.active, run.started_at, run.total, run.chunk_count = RunStatus.RUNNING, True, now, total, chunk_count
    run.save(update_fields=["status", "active", "started_at", "total", "chunk_count", "updated_at"])
    return run


def _activate_next(now) -> RefreshRun | None:
    """Start the oldest queued run, if any (the active one has just ended, in this transaction)."""
    queued = (RefreshRun.objects.select_for_update(of=("self",)).select_related("replay")
              .filter(status=RunStatus.PENDING).order_by("id").first())
    return _activate(queued, now) if queued is not None else None


class Requested(NamedTuple):
    run: RefreshRun
    started: bool  # False: queued behind the active run, or an equal request already was
    resent: list[Resent] = []  # stalled runs whose chunks this request sent again


def _request(*, trigger: str, by, today: datetime.date | None, chunk_size: int | None, policy: TierPolicy | None,
             queue: bool, influencer_ids=None) -> Requested:
    """Start a run, or (`queue`) queue it behind the active one. A run started for the workers has its
    chunks' sending recorded in the outbox in the same transaction: committed, it is sent, now or
    when the broker is back, even if this process dies right after the commit."""
    today = today or timezone.localdate()
    ids = _some_creators(influencer_ids)
    chunk_size = runs.chunk_size(chunk_size)
    with _start_lock(), transaction.atomic():
        now = timezone.now()
        resent = refresh_recover(now=now)
        _refuse_going_back(today)
        policy = policy or _published_policy()
        active = _active_run_locked()
        if active is None:
            try:
                with transaction.atomic():
                    run = RefreshRun(policy=policy, trigger=trigger, run_date=today, requested_by=by, chunk_size=chunk_size,
                                     influencer_ids=ids)
                    run.save()  # active=True: the unique index makes a racing starter fail here
                    _activate(run, now)
                    _record_request(run, by, action=AuditAction.REFRESH_START)
                if queue:  # the Celery path
                    runs.send_after_commit(REFRESH, run_id=run.pk)
                return Requested(run, started=True, resent=resent)
            except IntegrityError:
                active = _active_run_locked()
                if active is None:
                    raise
        if not queue:
            raise RefreshAlreadyRunning(active.pk)
        queued = _enqueue(trigger=trigger, by=by, today=today, chunk_size=chunk_size, policy=policy, active=active,
                          ids=ids)
        _record_request(queued, by, action=AuditAction.REFRESH_QUEUE)
        return Requested(queued, started=False, resent=resent)


def _record_request(run: RefreshRun, by, *, action: str) -> None:
    audit.record(actor=by, action=action, obj=run,
                 after={"trigger": run.trigger, "run_date": run.run_date, "policy_id": run.policy_id,
                        "status": run.status, "creators": len(run.influencer_ids) if run.influencer_ids else "all"})


def _enqueue(*, trigger, by, today, chunk_size, policy, active: RefreshRun, ids: list[int] | None) -> RefreshRun:
    """Queue a run behind the active one, unless the same refresh of everyone is already queued or (a
    second beat) running."""
    if ids is None:
        same = RefreshRun.objects.filter(status=RunStatus.PENDING, replay=None, influencer_ids=None, run_date=today,
                                         policy=policy).first()
        if same is not None:
            return same
        if (trigger == RunTrigger.SCHEDULE and active.replay_id is None and active.influencer_ids is None
                and (active.run_date, active.policy_id) == (today, policy.pk)):
            return active
    return RefreshRun.objects.create(policy=policy, trigger=trigger, run_date=today, requested_by=by, chunk_size=chunk_size,
                                     status=RunStatus.PENDING, active=None, influencer_ids=ids)


def refresh_start(*, trigger: str, by=None, chunk_size: int | None = None, today: datetime.date | None = None,
                  influencer_ids=None) -> RefreshRun:
    """Create the run and its chunks, active now. Raises RefreshAlreadyRunning while another run is
    active, RefreshDateInPast for a day before the latest run's. `influencer_ids`: only these creators."""
    return _request(trigger=trigger, by=by, today=today, chunk_size=chunk_size, policy=None, queue=False,
                    influencer_ids=influencer_ids).run


def refresh_request(*, trigger: str, by=None, today: datetime.date | None = None, policy: TierPolicy | None = None,
                    influencer_ids=None) -> Requested:
    """Start a refresh on the workers, or queue it after the active run (the Celery path); a stalled
    active run has its chunks sent again first (`Requested.resent`).

    `refresh_request_message` says what became of it. Raises RefreshError when it can be neither
    started nor queued. Its chunks are sent once the transaction commits (through the outbox).
    """
    return _request(trigger=trigger, by=by, today=today, chunk_size=None, policy=policy, queue=True,
                    influencer_ids=influencer_ids)


def refresh_queue(*, trigger: str, by=None, today: datetime.date | None = None, policy: TierPolicy | None = None,
                  influencer_ids=None) -> RefreshRun:
    """`refresh_request`, for callers that need only the run."""
    return refresh_request(trigger=trigger, by=by, today=today, policy=policy, influencer_ids=influencer_ids).run


def refresh_request_message(run: RefreshRun, resent: list[Resent] = ()) -> str:
    """What staff are told about the refresh they asked for: queued, queued after another (with its
    progress), or failed; and which stalled runs had their chunks sent again."""
    run.refresh_from_db(fields=["status", "error"])
    told = [REFRESH_RESENT.format(run_id=r.run_id, chunks=r.chunks) for r in resent]
    active = None
    if run.status == RunStatus.PENDING:
        active = RefreshRun.objects.filter(active=True).values("pk", "chunks_done", "chunk_count").first()
    if active is not None:
        told.insert(0, REFRESH_QUEUED_AFTER.format(run_id=run.pk, active_id=active["pk"], done=active["chunks_done"],
                                                   count=active["chunk_count"]))
    elif run.status == RunStatus.FAILED:
        told.insert(0, REFRESH_FAILED.format(run_id=run.pk, error=run.error))
    elif run.status == RunStatus.SUCCEEDED:
        told.insert(0, REFRESH_FINISHED.format(run_id=run.pk))
    else:
        told.insert(0, REFRESH_QUEUED.format(run_id=run.pk))
    return " ".join(told)


def refresh_for_policy(policy: TierPolicy) -> RefreshRun | None:
    """The refresh that publishing `policy` queued."""
    return RefreshRun.objects.filter(trigger=RunTrigger.POLICY_PUBLISH, policy=policy).order_by("-id").first()


# ---------------------------------------------------------------- replay


def replay_start(*, from_date: datetime.date, influencer_ids=None, by=None, chunk_size: int | None = None,
                 on_workers: bool = False) -> RefreshRun:
    """Plan a replay of every completed refresh from `from_date` on, in order, and start its first day.

    Each replayed refresh keeps its date, its policy, and the overrides as they stood when it first
    ran; the later days are queued behind the first. `influencer_ids` limits it to those creators.
    The state before `from_date` comes from the state history. Returns the first day's run.
    `on_workers`: its chunks are sent to the workers once it commits (through the outbox).
    """
    chunk_size = runs.chunk_size(chunk_size)
    ids = _some_creators(influencer_ids)
    with _start_lock(), transaction.atomic():
        now = timezone.now()
        refresh_recover(now=now)
        active = _active_run_locked()
        if active is not None:
            raise RefreshAlreadyRunning(active.pk)
        # The refreshes as they first ran (a replay's own runs are never replayed: their originals are).
        originals = list(
            RefreshRun.objects.filter(replay=None, run_date__gte=from_date, started_at__isnull=False)
            .order_by("started_at", "id")
        )
        replayed = [run for run in originals if run.status == RunStatus.SUCCEEDED]
        if not replayed:
            raise RefreshError(REPLAY_NOTHING.format(date=from_date.isoformat()))
        base_before = originals[0].started_at
        history_began = TierStateChange.objects.filter(source=StateSource.BASELINE).aggregate(at=Max("effective_at"))["at"]
        if history_began is not None and base_before <= history_began:
            raise RefreshError(REPLAY_BEFORE_HISTORY.format(date=from_date.isoformat(), run_id=originals[0].pk,
                                                            since=timezone.localtime(history_began).isoformat(" ", "minutes")))
        replay = Replay.objects.create(from_date=from_date, influencer_ids=ids, base_before=base_before, requested_by=by)
        RefreshRun.objects.bulk_create(
            RefreshRun(policy_id=original.policy_id, trigger=RunTrigger.REPLAY, status=RunStatus.PENDING, active=None,
                       run_date=original.run_date, requested_by=by, chunk_size=chunk_size, replay=replay, replays=original)
            for original in replayed
        )
        first = _activate_next(now)
        audit.record(actor=by, action=AuditAction.REPLAY_START, obj=replay,
                     after={"from_date": from_date, "runs": len(replayed), "first_run_id": first.pk if first else None,
                            "creators": len(ids) if ids else "all"})
        if on_workers:
            runs.send_after_commit(REFRESH, run_id=first.pk)
        return first


def _some_creators(influencer_ids) -> list[int] | None:
    """The creators a run is limited to, sorted (None: everyone); refuses an empty or unknown set."""
    if influencer_ids is None:
        return None
    ids = sorted({int(i) for i in influencer_ids})
    if not ids:
        raise RefreshError(str(REPLAY_NO_CREATORS))
    unknown = sorted(set(ids) - set(Influencer.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    if unknown:
        raise RefreshError(REPLAY_UNKNOWN_CREATORS.format(ids=", ".join(map(str, unknown[:20]))))
    return ids


def replay_queue(*, from_date: datetime.date, influencer_ids=None, by=None) -> RefreshRun:
    """Start a replay on the workers (the Celery path); its days follow each other there."""
    return replay_start(from_date=from_date, influencer_ids=influencer_ids, by=by, on_workers=True)


# ---------------------------------------------------------------- one chunk


class CreatorRow(NamedTuple):
    """A creator of the chunk and the state the creators table holds for them now."""

    influencer_id: int
    onboarded_on: datetime.date
    stored: TierState


class StateRow(NamedTuple):
    """A creator's new stored state (tiers_influencer)."""

    id: int
    tier: str | None
    creator_type: str | None
    tier_since: datetime.date | None
    below_keep_since: datetime.date | None


class HistoryRow(NamedTuple):
    """A row of the state history (TierStateChange)."""

    influencer_id: int
    effective_at: datetime.datetime
    source: str
    refresh_run_id: int | None
    tier: str | None
    creator_type: str | None
    tier_since: datetime.date | None
    below_keep_since: datetime.date | None


class DecisionRow(NamedTuple):
    """A row of the ledger (TierDecision)."""

    influencer_id: int
    tier_before: str | None
    tier_after: str
    type_before: str | None
    type_after: str | None
    policy_id: int | None
    features: dict
    explanation: dict
    cause: str
    actor_id: int | None
    refresh_run_id: int | None
    decided_on: datetime.date
    effective_at: datetime.datetime


def _columns(state: TierState) -> tuple:
    return state.tier, state.creator_type, state.tier_since, state.below_keep_since


@dataclass(frozen=True)
class RunContext:
    """What every chunk of a run shares, read once per chunk without locking the run."""

    run_id: int | None  # None: a what-if, which writes nothing
    policy_id: int
    rules: PolicyRules
    today: datetime.date
    # Where the run stands in the order of events (the original's start, for a replayed day):
    # its history rows' effective_at, and the moment overrides lapse and are in force.
    as_of: datetime.datetime
    cause: str
    replay: Replay | None = None
    first_replay_day: bool = False
    last_replay_day: bool = False
    # A replayed day first re-enacts the overrides created since the day before it was first run.
    overrides_since: datetime.datetime | None = None


@dataclass(frozen=True)
class ChunkPins:
    """The chunk's overrides at this run: pins to honour, and pins that lapse now."""

    pins: dict[int, dict[str, TierOverride]]
    lapsed: dict[int, frozenset[str]]
    lapsed_override_ids: list[int]
    # Of the creators whose tier pin lapses, those the rules had judged before it.
    judged_before: frozenset[int] = frozenset()


@dataclass
class ChunkCounts:
    creators: int = 0
    newly_classified: int = 0
    promoted: int = 0
    demoted: int = 0
    type_changed: int = 0
    overrides_lapsed: int = 0

    def count_move(self, before: TierState, after: TierState) -> None:
        if before.tier is None:
            self.newly_classified += 1
        elif TIER_RANK[after.tier] > TIER_RANK[before.tier]:
            self.promoted += 1
        elif TIER_RANK[after.tier] < TIER_RANK[before.tier]:
            self.demoted += 1
        # A first type is not a change.
        self.type_changed += after.creator_type != before.creator_type and before.creator_type is not None

    @property
    def unchanged(self) -> int:
        return self.creators - self.newly_classified - self.promoted - self.demoted


@dataclass
class ChunkWrites:
    states: list[StateRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    lapsed_override_ids: list[int] = field(default_factory=list)
    counts: ChunkCounts = field(default_factory=ChunkCounts)


def refresh_chunk_apply(*, run_id: int, index: int) -> bool:
    """Decide every creator in one chunk and write what changed, once (core.runs.apply_chunk); False if it was
    already applied."""
    return runs.apply_chunk(REFRESH, run_id=run_id, index=index, work=_chunk_work)


def _chunk_work(run: RefreshRun, chunk: RefreshChunk) -> runs.ChunkResult:
    started_at = timezone.now()
    context = _run_context(run)
    tune_for_batch()
    creators = _creators(chunk)
    states = _previous_states(chunk, context, creators)
    writes = ChunkWrites()
    if context.replay is not None:
        _reenact_overrides(chunk, context, states, writes, since=context.overrides_since, until=context.as_of)
    _read_and_decide(chunk, context, creators, states, writes)
    if context.last_replay_day:  # and what staff pinned after the last replayed day first ran
        _reenact_overrides(chunk, context, states, writes, since=context.as_of, until=None)
    writes.states = [StateRow(c.influencer_id, *_columns(states[c.influencer_id])) for c in creators
                     if states[c.influencer_id] != c.stored]
    _write(chunk, context, writes)
    counts = writes.counts
    return runs.ChunkResult(
        counts={"done": counts.creators, "newly_classified": counts.newly_classified, "promoted": counts.promoted,
                "demoted": counts.demoted, "unchanged": counts.unchanged, "type_changed": counts.type_changed,
                "overrides_lapsed": counts.overrides_lapsed},
        chunk_fields={"started_at": started_at},
    )


def _read_and_decide(chunk: RefreshChunk, context: RunContext, creators: list[CreatorRow], states: dict[int, TierState],
                     writes: ChunkWrites) -> None:
    """The chunk's pins and window features, then the rules for each creator: `states` and `writes` become
    what a refresh decides (nothing is written here)."""
    pins = _pins(chunk, context)
    features = window_features(first_id=chunk.first_id, last_id=chunk.last_id, today=context.today,
                               window_days=context.rules.window_days, ids=chunk.influencer_ids,
                               onboarded={c.influencer_id: c.onboarded_on for c in creators})
    _decide(context, creators, states, features, pins, writes)


def chunk_preview(*, first_id: int, last_id: int, rules: PolicyRules, policy_id: int, today: datetime.date,
                  as_of: datetime.datetime) -> tuple[list[CreatorRow], ChunkWrites]:
    """What a refresh under `rules` as of `today` would decide for the creators with ids in [first_id, last_id],
    read and decided exactly as a refresh chunk is, and written nowhere (the policy what-if).

    `writes.decisions` holds the ledger rows a refresh would append (one per creator whose tier or type
    would change, with the explanation), `writes.counts` its counters.
    """
    chunk = RefreshChunk(first_id=first_id, last_id=last_id, influencer_ids=None)
    context = RunContext(run_id=None, policy_id=policy_id, rules=rules, today=today, as_of=as_of,
                         cause=DecisionCause.POLICY_CHANGE)
    tune_for_batch()
    creators = _creators(chunk)
    states = {c.influencer_id: c.stored for c in creators}
    writes = ChunkWrites()
    _read_and_decide(chunk, context, creators, states, writes)
    return creators, writes


def _run_context(run: RefreshRun) -> RunContext:
    # Read without locking: the run and policy rows are shared by every chunk, and a lock on them would make the
    # chunks of a run wait for each other, and a publish wait for a chunk.
    rules = PolicyRules.from_json(run.policy.rules)
    if run.replay_id is None:
        cause = DecisionCause.POLICY_CHANGE if run.trigger == RunTrigger.POLICY_PUBLISH else DecisionCause.REFRESH
        return RunContext(run_id=run.pk, policy_id=run.policy_id, rules=rules, today=run.run_date, as_of=run.started_at,
                          cause=cause)
    days = list(RefreshRun.objects.filter(replay_id=run.replay_id).order_by("id").values_list("pk", "replays__started_at"))
    position = [pk for pk, _ in days].index(run.pk)
    return RunContext(
        run_id=run.pk, policy_id=run.policy_id, rules=rules, today=run.run_date, as_of=run.replays.started_at,
        cause=DecisionCause.REPLAY, replay=run.replay, first_replay_day=position == 0,
        last_replay_day=position == len(days) - 1,
        overrides_since=run.replay.base_before if position == 0 else days[position - 1][1],
    )


def _creators(chunk: RefreshChunk) -> list[CreatorRow]:
    rows = Influencer.objects.filter(id__range=(chunk.first_id, chunk.last_id))
    if chunk.influencer_ids is not None:
        rows = rows.filter(id__in=chunk.influencer_ids)
    return [
        CreatorRow(influencer_id, onboarded_on, TierState(tier, creator_type, tier_since, below_keep_since))
        for influencer_id, onboarded_on, tier, creator_type, tier_since, below_keep_since in rows.order_by("id").values_list(
            "id", "onboarded_on", "tier", "creator_type", "tier_since", "below_keep_since")
    ]


def _previous_states(chunk: RefreshChunk, context: RunContext, creators: list[CreatorRow]) -> dict[int, TierState]:
    """Each creator's state before this run: as stored, or on a replay's first day as it stood
    before the first replaced refresh (rebuilt from the state history)."""
    if context.first_replay_day:
        before = states_before(first_id=chunk.first_id, last_id=chunk.last_id, ids=chunk.influencer_ids,
                               before=context.replay.base_before)
        return {c.influencer_id: before.get(c.influencer_id, TierState()) for c in creators}
    return {c.influencer_id: c.stored for c in creators}


def _pins(chunk: RefreshChunk, context: RunContext) -> ChunkPins:
    """Overrides to honour and overrides that lapse: those open now, or for a replayed day those in
    force when it first ran. One expired by the run's start lapses."""
    if context.replay is None:
        overrides = overrides_open_between(first_id=chunk.first_id, last_id=chunk.last_id)
    else:
        overrides = overrides_in_force_at(first_id=chunk.first_id, last_id=chunk.last_id, ids=chunk.influencer_ids,
                                          at=context.as_of)
    pins: dict[int, dict[str, TierOverride]] = {}
    lapsed: dict[int, set[str]] = {}
    lapsed_ids = []
    for override in overrides:
        if override.expires_at is not None and override.expires_at <= context.as_of:
            lapsed.setdefault(override.influencer_id, set()).add(override.field)
            lapsed_ids.append(override.pk)
        else:
            pins.setdefault(override.influencer_id, {})[override.field] = override
    # A lapsed tier pin is forgotten, but not that the rules had judged the creator before it:
    # they are never a newcomer again.
    tier_lapsed = [influencer_id for influencer_id, fields in lapsed.items() if OverrideField.TIER in fields]
    judged_before = judged_by_rules(influencer_ids=tier_lapsed) if tier_lapsed else set()
    return ChunkPins(pins=pins, lapsed={k: frozenset(v) for k, v in lapsed.items()}, lapsed_override_ids=lapsed_ids,
                     judged_before=frozenset(judged_before))


def _forget_lapsed(state: TierState, fields: frozenset[str], judged_before: bool) -> TierState:
    # A pinned tier or type was never earned: once the pin lapses, anti-flap must not protect it.
    if not fields:
        return state
    tier_lapsed = OverrideField.TIER in fields
    return TierState(
        tier=None if tier_lapsed else state.tier,
        creator_type=None if OverrideField.CREATOR_TYPE in fields else state.creator_type,
        tier_since=None if tier_lapsed else state.tier_since,
        below_keep_since=None if tier_lapsed else state.below_keep_since,
        judged_before=judged_before,
    )


def _decide(context: RunContext, creators: list[CreatorRow], states: dict[int, TierState],
            features: dict[int, Features], pins: ChunkPins, writes: ChunkWrites) -> None:
    """The rules for every creator of the chunk (no query): `states` becomes what they decided."""
    writes.counts.creators = len(creators)
    writes.lapsed_override_ids = pins.lapsed_override_ids
    writes.counts.overrides_lapsed = len(pins.lapsed_override_ids)
    for creator in creators:
        influencer_id = creator.influencer_id
        before = states[influencer_id]
        lapsed = pins.lapsed.get(influencer_id, frozenset())
        pinned = pins.pins.get(influencer_id)
        creator_features = features.get(influencer_id)
        decision = decide(creator_features, context.rules,
                          _forget_lapsed(before, lapsed, influencer_id in pins.judged_before), context.today,
                          overrides_from(pinned or {}))
        after = TierState(decision.tier, decision.creator_type, decision.tier_since, decision.below_keep_since)
        states[influencer_id] = after
        recorded = (after.tier, after.creator_type) != (before.tier, before.creator_type) or bool(lapsed)
        if recorded:
            writes.counts.count_move(before, after)
            cause = DecisionCause.OVERRIDE_LAPSED if lapsed else (DecisionCause.OVERRIDE if pinned else context.cause)
            writes.decisions.append(DecisionRow(
                influencer_id, before.tier, after.tier, before.creator_type, after.creator_type, context.policy_id,
                creator_features.to_json() if creator_features else {}, decision.explanation_json(), cause, None,
                context.run_id, context.today, context.as_of,
            ))
        if recorded or after != before:
            writes.history.append(HistoryRow(influencer_id, context.as_of, StateSource.REFRESH, context.run_id, *_columns(after)))


def override_rows(*, influencer_id: int, override: TierOverride, before: TierState, after: TierState, check: RuleCheck,
                  policy_id: int | None, refresh_run_id: int | None = None) -> tuple[HistoryRow | None, DecisionRow | None]:
    """What creating an override records: a history row if the state changed, a ledger row if the tier or type did.

    The override service writes them when staff pin a creator; a replay writes them again when it
    re-enacts the pin among the days it recomputes.
    """
    if after == before:
        return None, None
    at = override.created_at
    history = HistoryRow(influencer_id, at, StateSource.OVERRIDE, refresh_run_id, *_columns(after))
    if (after.tier, after.creator_type) == (before.tier, before.creator_type):
        return history, None
    decision = DecisionRow(
        influencer_id, before.tier, after.tier or Tier.NEWCOMER, before.creator_type, after.creator_type, policy_id,
        {}, {"checks": [check.to_json()]}, DecisionCause.OVERRIDE, override.created_by_id, None, timezone.localdate(at), at,
    )
    return history, decision


def _reenact_overrides(chunk: RefreshChunk, context: RunContext, states: dict[int, TierState], writes: ChunkWrites, *,
                       since: datetime.datetime, until: datetime.datetime | None) -> None:
    """Re-enact, in order, the overrides created in [since, until) on the replayed states.

    Their creation changed the state between two refreshes; a replay recomputes those refreshes,
    so it also recomputes what each pin did at its moment (the ledger row's "before" may differ).
    """
    created = list(overrides_created_between(first_id=chunk.first_id, last_id=chunk.last_id, ids=chunk.influencer_ids,
                                             since=since, until=until))
    if not created:
        return
    published = list(TierPolicy.objects.filter(published_at__isnull=False).order_by("published_at")
                     .values_list("pk", "published_at"))
    for override in created:
        before = states.get(override.influencer_id, TierState())
        after, check = pin(before, override.field, override.value, override.reason, timezone.localdate(override.created_at))
        policy_id = next((pk for pk, at in reversed(published) if at <= override.created_at), None)
        history, decision = override_rows(influencer_id=override.influencer_id, override=override, before=before,
                                          after=after, check=check, policy_id=policy_id, refresh_run_id=context.run_id)
        states[override.influencer_id] = after
        if history is not None:
            writes.history.append(history)
        if decision is not None:
            writes.decisions.append(decision)


def _write(chunk: RefreshChunk, context: RunContext, writes: ChunkWrites) -> None:
    now = timezone.now()
    if context.first_replay_day:
        _supersede(chunk, context.replay)
    _write_states(writes.states, now)
    history_append(writes.history)
    decisions_append(writes.decisions, now)
    if writes.lapsed_override_ids:
        TierOverride.objects.filter(pk__in=writes.lapsed_override_ids, ended_at__isnull=True).update(
            ended_at=now, end_reason="expired", updated_at=now)


def _supersede(chunk: RefreshChunk, replay: Replay) -> None:
    """Mark what the replaced refreshes (and pins among them) recorded for these creators as superseded.

    Nothing is deleted: the ledger is append-only, and the history pages read only effective rows.
    """
    for model in (TierStateChange, TierDecision):
        rows = model.objects.filter(influencer__id__range=(chunk.first_id, chunk.last_id), superseded_by__isnull=True,
                                    effective_at__gte=replay.base_before)
        if chunk.influencer_ids is not None:
            rows = rows.filter(influencer__id__in=chunk.influencer_ids)
        rows.update(superseded_by=replay)


_STATE_COLUMNS = StateRow._fields


def _write_states(rows: list[StateRow], now) -> None:
    """Set tier, type, tier_since and below_keep_since for many creators at once.

    PostgreSQL: COPY into a temporary table, then one UPDATE … FROM it. Elsewhere: UPDATE … FROM
    (VALUES …) in batches.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS refresh_state (id bigint PRIMARY KEY, tier varchar(16), "
                "creator_type varchar(16), tier_since date, below_keep_since date) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY refresh_state ({', '.join(_STATE_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "UPDATE tiers_influencer AS i SET tier = s.tier, creator_type = s.creator_type, "
                "tier_since = s.tier_since, below_keep_since = s.below_keep_since, updated_at = %s "
                "FROM refresh_state AS s WHERE i.id = s.id",
                [now],
            )
            cursor.execute("TRUNCATE refresh_state")
            return
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start:start + WRITE_BATCH]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            params = [now]
            for influencer_id, tier, creator_type, tier_since, below_keep_since in batch:
                params += [influencer_id, tier, creator_type, tier_since and tier_since.isoformat(),
                           below_keep_since and below_keep_since.isoformat()]
            cursor.execute(
                "UPDATE tiers_influencer SET tier = v.tier, creator_type = v.creator_type, tier_since = v.tier_since, "
                "below_keep_since = v.below_keep_since, updated_at = %s "
                "FROM (SELECT column1 AS id, column2 AS tier, column3 AS creator_type, column4 AS tier_since, "
                f"column5 AS below_keep_since FROM (VALUES {placeholders}) AS vals) AS v "
                "WHERE tiers_influencer.id = v.id",
                params,
            )


def _append(model: type[models.Model], rows: list[NamedTuple], **same) -> None:
    """Append rows named after the model's columns (plus columns the same for all); COPY on PostgreSQL,
    where a bulk INSERT spends most of its time quoting JSON."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create((model(**row._asdict(), **same) for row in rows), batch_size=WRITE_BATCH)
        return
    columns = [*rows[0]._fields, *same]
    encode = bulk.json_encoders(model, columns)
    bulk.insert_rows(model, columns, ([e(v) if e else v for e, v in zip(encode, (*row, *same.values()))]
                                      for row in rows))


def history_append(rows: list[HistoryRow]) -> None:
    _append(TierStateChange, rows)


def decisions_append(rows: list[DecisionRow], now) -> None:
    _append(TierDecision, rows, created_at=now)


# ---------------------------------------------------------------- finish, fail, announce


@dataclass(frozen=True)
class Finished:
    """What follows a run's end: the run whose listeners hear of it now, and the queued run it started."""

    announce_run_id: int | None = None
    next_run: RefreshRun | None = None


NOTHING_FOLLOWS = Finished()


@transaction.atomic
def refresh_finish(*, run_id: int) -> Finished:
    """Mark the run succeeded once every chunk is done, and start the run queued behind it.

    Only the call that finished it gets something to do. After a replayed day the next day
    follows, and only the replay's last day is announced.
    """
    if not runs.end_succeeded(REFRESH, run_id=run_id):
        return NOTHING_FOLLOWS
    now = timezone.now()
    replay_id = RefreshRun.objects.values_list("replay_id", flat=True).get(pk=run_id)
    next_run = _activate_next(now)
    replay_goes_on = replay_id is not None and next_run is not None and next_run.replay_id == replay_id
    return Finished(announce_run_id=None if replay_goes_on else run_id, next_run=next_run)


@transaction.atomic
def refresh_fail(*, run_id: int, error: str) -> Finished:
    """Mark the run failed (and the rest of its replay, which would build on it); start the next queued run."""
    if not runs.end_failed(REFRESH, run_id=run_id, error=error):
        return NOTHING_FOLLOWS
    now = timezone.now()
    replay_id = RefreshRun.objects.values_list("replay_id", flat=True).get(pk=run_id)
    if replay_id is not None:
        RefreshRun.objects.filter(replay_id=replay_id, status=RunStatus.PENDING).update(
            status=RunStatus.FAILED, finished_at=now, error=REPLAY_DAY_FAILED.format(run_id=run_id), updated_at=now
        )
    return Finished(next_run=_activate_next(now))


def _listeners(setting: str) -> list[Callable]:
    # tiers never imports coaching: whoever listens is named in settings (checked at start-up).
    return [import_string(dotted) for dotted in getattr(settings, setting, [])]


def refresh_announce(*, run_id: int, in_process: bool) -> None:
    """Tell the listeners named in settings.LADDER_AFTER_REFRESH (coaching) that a run finished.

    `in_process`: True from the command or a test (the listener does all its work now, here);
    False from the Celery `after_refresh` task (the listener may fan out tasks of its own).
    """
    for listener in _listeners("LADDER_AFTER_REFRESH"):
        listener(run_id=run_id, in_process=in_process)


def decision_announce(*, decision_id: int) -> None:
    """Tell the listeners named in settings.LADDER_AFTER_DECISION (coaching) of a decision made
    outside a refresh (a staff override)."""
    for listener in _listeners("LADDER_AFTER_DECISION"):
        listener(decision_id=decision_id)


# How each setting's listeners are called; the system check below holds them to it.
LISTENER_CALLS = {
    "LADDER_AFTER_REFRESH": {"run_id": 1, "in_process": True},
    "LADDER_AFTER_DECISION": {"decision_id": 1},
}


def check_listeners(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every listener named in settings imports, is callable, and accepts the announcement's keywords."""
    errors = []
    for setting, call in LISTENER_CALLS.items():
        dotted_paths = getattr(settings, setting, [])
        if isinstance(dotted_paths, str) or not isinstance(dotted_paths, list | tuple):
            errors.append(checks.Error(f"{setting} must be a list of dotted paths, not {dotted_paths!r}.", id="tiers.E001"))
            continue
        for dotted in dotted_paths:
            try:
                listener = import_string(dotted)
            except ImportError as exc:
                errors.append(checks.Error(f"{setting}: {dotted!r} cannot be imported: {exc}", id="tiers.E002"))
                continue
            if not callable(listener):
                errors.append(checks.Error(f"{setting}: {dotted!r} is not callable.", id="tiers.E003"))
                continue
            try:
                inspect.signature(listener).bind(**call)
            except TypeError as exc:
                keywords = ", ".join(f"{name}=…" for name in call)
                errors.append(checks.Error(f"{setting}: {dotted!r} cannot be called as {dotted}({keywords}): {exc}",
                                           id="tiers.E004"))
    return errors


# ---------------------------------------------------------------- the two paths


def follow_on_workers(finished: Finished) -> None:
    """What follows a run's end on the Celery path, recorded in the outbox in the transaction that
    ended it: the announcement as its own task, the next run's chunks."""
    from . import tasks

    if finished.announce_run_id is not None:
        outbox.task_after_commit(tasks.after_refresh, finished.announce_run_id)
    if finished.next_run is not None:
        runs.send_after_commit(REFRESH, run_id=finished.next_run.pk)


def refresh_chunk_on_worker(*, run_id: int, index: int) -> None:
    """One chunk on a worker (core.runs.chunk_on_worker): the worker that applies the last one finishes the run and
    starts what follows; a chunk that breaks (past its soft time limit, or otherwise) fails the run, which lets the
    next one start; a lost database connection is retried by the task."""
    runs.chunk_on_worker(REFRESH, run_id=run_id, index=index)


REFRESH = runs.RunKind(name="refresh", run_model=RefreshRun, chunk_model=RefreshChunk, chunk_task="tiers.refresh_chunk",
                       apply=refresh_chunk_apply, finish=refresh_finish, fail=refresh_fail, follow=follow_on_workers)


OnChunk = Callable[[RefreshRun, int], None]


def _run_in_process(run: RefreshRun | None, *, on_chunk: OnChunk | None, announce: bool) -> list[RefreshRun]:
    """Apply `run` chunk by chunk here, then each run queued behind it; the runs, in order. If one fails, a run
    queued behind it outlives it: the workers take it (core.runs.run_here)."""
    ran = []
    while run is not None:
        each = (lambda index, run=run: on_chunk(run, index)) if on_chunk else None
        finished = runs.run_here(REFRESH, run_id=run.pk, on_chunk=each)
        ran.append(run)
        if announce and finished.announce_run_id is not None:
            refresh_announce(run_id=finished.announce_run_id, in_process=True)
        run = finished.next_run
    for done in ran:
        done.refresh_from_db()
    return ran


def refresh_run_sync(*, trigger: str = RunTrigger.COMMAND, by=None, chunk_size: int | None = None,
                     today: datetime.date | None = None, on_chunk: OnChunk | None = None,
                     announce: bool = False, influencer_ids=None) -> RefreshRun:
    """The whole refresh in this process, chunk by chunk (the command and the tests), then anything
    queued behind it. `announce`: tell the listeners (coaching) in this process when it is done.
    `influencer_ids`: only these creators."""
    run = refresh_start(trigger=trigger, by=by, chunk_size=chunk_size, today=today, influencer_ids=influencer_ids)
    return _run_in_process(run, on_chunk=on_chunk, announce=announce)[0]


def replay_run_sync(*, from_date: datetime.date, influencer_ids=None, by=None, chunk_size: int | None = None,
                    on_chunk: OnChunk | None = None, announce: bool = False) -> list[RefreshRun]:
    """A replay in this process (see `replay_start`), day after day; its runs, in order. The listeners
    hear once, of the last day's run."""
    first = replay_start(from_date=from_date, influencer_ids=influencer_ids, by=by, chunk_size=chunk_size)
    return [run for run in _run_in_process(first, on_chunk=on_chunk, announce=announce) if run.replay_id == first.replay_id]
