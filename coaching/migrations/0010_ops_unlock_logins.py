"""The ops group reads failed logins and unlocks a locked account (django-axes' access attempts)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.migrations.state import AppConfigStub
from django.db.models import Q

OPS_ADDS = ["axes.view_accessattempt", "axes.delete_accessattempt"]


def ops_unlock_logins(apps, schema_editor):
    # On a new database, permissions are made after the last migration: make axes' now, as 0008 does.
    app_config = apps.get_app_config("axes")
    if isinstance(app_config, AppConfigStub):
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Q()
    for app_label, codename in (d.split(".") for d in OPS_ADDS):
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(wanted))
    if len(permissions) != len(OPS_ADDS):
        raise RuntimeError(f"group 'ops': some of {', '.join(OPS_ADDS)} do not exist")
    Group.objects.get_or_create(name="ops")[0].permissions.add(*permissions)


def ops_keep_logins_out(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name="ops"):
        group.permissions.remove(*group.permissions.filter(content_type__app_label="axes"))


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0009_labels_after_merge"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(ops_unlock_logins, ops_keep_logins_out)]
