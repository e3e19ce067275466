"""Staff pages of the ops desk: dashboard, policy what-if and publish, refresh, exports; thin, permission-checked."""


from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from coaching.charts import movement_chart
from coaching.models import Enrollment
from core.permissions import staff_may
from core.progress import progress_response
from core.spreadsheets import export_response
from core.validation import ServiceError
from tiers.choices import (
    Category,
    CreatorType,
    PolicyStatus,
    RunStatus,
    RunTrigger,
    Tier,
    choice_label,
)
from tiers.models import Influencer, RefreshRun, TierDecision, TierPolicy
from tiers.refresh import (
    REFRESH_REQUEST_FAILED,
    RefreshError,
    refresh_for_policy,
    refresh_queue,
    refresh_request_message,
)
from tiers.rules import PolicyError
from tiers.services import policy_publish

from .forms import CreatorFilterForm, FlapForm, LedgerFilterForm
from .models import Move, WhatIf, WhatIfChange
from .selectors import (
    flap_report,
    latest_runs,
    movements_per_day,
    movements_since_last_refresh,
    population,
    programme_funnels,
    tier_type_matrix,
)
from .whatif import (
    WHATIF_QUEUED,
    WhatIfError,
    whatif_is_stale,
    whatif_report,
    whatif_start,
)

VIEW_DASHBOARD = "tiers.view_influencer"
VIEW_POLICY, CHANGE_POLICY, PUBLISH_POLICY = "tiers.view_tierpolicy", "tiers.change_tierpolicy", "tiers.publish_tierpolicy"
VIEW_RUNS, START_REFRESH = "tiers.view_refreshrun", "tiers.start_refreshrun"
VIEW_LEDGER = "tiers.view_tierdecision"
EXPORT_BATCH = 2_000


# ---------------------------------------------------------------- dashboard


@staff_may(VIEW_DASHBOARD)
@require_GET
def dashboard(request):
    """The population by tier and type, its movements, flapping, programme funnels and the latest runs."""
    flap_form = FlapForm(request.GET or None)
    valid = flap_form.is_valid() if request.GET else True
    changes, days = flap_form.values() if request.GET and valid else (FlapForm.base_fields["changes"].initial,
                                                                      FlapForm.base_fields["days"].initial)
    today = timezone.localdate()
    per_day = movements_per_day(today=today, days=90)
    creators = population()
    context = {
        "matrix": tier_type_matrix(creators),
        "last_refresh": movements_since_last_refresh(),
        "charts": [(30, movement_chart([(d.day, d.promoted, d.demoted, d.url) for d in per_day[-30:]])),
                   (90, movement_chart([(d.day, d.promoted, d.demoted, d.url) for d in per_day]))],
        "totals_30": _totals(per_day[-30:]), "totals_90": _totals(per_day),
        "flap_form": flap_form,
        "flap": flap_report(today=today, min_changes=changes, days=days),
        "funnels": programme_funnels(today=today, population=creators),
        "runs": latest_runs(),
        "tier_labels": dict(Tier.choices), "type_labels": dict(CreatorType.choices),
    }
    return render(request, "ops/dashboard.html", context, status=200 if valid else 400)


def _totals(days) -> dict:
    return {"promoted": sum(d.promoted for d in days), "demoted": sum(d.demoted for d in days),
            "type_changed": sum(d.type_changed for d in days)}


# ---------------------------------------------------------------- what-if and publish


def _whatif_context(request, policy: TierPolicy, whatif: WhatIf | None) -> dict:
    user = request.user
    draft = policy.status == PolicyStatus.DRAFT
    return {
        "policy": policy, "whatif": whatif,
        "running": bool(whatif and whatif.running),
        "stale": bool(whatif and whatif_is_stale(whatif, policy)),
        "report": whatif_report(whatif) if whatif and whatif.status == RunStatus.SUCCEEDED else None,
        "can_start": draft and user.has_perm(CHANGE_POLICY),
        "can_publish": draft and user.has_perm(PUBLISH_POLICY),
        "tier_labels": dict(Tier.choices), "type_labels": dict(CreatorType.choices),
        "category_labels": dict(Category.choices), "move_labels": dict(Move.choices),
    }


