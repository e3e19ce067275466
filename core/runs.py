"""The chunked-run kernel: make a run's chunks, apply each once, finish or fail the run, resend one that stopped moving."""

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from celery import group
from django.conf import settings
from django.db import OperationalError, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import outbox

logger = logging.getLogger(__name__)

# What every run model's status holds (tiers' RunStatus, coaching's AssignmentStatus): the kernel reads these three.
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"

# A run of which no chunk finished for this long has stopped: nothing works on it any more. A chunk
# takes seconds and is stopped by its time limit after eleven minutes at most (a refresh chunk's; an
# assignment chunk's is six), so 15 minutes without one finishing is not a slow chunk; yet it is short
# enough that a worker lost in the night holds a run back by minutes, not the two hours the broker
# waits before it delivers an unacknowledged task again. Such a run is resumed (its unfinished chunks
# are sent again: harmless even if a chunk is still running, a chunk applies once) RESENDS times, then
# failed so the next run can start: at most about 45 minutes after the last sign of life.
STALE_AFTER = datetime.timedelta(minutes=15)
RESENDS = 2
RUN_STALE = _("No chunk finished for {minutes} minutes, even after its unfinished chunks were sent again {times} "
              "times; presumed dead, so the next run can start.")


def chunk_size(given: int | None = None) -> int:
    """How many creators a chunk holds: `given`, else settings.LADDER_CHUNK_SIZE (one setting for every kind of run)."""
    return given or settings.LADDER_CHUNK_SIZE


@dataclass(frozen=True)
class RunKind:
    """What one kind of chunked run does; the kernel does the rest the same way for all of them.

    `apply(run_id=, index=)` applies one chunk once (through `apply_chunk`); `finish(run_id=)` ends the run once
    every chunk is done (through `end_succeeded`) and `fail(run_id=, error=)` fails it (through `end_failed`),
    each returning what follows from it, which `follow` sets off on the workers in the same transaction (the
    next run's chunks, an announcement). `start_waiting()`, if any, starts runs that wait their turn: the watch
    calls it last. `chunk_task` is the Celery task, by name, that a worker runs for `(run_id, index)`: it calls
    `chunk_on_worker` for this kind.
    """

    name: str
    run_model: type[models.Model]
    chunk_model: type[models.Model]
    chunk_task: str
    apply: Callable[..., bool]
    finish: Callable[..., object]
    fail: Callable[..., object]
    follow: Callable[[object], None] = lambda ended: None
    start_waiting: Callable[[], None] | None = None
    # Errors a chunk task retries (a lost connection); any other error fails the run.
    transient: tuple[type[Exception], ...] = (OperationalError,)

    def running(self) -> QuerySet:
        return self.run_model.objects.filter(status=RUNNING)


KINDS: dict[str, RunKind] = {}


def register(kind: RunKind) -> RunKind:
    """Make `kind` known to the dispatcher and the watch (each app registers its kinds when it is ready)."""
    KINDS[kind.name] = kind
    return kind


# ---------------------------------------------------------------- chunks


class Bounds(NamedTuple):
    first_id: int
    last_id: int
    influencer_ids: list[int] | None = None  # None: every creator in [first_id, last_id]


def make_chunks(kind: RunKind, *, run_id: int, bounds: Iterable[Bounds | tuple]) -> int:
    """Write the run's chunks, in order, and their count on the run; how many."""
    rows = []
    for index, chunk in enumerate(Bounds(*b) for b in bounds):
        extra = {} if chunk.influencer_ids is None else {"influencer_ids": chunk.influencer_ids}
        rows.append(kind.chunk_model(run_id=run_id, index=index, first_id=chunk.first_id, last_id=chunk.last_id, **extra))
    kind.chunk_model.objects.bulk_create(rows)
    kind.run_model.objects.filter(pk=run_id).update(chunk_count=len(rows))
    return len(rows)


def undone_indexes(kind: RunKind, run_id: int) -> list[int]:
    return list(kind.chunk_model.objects.filter(run_id=run_id, done_at__isnull=True).order_by("index")
                .values_list("index", flat=True))


