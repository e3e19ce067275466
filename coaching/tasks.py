"""Celery tasks of coaching: thin adapters that take ids and call the assignment services."""

import logging

from celery import shared_task
from django.db import IntegrityError, OperationalError

from .services import assignment_chunk_apply, assignment_fail, assignment_finish, assignment_proceed

logger = logging.getLogger(__name__)

# A chunk of 5,000 creators takes seconds; these limits only stop one that hangs. The stale-run
# bound in coaching.services is measured against them.
CHUNK_SOFT_TIME_LIMIT = 5 * 60
CHUNK_TIME_LIMIT = 6 * 60


@shared_task(
    name="coaching.assignment_chunk",
    # IntegrityError: a creator's own task tick enrolled them between the chunk's read and its
    # write; a retry reads the new state. OperationalError: a lost connection or a lock timeout.
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def assignment_chunk(run_id: int, index: int) -> None:
    """Assign one chunk; the task that completes the run finishes it and starts the next waiting one."""
    try:
        assignment_chunk_apply(run_id=run_id, index=index)
    except (OperationalError, IntegrityError):
        raise  # transient: retried; if every retry fails, the watch sends the chunk again later
    except Exception as exc:
        assignment_fail(run_id=run_id, error=f"chunk {index}: {exc.__class__.__name__}: {exc}")
        assignment_proceed(in_process=False)
        raise
    if assignment_finish(run_id=run_id):
        assignment_proceed(in_process=False)


@shared_task(name="coaching.assignment_watch", soft_time_limit=60, time_limit=90)
def assignment_watch() -> None:
    """Beat's check: a run that stopped moving is resumed or failed, and a waiting run starts."""
    assignment_proceed(in_process=False)
