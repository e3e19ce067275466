"""Celery tasks of coaching: thin adapters that take ids and call the assignment services."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from core import runs

from .services import ASSIGNMENT

# A chunk of 5,000 creators takes seconds; these limits only stop one that hangs. The stale-run
# bound in core.runs is measured against them.
CHUNK_SOFT_TIME_LIMIT = 5 * 60
CHUNK_TIME_LIMIT = 6 * 60


@shared_task(
    name="coaching.assignment_chunk",
    autoretry_for=(OperationalError, IntegrityError),  # ASSIGNMENT.transient: retried, never a failed run
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def assignment_chunk(run_id: int, index: int) -> None:
    """Assign one chunk; the task that completes the run finishes it and starts the next waiting one."""
    runs.chunk_on_worker(ASSIGNMENT, run_id=run_id, index=index)
