"""Coaching's vocabulary: programme kinds, enrolment states and the reason codes creators see."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgramKind(models.TextChoices):
    NEWCOMER_VILLAGE = "newcomer_village", _("Newcomer village")  # 达人新手村
    PRODUCT_POOL = "product_pool", _("Distribution product pool")  # 快分销货盘
    CAMPAIGN = "campaign", _("Marketing campaign")  # 营销活动
    TRAFFIC_REWARD = "traffic_reward", _("Chuanliu traffic rewards")  # 川流计划
    ACCOUNT_MANAGEMENT = "account_management", _("Account management")  # 头部达人客户经理


class EnrollmentPolicy(models.TextChoices):
    AUTO = "auto", _("Automatic: every eligible creator")
    OPT_IN = "opt_in", _("Opt-in: creators or staff sign up")


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    GRADUATED = "graduated", _("Graduated")
    EXITED = "exited", _("Exited")


class EnrollmentSource(models.TextChoices):
    AUTO = "auto", _("Assignment")
    CREATOR = "creator", _("Creator")
    STAFF = "staff", _("Staff")


class ReasonCode(models.TextChoices):
    """Why an enrolment changed; both staff and the creator see the label."""

    ENROLLED = "enrolled", _("Enrolled: you meet this programme's criteria")
    SIGNED_UP = "signed_up", _("You signed up")
    ADDED_BY_STAFF = "added_by_staff", _("Added by the creator-ops team")
    STAGE_ADVANCED = "stage_advanced", _("Moved to the next stage: the stage's goals are met")
    GRADUATED = "graduated", _("Graduated: every stage completed")
    GRADUATED_PROMOTED = "graduated_promoted", _("Graduated: promoted beyond this programme's tiers")
    INELIGIBLE_GRACE = "ineligible_grace", _("No longer eligible: you will leave unless that changes")
    EXITED_DEMOTED = "exited_demoted", _("Left: tier fell below this programme's tiers")
    EXITED_PROMOTED = "exited_promoted", _("Left: promoted beyond this programme's tiers")
    EXITED_INELIGIBLE = "exited_ineligible", _("Left: no longer meets this programme's criteria")
    EXITED_CLOSED = "exited_closed", _("Left: the programme has ended")
    LEFT_BY_CREATOR = "left_by_creator", _("You left")


class TaskKind(models.TextChoices):
    LESSON = "lesson", _("Lesson")
    TASK = "task", _("Task")


class TaskCheck(models.TextChoices):
    SELF_REPORT = "self_report", _("The creator marks it done")
    METRIC = "metric", _("Checked from metrics")


class CompletionSource(models.TextChoices):
    CREATOR = "creator", _("Creator")
    METRICS = "metrics", _("Metrics")
    STAFF = "staff", _("Staff")


class ProductStatus(models.TextChoices):
    ON_SALE = "on_sale", _("On sale")
    SOLD_OUT = "sold_out", _("Sold out")
    OFF_SHELF = "off_shelf", _("Off shelf")


class AssignmentStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for the running assignment")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ReviewSubject(models.TextChoices):
    """What a creator asks staff to look at again."""

    TIER = "tier", _("Tier")
    CREATOR_TYPE = "creator_type", _("Creator type")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class NotificationKind(models.TextChoices):
    """What changed for a creator; each kind has its sentence in coaching.notifications."""

    TIER_CHANGED = "tier_changed", _("Tier changed")
    TYPE_CHANGED = "type_changed", _("Creator type changed")
    ENROLLED = "enrolled", _("Joined a programme")
    STAGE_ADVANCED = "stage_advanced", _("Moved to the next stage")
    GRADUATED = "graduated", _("Graduated from a programme")
    EXITED = "exited", _("Left a programme")
    DEMOTION_WARNING = "demotion_warning", _("Below the keep line")
    REVIEW_ANSWERED = "review_answered", _("Review request answered")
