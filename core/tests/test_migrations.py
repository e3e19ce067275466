"""Work stored under the three run machines' old names reaches the one run kernel after migrating."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_KERNEL = ("core", "0001_outbox_from_tiers")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_kernel():
    graph = MigrationExecutor(connection).loader.graph
    # every app at its latest, but core just before the kernel
    try:
        yield migrate([BEFORE_THE_KERNEL if app == "core" else (app, name) for app, name in graph.leaf_nodes()])
    finally:
        migrate(graph.leaf_nodes())


def test_unsent_outbox_work_and_beats_watches_are_renamed_for_the_kernel(before_the_kernel):
    old = before_the_kernel
    Message = old.get_model("core", "OutboxMessage")
    PeriodicTask = old.get_model("django_celery_beat", "PeriodicTask")
    Crontab = old.get_model("django_celery_beat", "CrontabSchedule")
    # given work the outbox still holds under the old senders, one message already sent, and beat's two watches
    # (staff had moved the refresh watch to every ten minutes)
    waiting = [Message.objects.create(sender="tiers.refresh.refresh_dispatch", kwargs={"run_id": 7}),
               Message.objects.create(sender="coaching.services.assignment_dispatch", kwargs={"run_id": 3}),
               Message.objects.create(sender="tiers.outbox.send_task", kwargs={"name": "tiers.after_refresh",
                                                                               "args": [7]})]
    sent = Message.objects.create(sender="tiers.refresh.refresh_dispatch", kwargs={"run_id": 1},
                                  sent_at="2026-11-01T00:00:00Z")
    every_ten = Crontab.objects.create(minute="*/10")
    every_five = Crontab.objects.create(minute="*/5")
    PeriodicTask.objects.create(name="refresh watch", task="tiers.refresh_watch", crontab=every_ten)
    PeriodicTask.objects.create(name="assignment watch", task="coaching.assignment_watch", crontab=every_five)

    # when the site migrates
    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then each waiting message names the kernel's sender with its kind, the sent one is left as it was
    assert [(m.sender, m.kwargs) for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in waiting]).order_by("pk")] == [
        ("core.runs.dispatch", {"kind": "refresh", "run_id": 7}),
        ("core.runs.dispatch", {"kind": "assignment", "run_id": 3}),
        ("core.outbox.send_task", {"name": "tiers.after_refresh", "args": [7]}),
    ]
    assert OutboxMessage.objects.get(pk=sent.pk).sender == "tiers.refresh.refresh_dispatch"
    # and beat has one run watch, on the schedule staff gave the refresh's
    watches = new.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__contains="watch")
    assert [(w.name, w.task, w.crontab.minute) for w in watches] == [("run watch", "core.runs_watch", "*/10")]
