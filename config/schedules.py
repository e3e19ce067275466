"""Every periodic job, in one place. Beat reads them from the database so staff can edit them in the admin."""

import json

# name → (task, crontab fields in the site's time zone, kwargs, why). Created once; never
# overwritten afterwards, so an edit made in the admin survives restarts and deploys.
SCHEDULES = {
    "nightly tier refresh": {
        "task": "tiers.refresh_all",
        "crontab": {"minute": "30", "hour": "2"},  # after the nightly metric import lands
        "kwargs": {"trigger": "schedule"},
        "expires": 6 * 60 * 60,  # a refresh still queued at 08:30 is dropped; the next night runs
    },
    "run watch": {
        "task": "core.runs_watch",
        # a refresh, assignment or what-if a dead worker left is resumed or failed within minutes of its bound
        "crontab": {"minute": "*/5"},
        "kwargs": {},
        "expires": 4 * 60,  # the next check comes soon; a backlog of checks is worth nothing
    },
    "outbox flush": {
        "task": "tiers.outbox_flush",
        "crontab": {"minute": "*"},  # what a write queued while the broker was down leaves within a minute of its return
        "kwargs": {},
        "expires": 50,
    },
}


def ensure_schedules(*, time_zone: str) -> list[str]:
    """Create the periodic tasks that do not exist yet; return the names created."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = []
    for name, spec in SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(timezone=time_zone, **spec["crontab"])
        PeriodicTask.objects.create(
            name=name, task=spec["task"], crontab=crontab, kwargs=json.dumps(spec["kwargs"]), expire_seconds=spec["expires"]
        )
        created.append(name)
    return created
