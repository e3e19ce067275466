"""Programmes, their stages and tasks, enrolments, product pools, rewards, playbook and notes."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.json_checks import is_json, is_list_of
from core.language import pick
from tiers.choices import Category, CreatorType, Tier
from core.models import Chunk, ChunkedRun, TimeStampedModel
from tiers.models import Influencer, RefreshRun, TierDecision

from .choices import (
    AssignmentStatus,
    CompletionSource,
    EnrollmentPolicy,
    EnrollmentSource,
    EnrollmentStatus,
    NotificationKind,
    ProductStatus,
    ProgramKind,
    ReasonCode,
    ReviewStatus,
    ReviewSubject,
    TaskCheck,
    TaskKind,
)


class Bilingual:
    """`obj.name` / `obj.title` in the active language: Chinese first, English when asked."""

    def localized(self, field: str) -> str:
        return pick(getattr(self, f"{field}_zh"), getattr(self, f"{field}_en"))


class ProgramQuerySet(models.QuerySet):
    def open_on(self, day):
        return self.filter(is_active=True).filter(
            models.Q(starts_on__isnull=True) | models.Q(starts_on__lte=day),
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=day),
        )


class Program(Bilingual, TimeStampedModel):
    """A staged support programme; who may join is its eligibility, who is in it its enrolments."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=ProgramKind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    enrollment_policy = models.CharField(
        _("enrolment"), max_length=8, choices=EnrollmentPolicy.choices, default=EnrollmentPolicy.AUTO
    )
    # Eligibility: empty lists mean "any".
    eligible_tiers = models.JSONField(_("eligible tiers"), default=list, blank=True,
                                      help_text=_('a list of tiers, e.g. ["mid", "head"]; empty: any tier'))
    eligible_types = models.JSONField(_("eligible creator types"), default=list, blank=True,
                                      help_text=_('a list of creator types, e.g. ["seeding"]; empty: any type'))
    eligible_categories = models.JSONField(_("eligible categories"), default=list, blank=True,
                                           help_text=_('a list of categories, e.g. ["beauty", "food"]; empty: any'))
    reputation_floor = models.DecimalField(
        _("reputation floor (带货口碑分)"), max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(5)],
    )
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True, help_text=_("empty: no limit"))
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    exit_grace_days = models.PositiveSmallIntegerField(
        _("grace before exit (days)"), default=7,
        help_text=_("how long a creator who stopped being eligible stays before leaving"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    selection_limit = models.PositiveSmallIntegerField(
        _("products a creator may pick"), null=True, blank=True, help_text=_("product pools only")
    )
    traffic_support = models.PositiveBigIntegerField(
        _("traffic support (impressions)"), null=True, blank=True, help_text=_("campaigns only")
    )

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True) | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="program_window_ordered",
            ),
            # The assignment and every plan read these as sets of known values.
            models.CheckConstraint(condition=is_list_of("eligible_tiers", Tier.values), name="program_eligible_tiers_known",
                                   violation_error_message=_("Eligible tiers must be a list of tiers.")),
            models.CheckConstraint(condition=is_list_of("eligible_types", CreatorType.values),
                                   name="program_eligible_types_known",
                                   violation_error_message=_("Eligible creator types must be a list of creator types.")),
            models.CheckConstraint(condition=is_list_of("eligible_categories", Category.values),
                                   name="program_eligible_categories_known",
                                   violation_error_message=_("Eligible categories must be a list of categories.")),
        ]

    def __str__(self):
        return f"{self.name_zh} ({self.code})"

    @property
    def name(self):
        return self.localized("name")

    @property
    def description(self):
        return self.localized("description")

    @property
    def creators_may_leave(self) -> bool:
        """Creators may leave opt-in programmes and campaigns; the other programmes follow their tier."""
        return self.enrollment_policy == EnrollmentPolicy.OPT_IN or self.kind == ProgramKind.CAMPAIGN


CRITERIA_HELP = _('a list of conditions, e.g. [{"feature": "orders", "op": ">=", "value": 10}]; empty: none')


