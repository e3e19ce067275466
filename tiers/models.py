"""Creators and the daily metrics their tier and type are computed from."""

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.json_checks import is_json
from core.models import Chunk, ChunkedRun, TimeStampedModel

from .choices import (
    IMPORT_WRITING,
    OVERRIDE_VALUE_CHOICES,
    OVERRIDE_VALUES,
    Category,
    CreatorType,
    DecisionCause,
    ImportSource,
    ImportStatus,
    InfluencerStatus,
    OverrideEndReason,
    OverrideField,
    PolicyStatus,
    RunStatus,
    RunTrigger,
    StateSource,
    Tier,
    UnknownCreators,
)

_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
OVERRIDE_VALUE_MISFIT = _("A tier override takes a tier, a creator-type override a creator type.")
CATEGORY_GMV_NOT_AN_OBJECT = _("GMV by category must be an object such as {\"beauty\": \"1234.50\"}.")
CATEGORY_GMV_UNKNOWN = _("%(category)r is not a category; use one of: %(choices)s.")
CATEGORY_GMV_NOT_MONEY = _("GMV of %(category)s must be a non-negative amount, not %(value)r.")


def validate_category_gmv(value) -> None:
    """GMV by category: known categories → non-negative amounts, as decimal strings or numbers.

    The refresh sums these in SQL; one bad value would fail every creator's refresh.
    """
    if not isinstance(value, dict):
        raise ValidationError(CATEGORY_GMV_NOT_AN_OBJECT, code="invalid")
    errors = []
    for category, amount in value.items():
        if category not in Category.values:
            errors.append(ValidationError(CATEGORY_GMV_UNKNOWN, code="invalid",
                                          params={"category": category, "choices": ", ".join(Category.values)}))
        elif not _is_amount(amount):
            errors.append(ValidationError(CATEGORY_GMV_NOT_MONEY, code="invalid",
                                          params={"category": category, "value": amount}))
    if errors:
        raise ValidationError(errors)


def _is_amount(amount) -> bool:
    if isinstance(amount, str):
        return _AMOUNT.fullmatch(amount) is not None  # what both engines' CAST reads as a number
    # bool is an int to Python; NaN and infinity are no amounts.
    return isinstance(amount, (int, float)) and not isinstance(amount, bool) and math.isfinite(amount) and amount >= 0


def _user(verbose_name, *, on_delete=models.SET_NULL, null=True):
    return models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=verbose_name, on_delete=on_delete, null=null,
                             blank=null, related_name="+")


class Influencer(TimeStampedModel):
    """A selling creator (达人). `tier` and `creator_type` mirror the latest decision for fast filters."""

    platform_id = models.CharField(_("platform id"), max_length=64, unique=True)
    handle = models.CharField(_("handle"), max_length=64, db_index=True)
    display_name = models.CharField(_("display name"), max_length=128)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="influencer",
    )
    onboarded_on = models.DateField(_("first selling day"))
    main_category = models.CharField(_("main category"), max_length=32, choices=Category.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InfluencerStatus.choices, default=InfluencerStatus.ACTIVE
    )
    # Null until the first refresh has judged the creator.
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, null=True, blank=True)
    creator_type = models.CharField(
        _("creator type"), max_length=16, choices=CreatorType.choices, null=True, blank=True
    )
    # Anti-flap bookkeeping, written by the refresh only when it changes.
    tier_since = models.DateField(_("in this tier since"), null=True, blank=True)
    below_keep_since = models.DateField(_("below the keep line since"), null=True, blank=True)

    class Meta:
        ordering = ["handle", "id"]
        verbose_name = _("influencer")
        verbose_name_plural = _("influencers")
        indexes = [
            models.Index(fields=["tier", "creator_type"], name="influencer_tier_type"),
            models.Index(fields=["creator_type"], name="influencer_type"),
            models.Index(fields=["main_category"], name="influencer_category"),
            models.Index(fields=["status"], name="influencer_status"),
            models.Index(fields=["handle", "id"], name="influencer_handle_id"),
            # Creators in a demotion grace period: few of them, found after every refresh.
            models.Index(fields=["below_keep_since"], name="influencer_below_keep",
                         condition=models.Q(below_keep_since__isnull=False)),
        ]

    def __str__(self):
        return f"{self.display_name} (@{self.handle})"


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=0)


def _rate(verbose_name):
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )


