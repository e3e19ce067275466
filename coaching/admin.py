"""Admin for programmes, enrolments, products, rewards, the playbook and coaching notes."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, OuterRef, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdmin
from core.admin_base import (
    EstimatedCountPaginator,
    ReadOnlyAdmin,
    ReadOnlyInline,
    StaffAdmin,
    StaffStackedInline,
    StaffTabularInline,
)
from tiers.admin import InfluencerAdmin, RefreshRunAdmin
from tiers.models import Influencer, RefreshRun

from . import playbook
from .choices import AssignmentStatus, EnrollmentSource, ReviewStatus, TaskCheck
from .conditions import ConditionError, condition_from_json, conditions_from_json
from .models import (
    AssignmentRun,
    CoachingNote,
    Enrollment,
    EnrollmentEvent,
    Notification,
    PlaybookRule,
    PoolProduct,
    Product,
    ProductSelection,
    Program,
    ReviewRequest,
    Stage,
    Task,
    TrafficRewardGrant,
)
from .reviews import REVIEW_CLOSED, REVIEW_REPLY_REQUIRED, review_close, review_reply
from .rules import ELIGIBILITY_LISTS, eligibility_list_errors
from .services import (
    CoachingError,
    campaign_record_result,
    coaching_note_create,
    enrollment_sign_up,
    enrollment_sign_up_check,
)

CRITERIA_NOT_A_LIST = _("Write a list of conditions, [] for none.")
CRITERION_NOT_ONE = _("Write one condition as an object, {} for none.")
CRITERION_REQUIRED = _("A task checked from metrics needs its condition.")


def _criteria_errors(value, path: str) -> list[str]:
    """What the parser the assignment uses finds wrong with `value`: a list of conditions, or one."""
    try:
        if isinstance(value, list):
            conditions_from_json(value, path=path)
        else:
            condition_from_json(value, path=path)
    except ConditionError as exc:
        return list(exc.errors)
    return []


class StageForm(forms.ModelForm):
    """A stage, on its own page or as a row of its programme's: criteria are checked either way."""

    class Meta:
        model = Stage
        fields = "__all__"

    def _criteria(self, name):
        value = self.cleaned_data[name]
        if not isinstance(value, list):
            raise forms.ValidationError(CRITERIA_NOT_A_LIST)
        if errors := _criteria_errors(value, name):
            raise forms.ValidationError(errors)
        return value

    def clean_entry_criteria(self):
        return self._criteria("entry_criteria")

    def clean_exit_criteria(self):
        return self._criteria("exit_criteria")


class TaskForm(forms.ModelForm):
    """A task, as a row of its stage's page: a metric task's condition is checked like a stage's."""

    class Meta:
        model = Task
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        criterion = cleaned.get("criterion")
        if "criterion" in self.errors:
            return cleaned
        if not isinstance(criterion, dict):
            self.add_error("criterion", CRITERION_NOT_ONE)
        elif criterion:
            for error in _criteria_errors(criterion, "criterion"):
                self.add_error("criterion", error)
        elif cleaned.get("check_by") == TaskCheck.METRIC:
            self.add_error("criterion", CRITERION_REQUIRED)
        return cleaned


class ProgramForm(forms.ModelForm):
    """A programme; its eligibility lists hold known tiers, types and categories only."""

    class Meta:
        model = Program
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for name in ELIGIBILITY_LISTS:
            if name in cleaned:
                for error in eligibility_list_errors(name, cleaned[name]):
                    self.add_error(name, error)
        return cleaned


class StageInline(StaffTabularInline):
    model = Stage
    form = StageForm
    fields = ("order", "name_zh", "name_en", "entry_criteria", "exit_criteria", "exit_needs_tasks")
    extra = 0
    show_change_link = True


class PoolProductInline(StaffTabularInline):
    model = PoolProduct
    raw_id_fields = ("product",)
    extra = 0


@admin.register(Program)
class ProgramAdmin(AuditedAdmin):
    form = ProgramForm
    list_display = ("code", "name_zh", "kind", "enrollment_policy", "eligible_tiers", "capacity", "starts_on", "ends_on",
                    "is_active")
    list_filter = ("kind", "enrollment_policy", "is_active")
    search_fields = ("code", "name_zh", "name_en")
    inlines = (StageInline, PoolProductInline)


class TaskInline(StaffTabularInline):
    model = Task
    form = TaskForm
    fields = ("order", "kind", "title_zh", "title_en", "check_by", "criterion", "required")
    extra = 0


@admin.register(Stage)
class StageAdmin(AuditedAdmin):
    form = StageForm
    list_display = ("program", "order", "name_zh")
    list_select_related = ("program",)
    inlines = (TaskInline,)


class EventInline(ReadOnlyInline):
    model = EnrollmentEvent
    fields = ("at", "reason", "from_stage", "to_stage", "actor", "assignment_run")
    show_change_link = False
    related = ("from_stage", "to_stage", "actor", "assignment_run")


