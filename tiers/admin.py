"""Admin for creators and their daily metrics; changelists stay fast at a million rows."""

import datetime
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin_base import (
    EstimatedCountPaginator,
    ReadOnlyAdmin,
    ReadOnlyInline,
    StaffAdmin,
)

from .choices import OVERRIDE_VALUES, PolicyStatus, RunStatus, RunTrigger, choice_label
from .forms import BulkOverrideForm, OverrideProblemsForm
from .models import (
    DailyMetric,
    ImportBatch,
    Influencer,
    RefreshRun,
    TierDecision,
    TierOverride,
    TierPolicy,
)
from .policy_form import TierPolicyForm, comparison_table
from .policy_form import fieldsets as policy_fieldsets
from .refresh import (
    REFRESH_REQUEST_FAILED,
    RefreshError,
    refresh_for_policy,
    refresh_request,
    refresh_request_message,
)
from .rules import PolicyError, PolicyRules
from .selectors import explain_now
from .services import (
    BULK_OVERRIDE_MAX,
    BULK_OVERRIDE_TOO_MANY,
    ServiceError,
    override_bulk_apply,
    override_bulk_preview,
    override_create,
    override_end,
    policy_clone,
    policy_create_draft,
    policy_publish,
    policy_update_draft,
)

RECENT_METRIC_DAYS = 30


def has_model_permission(request, opts, action: str) -> bool:
    """The user holds `<app>.<action>_<model>`, e.g. tiers.publish_tierpolicy."""
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


class RecentMetricInline(ReadOnlyInline):
    model = DailyMetric
    verbose_name_plural = _("daily metrics, last 30 days")
    fields = ("date", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders", "followers",
              "live_sessions", "big_live_sessions", "videos_posted", "reputation_score")
    ordering = ("-date",)

    def get_queryset(self, request):
        since = timezone.localdate() - datetime.timedelta(days=RECENT_METRIC_DAYS)
        return super().get_queryset(request).filter(date__gt=since)


@admin.register(DailyMetric)
class DailyMetricAdmin(ReadOnlyAdmin):
    """Metrics come from imports and the API; staff read them here."""

    list_display = ("influencer", "date", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders",
                    "followers", "reputation_score")
    list_filter = ("date",)
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 100


# ---------------------------------------------------------------- tier engine


class DecisionInline(ReadOnlyInline):
    model = TierDecision
    fk_name = "influencer"
    verbose_name_plural = _("decision history")
    fields = ("created_at", "cause", "tier_before", "tier_after", "type_before", "type_after", "policy", "actor")
    ordering = ("-created_at", "-id")
    related = ("policy", "actor")

    def get_queryset(self, request):
        return super().get_queryset(request).effective()  # what a replay recomputed is in the ledger's own list


class OverrideInline(ReadOnlyInline):
    model = TierOverride
    fields = ("field", "value", "reason", "expires_at", "created_by", "ended_at", "end_reason", "ended_by")
    related = ("created_by", "ended_by")


def _checks_table(checks):
    rows = format_html_join(
        "",
        '<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        ((c["rule"], c["metric"], c["value"], c["threshold"], "✔" if c["passed"] else "✘") for c in checks),
    )
    header = format_html(
        "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        _("rule"), _("metric"), _("value"), _("threshold"), _("passed"),
    )
    return format_html("<table>{}{}</table>", header, rows)


@admin.display(description=_("current explanation"))
def current_explanation(obj):
    """Today's features under the published policy, decided live: why the creator is where they are."""
    if obj is None or obj.pk is None:
        return "—"
    explanation = explain_now(influencer=obj)
    if explanation is None:
        return _("No published policy.")
    return _checks_table(explanation["checks"])


