"""Staff pages of coaching: the review queue, where creators' review requests are answered."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.permissions import staff_may
from core.validation import ServiceError

from .choices import ReviewStatus
from .forms import ReviewOverrideForm, ReviewQueueFilter, ReviewUpholdForm
from .models import ReviewRequest
from .reviews import review_override, review_reply
from .selectors import recent_metric_sums, review_desk, review_queue, review_sla

QUEUE_PAGE_SIZE = 25
VIEW_REVIEWS = "coaching.view_reviewrequest"
ANSWER_REVIEWS = "coaching.change_reviewrequest"
PIN = "tiers.add_tieroverride"


@require_GET
@staff_may(VIEW_REVIEWS)
def review_list(request):
    """The queue: open requests by age (the SLA view), then one status's requests, oldest open first."""
    filters = ReviewQueueFilter(request.GET or None)
    status = (filters.cleaned_data.get("status") if filters.is_valid() else "") or ReviewStatus.OPEN
    page = Paginator(review_queue(status=status), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    sums = recent_metric_sums(influencer_ids=[review.influencer_id for review in page])
    rows = [{"review": review, "sums": sums.get(review.influencer_id, {})} for review in page]
    return render(request, "coaching/reviews.html", {
        "sla": review_sla(), "rows": rows, "page": page, "status": status, "statuses": ReviewStatus.choices,
        "now": timezone.now(),
    })


def _detail_context(request, review, *, uphold=None, override=None) -> dict:
    return {**review_desk(review=review), **_answer_context(request, review, uphold=uphold, override=override)}


def _answer_context(request, review, *, uphold=None, override=None) -> dict:
    """What the answer section reads (the htmx reply renders only it: no decision or metrics to read again)."""
    may_answer = request.user.has_perm(ANSWER_REVIEWS)
    return {
        "review": review,
        "may_answer": may_answer and review.status != ReviewStatus.CLOSED,
        "may_pin": may_answer and request.user.has_perm(PIN) and review.status != ReviewStatus.CLOSED,
        "uphold": uphold or ReviewUpholdForm(),
        "override": override or ReviewOverrideForm(initial={"field": review.subject}),
    }


def _review(review_id: int) -> ReviewRequest:
    return get_object_or_404(ReviewRequest.objects.select_related("influencer", "decision", "replied_by", "closed_by"),
                             pk=review_id)


@require_GET
@staff_may(VIEW_REVIEWS)
def review_detail(request, review_id: int):
    """One request beside the decision it questions, the explanation now and the creator's recent metrics."""
    return render(request, "coaching/review_detail.html", _detail_context(request, _review(review_id)))


def _answered(request, review, *, ok: str | None = None, uphold=None, override=None):
    """htmx: the answer section again (with the outcome or the form errors). A plain post: back to the page."""
    if request.htmx:
        context = {**_answer_context(request, _review(review.pk), uphold=uphold, override=override), "ok": ok}
        return render(request, "coaching/review_detail.html#answer", context)
    if ok:
        messages.success(request, ok)
        return redirect("coaching:review_detail", review_id=review.pk)
    return render(request, "coaching/review_detail.html", _detail_context(request, review, uphold=uphold,
                                                                         override=override), status=400)


@require_POST
@staff_may(ANSWER_REVIEWS)
def review_uphold(request, review_id: int):
    """Staff keep the decision and tell the creator why; the request is closed."""
    review = _review(review_id)
    form = ReviewUpholdForm(request.POST)
    if form.is_valid():
        try:
            review_reply(review=review, reply=form.cleaned_data["reply"], by=request.user, close=True)
        except ServiceError as exc:
            form.add_error("reply", str(exc))
        else:
            return _answered(request, review, ok=_("Upheld; the creator is told."))
    return _answered(request, review, uphold=form)


@require_POST
@staff_may(ANSWER_REVIEWS, PIN)
def review_pin(request, review_id: int):
    """Staff agree: pin the tier or type with a reason and an expiry, and close the request with a reply."""
    review = _review(review_id)
    form = ReviewOverrideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            review_override(review=review, field=data["field"], value=data["value"], reason=data["reason"],
                            expires_at=data["expires_at"], reply=data["reply"], by=request.user)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            return _answered(request, review, ok=_("Overridden; the creator is told."))
    return _answered(request, review, override=form)