class EnrollmentForm(forms.ModelForm):
    """Staff add a creator to a programme; the sign-up service's checks run here, on the field at fault."""

    class Meta:
        model = Enrollment
        fields = ("influencer", "program")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("influencer") and cleaned.get("program"):
            try:
                enrollment_sign_up_check(influencer=cleaned["influencer"], program=cleaned["program"],
                                         source=EnrollmentSource.STAFF, today=timezone.localdate())
            except CoachingError as exc:
                self.add_error(exc.field, str(exc))
        return cleaned


@admin.register(Enrollment)
class EnrollmentAdmin(StaffAdmin):
    """Staff add creators to programmes here (through the sign-up service) and record campaign results."""

    list_display = ("influencer", "program", "stage", "status", "reason", "source", "enrolled_on", "ended_on", "result_gmv")
    list_filter = ("status", "program", "reason", "source")
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer", "program", "stage")
    raw_id_fields = ("influencer",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    inlines = (EventInline,)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()  # a new enrolment has no history yet

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EnrollmentForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("influencer", "program", "stage", "status", "source", "reason", "enrolled_on", "stage_entered_on",
                "ineligible_since", "ended_on", "graduated_on", "result_recorded_by")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("influencer", "program")
        return (*self.get_readonly_fields(request, obj), "result_gmv", "result_note")

    def save_model(self, request, obj, form, change):
        if change:
            campaign_record_result(enrollment=obj, gmv=obj.result_gmv, note=obj.result_note, by=request.user)
        else:
            obj.pk = enrollment_sign_up(influencer=obj.influencer, program=obj.program, by=request.user,
                                        source=EnrollmentSource.STAFF).pk

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ("title", "merchant", "category", "price", "commission_rate", "product_score", "shop_experience_score",
                    "stock", "status")
    list_filter = ("category", "status")
    search_fields = ("title", "merchant")


@admin.register(ProductSelection)
class ProductSelectionAdmin(ReadOnlyAdmin):
    """Creators pick products on their pages (the service checks the pool and its limit); staff see the picks."""

    list_display = ("influencer", "product", "pool", "selected_at")
    list_select_related = ("influencer", "product", "pool")
    raw_id_fields = ("influencer", "product")
    search_fields = ("=influencer__platform_id", "^influencer__handle")


@admin.register(TrafficRewardGrant)
class TrafficRewardGrantAdmin(StaffAdmin):
    list_display = ("influencer", "merchant", "impressions", "period_start", "period_end", "granted_at")
    list_select_related = ("influencer",)
    raw_id_fields = ("influencer",)
    search_fields = ("=influencer__platform_id", "^influencer__handle", "merchant")
    date_hierarchy = "period_end"


class PlaybookRuleForm(forms.ModelForm):
    class Meta:
        model = PlaybookRule
        fields = ("code", "priority", "tiers", "types", "conditions", "targets", "text_zh", "text_en", "is_active")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = {k: cleaned.get(k) for k in ("code", "priority", "tiers", "types", "conditions", "targets",
                                                  "text_zh", "text_en")}
        try:
            playbook.rule_from_json(candidate)
        except playbook.PlaybookError as exc:
            raise forms.ValidationError(list(exc.errors)) from None
        return cleaned


@admin.register(PlaybookRule)
class PlaybookRuleAdmin(AuditedAdmin):
    form = PlaybookRuleForm
    list_display = ("code", "priority", "tiers", "types", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "text_zh", "text_en")


@admin.register(CoachingNote)
class CoachingNoteAdmin(StaffAdmin):
    list_display = ("influencer", "author", "created_at", "body")
    list_select_related = ("influencer", "author")
    raw_id_fields = ("influencer",)
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    fields = ("influencer", "body")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["body", "updated_at"])
            return
        obj.pk = coaching_note_create(influencer=obj.influencer, author=request.user, body=obj.body).pk


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "run_date", "status", "progress", "enrolled", "advanced", "graduated", "exited", "tasks_checked",
                    "notified", "resent", "started_at", "finished_at", "refresh_run", "error")
    list_filter = ("status",)

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.chunks_done}/{obj.chunk_count}"


class EnrollmentInline(ReadOnlyInline):
    model = Enrollment
    fields = ("program", "stage", "status", "reason", "enrolled_on", "ended_on")
    related = ("program", "stage")


class CoachingNoteInline(StaffStackedInline):
    """Staff's 1:1 coaching log; the author is whoever writes it."""

    model = CoachingNote
    fields = ("body", "author", "created_at")
    readonly_fields = ("author", "created_at")
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class CoachingInfluencerAdmin(InfluencerAdmin):
    """The creator page, with coaching's enrolments and notes (tiers never imports coaching; we extend it)."""

    inlines = (*InfluencerAdmin.inlines, EnrollmentInline, CoachingNoteInline)

    def save_formset(self, request, form, formset, change):
        if formset.model is not CoachingNote:
            return super().save_formset(request, form, formset, change)
        for note in formset.save(commit=False):
            if note.pk is None:
                coaching_note_create(influencer=form.instance, author=request.user, body=note.body)
            else:
                note.save(update_fields=["body", "updated_at"])
        for note in formset.deleted_objects:
            note.delete()


