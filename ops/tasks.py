"""Celery tasks of the ops desk: thin adapters that take ids and call `ops.whatif`."""

from celery import shared_task
from django.db import OperationalError

from core import runs

from .whatif import WHATIF


@shared_task(
    name="ops.whatif_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def whatif_chunk(run_id: int, index: int) -> None:
    """Preview one chunk; the task that completes the preview finishes it."""
    runs.chunk_on_worker(WHATIF, run_id=run_id, index=index)
