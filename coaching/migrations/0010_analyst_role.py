"""The read-only analyst role (sees everything ops see, changes nothing); the audit log for both roles; ops unlock logins."""

import importlib

from django.db import migrations

_staff_groups = importlib.import_module("coaching.migrations.0008_staff_groups")
# Ops read failed logins and unlock a locked account by deleting its attempts (django-axes).
OPS = [*_staff_groups.STAFF_GROUPS["ops"], "audit.view_auditentry", "axes.view_accessattempt",
       "axes.delete_accessattempt"]
# Every view permission ops hold, the creator's plan read-only and the audit log: no add, change,
# delete, publish, end, start or import.
ANALYSTS = [p for p in OPS if ".view_" in p]
ROLES = {"ops": OPS, "analysts": ANALYSTS}


def create_groups(apps, schema_editor):
    _staff_groups.make_groups(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0009_labels_after_merge"),
        ("audit", "0001_audit_log"),
        ("tiers", "0012_override_batch"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
