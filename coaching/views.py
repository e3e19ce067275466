"""The creator's growth-plan pages: one view per action, the page or (for htmx) its fragment."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.permissions import staff_may
from tiers.models import Influencer

from . import notifications, reviews
from .choices import EnrollmentPolicy, ProductStatus, ProgramKind
from .forms import PoolFilterForm, ReviewForm
from .models import Enrollment, PoolProduct, ProductSelection, Program, Task
from .selectors import TREND_DAYS, growth_plan, plan_for, programme_view, review_latest
from .services import (
    CoachingError,
    enrollment_leave,
    enrollment_sign_up,
    product_select,
    product_unselect,
    task_complete,
    task_undo,
)

POOL_PAGE_SIZE = 12


def creator_required(view):
    """Only a logged-in creator reaches the view, as `request.influencer`.

    A login with no creator profile has no plan: staff go to the admin, where their work is; anyone
    else is told what is missing, with a way to log out and in again as a creator.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        influencer = Influencer.objects.filter(user=request.user).first()
        if influencer is None:
            if request.user.is_staff:
                return redirect("admin:index")
            return render(request, "coaching/no_profile.html", status=403)
        request.influencer = influencer
        return view(request, *args, **kwargs)

    return wrapper


def _done(request, fragment: str, context: dict, ok_message: str | None = None, error: str | None = None):
    """htmx: the updated fragment. A plain form post: back to the plan with a message (POST/redirect/GET)."""
    if request.htmx:
        return render(request, fragment, {**context, "error": error})
    if error:
        messages.error(request, error)
    elif ok_message:
        messages.success(request, ok_message)
    return redirect("coaching:plan")


def plan_context(request, influencer: Influencer, *, read_only: bool) -> dict:
    days = int(request.GET["days"]) if request.GET.get("days") in {str(d) for d in TREND_DAYS} else TREND_DAYS[0]
    page = plan_for(influencer, trend_days=days)
    return {
        "plan": page.plan,
        "influencer": influencer,
        "read_only": read_only,
        "tier_reason": page.tier_reason,
        "type_reason": page.type_reason,
        "trend": page.trend,
        "trend_days": page.trend_days,
        "unread": page.unread,
        "review": page.review,
        "review_form": ReviewForm(),
    }


@require_GET
@creator_required
@vary_on_headers("HX-Request")
def plan(request):
    context = plan_context(request, request.influencer, read_only=False)
    if request.htmx and request.GET.get("days"):
        return render(request, "coaching/plan.html#trend", context)
    return render(request, "coaching/plan.html", context)


@require_GET
@staff_may("coaching.view_growth_plan")
def staff_plan(request, influencer_id: int):
    """Staff who may read growth plans open any creator's, read-only; other staff get 403."""
    influencer = get_object_or_404(Influencer, pk=influencer_id)
    return render(request, "coaching/plan.html", plan_context(request, influencer, read_only=True))


def _creator_task(request, task_id: int) -> tuple[Enrollment, Task]:
    task = get_object_or_404(Task.objects.select_related("stage"), pk=task_id)
    enrollment = get_object_or_404(Enrollment.objects.active(), influencer=request.influencer, program_id=task.stage.program_id)
    return enrollment, task


def _programme_response(request, enrollment: Enrollment, *, ok: str | None = None, error: str | None = None):
    view = programme_view(influencer=request.influencer, enrollment_id=enrollment.pk)
    return _done(request, "coaching/plan.html#programme", {"programme": view, "read_only": False}, ok, error)


def _tick(request, task_id: int, service, ok: str):
    enrollment, task = _creator_task(request, task_id)
    try:
        service(enrollment=enrollment, task=task, by=request.user)
    except CoachingError as exc:
        return _programme_response(request, enrollment, error=str(exc))
    return _programme_response(request, enrollment, ok=ok)


@require_POST
@creator_required
def task_done(request, task_id: int):
    return _tick(request, task_id, task_complete, _("Task marked done."))


@require_POST
@creator_required
def task_undone(request, task_id: int):
    return _tick(request, task_id, task_undo, _("Task marked not done."))


@require_GET
@creator_required
@vary_on_headers("HX-Request")
def lesson(request, task_id: int):
    enrollment, task = _creator_task(request, task_id)
    template = "coaching/lesson.html#lesson" if request.htmx else "coaching/lesson.html"
    return render(request, template, {"task": task, "enrollment": enrollment})


def _pool_for(request, pool_id: int) -> Program:
    return get_object_or_404(
        Program, pk=pool_id, kind=ProgramKind.PRODUCT_POOL, enrollments__influencer=request.influencer,
        enrollments__status="active",
    )