admin.site.unregister(Influencer)
admin.site.register(Influencer, CoachingInfluencerAdmin)


class CoachingRefreshRunAdmin(RefreshRunAdmin):
    """The refresh runs, each with the assignment that followed it, so a failed one shows where staff
    look after a refresh (tiers never imports coaching; we extend it)."""

    list_display = (*RefreshRunAdmin.list_display, "assignment")

    def get_queryset(self, request):
        latest = AssignmentRun.objects.filter(refresh_run=OuterRef("pk")).order_by("-pk")
        return super().get_queryset(request).annotate(
            assignment_pk=Subquery(latest.values("pk")[:1]),
            assignment_status=Subquery(latest.values("status")[:1]),
            assignment_error=Subquery(latest.values("error")[:1]),
        )

    @admin.display(description=_("assignment"))
    def assignment(self, obj):
        if obj.assignment_pk is None:
            return "—"
        text = f"#{obj.assignment_pk} {AssignmentStatus(obj.assignment_status).label}"
        if obj.assignment_status == AssignmentStatus.FAILED and obj.assignment_error:
            text += f": {Truncator(obj.assignment_error).chars(120)}"
        return format_html('<a href="{}">{}</a>', reverse("admin:coaching_assignmentrun_change", args=[obj.assignment_pk]),
                           text)


admin.site.unregister(RefreshRun)
admin.site.register(RefreshRun, CoachingRefreshRunAdmin)


class ReviewReplyForm(forms.ModelForm):
    """Staff type a reply; saving sends it through review_reply, which notifies the creator."""

    close = forms.BooleanField(label=_("close the request with this reply"), required=False)

    class Meta:
        model = ReviewRequest
        fields = ("staff_reply",)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("staff_reply") or "").strip():
            self.add_error("staff_reply", REVIEW_REPLY_REQUIRED)
        if self.instance.status == ReviewStatus.CLOSED:
            raise forms.ValidationError(REVIEW_CLOSED)
        return cleaned


@admin.register(ReviewRequest)
class ReviewRequestAdmin(StaffAdmin):
    """The review queue: open requests first, oldest questions answered by whoever picks them up."""

    form = ReviewReplyForm
    list_display = ("id", "influencer", "subject", "status", "message_start", "created_at", "replied_at", "replied_by",
                    "closed_by")
    list_filter = ("status", "subject")
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer", "replied_by", "closed_by")
    ordering = (Case(When(status=ReviewStatus.OPEN, then=Value(0)), default=Value(1)).asc(), "-created_at", "-id")
    fields = ("influencer", "subject", "status", "created_at", "decision", "decision_summary", "message",
              "replied_by", "replied_at", "closed_by", "closed_at", "staff_reply", "close")
    # What the creator asked and the decision they question are theirs and the ledger's: never edited here.
    readonly_fields = ("influencer", "subject", "status", "created_at", "decision", "decision_summary", "message",
                       "replied_by", "replied_at", "closed_by", "closed_at")
    actions = ("close_requests",)
    change_list_template = "admin/coaching/reviewrequest/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("influencer", "decision", "replied_by", "closed_by")

    @admin.display(description=_("message"))
    def message_start(self, obj):
        return obj.message if len(obj.message) <= 60 else obj.message[:60] + "…"

    @admin.display(description=_("decision questioned"))
    def decision_summary(self, obj):
        decision = obj.decision
        if decision is None:
            return "—"
        return gettext("%(day)s: tier %(tier_before)s → %(tier_after)s, type %(type_before)s → %(type_after)s (%(cause)s)") % {
            "day": decision.decided_on,
            "tier_before": decision.get_tier_before_display() or "—",
            "tier_after": decision.get_tier_after_display(),
            "type_before": decision.get_type_before_display() or "—",
            "type_after": decision.get_type_after_display() or "—",
            "cause": decision.get_cause_display(),
        }

    def save_model(self, request, obj, form, change):
        review_reply(review=obj, reply=form.cleaned_data["staff_reply"], by=request.user,
                     close=form.cleaned_data.get("close", False))

    def has_add_permission(self, request):
        return False  # creators open requests from their own pages

    def has_change_permission(self, request, obj=None):
        # A closed request is read-only; staff still see it.
        if obj is not None and obj.status == ReviewStatus.CLOSED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Close selected review requests"), permissions=["change"])
    def close_requests(self, request, queryset):
        closed = 0
        for review in queryset.exclude(status=ReviewStatus.CLOSED):
            review_close(review=review, by=request.user)
            closed += 1
        self.message_user(request, _("%(count)s review requests closed.") % {"count": closed}, messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What creators were told, for support; written only by the jobs and services."""

    list_display = ("created_at", "influencer", "kind", "read_at")
    list_filter = ("kind",)
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
