"""Admin for creators and their daily metrics; changelists stay fast at a million rows."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import Max
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .admin_paging import EstimatedCountPaginator
from .choices import PolicyStatus, RunStatus, RunTrigger
from .models import DailyMetric, ImportBatch, Influencer, RefreshRun, TierDecision, TierOverride, TierPolicy
from .rules import PolicyError, PolicyRules
from .refresh import REFRESH_REQUEST_FAILED, RefreshError, refresh_for_policy, refresh_queue, refresh_request_message
from .selectors import explain_now
from .services import ServiceError, override_create, override_end, policy_clone, policy_publish, policy_update_draft

RECENT_METRIC_DAYS = 30


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on a parent's page, never added, edited or deleted there; `related` are joined."""

    extra = 0
    can_delete = False
    show_change_link = True
    related: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.related)

    def has_add_permission(self, request, obj=None):
        return False


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
class DailyMetricAdmin(admin.ModelAdmin):
    list_display = ("influencer", "date", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders",
                    "followers", "reputation_score")
    list_filter = ("date",)
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer",)
    raw_id_fields = ("influencer",)
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
    fields = ("field", "value", "reason", "expires_at", "ended_at", "end_reason", "created_by")
    related = ("created_by",)


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
class InfluencerAdmin(admin.ModelAdmin):
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

    current_explanation = staticmethod(current_explanation)

    @admin.display(description=_("all daily metrics"))
    def metrics_link(self, obj):
        url = reverse("admin:tiers_dailymetric_changelist") + f"?influencer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("open"))


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = ("name", "rules", "notes")

    def clean_rules(self):
        try:
            return PolicyRules.from_json(self.cleaned_data["rules"]).to_json()
        except PolicyError as exc:
            raise forms.ValidationError(list(exc.errors)) from None


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    form = TierPolicyForm
    list_display = ("version", "name", "status", "published_at", "published_by", "created_by")
    list_filter = ("status",)
    readonly_fields = ("version", "status", "published_at", "published_by", "created_by", "created_at")
    actions = ("clone_to_draft", "publish")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != PolicyStatus.DRAFT:
            return (*self.readonly_fields, "name", "rules", "notes")  # published versions are immutable
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status == PolicyStatus.DRAFT and super().has_delete_permission(request, obj)

    def get_changeform_initial_data(self, request):
        published = TierPolicy.objects.published().first()
        return {"rules": published.rules if published else PolicyRules.default().to_json()}

    def save_model(self, request, obj, form, change):
        if change:
            policy_update_draft(policy=obj, rules=form.cleaned_data["rules"], name=obj.name, notes=obj.notes, by=request.user)
        else:
            obj.version = (TierPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
            obj.created_by = request.user
            obj.save()

    @admin.action(description=_("Clone to a new draft"))
    def clone_to_draft(self, request, queryset):
        for policy in queryset:
            draft = policy_clone(policy=policy, by=request.user)
            self.message_user(request, _("Draft v%(version)s created.") % {"version": draft.version}, messages.SUCCESS)

    @admin.action(description=_("Publish (and refresh every creator)"))
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
        self.message_user(request, _("v%(version)s published. %(refresh)s") % {"version": policy.version, "refresh": told},
                          messages.WARNING if run and run.status == RunStatus.FAILED else messages.SUCCESS)


@admin.register(TierDecision)
class TierDecisionAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TierOverrideForm(forms.ModelForm):
    class Meta:
        model = TierOverride
        fields = ("influencer", "field", "value", "reason", "expires_at")


@admin.register(TierOverride)
class TierOverrideAdmin(admin.ModelAdmin):
    form = TierOverrideForm
    list_display = ("influencer", "field", "value", "reason", "expires_at", "ended_at", "end_reason", "created_by")
    list_filter = ("field", "value", "end_reason")
    search_fields = ("=influencer__platform_id", "^influencer__handle")
    list_select_related = ("influencer", "created_by")
    raw_id_fields = ("influencer",)
    actions = ("end_overrides",)

    def get_readonly_fields(self, request, obj=None):
        # An override is never edited: end it and create a new one, so the ledger stays true.
        if obj is not None:
            return ("influencer", "field", "value", "reason", "expires_at", "ended_at", "end_reason", "created_by")
        return ()

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            created = override_create(influencer=obj.influencer, field=obj.field, value=obj.value, reason=obj.reason,
                                      expires_at=obj.expires_at, by=request.user)
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from None
        obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("End selected overrides"))
    def end_overrides(self, request, queryset):
        ended = 0
        for override in queryset.filter(ended_at__isnull=True):
            override_end(override=override, by=request.user)
            ended += 1
        self.message_user(request, _("%(count)s overrides ended.") % {"count": ended}, messages.SUCCESS)


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ("id", "run_date", "trigger", "status", "progress", "newly_classified", "promoted", "demoted", "unchanged",
                    "type_changed", "overrides_lapsed", "started_at", "duration", "policy")
    list_filter = ("status", "trigger")
    list_select_related = ("policy",)
    change_list_template = "admin/tiers/refreshrun/change_list.html"

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done}/{obj.total}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("refresh-now/", self.admin_site.admin_view(self.refresh_now), name="tiers_refreshrun_refresh_now"),
            *super().get_urls(),
        ]

    def refresh_now(self, request):
        if request.method != "POST" or not request.user.has_perm("tiers.view_refreshrun"):
            return HttpResponseNotAllowed(["POST"])
        try:
            run = refresh_queue(trigger=RunTrigger.STAFF, by=request.user)
        except RefreshError as exc:
            self.message_user(request, REFRESH_REQUEST_FAILED.format(error=exc), messages.ERROR)
        else:
            told = refresh_request_message(run)
            self.message_user(request, told, messages.ERROR if run.status == RunStatus.FAILED else messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tiers_refreshrun_changelist"))


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
