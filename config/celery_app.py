"""The Celery application: configured from Django settings, tasks discovered per app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("ladder")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The tasks that are batch work: they go to the batch queue, never in front of what a person is waiting for.
BATCH_TASKS = frozenset({
    "tiers.refresh_all", "tiers.refresh_replay", "tiers.refresh_chunk", "tiers.after_refresh",
    "tiers.import_check", "tiers.import_apply", "tiers.import_refresh",
    "coaching.assignment_chunk", "ops.whatif_chunk",
})


def batch_queue() -> str:
    """`<default queue>.batch`: derived at send time, so a site (or a test) that renames its queue renames both."""
    return f"{app.conf.task_default_queue}.batch"


def health_queue() -> str:
    """The queue of /healthz?deep=1's probe: CELERY_HEALTH_QUEUE, or `<default queue>.health`."""
    from django.conf import settings

    return settings.LADDER_HEALTH_QUEUE or f"{app.conf.task_default_queue}.health"


def route_batch_work(name, args, kwargs, options, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): batch tasks to the batch queue, the rest to the default one."""
    if name in BATCH_TASKS:
        return {"queue": batch_queue()}
    return None