def _pool_context(request, pool: Program, data) -> dict:
    form = PoolFilterForm(data or None)
    entries = PoolProduct.objects.filter(pool=pool, product__status=ProductStatus.ON_SALE).select_related("product")
    if form.is_valid():
        entries = form.apply(entries)
    entries = entries.order_by("-product__commission_rate", "product_id")
    page = Paginator(entries, POOL_PAGE_SIZE).get_page(data.get("page") if data else None)
    picked = set(ProductSelection.objects.filter(influencer=request.influencer, pool=pool).values_list("product_id", flat=True))
    query = data.copy() if data else None
    if query is not None:
        query.pop("page", None)
    return {"pool": pool, "form": form, "page": page, "picked": picked, "picked_count": len(picked),
            "query": query.urlencode() if query else ""}


@require_GET
@creator_required
@vary_on_headers("HX-Request")
def pool(request, pool_id: int):
    context = _pool_context(request, _pool_for(request, pool_id), request.GET)
    template = "coaching/pool.html#products" if request.htmx else "coaching/pool.html"
    return render(request, template, context)


def _pick_response(request, pool: Program, product_id: int, *, error: str | None = None, ok: str | None = None):
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif ok:
            messages.success(request, ok)
        return redirect("coaching:pool", pool_id=pool.pk)
    entry = get_object_or_404(PoolProduct.objects.select_related("product"), pool=pool, product_id=product_id)
    picked = set(ProductSelection.objects.filter(influencer=request.influencer, pool=pool).values_list("product_id", flat=True))
    return render(request, "coaching/pool.html#product", {"pool": pool, "entry": entry, "picked": picked,
                                                          "picked_count": len(picked), "error": error, "oob": True})


@require_POST
@creator_required
def pick(request, pool_id: int, product_id: int):
    pool = _pool_for(request, pool_id)
    try:
        product_select(influencer=request.influencer, pool=pool, product_id=product_id)
    except CoachingError as exc:
        return _pick_response(request, pool, product_id, error=str(exc))
    return _pick_response(request, pool, product_id, ok=_("Added to your selection."))


@require_POST
@creator_required
def unpick(request, pool_id: int, product_id: int):
    pool = _pool_for(request, pool_id)
    product_unselect(influencer=request.influencer, product_id=product_id)
    return _pick_response(request, pool, product_id, ok=_("Removed from your selection."))


def _campaigns_response(request, *, ok=None, error=None):
    # The fragment needs only the plan's programmes and open campaigns, not the chart or the inbox.
    context = {"plan": growth_plan(influencer=request.influencer), "read_only": False} if request.htmx else {}
    return _done(request, "coaching/plan.html#campaigns", context, ok, error)


@require_POST
@creator_required
def join(request, program_id: int):
    # Opt-in programmes, and automatic campaigns the creator left; the service says which may be joined.
    program = get_object_or_404(Program, pk=program_id)
    try:
        enrollment_sign_up(influencer=request.influencer, program=program, by=request.user)
    except CoachingError as exc:
        return _campaigns_response(request, error=str(exc))
    return _campaigns_response(request, ok=_("You have joined %(name)s.") % {"name": program.name})


@require_POST
@creator_required
def leave(request, program_id: int):
    enrollment = get_object_or_404(Enrollment.objects.active(), influencer=request.influencer, program_id=program_id)
    try:
        enrollment_leave(enrollment=enrollment, by=request.user)
    except CoachingError as exc:
        return _campaigns_response(request, error=str(exc))
    if enrollment.program.enrollment_policy == EnrollmentPolicy.AUTO:
        left = _("You have left %(name)s. You will not be added again unless you join it yourself.")
    else:
        left = _("You have left %(name)s.")
    return _campaigns_response(request, ok=left % {"name": enrollment.program.name})


@require_POST
@creator_required
def review_request(request):
    form = ReviewForm(request.POST)
    error = None
    if form.is_valid():
        try:
            reviews.review_request_create(influencer=request.influencer, subject=form.cleaned_data["subject"],
                                          message=form.cleaned_data["message"],
                                          decision=request.influencer.decisions.effective().first())
        except CoachingError as exc:
            error = str(exc)
    else:
        error = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
    context = {"review": review_latest(influencer=request.influencer), "review_form": form if error else ReviewForm(),
               "read_only": False}
    return _done(request, "coaching/plan.html#review", context, _("Your review request was sent."), error)


def _notifications_context(influencer) -> dict:
    items = notifications.notifications_for(influencer=influencer)
    return {"items": [(n, notifications.notification_text(n)) for n in items],
            "unread": sum(1 for n in items if n.read_at is None)}


@require_GET
@creator_required
@vary_on_headers("HX-Request")
def notification_list(request):
    template = "coaching/notifications.html#list" if request.htmx else "coaching/notifications.html"
    return render(request, template, _notifications_context(request.influencer))


@require_POST
@creator_required
def notifications_read(request):
    notifications.notifications_mark_all_read(influencer=request.influencer)
    if request.htmx:
        return render(request, "coaching/notifications.html#list", _notifications_context(request.influencer))
    return redirect("coaching:notifications")
