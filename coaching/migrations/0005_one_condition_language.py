"""Stage and task criteria speak the playbook's condition language: {"metric", …} becomes {"feature", …}.

Every stored document is then checked against the stricter validator of coaching.conditions. One
that it refuses (a share of 60 meant as 0.6, "nan", an unknown field…) is left as it was and
reported with its row's id and path, for staff to correct in the admin; the migration goes on.
"""

import logging
import math

from django.db import migrations, models

logger = logging.getLogger(__name__)

# Frozen here (coaching.conditions when this was written), so this migration means the same thing forever.
KINDS = {
    **dict.fromkeys(
        ("gmv", "live_gmv", "video_gmv", "storefront_gmv", "big_live_gmv", "top_category_gmv", "gmv_change",
         "days_since_onboarding", "active_days", "live_days", "live_sessions", "big_live_days", "small_live_days",
         "only_big_live", "videos_posted", "entertainment_videos", "followers", "orders", "repeat_buyer_rate_change",
         "reputation"),
        "number",
    ),
    **dict.fromkeys(
        ("live_share", "short_video_storefront_share", "top_category_share", "big_live_share",
         "entertainment_video_share", "repeat_buyer_rate", "refund_rate"),
        "share",
    ),
    "tier": ("head", "mid", "tail", "newcomer"),
    "creator_type": ("persona", "vertical", "seeding", "entertainment"),
    "top_category": ("beauty", "apparel", "food", "fresh", "jade", "home", "digital", "mother_baby"),
}
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
FIELDS = ("feature", "op", "value")


def _renamed(condition, old: str, new: str):
    """The condition with its `old` key called `new`, in place (key order kept); anything else as it is."""
    if not isinstance(condition, dict) or old not in condition or new in condition:
        return condition
    return {new if key == old else key: value for key, value in condition.items()}


def stage_criteria(criteria):
    """A stage's entry or exit criteria in the feature shape. A lone object and no value at all
    were read as a list of that one object and as no criteria, and become just that."""
    if criteria is None:
        return []
    if isinstance(criteria, dict):
        criteria = [criteria]
    if not isinstance(criteria, list):
        return criteria
    return [_renamed(condition, "metric", "feature") for condition in criteria]


def task_criterion(criterion):
    """A metric task's criterion in the feature shape; a list was read as its first entry alone."""
    if isinstance(criterion, list) and len(criterion) == 1:
        criterion = criterion[0]
    return _renamed(criterion, "metric", "feature")


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def condition_problems(condition, path: str) -> list[str]:
    """What the stricter validator says of one condition, each as "<path>: <message>"."""
    if not isinstance(condition, dict):
        return [f"{path}: must be an object"]
    problems = [f"{path}.{key}: unknown field" for key in condition if key not in FIELDS]
    problems += [f"{path}.{key}: is required" for key in FIELDS if key not in condition]
    name, op, value = condition.get("feature"), condition.get("op"), condition.get("value")
    kind = KINDS.get(name) if isinstance(name, str) else None
    if "feature" in condition and kind is None:
        problems.append(f"{path}.feature: unknown feature {name!r}")
    if "op" in condition and op not in OPERATORS:
        problems.append(f"{path}.op: must be one of " + ", ".join(OPERATORS))
    if kind is None or "value" not in condition:
        return problems
    if isinstance(kind, tuple):
        if op in OPERATORS and op not in ("==", "!="):
            problems.append(f"{path}.op: text features compare only with == or !=")
        if value not in kind:
            problems.append(f"{path}.value: must be one of " + ", ".join(kind))
    elif _number(value) is None:
        problems.append(f"{path}.value: must be a number")
    elif kind == "share" and not 0 <= _number(value) <= 1:
        problems.append(f"{path}.value: must be between 0 and 1 (0.2 for 20%)")
    return problems


def conditions_problems(conditions, path: str) -> list[str]:
    if not isinstance(conditions, list):
        return [f"{path}: must be a list"]
    return [problem for i, condition in enumerate(conditions) for problem in condition_problems(condition, f"{path}[{i}]")]


def _convert(row, field: str, converted, problems: list[str]) -> bool:
    """Set the converted document when the validator accepts it; report it otherwise. Whether it changed."""
    if problems:
        logger.warning("coaching.%s #%s %s left as it was: %s", type(row).__name__, row.pk, field, "; ".join(problems))
        return False
    if converted == getattr(row, field):
        return False
    setattr(row, field, converted)
    return True


def forwards(apps, schema_editor):
    for stage in apps.get_model("coaching", "Stage").objects.order_by("pk"):
        changed = []
        for field in ("entry_criteria", "exit_criteria"):
            converted = stage_criteria(getattr(stage, field))
            if _convert(stage, field, converted, conditions_problems(converted, field)):
                changed.append(field)
        if changed:
            stage.save(update_fields=changed)
    for task in apps.get_model("coaching", "Task").objects.order_by("pk"):
        converted = task_criterion(task.criterion)
        # An empty criterion is none at all: assignment never reads it.
        problems = condition_problems(converted, "criterion") if converted else []
        if _convert(task, "criterion", converted, problems):
            task.save(update_fields=["criterion"])
    for rule in apps.get_model("coaching", "PlaybookRule").objects.order_by("pk"):
        # Already in the feature shape: only checked.
        _convert(rule, "conditions", rule.conditions, conditions_problems(rule.conditions, "conditions"))


def backwards(apps, schema_editor):
    for stage in apps.get_model("coaching", "Stage").objects.order_by("pk"):
        for field in ("entry_criteria", "exit_criteria"):
            criteria = getattr(stage, field)
            if isinstance(criteria, list):
                setattr(stage, field, [_renamed(condition, "feature", "metric") for condition in criteria])
        stage.save(update_fields=["entry_criteria", "exit_criteria"])
    for task in apps.get_model("coaching", "Task").objects.order_by("pk"):
        task.criterion = _renamed(task.criterion, "feature", "metric")
        task.save(update_fields=["criterion"])


class Migration(migrations.Migration):
    dependencies = [("coaching", "0004_reviews_notifications")]

    operations = [
        migrations.AlterField(
            model_name="task",
            name="criterion",
            field=models.JSONField(
                blank=True, default=dict, help_text='{"feature": "orders", "op": ">=", "value": 10}',
                verbose_name="metric criterion",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