class DailyMetric(models.Model):
    """One creator's sales and content figures for one day; money in yuan."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="daily_metrics")
    date = models.DateField(_("date"))
    followers = models.PositiveBigIntegerField(_("followers"), default=0)
    gmv = _money(_("GMV"))
    live_gmv = _money(_("live GMV"))
    video_gmv = _money(_("short-video GMV"))
    storefront_gmv = _money(_("storefront GMV"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    live_sessions = models.PositiveSmallIntegerField(_("live sessions"), default=0)
    live_minutes = models.PositiveIntegerField(_("live minutes"), default=0)
    big_live_sessions = models.PositiveSmallIntegerField(_("big live sessions"), default=0)
    videos_posted = models.PositiveSmallIntegerField(_("videos posted"), default=0)
    entertainment_videos = models.PositiveSmallIntegerField(_("entertainment videos"), default=0)
    reputation_score = models.DecimalField(
        _("reputation score (带货口碑分)"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(5)],
    )
    refund_rate = _rate(_("refund rate"))
    repeat_buyer_rate = _rate(_("repeat-buyer rate"))
    # {"beauty": "1234.50", ...}: GMV by category, yuan as strings so no float creeps in.
    category_gmv = models.JSONField(_("GMV by category"), default=dict, blank=True, validators=[validate_category_gmv])

    class Meta:
        ordering = ["influencer_id", "-date"]
        verbose_name = _("daily metric")
        verbose_name_plural = _("daily metrics")
        constraints = [
            # The unique index (influencer, date) also serves the per-creator window aggregates.
            models.UniqueConstraint(fields=["influencer", "date"], name="dailymetric_one_per_day"),
            models.CheckConstraint(
                condition=models.Q(reputation_score__gte=0, reputation_score__lte=5)
                | models.Q(reputation_score__isnull=True),
                name="dailymetric_reputation_0_5",
            ),
            models.CheckConstraint(
                condition=models.Q(refund_rate__gte=0, refund_rate__lte=1, repeat_buyer_rate__gte=0, repeat_buyer_rate__lte=1),
                name="dailymetric_rates_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(gmv__gte=0, live_gmv__gte=0, video_gmv__gte=0, storefront_gmv__gte=0),
                name="dailymetric_money_not_negative",
            ),
            models.CheckConstraint(condition=is_json("category_gmv", "object"), name="dailymetric_category_gmv_object",
                                   violation_error_message=CATEGORY_GMV_NOT_AN_OBJECT),
        ]
        indexes = [
            # Window scans ("every creator, last 30 days") read by date first.
            models.Index(fields=["date"], name="dailymetric_date"),
        ]

    def __str__(self):
        return gettext("creator #%(influencer)s on %(date)s") % {"influencer": self.influencer_id, "date": self.date}


class TierPolicyQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PolicyStatus.PUBLISHED)


class TierPolicy(TimeStampedModel):
    """A version of the tier and type rules. Published versions are immutable; a change is a new draft."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(_("status"), max_length=16, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT)
    # PolicyRules.to_json(): validated by tiers.rules.PolicyRules.from_json on every write.
    rules = models.JSONField(
        _("rules"),
        help_text=_(
            "Newcomer is an entry state: the newcomer section applies only to a creator never judged "
            "before. Once judged head, mid or tail, a creator is never a newcomer again: with thin or "
            "no data they are judged by the usual lines (no metrics in the window count as no sales) "
            "and move down only as anti_flap allows, like anyone else."
        ),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = _user(_("created by"))
    updated_by = _user(_("last edited by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = _user(_("published by"))

    objects = TierPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        permissions = [("publish_tierpolicy", _("Can publish a tier policy (re-tiers every creator)"))]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status=PolicyStatus.PUBLISHED), name="one_published_policy"
            ),
            models.CheckConstraint(condition=is_json("rules", "object"), name="policy_rules_object",
                                   violation_error_message=_("A policy's rules must be an object.")),
        ]

    def __str__(self):
        return f"v{self.version} {self.name} ({self.get_status_display()})"


