"""One run kernel (core.runs): stored work and schedules that named the three machines' own senders and watches."""

from django.db import migrations

# What the outbox still holds for the workers, by its old sender: the new sender and the kwargs it takes.
SENDERS = {
    "tiers.outbox.send_task": ("core.outbox.send_task", None),
    "tiers.refresh.refresh_dispatch": ("core.runs.dispatch", "refresh"),
    "coaching.services.assignment_dispatch": ("core.runs.dispatch", "assignment"),
}
OLD_WATCHES = ("tiers.refresh_watch", "coaching.assignment_watch")


def forwards(apps, schema_editor):
    OutboxMessage = apps.get_model("core", "OutboxMessage")
    for message in OutboxMessage.objects.filter(sent_at__isnull=True, sender__in=SENDERS):
        sender, kind = SENDERS[message.sender]
        message.sender = sender
        if kind is not None:
            message.kwargs = {"kind": kind, **message.kwargs}
        message.save(update_fields=["sender", "kwargs"])
    # Beat's stored rows: the refresh's watch becomes the one run watch (keeping any schedule staff set on it);
    # the assignment's, now part of it, goes.
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    watches = list(PeriodicTask.objects.filter(task__in=OLD_WATCHES).order_by("id"))
    kept = next((w for w in watches if w.task == "tiers.refresh_watch"), watches[0] if watches else None)
    for watch in watches:
        if watch is kept:
            watch.task, watch.name = "core.runs_watch", "run watch"
            watch.save(update_fields=["task", "name"])
        else:
            watch.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_outbox_from_tiers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