@staff_may(VIEW_POLICY)
@require_GET
def policy_whatif(request, policy_id: int):
    """A policy's latest what-if (or the button to start one), and publishing."""
    policy = get_object_or_404(TierPolicy, pk=policy_id)
    whatif = WhatIf.objects.filter(policy=policy).select_related("requested_by").first()
    return render(request, "ops/whatif.html", _whatif_context(request, policy, whatif))


@staff_may(VIEW_POLICY)
@require_GET
def whatif_detail(request, whatif_id: int):
    """One what-if; htmx polls its fragment while the workers preview, and gets the report at the end."""
    whatif = get_object_or_404(WhatIf.objects.select_related("policy", "requested_by"), pk=whatif_id)
    context = _whatif_context(request, whatif.policy, whatif)
    return progress_response(request, "ops/whatif.html", "whatif", context, running=context["running"])


@staff_may(CHANGE_POLICY)
@require_POST
def whatif_begin(request, policy_id: int):
    policy = get_object_or_404(TierPolicy, pk=policy_id)
    try:
        whatif = whatif_start(policy=policy, by=request.user)
    except WhatIfError as refused:
        messages.error(request, str(refused))
        return redirect("ops:policy_whatif", policy_id=policy.pk)
    except PolicyError as refused:
        messages.error(request, "; ".join(refused.errors))
        return redirect("ops:policy_whatif", policy_id=policy.pk)
    messages.success(request, WHATIF_QUEUED.format(id=whatif.pk))
    return redirect("ops:whatif_detail", whatif_id=whatif.pk)


@staff_may(PUBLISH_POLICY)
@require_POST
def policy_publish_view(request, policy_id: int):
    """Publish the draft; with "publish and refresh now", the refresh starts (or queues) and its progress shows."""
    policy = get_object_or_404(TierPolicy, pk=policy_id)
    refresh_now = request.POST.get("refresh") == "now"
    try:
        policy = policy_publish(policy=policy, by=request.user, refresh=refresh_now)
    except (ServiceError, PolicyError) as refused:
        messages.error(request, str(refused))
        return redirect("ops:policy_whatif", policy_id=policy.pk)
    except RefreshError as refused:  # nothing was published
        messages.error(request, REFRESH_REQUEST_FAILED.format(error=refused))
        return redirect("ops:policy_whatif", policy_id=policy.pk)
    if not refresh_now:
        messages.success(request, _("v%(version)s published; the next refresh uses it.") % {"version": policy.version})
        return redirect("ops:policy_whatif", policy_id=policy.pk)
    run = refresh_for_policy(policy)
    messages.success(request, _("v%(version)s published. %(refresh)s") % {"version": policy.version,
                                                                          "refresh": refresh_request_message(run)})
    return redirect("ops:run_detail", run_id=run.pk)


# ---------------------------------------------------------------- refresh


@staff_may(VIEW_RUNS)
@require_GET
def refresh_page(request):
    return render(request, "ops/refresh.html", {"runs": latest_runs()["refresh"],
                                                "can_start": request.user.has_perm(START_REFRESH)})


@staff_may(START_REFRESH)
@require_POST
def refresh_begin(request):
    try:
        run = refresh_queue(trigger=RunTrigger.STAFF, by=request.user)
    except RefreshError as refused:
        messages.error(request, REFRESH_REQUEST_FAILED.format(error=refused))
        return redirect("ops:refresh")
    told = refresh_request_message(run)
    (messages.error if run.status == RunStatus.FAILED else messages.success)(request, told)
    return redirect("ops:run_detail", run_id=run.pk)


@staff_may(VIEW_RUNS)
@require_GET
def run_detail(request, run_id: int):
    """One refresh run; htmx polls its fragment while it is queued or running."""
    run = get_object_or_404(RefreshRun.objects.select_related("policy", "requested_by"), pk=run_id)
    running = run.status in (RunStatus.PENDING, RunStatus.RUNNING)
    return progress_response(request, "ops/run.html", "run", {"run": run, "running": running}, running=running)


# ---------------------------------------------------------------- exports


def _format(file_format: str) -> str:
    if file_format not in ("csv", "xlsx"):
        raise Http404(_("Exports come as .csv or .xlsx."))
    return file_format


def _bad_filters(request, form):
    return render(request, "ops/bad_filters.html", {"form": form}, status=400)


