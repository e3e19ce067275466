"""The shipped policy speaks of the platform's default policy, in both of the admin's languages."""

from django.db import migrations

OLD_NAME = "Default policy"
OLD_NOTES = "BRIEF's starting defaults; clone it to tune."
NAME = "默认策略 Default policy"
NOTES = (
    "平台默认的达人分层策略。如需调整，请复制为新草稿，修改后发布。\n"
    "The platform's default tier policy. To tune it, clone it to a new draft, edit that and publish it."
)


def reword(apps, schema_editor):
    TierPolicy = apps.get_model("tiers", "TierPolicy")
    # Only the words as shipped: a note or name staff have written stays theirs.
    TierPolicy.objects.filter(notes=OLD_NOTES).update(notes=NOTES)
    TierPolicy.objects.filter(version=1, name=OLD_NAME).update(name=NAME)


def unreword(apps, schema_editor):
    TierPolicy = apps.get_model("tiers", "TierPolicy")
    TierPolicy.objects.filter(notes=NOTES).update(notes=OLD_NOTES)
    TierPolicy.objects.filter(version=1, name=NAME).update(name=OLD_NAME)


class Migration(migrations.Migration):
    dependencies = [("tiers", "0009_admin_trust")]

    operations = [migrations.RunPython(reword, unreword)]