class Stage(Bilingual, models.Model):
    """An ordered step of a programme; criteria are lists of conditions (coaching.conditions) over window features."""

    program = models.ForeignKey(Program, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"))
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    entry_criteria = models.JSONField(_("entry criteria"), default=list, blank=True, help_text=CRITERIA_HELP)
    exit_criteria = models.JSONField(_("exit criteria"), default=list, blank=True, help_text=CRITERIA_HELP)
    exit_needs_tasks = models.BooleanField(_("exit needs every required task done"), default=True)

    class Meta:
        ordering = ["program", "order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["program", "order"], name="one_stage_per_order"),
            models.CheckConstraint(condition=models.Q(is_json("entry_criteria", "array"), is_json("exit_criteria", "array")),
                                   name="stage_criteria_lists",
                                   violation_error_message=_("Entry and exit criteria must be lists of conditions.")),
        ]

    def __str__(self):
        return f"{self.program.code} #{self.order} {self.name_zh}"

    @property
    def name(self):
        return self.localized("name")


class Task(Bilingual, models.Model):
    """A lesson to open or a task to do in a stage; metric tasks tick themselves."""

    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="tasks")
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=8, choices=TaskKind.choices, default=TaskKind.TASK)
    title_zh = models.CharField(_("title (Chinese)"), max_length=160)
    title_en = models.CharField(_("title (English)"), max_length=160, blank=True)
    body_zh = models.TextField(_("lesson text (Chinese)"), blank=True)
    body_en = models.TextField(_("lesson text (English)"), blank=True)
    check_by = models.CharField(_("how it is checked"), max_length=12, choices=TaskCheck.choices, default=TaskCheck.SELF_REPORT)
    criterion = models.JSONField(
        _("metric criterion"), default=dict, blank=True,
        help_text=_('for tasks checked from metrics, e.g. {"feature": "orders", "op": ">=", "value": 10}'),
    )
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["stage", "order"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(fields=["stage", "order"], name="one_task_per_order"),
            models.CheckConstraint(condition=is_json("criterion", "object"), name="task_criterion_object",
                                   violation_error_message=_("A task's metric criterion must be one condition (an object).")),
        ]

    def __str__(self):
        return self.title_zh

    @property
    def title(self):
        return self.localized("title")

    @property
    def body(self):
        return self.localized("body")


class EnrollmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=EnrollmentStatus.ACTIVE)

    def opted_out(self):
        """Places the creator left and has not taken again: no later enrolment in the same programme.

        Assignment never puts such a creator back; only the creator (or staff) can.
        """
        later = self.model.objects.filter(influencer=models.OuterRef("influencer"), program=models.OuterRef("program"),
                                          pk__gt=models.OuterRef("pk"))
        return self.filter(status=EnrollmentStatus.EXITED, reason=ReasonCode.LEFT_BY_CREATOR).exclude(models.Exists(later))