class ChunkResult(NamedTuple):
    """What applying a chunk adds to its run's counters, and what it records on the chunk itself."""

    counts: dict[str, int] = {}
    chunk_fields: dict = {}


def apply_chunk(kind: RunKind, *, run_id: int, index: int,
                work: Callable[[models.Model, models.Model], ChunkResult]) -> bool:
    """Apply one chunk with `work(run, chunk)` once; False if it was already applied or the run is not running.

    The chunk's row is locked and marked done in the same transaction as `work`'s writes, so a redelivered or
    duplicated task either finds it done or finds nothing applied. Only the chunk's row is locked: the chunks of
    a run apply side by side, and each updates its run's counters last and briefly.
    """
    with transaction.atomic():
        chunk = kind.chunk_model.objects.select_for_update().get(run_id=run_id, index=index)
        if chunk.done_at is not None:
            return False
        run = kind.run_model.objects.get(pk=run_id)
        if run.status != RUNNING:
            return False
        result = work(run, chunk)
        now = timezone.now()
        kind.chunk_model.objects.filter(pk=chunk.pk).update(done_at=now, **result.chunk_fields)
        kind.run_model.objects.filter(pk=run_id).update(
            chunks_done=F("chunks_done") + 1, updated_at=now,
            **{name: F(name) + value for name, value in result.counts.items()},
        )
    return True


# ---------------------------------------------------------------- the run's end


def _ended(kind: RunKind, now) -> dict:
    # Runs that allow one at a time mark the running one `active` (a unique index); an ended run holds no place.
    fields = {"finished_at": now, "updated_at": now}
    if any(f.name == "active" for f in kind.run_model._meta.concrete_fields):
        fields["active"] = None
    return fields


def end_succeeded(kind: RunKind, *, run_id: int) -> bool:
    """Mark the run succeeded if every chunk is done; True only for the call that did it."""
    now = timezone.now()
    return bool(kind.running().filter(pk=run_id, chunks_done=F("chunk_count")).update(status=SUCCEEDED,
                                                                                      **_ended(kind, now)))


def end_failed(kind: RunKind, *, run_id: int, error: str) -> bool:
    """Mark a running run failed with `error`; True only for the call that did it."""
    now = timezone.now()
    return bool(kind.running().filter(pk=run_id).update(status=FAILED, error=str(error)[:5000], **_ended(kind, now)))


# ---------------------------------------------------------------- the workers


def send_chunks(*, kind: str, run_id: int, indexes: list[int]) -> None:
    """One chunk task per index, fanned out to every worker (one attempt: the outbox tries again)."""
    from config.celery_app import app

    task = KINDS[kind].chunk_task
    group(app.signature(task, args=(run_id, index)) for index in indexes).apply_async(retry=False)


def dispatch(*, kind: str, run_id: int) -> None:
    """Send a running run's unfinished chunks to the workers, one task each (an outbox sender: called again until
    the broker takes them; a chunk sent twice applies once). A run with nothing left is finished here. Raises what
    the broker raised."""
    run_kind = KINDS[kind]
    if not run_kind.running().filter(pk=run_id).exists():
        return  # it ended meanwhile
    indexes = undone_indexes(run_kind, run_id)
    if not indexes:
        finish_on_workers(run_kind, run_id=run_id)
        return
    send_chunks(kind=kind, run_id=run_id, indexes=indexes)


def send_after_commit(kind: RunKind, *, run_id: int) -> None:
    """Record in the outbox, in the current transaction, that the run's unfinished chunks go to the workers."""
    outbox.call_after_commit(dispatch, kind=kind.name, run_id=run_id)


def finish_on_workers(kind: RunKind, *, run_id: int) -> None:
    with transaction.atomic():
        kind.follow(kind.finish(run_id=run_id))


def fail_on_workers(kind: RunKind, *, run_id: int, error: str) -> None:
    with transaction.atomic():
        kind.follow(kind.fail(run_id=run_id, error=error))