@staff_may(VIEW_DASHBOARD)
@require_GET
def creators_export(request, file_format: str):
    """The creator list, filtered by tier, type and category, with their active programmes; streamed."""
    file_format = _format(file_format)
    form = CreatorFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(request, form)
    filters = {name: value for name, value in form.cleaned_data.items() if value}
    header = [_("platform id"), _("handle"), _("display name"), _("tier"), _("creator type"), _("main category"),
              _("status"), _("in this tier since"), _("below the keep line since"), _("programmes")]
    return export_response(name="creators", file_format=file_format, header=header, rows=_creator_rows(filters))


def _creator_rows(filters):
    """Creators in id order, EXPORT_BATCH at a time: one query for the batch and one for its programmes."""
    after = 0
    while True:
        batch = list(Influencer.objects.filter(**filters, pk__gt=after).order_by("pk").values_list(
            "pk", "platform_id", "handle", "display_name", "tier", "creator_type", "main_category", "status",
            "tier_since", "below_keep_since")[:EXPORT_BATCH])
        if not batch:
            return
        programmes = {}
        for influencer_id, code in (Enrollment.objects.active().filter(influencer_id__in=[row[0] for row in batch])
                                    .order_by("influencer_id", "program__code").values_list("influencer_id", "program__code")):
            programmes.setdefault(influencer_id, []).append(code)
        for pk, platform_id, handle, name, tier, creator_type, category, status, since, below in batch:
            yield [platform_id, handle, name, choice_label(Tier, tier), choice_label(CreatorType, creator_type),
                   choice_label(Category, category), status, since, below, " ".join(programmes.get(pk, []))]
        after = batch[-1][0]


@staff_may(VIEW_LEDGER)
@require_GET
def ledger_export(request, file_format: str):
    """The effective ledger (TierDecision), filtered by day and tier after; streamed."""
    file_format = _format(file_format)
    form = LedgerFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(request, form)
    data = form.cleaned_data
    rows = TierDecision.objects.effective()
    if data["since"]:
        rows = rows.filter(decided_on__gte=data["since"])
    if data["until"]:
        rows = rows.filter(decided_on__lte=data["until"])
    if data["tier_after"]:
        rows = rows.filter(tier_after=data["tier_after"])
    header = [_("decided on"), _("platform id"), _("handle"), _("cause"), _("tier before"), _("tier after"),
              _("type before"), _("type after"), _("policy"), _("refresh run")]
    values = rows.order_by("decided_on", "id").values_list(
        "decided_on", "influencer__platform_id", "influencer__handle", "cause", "tier_before", "tier_after",
        "type_before", "type_after", "policy__version", "refresh_run_id").iterator(chunk_size=EXPORT_BATCH)
    return export_response(name="ledger", file_format=file_format, header=header, rows=(
        [day, platform_id, handle, cause, choice_label(Tier, tb), choice_label(Tier, ta),
         choice_label(CreatorType, yb), choice_label(CreatorType, ya), f"v{version}" if version else "", run]
        for day, platform_id, handle, cause, tb, ta, yb, ya, version, run in values))


@staff_may(VIEW_POLICY)
@require_GET
def whatif_export(request, whatif_id: int, file_format: str):
    """Every creator a what-if would move, with the reasons the draft gives; streamed."""
    file_format = _format(file_format)
    whatif = get_object_or_404(WhatIf, pk=whatif_id)
    header = [_("platform id"), _("handle"), _("main category"), _("move"), _("tier now"), _("tier under the draft"),
              _("type now"), _("type under the draft"), _("reasons under the draft")]
    values = (WhatIfChange.objects.filter(whatif=whatif).order_by("id").values_list(
        "influencer__platform_id", "influencer__handle", "influencer__main_category", "move", "tier_before", "tier_after",
        "type_before", "type_after", "explanation").iterator(chunk_size=EXPORT_BATCH))
    return export_response(name=f"whatif-{whatif.pk}", file_format=file_format, header=header, rows=(
        [platform_id, handle, choice_label(Category, category), choice_label(Move, move), choice_label(Tier, tb),
         choice_label(Tier, ta), choice_label(CreatorType, yb), choice_label(CreatorType, ya),
         checks_text(explanation)]
        for platform_id, handle, category, move, tb, ta, yb, ya, explanation in values))


def checks_text(explanation: dict) -> str:
    """The checks of an explanation on one line: rule value/threshold ✔ or ✘."""
    return "; ".join(f"{c['rule']} {c['value']}/{c['threshold']} {'✔' if c['passed'] else '✘'}"
                     for c in explanation.get("checks", []))

