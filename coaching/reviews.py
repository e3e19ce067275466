"""Review requests: a creator asks staff to look again at their tier or type, and staff answer."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from audit.models import AuditAction
from core.validation import ServiceError
from tiers.models import Influencer, TierDecision
from tiers.services import override_create

from .choices import ReviewStatus, ReviewSubject
from .models import ReviewRequest
from .notifications import notifications_after_review_reply
from .services import CoachingError

REVIEW_SUBJECT_INVALID = _("{subject!r} cannot be reviewed; choose one of: {choices}.")
REVIEW_MESSAGE_REQUIRED = _("Tell us what you would like reviewed and why.")
REVIEW_MESSAGE_TOO_LONG = _("A review request is at most {limit} characters.")
REVIEW_DECISION_NOT_YOURS = _("That decision is not about this creator.")
REVIEW_ALREADY_OPEN = _("A review request is already open; it must be answered before you send another.")
REVIEW_REPLY_REQUIRED = _("A reply cannot be empty.")
REVIEW_CLOSED = _("This review request is closed.")


@transaction.atomic
def review_request_create(
    *, influencer: Influencer, subject: str, message: str, decision: TierDecision | None = None
) -> ReviewRequest:
    """Open a review of the creator's tier or type, about `decision` (their latest when not given).

    One open request at a time. The same request sent twice while it is open (a double submit)
    returns the open one instead of failing.
    """
    if subject not in ReviewSubject.values:
        raise CoachingError(REVIEW_SUBJECT_INVALID.format(subject=subject, choices=", ".join(ReviewSubject.values)))
    message = (message or "").strip()
    if not message:
        raise CoachingError(REVIEW_MESSAGE_REQUIRED)
    if len(message) > ReviewRequest.MESSAGE_MAX_LENGTH:
        raise CoachingError(REVIEW_MESSAGE_TOO_LONG.format(limit=ReviewRequest.MESSAGE_MAX_LENGTH))
    if decision is not None and decision.influencer_id != influencer.pk:
        raise CoachingError(REVIEW_DECISION_NOT_YOURS)

    existing = ReviewRequest.objects.open().filter(influencer=influencer).first()
    if existing is None:
        if decision is None:
            decision = TierDecision.objects.effective().filter(influencer=influencer).order_by("-created_at", "-id").first()
        try:
            # The partial unique index is the real guard: two submits racing past the check above
            # cannot both insert.
            with transaction.atomic():
                return ReviewRequest.objects.create(
                    influencer=influencer, decision=decision, subject=subject, message=message
                )
        except IntegrityError:
            existing = ReviewRequest.objects.open().filter(influencer=influencer).first()
            if existing is None:
                raise
    if (existing.subject, existing.message) == (subject, message):
        return existing
    raise CoachingError(REVIEW_ALREADY_OPEN)


@transaction.atomic
def review_reply(*, review: ReviewRequest, reply: str, by, close: bool = False) -> ReviewRequest:
    """Staff answer a request (and close it when `close`); the creator is notified.

    A reply may follow an earlier one while the request is not closed. Sending the same reply
    twice changes nothing the second time.
    """
    reply = (reply or "").strip()
    if not reply:
        raise CoachingError(REVIEW_REPLY_REQUIRED)
    review = ReviewRequest.objects.select_for_update().get(pk=review.pk)
    status = ReviewStatus.CLOSED if close else ReviewStatus.ANSWERED
    if review.status == ReviewStatus.CLOSED:
        if (review.staff_reply, close) == (reply, True):
            return review  # the closing reply submitted twice
        raise CoachingError(REVIEW_CLOSED)
    if (review.status, review.staff_reply) == (status, reply):
        return review
    now = timezone.now()
    before = {"status": review.status, "staff_reply": review.staff_reply}
    review.staff_reply = reply
    review.status = status
    review.replied_by = by
    review.replied_at = now
    if close:
        review.closed_by, review.closed_at = by, now
    review.save(update_fields=["staff_reply", "status", "replied_by", "replied_at", "closed_by", "closed_at", "updated_at"])
    notifications_after_review_reply(review=review)
    audit.record(actor=by, action=AuditAction.REVIEW_REPLY, obj=review, before=before,
                 after={"status": review.status, "staff_reply": reply})
    return review


@transaction.atomic
def review_close(*, review: ReviewRequest, by) -> ReviewRequest:
    """Close a request, answered or not; closing a closed one changes nothing."""
    review = ReviewRequest.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.CLOSED:
        before = review.status
        review.status = ReviewStatus.CLOSED
        review.closed_by, review.closed_at = by, timezone.now()
        review.save(update_fields=["status", "closed_by", "closed_at", "updated_at"])
        audit.record(actor=by, action=AuditAction.REVIEW_CLOSE, obj=review, before={"status": before},
                     after={"status": review.status})
    return review


@transaction.atomic
def review_override(*, review: ReviewRequest, field: str, value: str, reason: str, expires_at, reply: str,
                    by) -> ReviewRequest:
    """Staff agree with the creator: pin the tier or type (tiers.services.override_create, which tells
    the creator of the change) and close the request with the reply; all or nothing."""
    reply = (reply or "").strip()
    if not reply:
        raise CoachingError(REVIEW_REPLY_REQUIRED)
    locked = ReviewRequest.objects.select_for_update().select_related("influencer").get(pk=review.pk)
    if locked.status == ReviewStatus.CLOSED:
        raise CoachingError(REVIEW_CLOSED)
    try:
        override_create(influencer=locked.influencer, field=field, value=value, reason=reason, expires_at=expires_at,
                        by=by)
    except ServiceError as exc:
        raise CoachingError(str(exc), field=exc.field) from None
    return review_reply(review=locked, reply=reply, by=by, close=True)