@admin.register(Influencer)
class InfluencerAdmin(StaffAdmin):
    list_display = ("handle", "display_name", "platform_id", "tier", "creator_type", "main_category",
                    "status", "onboarded_on")
    list_filter = ("tier", "creator_type", "main_category", "status")
    # Prefix and exact lookups can use the btree indexes; a bare `icontains` would scan.
    search_fields = ("=platform_id", "^handle")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("tier", "creator_type", "tier_since", "below_keep_since", "current_explanation", "metrics_link",
                       "created_at", "updated_at")
    inlines = (RecentMetricInline, OverrideInline, DecisionInline)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    change_list_template = "admin/tiers/influencer/change_list.html"

    current_explanation = staticmethod(current_explanation)
    actions = ("pin_selected",)
    bulk_preview_rows = 200  # shown on the preview; the counts cover every creator

    def has_pin_permission(self, request):
        return request.user.has_perm("tiers.add_tieroverride")

    def get_urls(self):
        return [
            path("pin/", self.admin_site.admin_view(self.pin_view), name="tiers_influencer_pin"),
            *super().get_urls(),
        ]

    @admin.action(description=_("Pin the tier or type of the selected creators…"), permissions=["pin"])
    def pin_selected(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BULK_OVERRIDE_MAX + 1])
        if len(ids) > BULK_OVERRIDE_MAX:
            self.message_user(request, BULK_OVERRIDE_TOO_MANY.format(count=queryset.count(), limit=BULK_OVERRIDE_MAX),
                              messages.ERROR)
            return None
        form = BulkOverrideForm(initial={"ids": ",".join(map(str, ids))})
        return self._pin_page(request, form, selected=len(ids))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_pin": self.has_pin_permission(request)}
        return super().changelist_view(request, extra_context)

    def pin_view(self, request):
        """Bulk pin: the form (creators from the list's selection or a file), its preview, then apply once."""
        if not self.has_pin_permission(request):
            raise PermissionDenied
        if request.method == "GET":
            return self._pin_page(request, BulkOverrideForm())
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        form = BulkOverrideForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._pin_page(request, form, selected=len(form.cleaned_data.get("ids") or []))
        data = form.cleaned_data
        if data["token"] is None:  # first send: show what would change, to confirm
            try:
                preview = override_bulk_preview(influencer_ids=data["ids"], field=data["field"], value=data["value"],
                                                reason=data["reason"], expires_at=data["expires_at"])
            except ServiceError as exc:
                form.add_error(exc.field, str(exc))
                return self._pin_page(request, form)
            confirm = BulkOverrideForm(initial={**data, "ids": ",".join(map(str, data["ids"])), "token": uuid.uuid4(),
                                                "file": None})
            return self._pin_page(request, confirm, preview=preview, unknown=form.unknown)
        try:
            batch, applied = override_bulk_apply(token=data["token"], influencer_ids=data["ids"], field=data["field"],
                                                 value=data["value"], reason=data["reason"],
                                                 expires_at=data["expires_at"], by=request.user)
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:tiers_influencer_pin"))
        if applied:
            self.message_user(request, _("Bulk override #%(id)s: %(pinned)s creators pinned, %(unchanged)s already "
                                         "pinned so. Each is told.") % {"id": batch.pk, "pinned": batch.pinned,
                                                                        "unchanged": batch.unchanged},
                              messages.SUCCESS)
        else:
            self.message_user(request, _("Bulk override #%(id)s was already applied; nothing changed this time.")
                              % {"id": batch.pk}, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:tiers_influencer_changelist"))

    def _pin_page(self, request, form, *, selected=None, preview=None, unknown=()):
        values = OVERRIDE_VALUES[form.initial["field"]] if preview else None  # the confirm form carries the field
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form, "selected": selected,
            "title": _("Pin the tier or type of many creators"), "preview": preview, "unknown": list(unknown)[:20],
            "unknown_count": len(unknown),
            "shown": [{**row, "now_label": choice_label(values, row["now"]), "after_label": choice_label(values, row["after"])}
                      for row in preview.rows[: self.bulk_preview_rows]] if preview else (),
            "moving": sum(row["moves"] for row in preview.rows) if preview else 0,
        }
        return TemplateResponse(request, "admin/tiers/influencer/pin.html", context)

    @admin.display(description=_("all daily metrics"))
    def metrics_link(self, obj):
        url = reverse("admin:tiers_dailymetric_changelist") + f"?influencer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("open"))