class Enrollment(TimeStampedModel):
    """A creator's place in a programme."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="enrollments")
    program = models.ForeignKey(Program, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="enrollments")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    source = models.CharField(_("source"), max_length=8, choices=EnrollmentSource.choices, default=EnrollmentSource.AUTO)
    reason = models.CharField(_("reason"), max_length=24, choices=ReasonCode.choices)
    enrolled_on = models.DateField(_("enrolled on"))
    stage_entered_on = models.DateField(_("stage entered on"), null=True, blank=True)
    ineligible_since = models.DateField(_("not eligible since"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    graduated_on = models.DateField(_("graduated on"), null=True, blank=True)
    result_gmv = models.DecimalField(_("campaign result GMV"), max_digits=14, decimal_places=2, null=True, blank=True)
    result_note = models.TextField(_("result note"), blank=True)
    result_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("result recorded by"),
                                           on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-enrolled_on", "-id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["influencer", "program"], condition=models.Q(status="active"), name="one_active_enrollment"
            ),
        ]
        indexes = [
            models.Index(fields=["program", "status"], name="enrollment_program_status"),
            models.Index(fields=["influencer", "status"], name="enrollment_influencer_status"),
        ]

    def __str__(self):
        return gettext("creator #%(influencer)s in programme #%(program)s (%(status)s)") % {
            "influencer": self.influencer_id, "program": self.program_id, "status": self.get_status_display()}


class TaskCompletion(models.Model):
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrolment"), on_delete=models.CASCADE,
                                   related_name="completions")
    task = models.ForeignKey(Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("source"), max_length=8, choices=CompletionSource.choices)
    completed_at = models.DateTimeField(_("completed at"), auto_now_add=True)

    class Meta:
        ordering = ["enrollment", "task"]
        verbose_name = _("task completion")
        verbose_name_plural = _("task completions")
        constraints = [models.UniqueConstraint(fields=["enrollment", "task"], name="one_completion_per_task")]

    def __str__(self):
        return gettext("task #%(task)s done in enrolment #%(enrollment)s") % {"task": self.task_id,
                                                                              "enrollment": self.enrollment_id}


class AssignmentRun(ChunkedRun):
    """One pass of programme assignment over every creator, in chunks (after a refresh, or on demand).

    Runs wait their turn: one runs at a time, the others wait (oldest first). `updated_at` moves with
    every chunk done, so a run that stopped moving is found and recovered.
    """

    refresh_run = models.ForeignKey(RefreshRun, verbose_name=_("refresh run"), on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.RUNNING)
    active = models.BooleanField(_("active"), null=True, default=True, editable=False)
    run_date = models.DateField(_("run date"))
    enrolled = models.PositiveIntegerField(_("enrolled"), default=0)
    advanced = models.PositiveIntegerField(_("advanced a stage"), default=0)
    graduated = models.PositiveIntegerField(_("graduated"), default=0)
    exited = models.PositiveIntegerField(_("exited"), default=0)
    tasks_checked = models.PositiveIntegerField(_("tasks checked"), default=0)
    notified = models.PositiveIntegerField(_("notifications"), default=0)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("assignment run")
        verbose_name_plural = _("assignment runs")
        constraints = [
            models.UniqueConstraint(fields=["active"], name="one_active_assignment"),
            # A refresh announced twice is assigned once; after a failure it may be assigned again.
            models.UniqueConstraint(
                fields=["refresh_run"],
                condition=models.Q(refresh_run__isnull=False)
                & ~models.Q(status=AssignmentStatus.FAILED),
                name="one_assignment_per_refresh",
            ),
        ]

    def __str__(self):
        return gettext("assignment #%(id)s of %(date)s (%(status)s)") % {
            "id": self.pk, "date": self.run_date, "status": self.get_status_display()}


class AssignmentChunk(Chunk):
    """A slice of creators by id (core.models.Chunk)."""

    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="chunks")

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_assignment_chunk_per_index")]


class EnrollmentEvent(models.Model):
    """History of an enrolment: every change with its reason code."""

    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrolment"), on_delete=models.CASCADE,
                                   related_name="events")
    reason = models.CharField(_("reason"), max_length=24, choices=ReasonCode.choices)
    from_stage = models.ForeignKey(Stage, verbose_name=_("from stage"), on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    to_stage = models.ForeignKey(Stage, verbose_name=_("to stage"), on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    assignment_run = models.ForeignKey(AssignmentRun, verbose_name=_("assignment run"), on_delete=models.SET_NULL,
                                       null=True, blank=True, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("enrolment event")
        verbose_name_plural = _("enrolment events")
        indexes = [models.Index(fields=["enrollment", "-at"], name="enrollment_event_history")]

    def __str__(self):
        return gettext("enrolment #%(enrollment)s: %(reason)s") % {"enrollment": self.enrollment_id,
                                                                    "reason": self.get_reason_display()}


class Product(models.Model):
    """A merchant's product offered to creators through pools."""

    merchant = models.CharField(_("merchant"), max_length=120)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    commission_rate = models.DecimalField(_("commission rate"), max_digits=5, decimal_places=4,
                                          validators=[MinValueValidator(0), MaxValueValidator(1)])
    product_score = models.DecimalField(_("product score (商品分)"), max_digits=3, decimal_places=2, null=True, blank=True)
    shop_experience_score = models.DecimalField(_("shop experience score (店铺体验分)"), max_digits=3, decimal_places=2,
                                                null=True, blank=True)
    stock = models.PositiveIntegerField(_("stock"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=ProductStatus.choices, default=ProductStatus.ON_SALE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-commission_rate", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["category", "status"], name="product_category_status")]

    def __str__(self):
        return f"{self.title} — {self.merchant}"


class PoolProduct(models.Model):
    pool = models.ForeignKey(Program, verbose_name=_("product pool"), on_delete=models.CASCADE,
                             related_name="pool_products", limit_choices_to={"kind": ProgramKind.PRODUCT_POOL})
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["pool", "product"]
        verbose_name = _("product in a pool")
        verbose_name_plural = _("products in the pool")
        constraints = [models.UniqueConstraint(fields=["pool", "product"], name="one_product_per_pool")]

    def __str__(self):
        return gettext("product #%(product)s in pool #%(pool)s") % {"product": self.product_id, "pool": self.pool_id}


class ProductSelection(models.Model):
    """A product a creator picked from a pool open to them."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="product_selections")
    pool = models.ForeignKey(Program, verbose_name=_("product pool"), on_delete=models.CASCADE, related_name="selections")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="selections")
    selected_at = models.DateTimeField(_("picked at"), auto_now_add=True)

    class Meta:
        ordering = ["-selected_at", "-id"]
        verbose_name = _("product pick")
        verbose_name_plural = _("product picks")
        constraints = [models.UniqueConstraint(fields=["influencer", "product"], name="one_selection_per_product")]

    def __str__(self):
        return gettext("creator #%(influencer)s picked product #%(product)s") % {"influencer": self.influencer_id,
                                                                                  "product": self.product_id}


class TrafficRewardGrant(models.Model):
    """Chuanliu (川流计划): traffic granted for buyers a creator brought to a merchant's live room."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="traffic_rewards")
    program = models.ForeignKey(Program, verbose_name=_("programme"), on_delete=models.PROTECT,
                                related_name="traffic_rewards", limit_choices_to={"kind": ProgramKind.TRAFFIC_REWARD})
    merchant = models.CharField(_("source merchant"), max_length=120)
    impressions = models.PositiveBigIntegerField(_("traffic (impressions)"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-id"]
        verbose_name = _("traffic reward grant")
        verbose_name_plural = _("traffic reward grants")
        constraints = [
            # Re-importing a reward file grants nothing twice.
            models.UniqueConstraint(fields=["influencer", "merchant", "period_start", "period_end"], name="one_grant_per_period"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")), name="grant_period_ordered"),
        ]

    def __str__(self):
        return gettext("traffic reward #%(id)s for creator #%(influencer)s") % {"id": self.pk,
                                                                                 "influencer": self.influencer_id}


class PlaybookRule(TimeStampedModel):
    """A coaching rule ops edit: conditions over tier-engine features, and what to tell the creator."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    priority = models.IntegerField(_("priority"), default=50, help_text=_("higher first"))
    tiers = models.JSONField(_("tiers"), default=list, blank=True, help_text=_("empty: any tier"))
    types = models.JSONField(_("creator types"), default=list, blank=True, help_text=_("empty: any type"))
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    targets = models.JSONField(_("targets"), default=dict, blank=True)
    text_zh = models.TextField(_("recommendation (Chinese)"))
    text_en = models.TextField(_("recommendation (English)"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "code"]
        verbose_name = _("playbook rule")
        verbose_name_plural = _("playbook rules")
        constraints = [
            models.CheckConstraint(condition=is_list_of("tiers", Tier.values), name="playbook_tiers_known",
                                   violation_error_message=_("Tiers must be a list of tiers.")),
            models.CheckConstraint(condition=is_list_of("types", CreatorType.values), name="playbook_types_known",
                                   violation_error_message=_("Creator types must be a list of creator types.")),
            models.CheckConstraint(condition=models.Q(is_json("conditions", "array"), is_json("targets", "object")),
                                   name="playbook_conditions_list_targets_object",
                                   violation_error_message=_("Conditions must be a list and targets an object.")),
        ]

    def __str__(self):
        return self.code

    def to_json(self) -> dict:
        return {"code": self.code, "priority": self.priority, "tiers": self.tiers, "types": self.types,
                "conditions": self.conditions, "targets": self.targets, "text_zh": self.text_zh, "text_en": self.text_en}


class CoachingNote(TimeStampedModel):
    """A staff member's 1:1 coaching log entry; never shown to the creator."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="coaching_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField(_("note"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coaching note")
        verbose_name_plural = _("coaching notes")

    def __str__(self):
        return gettext("coaching note #%(id)s on creator #%(influencer)s") % {"id": self.pk,
                                                                               "influencer": self.influencer_id}


class ReviewRequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ReviewStatus.OPEN)


class ReviewRequest(TimeStampedModel):
    """A creator asks staff to look again at their tier or type (an appeal); one open request at a time."""

    MESSAGE_MAX_LENGTH = 1000

    # review_history (influencer, -created_at) serves the lookups by creator.
    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="review_requests", db_index=False)
    # The decision being questioned, normally the creator's latest; kept if the ledger is ever pruned.
    decision = models.ForeignKey(
        TierDecision, verbose_name=_("decision questioned"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="review_requests",
    )
    subject = models.CharField(_("subject"), max_length=16, choices=ReviewSubject.choices)
    message = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    status = models.CharField(_("status"), max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    staff_reply = models.TextField(_("staff reply"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("replied by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ReviewRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("review request")
        verbose_name_plural = _("review requests")
        constraints = [
            models.UniqueConstraint(
                fields=["influencer"], condition=models.Q(status=ReviewStatus.OPEN), name="one_open_review_per_influencer"
            ),
            models.CheckConstraint(condition=~models.Q(message=""), name="review_message_required"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="review_queue"),
            models.Index(fields=["influencer", "-created_at"], name="review_history"),
        ]

    def __str__(self):
        return gettext("review #%(id)s of creator #%(influencer)s: %(subject)s (%(status)s)") % {
            "id": self.pk, "influencer": self.influencer_id, "subject": self.get_subject_display(),
            "status": self.get_status_display()}


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One thing that changed for a creator, for their in-app list; `data` holds what its sentence needs.

    The source link (decision, enrolment event, review, or the day of a warning) is unique per kind,
    so the jobs that write notifications may run again and add nothing twice.
    """

    # The composite and partial unique indexes below lead with these columns; one more index each
    # would only slow the bulk inserts.
    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="notifications", db_index=False)
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    decision = models.ForeignKey(TierDecision, verbose_name=_("tier decision"), on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+", db_index=False)
    enrollment_event = models.ForeignKey(EnrollmentEvent, verbose_name=_("enrolment event"), on_delete=models.CASCADE,
                                         null=True, blank=True, related_name="+", db_index=False)
    review = models.ForeignKey(ReviewRequest, verbose_name=_("review request"), on_delete=models.CASCADE, null=True,
                               blank=True, related_name="+", db_index=False)
    warning_on = models.DateField(_("warning for the day"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["decision", "kind"], condition=models.Q(decision__isnull=False),
                                    name="one_notification_per_decision_kind"),
            models.UniqueConstraint(fields=["enrollment_event"], condition=models.Q(enrollment_event__isnull=False),
                                    name="one_notification_per_enrollment_event"),
            models.UniqueConstraint(fields=["review", "kind"], condition=models.Q(review__isnull=False),
                                    name="one_notification_per_review_kind"),
            models.UniqueConstraint(fields=["influencer", "warning_on"],
                                    condition=models.Q(kind=NotificationKind.DEMOTION_WARNING),
                                    name="one_demotion_warning_per_day"),
            models.CheckConstraint(condition=is_json("data", "object"), name="notification_data_object"),
        ]
        indexes = [models.Index(fields=["influencer", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self):
        return gettext("notification #%(id)s to creator #%(influencer)s: %(kind)s") % {
            "id": self.pk, "influencer": self.influencer_id, "kind": self.get_kind_display()}


class GrowthPlan(Influencer):
    """A creator as staff see them on their growth plan; it exists to carry the permission to read any plan."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = [("view_growth_plan", _("Can read any creator's growth plan"))]
        verbose_name = _("growth plan")
        verbose_name_plural = _("growth plans")
