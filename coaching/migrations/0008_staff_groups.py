"""Staff roles as groups: "ops" (creator-ops staff) holds exactly what their work needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.migrations.state import AppConfigStub
from django.db.models import Q

# What each role may do, as "<app>.<codename>". A role is one entry; the read-only analyst comes in
# a migration of its own, with the same shape. Listed here, not computed from the models, so this
# migration means the same thing forever.
STAFF_GROUPS = {
    "ops": [
        # creators: read everything about them, change their profile (status, login), never add by hand
        "tiers.view_influencer", "tiers.change_influencer",
        "tiers.view_dailymetric",  # metrics come from imports and the API
        # the tier policy: draft, tune, publish (publishing re-tiers every creator)
        "tiers.view_tierpolicy", "tiers.add_tierpolicy", "tiers.change_tierpolicy", "tiers.delete_tierpolicy",
        "tiers.publish_tierpolicy",
        "tiers.view_tierdecision",
        "tiers.view_tieroverride", "tiers.add_tieroverride", "tiers.end_tieroverride",
        "tiers.view_refreshrun", "tiers.start_refreshrun",
        # metric files: import them (check, confirm, refresh after) and read past imports
        "tiers.view_importbatch", "tiers.import_metrics",
        # programmes: curricula, product pools, campaigns; never deleted (a programme ends or is switched off)
        "coaching.view_program", "coaching.add_program", "coaching.change_program",
        "coaching.view_stage", "coaching.add_stage", "coaching.change_stage", "coaching.delete_stage",
        "coaching.view_task", "coaching.add_task", "coaching.change_task", "coaching.delete_task",
        "coaching.view_poolproduct", "coaching.add_poolproduct", "coaching.change_poolproduct",
        "coaching.delete_poolproduct",
        "coaching.view_product", "coaching.add_product", "coaching.change_product",
        "coaching.view_enrollment", "coaching.add_enrollment", "coaching.change_enrollment",
        "coaching.view_enrollmentevent",
        "coaching.view_productselection",  # creators pick
        "coaching.view_trafficrewardgrant", "coaching.add_trafficrewardgrant", "coaching.change_trafficrewardgrant",
        "coaching.view_playbookrule", "coaching.add_playbookrule", "coaching.change_playbookrule",
        "coaching.delete_playbookrule",
        "coaching.view_coachingnote", "coaching.add_coachingnote", "coaching.change_coachingnote",
        "coaching.delete_coachingnote",
        "coaching.view_assignmentrun",
        "coaching.view_reviewrequest", "coaching.change_reviewrequest",  # answer and close
        "coaching.view_notification",
        "coaching.view_growth_plan",
        # the nightly jobs' schedules: read them, switch one off or move it
        "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule", "django_celery_beat.view_intervalschedule",
        "django_celery_beat.view_clockedschedule", "django_celery_beat.view_solarschedule",
    ],
}


def create_staff_groups(apps, schema_editor):
    make_groups(apps, STAFF_GROUPS)


def make_groups(apps, groups: dict[str, list[str]]):
    """Create or reset each group to exactly its permissions (later role migrations call this too)."""
    # On a new database, permissions are made after the last migration (post_migrate): make them
    # now, from the models as this migration sees them, so the groups can hold them.
    for app_config in apps.get_app_configs():
        if isinstance(app_config, AppConfigStub):
            app_config.models_module = True  # create_permissions skips an app without it
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, dotted in groups.items():
        wanted = Q()
        for app_label, codename in (d.split(".") for d in dotted):
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(wanted).select_related("content_type"))
        missing = set(dotted) - {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        if missing:
            raise RuntimeError(f"group {name!r}: no such permissions: {', '.join(sorted(missing))}")
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0007_admin_trust"),
        ("tiers", "0010_default_policy_words"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_staff_groups, migrations.RunPython.noop)]
