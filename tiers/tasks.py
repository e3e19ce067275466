"""Celery tasks of the tier engine: thin adapters that take ids and call services."""

import logging

import redis
from celery import group, shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import OperationalError

from config.celery_app import app as celery_app

from .choices import RunTrigger
from .models import Influencer
from .services import (
    RefreshAlreadyRunning,
    decision_announce,
    refresh_announce,
    refresh_chunk_apply,
    refresh_fail,
    refresh_finish,
    refresh_start,
)

logger = logging.getLogger(__name__)

# Only one process at a time may start a refresh; the database guard is the real one, this
# lock keeps two beats (or an impatient operator) from racing to compute chunk bounds. Named after
# the site's queue, so two sites sharing a Redis never hold each other's lock.
START_LOCK = f"ladder:{settings.CELERY_TASK_DEFAULT_QUEUE}:refresh:start"
START_LOCK_SECONDS = 120


@shared_task(name="tiers.count_influencers", ignore_result=False, expires=60)
def count_influencers() -> int:
    """A round trip through broker, worker and database, used by `/healthz?deep=1`."""
    return Influencer.objects.count()


@shared_task(name="tiers.refresh_all", soft_time_limit=300, time_limit=360)
def refresh_all(trigger: str = RunTrigger.SCHEDULE, requested_by_id: int | None = None) -> int | None:
    """Start a refresh and fan its chunks out to every worker. Returns the run id (None if one is running)."""
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    lock = client.lock(START_LOCK, timeout=START_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        logger.info("refresh start skipped: another process holds %s", START_LOCK)
        return None
    try:
        by = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
        try:
            run = refresh_start(trigger=trigger, by=by)
        except RefreshAlreadyRunning as exc:
            logger.info("%s", exc)
            return None
        if run.chunk_count == 0:
            refresh_finish(run_id=run.pk)
            after_refresh.delay(run.pk)
        else:
            group(refresh_chunk.s(run.pk, index) for index in range(run.chunk_count)).apply_async()
        return run.pk
    finally:
        lock.release()


@shared_task(
    name="tiers.refresh_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def refresh_chunk(run_id: int, index: int) -> None:
    try:
        refresh_chunk_apply(run_id=run_id, index=index)
    except OperationalError:
        raise  # transient: retried
    except Exception as exc:
        refresh_fail(run_id=run_id, error=f"chunk {index}: {exc.__class__.__name__}: {exc}")
        raise
    if refresh_finish(run_id=run_id):
        after_refresh.delay(run_id)


@shared_task(name="tiers.after_refresh", soft_time_limit=900, time_limit=960)
def after_refresh(run_id: int) -> None:
    """What listens for a finished refresh (coaching's assignment) runs here, once per run."""
    refresh_announce(run_id=run_id)


@shared_task(name="tiers.after_decision", soft_time_limit=60, time_limit=90)
def after_decision(decision_id: int) -> None:
    """What listens for a decision made outside a refresh (a staff override) runs here."""
    decision_announce(decision_id=decision_id)


# ---------------------------------------------------------------- metric imports
# A big file takes minutes; the limits stay under the broker's visibility timeout (2 h), so a
# running import is never handed to a second worker. A redelivery after a worker died carries the
# same task id: it resumes the batch (tiers.imports).


@shared_task(name="tiers.import_check", soft_time_limit=90 * 60, time_limit=100 * 60)
def import_check_task(batch_id: int) -> None:
    from .imports import import_check

    import_check(batch_id=batch_id, claim=import_check_task.request.id)


@shared_task(name="tiers.import_apply", soft_time_limit=90 * 60, time_limit=100 * 60)
def import_apply_task(batch_id: int) -> None:
    from .imports import import_apply

    import_apply(batch_id=batch_id, claim=import_apply_task.request.id)


@shared_task(name="tiers.import_refresh", soft_time_limit=90 * 60, time_limit=100 * 60)
def import_refresh_task(batch_id: int, requested_by_id: int | None = None) -> None:
    """Refresh the creators an import changed, then what listens for a finished refresh."""
    from .imports import ImportStateError, refresh_after_import
    from .models import ImportBatch

    batch = ImportBatch.objects.get(pk=batch_id)
    by = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    try:
        run = refresh_after_import(batch=batch, by=by)
    except (ImportStateError, RefreshAlreadyRunning) as exc:
        logger.info("refresh after import #%s not run: %s", batch_id, exc)
        return
    after_refresh.delay(run.pk)
