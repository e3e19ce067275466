"""The outbox's model now belongs to the ground floor (core); its table stays (state only)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("tiers", "0015_decision_day_index"),
        ("core", "0001_outbox_from_tiers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="OutboxMessage")]),
    ]
