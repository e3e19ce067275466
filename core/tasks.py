"""Celery tasks of the ground floor: the outbox's flush, the run watch and the health probe."""

from celery import shared_task
from django.contrib.auth import get_user_model

from . import outbox, runs


@shared_task(name="core.health_probe", ignore_result=False, expires=60)
def health_probe() -> int:
    """A round trip through broker, worker and database, used by `/healthz?deep=1`: how many users the worker sees."""
    return get_user_model().objects.count()


# Named before the outbox moved here: beat's stored schedule rows call it by this name.
@shared_task(name="tiers.outbox_flush", soft_time_limit=60, time_limit=90)
def outbox_flush() -> int:
    """Beat's job: send what writes recorded for the workers while the broker could not take it."""
    return outbox.flush()


@shared_task(name="core.runs_watch", soft_time_limit=60, time_limit=90)
def runs_watch() -> None:
    """Beat's run watch: a refresh, assignment or what-if that stopped moving is resent, or failed (core.runs)."""
    runs.watch()
