"""Celery tasks of the ops desk: thin adapters that take ids and call `ops.whatif`."""

from celery import group, shared_task
from django.db import OperationalError

from .whatif import whatif_chunk_on_worker


@shared_task(
    name="ops.whatif_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def whatif_chunk(whatif_id: int, index: int) -> None:
    whatif_chunk_on_worker(whatif_id=whatif_id, index=index)


def send_whatif_chunks(*, whatif_id: int, chunk_count: int) -> None:
    """Fan a preview's chunks out to every worker, as a refresh's."""
    group(whatif_chunk.s(whatif_id, index) for index in range(chunk_count)).apply_async()