def chunk_on_worker(kind: RunKind, *, run_id: int, index: int) -> None:
    """One chunk on a worker (the body of every chunk task); the worker that applies the last one finishes the run.

    A transient error (a lost connection) is raised for the task to retry; any other error fails the run,
    which lets what waits behind it start.
    """
    try:
        kind.apply(run_id=run_id, index=index)
    except kind.transient:
        raise
    except Exception as exc:
        fail_on_workers(kind, run_id=run_id, error=f"chunk {index}: {exc.__class__.__name__}: {exc}")
        raise
    finish_on_workers(kind, run_id=run_id)


def run_here(kind: RunKind, *, run_id: int, on_chunk: Callable[[int], None] | None = None):
    """Apply the run's unfinished chunks in this process, one transaction each, then finish it: what the finish
    returned, for the caller to follow here. On any error the run fails, what follows goes to the workers (this
    process is giving up), and the error is raised."""
    try:
        for index in undone_indexes(kind, run_id):
            kind.apply(run_id=run_id, index=index)
            if on_chunk:
                on_chunk(index)
        return kind.finish(run_id=run_id)
    except BaseException as exc:
        fail_on_workers(kind, run_id=run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise


# ---------------------------------------------------------------- the watch


class Stalled(NamedTuple):
    resend: list  # claimed here (their `resent` counted): send their unfinished chunks again
    fail: list  # already sent again RESENDS times: fail them


def stalled_runs(running: QuerySet, *, now: datetime.datetime) -> Stalled:
    """Among `running` (running rows of a run model), those no chunk finished for STALE_AFTER. A run to resend is
    claimed with a conditional update, so two watchers never both resend it; the claim counts as a sign of life,
    so the next resend waits STALE_AFTER."""
    resend, fail = [], []
    for run in running.filter(updated_at__lt=now - STALE_AFTER).order_by("pk"):
        if run.resent >= RESENDS:
            fail.append(run)
            continue
        claimed = running.filter(pk=run.pk, resent=run.resent).update(resent=F("resent") + 1, updated_at=now)
        if claimed:
            run.resent += 1
            run.updated_at = now
            resend.append(run)
    return Stalled(resend, fail)


class Resent(NamedTuple):
    run_id: int
    chunks: int


def recover(kind: RunKind, *, now: datetime.datetime | None = None,
            resume: Callable[[int], None] | None = None) -> list[Resent]:
    """Runs of `kind` that stopped moving (a worker died holding chunks, or their chunks were never sent): their
    unfinished chunks are sent again through the outbox (or `resume(run_id)`, in a process that does the work
    itself), or, already sent again RESENDS times, the run is failed so what waits behind it can start. What was
    resumed."""
    now = now or timezone.now()
    stalled = stalled_runs(kind.running(), now=now)
    resent = []
    for run in stalled.resend:
        chunks = len(undone_indexes(kind, run.pk))
        logger.warning("%s #%s made no progress since before %s: its %s unfinished chunks are sent again",
                       kind.name, run.pk, now - STALE_AFTER, chunks)
        resent.append(Resent(run.pk, chunks))
        if resume is not None:
            resume(run.pk)
        elif chunks:
            send_after_commit(kind, run_id=run.pk)
        else:  # every chunk was done; only the finish was lost
            finish_on_workers(kind, run_id=run.pk)
    for run in stalled.fail:
        logger.warning("%s #%s failed: no progress since %s", kind.name, run.pk, run.updated_at)
        error = str(RUN_STALE).format(minutes=int(STALE_AFTER.total_seconds() // 60), times=RESENDS)
        if resume is None:
            fail_on_workers(kind, run_id=run.pk, error=error)
        else:
            kind.fail(run_id=run.pk, error=error)
    return resent


def watch(*, now: datetime.datetime | None = None) -> None:
    """Beat's run watch: every kind's stalled runs resent or failed, each kind in a transaction of its own; then
    the runs that wait their turn are started."""
    for kind in KINDS.values():
        with transaction.atomic():
            recover(kind, now=now)
        if kind.start_waiting is not None:
            kind.start_waiting()