@admin.register(TierPolicy)
class TierPolicyAdmin(StaffAdmin):
    form = TierPolicyForm
    list_display = ("version", "name", "status", "published_at", "published_by", "created_by", "updated_by", "whatif")
    list_filter = ("status",)
    readonly_fields = ("version", "status", "published_at", "published_by", "created_by", "created_at", "updated_by",
                       "updated_at", "compared_with_published", "whatif")
    actions = ("clone_to_draft", "publish")

    class Media:
        css = {"all": ["css/policy_admin.css"]}

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != PolicyStatus.DRAFT:
            return (*self.readonly_fields, "name", "rules", "notes")  # published versions are immutable
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        about = (_("Version"), {"fields": ["version", "status", "whatif", "published_at", "published_by", "created_by",
                                           "created_at", "updated_by", "updated_at"]})
        compared = (_("Compared with the published version"), {"fields": ["compared_with_published"]})
        if obj is not None and obj.status != PolicyStatus.DRAFT:
            return [(None, {"fields": ["name", "notes"]}), compared, about]
        # A draft is edited rule by rule, each field with its unit; the JSON is what gets stored.
        return [*policy_fieldsets(), compared, about] if obj is not None else policy_fieldsets()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        published = TierPolicy.objects.published().first()
        return type(form.__name__, (form,), {"published_rules": published.rules if published else None})

    @admin.display(description=_("side by side"))
    def compared_with_published(self, obj):
        published = TierPolicy.objects.published().first()
        return comparison_table(obj.rules, published.rules if published else None)

    @admin.display(description=_("what-if"))
    def whatif(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("ops:policy_whatif", args=[obj.pk]), _("preview / publish"))

    def has_change_permission(self, request, obj=None):
        # Only a draft changes; a published or archived version is read, cloned, never saved again.
        return (obj is None or obj.status == PolicyStatus.DRAFT) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status == PolicyStatus.DRAFT and super().has_delete_permission(request, obj)

    def has_publish_permission(self, request):
        return has_model_permission(request, self.opts, "publish")

    def get_changeform_initial_data(self, request):
        published = TierPolicy.objects.published().first()
        return {"rules": published.rules if published else PolicyRules.default().to_json()}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            policy_update_draft(policy=obj, rules=data["rules"], name=data["name"], notes=data["notes"], by=request.user)
        else:
            obj.pk = policy_create_draft(name=data["name"], rules=data["rules"], notes=data["notes"], by=request.user).pk

    @admin.action(description=_("Clone to a new draft"), permissions=["add"])
    def clone_to_draft(self, request, queryset):
        for policy in queryset:
            try:
                draft = policy_clone(policy=policy, by=request.user)
            except (ServiceError, PolicyError) as exc:
                self.message_user(request, f"v{policy.version}: {exc}", messages.ERROR)
                continue
            self.message_user(request, _("Draft v%(version)s created.") % {"version": draft.version}, messages.SUCCESS)

    @admin.action(description=_("Publish (and refresh every creator)"), permissions=["publish"])
    def publish(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one draft to publish."), messages.ERROR)
            return
        try:
            policy = policy_publish(policy=queryset.get(), by=request.user)
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        except RefreshError as exc:  # nothing was published
            self.message_user(request, REFRESH_REQUEST_FAILED.format(error=exc), messages.ERROR)
            return
        run = refresh_for_policy(policy)
        told = refresh_request_message(run) if run else ""
        self.message_user(request, _("v%(version)s published. %(refresh)s") % {"version": policy.version,
                                                                               "refresh": told},
                          messages.WARNING if run and run.status == RunStatus.FAILED else messages.SUCCESS)


@admin.register(TierDecision)
class TierDecisionAdmin(ReadOnlyAdmin):
    """The ledger is append-only: nobody edits or deletes a decision."""

    list_display = ("created_at", "influencer", "cause", "tier_before", "tier_after", "type_before", "type_after", "policy",
                    "superseded_by")
    list_filter = ("cause", "tier_after", "type_after", "policy", ("superseded_by", admin.EmptyFieldListFilter))
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer", "policy")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ("influencer", "tier_before", "tier_after", "type_before", "type_after", "policy", "cause",
                       "actor", "refresh_run", "decided_on", "effective_at", "superseded_by", "created_at",
                       "explanation_table", "features")
    exclude = ("explanation",)

    @admin.display(description=_("explanation"))
    def explanation_table(self, obj):
        return _checks_table(obj.explanation.get("checks", []))