class TierOverrideQuerySet(models.QuerySet):
    def active(self, at):
        return self.filter(ended_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class TierOverride(TimeStampedModel):
    """A staff pin of a creator's tier or type, with a reason and an optional expiry."""

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="overrides")
    field = models.CharField(_("field"), max_length=16, choices=OverrideField.choices)
    value = models.CharField(_("value"), max_length=16, choices=OVERRIDE_VALUE_CHOICES,
                             help_text=_("a tier for a tier override, a creator type for a type override"))
    reason = models.TextField(_("reason"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, help_text=_("empty: until ended"))
    created_by = _user(_("created by"), on_delete=models.PROTECT, null=False)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = _user(_("ended by"))
    end_reason = models.CharField(_("end reason"), max_length=32, blank=True, choices=OverrideEndReason.choices)

    objects = TierOverrideQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        permissions = [("end_tieroverride", _("Can end an override"))]
        constraints = [
            models.UniqueConstraint(
                fields=["influencer", "field"], condition=models.Q(ended_at__isnull=True), name="one_open_override_per_field"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="override_reason_required"),
            models.CheckConstraint(
                condition=models.Q(
                    *(models.Q(field=field, value__in=choices.values) for field, choices in OVERRIDE_VALUES.items()),
                    _connector=models.Q.OR,
                ),
                name="override_value_fits_field",
                violation_error_message=OVERRIDE_VALUE_MISFIT,
            ),
        ]
        indexes = [models.Index(fields=["ended_at", "expires_at"], name="override_open_expiry")]

    def __str__(self):
        return gettext("creator #%(influencer)s: %(field)s → %(value)s") % {
            "influencer": self.influencer_id, "field": self.get_field_display(), "value": self.get_value_display()}


class OverrideBatch(TimeStampedModel):
    """One bulk pin sent by staff: its token makes the same form sent twice apply once."""

    token = models.UUIDField(_("token"), unique=True, editable=False)
    field = models.CharField(_("field"), max_length=16, choices=OverrideField.choices)
    value = models.CharField(_("value"), max_length=16, choices=OVERRIDE_VALUE_CHOICES)
    reason = models.TextField(_("reason"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    requested = models.PositiveIntegerField(_("creators asked for"), default=0)
    pinned = models.PositiveIntegerField(_("creators pinned"), default=0)
    unchanged = models.PositiveIntegerField(_("creators already pinned so"), default=0)
    created_by = _user(_("created by"), on_delete=models.PROTECT, null=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bulk override")
        verbose_name_plural = _("bulk overrides")

    def __str__(self):
        return gettext("bulk override #%(id)s: %(field)s → %(value)s") % {
            "id": self.pk, "field": self.get_field_display(), "value": self.get_value_display()}


class Replay(TimeStampedModel):
    """A recomputation, in order, of every refresh from `from_date` on, after past data was corrected.

    Each replayed refresh is a RefreshRun of its own (trigger "replay"). What the replaced refreshes
    wrote stays in the ledger and the state history, marked superseded by this replay.
    """

    from_date = models.DateField(_("replay from"))
    # None: every creator; else the ids of the creators replayed (a metric import's corrections).
    influencer_ids = models.JSONField(_("creators"), null=True, blank=True)
    # History before this moment is kept; from it on, the replay recomputes it.
    base_before = models.DateTimeField(_("replays history from"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("replay")
        verbose_name_plural = _("replays")

    def __str__(self):
        return f"replay #{self.pk} from {self.from_date}"


class RefreshRun(ChunkedRun):
    """One refresh of every creator's tier and type; progress and counts for staff and the API."""

    policy = models.ForeignKey(TierPolicy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="refresh_runs")
    trigger = models.CharField(_("trigger"), max_length=16, choices=RunTrigger.choices)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    # True while the run is in progress, NULL otherwise: the unique index lets only one run be active.
    active = models.BooleanField(_("active"), null=True, default=True, editable=False)
    run_date = models.DateField(_("refresh date"))
    requested_by = _user(_("requested by"))
    chunk_size = models.PositiveIntegerField(_("creators per chunk"), default=5_000)
    # For a replayed refresh: the replay it belongs to, and the refresh it recomputes.
    replay = models.ForeignKey(Replay, verbose_name=_("replay"), on_delete=models.CASCADE, null=True, blank=True,
                               related_name="runs")
    replays = models.ForeignKey(
        "self", verbose_name=_("recomputes"), on_delete=models.SET_NULL, null=True, blank=True, related_name="replayed_by"
    )
    # Null: every creator. Otherwise just these (sorted ids), e.g. those a metric import changed.
    influencer_ids = models.JSONField(_("only these creators"), null=True, blank=True, editable=False)
    total = models.PositiveIntegerField(_("creators"), default=0)
    done = models.PositiveIntegerField(_("creators done"), default=0)
    newly_classified = models.PositiveIntegerField(_("first classified"), default=0)
    promoted = models.PositiveIntegerField(_("promoted"), default=0)
    demoted = models.PositiveIntegerField(_("demoted"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    type_changed = models.PositiveIntegerField(_("type changes"), default=0)
    overrides_lapsed = models.PositiveIntegerField(_("overrides lapsed"), default=0)
    # Null while queued behind another run.
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("refresh run")
        verbose_name_plural = _("refresh runs")
        permissions = [("start_refreshrun", _("Can start a refresh of every creator"))]
        constraints = [models.UniqueConstraint(fields=["active"], name="one_active_refresh")]
        indexes = [
            # The queue: runs waiting for the active one, picked oldest first.
            models.Index(fields=["id"], name="refresh_pending", condition=models.Q(status=RunStatus.PENDING)),
        ]

    def __str__(self):
        return gettext("refresh #%(id)s of %(date)s (%(status)s)") % {
            "id": self.pk, "date": self.run_date, "status": self.get_status_display()}


class RefreshChunk(Chunk):
    """A slice of creators by id; `done_at` is set in the same transaction as its writes."""

    run = models.ForeignKey(RefreshRun, verbose_name=_("refresh run"), on_delete=models.CASCADE, related_name="chunks")
    # None: every creator with an id in [first_id, last_id]; else only these (a replay of some creators).
    influencer_ids = models.JSONField(_("only these creators"), null=True, blank=True)
    # When the chunk's transaction began (it committed at `done_at`): how long chunks take, and that they overlap.
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        verbose_name = _("refresh chunk")
        verbose_name_plural = _("refresh chunks")
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_chunk_per_index")]

    def __str__(self):
        return gettext("chunk %(index)s of refresh #%(run)s") % {"index": self.index, "run": self.run_id}


class TierStateChange(models.Model):
    """Append-only state history: what a creator's stored state became, each time any part of it changed.

    The ledger records tier and type changes; the anti-flap bookkeeping (`tier_since`,
    `below_keep_since`) changes more often and is recorded only here, so that the state as of
    any moment can be rebuilt exactly (a replay starts from it). Rows are ordered by
    `effective_at`: where the event stands in the order of events (the start of the refresh it
    belongs to, the original's for a replayed refresh; the creation of an override).
    """

    influencer = models.ForeignKey(Influencer, on_delete=models.CASCADE, related_name="state_changes")
    effective_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=StateSource.choices)
    refresh_run = models.ForeignKey(RefreshRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tier = models.CharField(max_length=16, choices=Tier.choices, null=True, blank=True)
    creator_type = models.CharField(max_length=16, choices=CreatorType.choices, null=True, blank=True)
    tier_since = models.DateField(null=True, blank=True)
    below_keep_since = models.DateField(null=True, blank=True)
    superseded_by = models.ForeignKey(Replay, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["influencer_id", "effective_at", "id"]
        indexes = [models.Index(fields=["influencer", "effective_at"], name="state_history")]

    def __str__(self):
        return f"{self.influencer_id} @{self.effective_at}: {self.tier}/{self.creator_type}"


class TierDecisionQuerySet(models.QuerySet):
    def effective(self):
        """The ledger creators see: without the decisions a replay recomputed."""
        return self.filter(superseded_by__isnull=True)


class TierDecision(models.Model):
    """Append-only ledger: one row each time a creator's tier or type changed, with why.

    A replay never deletes a row: it marks the rows it recomputed `superseded_by` itself.
    """

    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE,
                                   related_name="decisions")
    tier_before = models.CharField(_("tier before"), max_length=16, choices=Tier.choices, null=True, blank=True)
    tier_after = models.CharField(_("tier after"), max_length=16, choices=Tier.choices)
    type_before = models.CharField(_("type before"), max_length=16, choices=CreatorType.choices, null=True, blank=True)
    type_after = models.CharField(_("type after"), max_length=16, choices=CreatorType.choices, null=True, blank=True)
    policy = models.ForeignKey(TierPolicy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="decisions",
                               null=True)
    features = models.JSONField(_("features"), default=dict)
    explanation = models.JSONField(_("explanation"), default=dict)
    cause = models.CharField(_("cause"), max_length=24, choices=DecisionCause.choices)
    actor = _user(_("actor"))
    refresh_run = models.ForeignKey(RefreshRun, verbose_name=_("refresh run"), on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="decisions")
    decided_on = models.DateField(_("decided on"))
    # Where the decision stands in the order of events (as TierStateChange.effective_at); None on
    # decisions recorded before the state history began.
    effective_at = models.DateTimeField(_("effective at"), null=True, blank=True)
    # Set when a replay recomputed the decision; the replay's own decision is then the effective one.
    superseded_by = models.ForeignKey(
        Replay, verbose_name=_("superseded by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TierDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tier decision")
        verbose_name_plural = _("tier decisions")
        constraints = [
            # A redelivered chunk cannot write a creator's decision twice in one run.
            models.UniqueConstraint(fields=["influencer", "refresh_run"], name="one_decision_per_run"),
            models.CheckConstraint(condition=models.Q(is_json("features", "object"), is_json("explanation", "object")),
                                   name="decision_json_objects"),
        ]
        indexes = [
            models.Index(fields=["influencer", "-created_at"], name="decision_history"),
            models.Index(fields=["refresh_run"], name="decision_run"),
            # The ops dashboard's movements per day and flap report read the last 90 days.
            models.Index(fields=["decided_on"], name="decision_day"),
        ]

    def __str__(self):
        return gettext("creator #%(influencer)s: %(tier_before)s → %(tier_after)s, %(type_before)s → %(type_after)s") % {
            "influencer": self.influencer_id, "tier_before": self.get_tier_before_display() or "—",
            "tier_after": self.get_tier_after_display(), "type_before": self.get_type_before_display() or "—",
            "type_after": self.get_type_after_display() or "—"}

    @property
    def tier_changed(self):
        return self.tier_before != self.tier_after

    @property
    def type_changed(self):
        return self.type_before != self.type_after


class ImportBatch(TimeStampedModel):
    """One metric file checked or imported: who, what, how it went, and which creators it changed."""

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)  # an upload, until it is applied
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("bytes"), default=0)
    source = models.CharField(_("source"), max_length=16, choices=ImportSource.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    # The staff's language when they asked: the worker writes reasons in it.
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    unknown_creators = models.CharField(_("unknown creators"), max_length=8, choices=UnknownCreators.choices,
                                        default=UnknownCreators.CREATE)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)  # as asked; blank = detect
    sheet = models.CharField(_("sheet"), max_length=128, blank=True)
    date_format = models.CharField(_("date format"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    # The task delivery (or command run) doing the current pass: a redelivery of the same task
    # resumes it, anyone else leaves it alone.
    claimed_by = models.CharField(_("claimed by task"), max_length=64, blank=True)
    # What the file turned out to be (encoding, delimiter, sheet, header line and mapping, unknown
    # columns) and the check's counts.
    report = models.JSONField(_("report"), default=dict, blank=True)
    # Progress of the pass running now (or the last one): bytes of a CSV, rows of a sheet.
    progress_done = models.PositiveBigIntegerField(_("progress done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("progress total"), default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    creators_created = models.PositiveIntegerField(_("creators created"), default=0)
    # The last line whose block is committed, with its counts: a redelivered apply resumes after it.
    resume_after_line = models.BigIntegerField(_("resume after line"), default=0)
    earliest_changed_on = models.DateField(_("earliest day changed"), null=True, blank=True)
    # Set when the import changed a day that a refresh had already judged: the refresh after it must
    # replay the changed creators from this day.
    replay_from = models.DateField(_("replay from"), null=True, blank=True)
    refresh_run = models.ForeignKey(RefreshRun, verbose_name=_("refresh"), on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("metric import")
        verbose_name_plural = _("metric imports")
        permissions = [("import_metrics", _("Can import metric files"))]
        constraints = [
            # Two imports of the same file at once: exactly one writes.
            models.UniqueConstraint(fields=["sha256"], condition=models.Q(status__in=IMPORT_WRITING),
                                    name="one_writing_import_per_file"),
        ]

    def __str__(self):
        return f"import #{self.pk} {self.file_name} ({self.get_status_display()})"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at and self.started_at else None


class ImportChange(models.Model):
    """A creator whose metrics an import changed, and the earliest day it changed: what the refresh
    (or replay) after the import works on."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    influencer = models.ForeignKey(Influencer, on_delete=models.CASCADE, related_name="+")
    first_changed_on = models.DateField()
    # The import created this creator: its first selling day follows the file's earliest day for them.
    created = models.BooleanField(default=False)

    class Meta:
        ordering = ["batch", "influencer"]
        constraints = [models.UniqueConstraint(fields=["batch", "influencer"], name="one_change_per_creator_per_import")]


class ImportRejection(models.Model):
    """A row an import refused, with its cells as read and why, for staff to fix and upload again."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections")
    line = models.BigIntegerField()
    cells = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        ordering = ["batch", "line"]
        indexes = [models.Index(fields=["batch", "line"], name="import_rejection_line")]
