"""The outbox's model moves from tiers to the ground floor: its table stays where tiers made it (state only)."""

from django.db import migrations, models


def content_type_to_core(apps, schema_editor):
    # Permissions and admin log rows follow the model rather than point at a model tiers no longer has.
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="outboxmessage").exists():
        ContentType.objects.filter(app_label="tiers", model="outboxmessage").update(app_label="core")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("tiers", "0015_decision_day_index"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("sender", models.CharField(max_length=200)),
                        ("kwargs", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "tiers_outboxmessage",
                        "ordering": ["id"],
                        "indexes": [models.Index(condition=models.Q(("sent_at__isnull", True)), fields=["id"],
                                                 name="outbox_unsent")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to_core, migrations.RunPython.noop),
    ]