class TierOverrideForm(OverrideProblemsForm, forms.ModelForm):
    """A new override; the service's own checks run here, so a mistake comes back on its field."""

    class Meta:
        model = TierOverride
        fields = ("influencer", "field", "value", "reason", "expires_at")


@admin.register(TierOverride)
class TierOverrideAdmin(StaffAdmin):
    form = TierOverrideForm
    list_display = ("influencer", "field", "value", "reason", "expires_at", "created_by", "ended_at", "end_reason",
                    "ended_by")
    list_filter = ("field", "value", "end_reason")
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer", "created_by", "ended_by")
    raw_id_fields = ("influencer",)
    readonly_fields = ("influencer", "field", "value", "reason", "expires_at", "created_by", "created_at", "ended_at",
                       "end_reason", "ended_by")
    actions = ("end_overrides",)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else TierOverrideForm.Meta.fields

    def has_change_permission(self, request, obj=None):
        return False  # an override is never edited: end it and create a new one, so the ledger stays true

    def has_delete_permission(self, request, obj=None):
        return False

    def has_end_permission(self, request):
        return has_model_permission(request, self.opts, "end")

    def save_model(self, request, obj, form, change):
        obj.pk = override_create(influencer=obj.influencer, field=obj.field, value=obj.value, reason=obj.reason,
                                 expires_at=obj.expires_at, by=request.user).pk

    @admin.action(description=_("End selected overrides"), permissions=["end"])
    def end_overrides(self, request, queryset):
        ended = 0
        for override in queryset.filter(ended_at__isnull=True):
            override_end(override=override, by=request.user)
            ended += 1
        self.message_user(request, _("%(count)s overrides ended.") % {"count": ended}, messages.SUCCESS)


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "run_date", "trigger", "status", "progress", "newly_classified", "promoted", "demoted", "unchanged",
                    "type_changed", "overrides_lapsed", "started_at", "duration", "policy")
    list_filter = ("status", "trigger")
    list_select_related = ("policy",)
    change_list_template = "admin/tiers/refreshrun/change_list.html"

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done}/{obj.total}"

    @admin.display(description=_("duration"))
    def duration(self, obj):
        return obj.duration

    def has_start_permission(self, request):
        return has_model_permission(request, self.opts, "start")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_start_refresh": self.has_start_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("refresh-now/", self.admin_site.admin_view(self.refresh_now), name="tiers_refreshrun_refresh_now"),
            *super().get_urls(),
        ]

    def refresh_now(self, request):
        if not self.has_start_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            requested = refresh_request(trigger=RunTrigger.STAFF, by=request.user)
        except RefreshError as exc:
            self.message_user(request, REFRESH_REQUEST_FAILED.format(error=exc), messages.ERROR)
        else:
            run = requested.run
            told = refresh_request_message(run, resent=requested.resent)
            self.message_user(request, told, messages.ERROR if run.status == RunStatus.FAILED else messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tiers_refreshrun_changelist"))


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    """Imports are read here; they are made, confirmed and followed on the staff import page."""

    list_display = ("id", "file_name", "status", "source", "requested_by", "rows_read", "new", "updated", "unchanged",
                    "rejected", "creators_created", "created_at", "page")
    list_filter = ("status", "source")
    search_fields = ("=sha256", "file_name")
    list_select_related = ("requested_by",)
    change_list_template = "admin/tiers/importbatch/change_list.html"

    @admin.display(description=_("import page"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("tiers:import_detail", args=[obj.pk]), _("open"))
