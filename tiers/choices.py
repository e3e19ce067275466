"""The product's vocabulary: tiers, creator types, categories and statuses."""

import functools

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tier(models.TextChoices):
    HEAD = "head", _("Head")  # 头部
    MID = "mid", _("Mid")  # 腰部
    TAIL = "tail", _("Tail")  # 尾部
    NEWCOMER = "newcomer", _("Newcomer")  # 新引入达人: a state of its own, not the bottom rung


# The judged ladder, lowest first. Newcomer is deliberately not on it.
LADDER = (Tier.TAIL, Tier.MID, Tier.HEAD)
# For "moved up or down": newcomer below the ladder.
TIER_RANK = {Tier.NEWCOMER: 0, Tier.TAIL: 1, Tier.MID: 2, Tier.HEAD: 3}


class CreatorType(models.TextChoices):
    PERSONA = "persona", _("Persona")  # 有人设的职业电商达人
    VERTICAL = "vertical", _("Vertical")  # 垂直电商达人
    SEEDING = "seeding", _("Seeding")  # 种草型达人
    ENTERTAINMENT = "entertainment", _("Entertainment")  # 娱乐电商达人


class Category(models.TextChoices):
    BEAUTY = "beauty", _("Beauty")  # 美妆
    APPAREL = "apparel", _("Apparel")  # 服饰
    FOOD = "food", _("Food")  # 食品
    FRESH = "fresh", _("Fresh produce")  # 生鲜
    JADE = "jade", _("Jade & jewellery")  # 珠宝玉石
    # A context of its own: Django's breadcrumb "Home" (首页) must not read as the category (家居).
    HOME = "home", pgettext_lazy("product category", "Home")  # 家居
    DIGITAL = "digital", _("Digital")  # 数码
    MOTHER_BABY = "mother_baby", _("Mother & baby")  # 母婴


class InfluencerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    BANNED = "banned", _("Banned")


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class DecisionCause(models.TextChoices):
    REFRESH = "refresh", _("Refresh")
    OVERRIDE = "override", _("Override")
    OVERRIDE_LAPSED = "override_lapsed", _("Override lapsed")
    POLICY_CHANGE = "policy_change", _("Policy change")
    # Recomputed by a replay of past days after their data was corrected.
    REPLAY = "replay", _("Replay")


class OverrideField(models.TextChoices):
    TIER = "tier", _("Tier")
    CREATOR_TYPE = "creator_type", _("Creator type")


class OverrideEndReason(models.TextChoices):
    REPLACED = "replaced", _("Replaced by a newer override")
    REVOKED = "revoked", _("Ended by staff")
    EXPIRED = "expired", _("Expired")


# An override's value, grouped by the field it pins; the value must come from its field's group.
OVERRIDE_VALUES = {OverrideField.TIER: Tier, OverrideField.CREATOR_TYPE: CreatorType}
OVERRIDE_VALUE_CHOICES = [(OverrideField(field).label, choices.choices) for field, choices in OVERRIDE_VALUES.items()]


class RunStatus(models.TextChoices):
    # Waiting for the active run to finish; the finishing run starts it.
    PENDING = "pending", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    COMMAND = "command", _("Command")
    STAFF = "staff", _("Staff")
    POLICY_PUBLISH = "policy_publish", _("Policy published")
    REPLAY = "replay", _("Replay")
    API = "api", _("API token")


class StateSource(models.TextChoices):
    """What wrote a row of a creator's state history."""

    REFRESH = "refresh", _("Refresh")
    OVERRIDE = "override", _("Override")
    # The state every creator had when the history began to be recorded.
    BASELINE = "baseline", _("Baseline")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting to be checked")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked: waiting for confirmation")
    QUEUED = "queued", _("Confirmed: waiting for a worker")
    APPLYING = "applying", _("Importing")
    APPLIED = "applied", _("Imported")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


# An import writes while it is queued or applying: one such import of the same file at a time.
IMPORT_WRITING = (ImportStatus.QUEUED, ImportStatus.APPLYING)
IMPORT_RUNNING = (ImportStatus.UPLOADED, ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.APPLYING)


class ImportSource(models.TextChoices):
    UPLOAD = "upload", _("Staff upload")
    COMMAND = "command", _("Command")


class UnknownCreators(models.TextChoices):
    CREATE = "create", _("Create them from the file's id, handle and category")
    REPORT = "report", _("Reject their rows")


@functools.cache
def _labels(choices_class) -> dict:
    # Built once per choice set, not per cell: an export writes millions of them. The labels stay lazy, so
    # each is read in the language of the request that shows it.
    return dict(choices_class.choices)


def choice_label(choices_class, value) -> str:
    """The label of `value` in `choices_class`, in the current language; "" for no value or an unknown one."""
    return str(_labels(choices_class).get(value, "")) if value else ""
