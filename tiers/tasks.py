"""Celery tasks of the tier engine: thin adapters that take ids and call `tiers.refresh`."""

import datetime
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError

from core import outbox

from .choices import RunTrigger
from .refresh import (
    RefreshError,
    decision_announce,
    refresh_announce,
    refresh_chunk_on_worker,
    refresh_queue,
    replay_queue,
)

logger = logging.getLogger(__name__)


def _user(user_id: int | None):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


@shared_task(name="tiers.refresh_all", soft_time_limit=300, time_limit=360)
def refresh_all(trigger: str = RunTrigger.SCHEDULE, requested_by_id: int | None = None,
                run_date: str | None = None) -> int:
    """Start a refresh on the workers, or queue it after the active run; the run's id.

    `run_date` (YYYY-MM-DD, default today) earlier than the latest run's is refused (RefreshDateInPast).
    """
    today = datetime.date.fromisoformat(run_date) if run_date else None
    return refresh_queue(trigger=trigger, by=_user(requested_by_id), today=today).pk


@shared_task(name="tiers.refresh_replay", soft_time_limit=300, time_limit=360)
def refresh_replay(from_date: str, influencer_ids: list[int] | None = None, requested_by_id: int | None = None) -> int:
    """Replay every refresh from `from_date` on, for everyone or the creators given; the first day's run id."""
    return replay_queue(from_date=datetime.date.fromisoformat(from_date), influencer_ids=influencer_ids,
                        by=_user(requested_by_id)).pk


@shared_task(
    name="tiers.refresh_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def refresh_chunk(run_id: int, index: int) -> None:
    refresh_chunk_on_worker(run_id=run_id, index=index)


@shared_task(name="tiers.after_refresh", soft_time_limit=900, time_limit=960)
def after_refresh(run_id: int) -> None:
    """What listens for a finished refresh (coaching's assignment) runs here, once per run."""
    refresh_announce(run_id=run_id, in_process=False)


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
    """Refresh (or replay) the creators an import changed, then tell the listeners on the workers."""
    from .imports import ImportStateError, refresh_after_import
    from .models import ImportBatch

    batch = ImportBatch.objects.get(pk=batch_id)
    by = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    try:
        run = refresh_after_import(batch=batch, by=by, announce=False)
    except (ImportStateError, RefreshError) as exc:
        logger.info("refresh after import #%s not run: %s", batch_id, exc)
        return
    outbox.task_after_commit(after_refresh, run.pk)
