"""Creators ask staff to review a tier or type decision; one open request at a time, and staff answers notify."""

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coaching.choices import NotificationKind, ReviewStatus, ReviewSubject
from coaching.models import Notification, ReviewRequest
from coaching.notifications import notification_mark_read, notification_text, unread_count
from coaching.reviews import (
    REVIEW_ALREADY_OPEN,
    REVIEW_CLOSED,
    REVIEW_DECISION_NOT_YOURS,
    REVIEW_MESSAGE_REQUIRED,
    REVIEW_MESSAGE_TOO_LONG,
    REVIEW_REPLY_REQUIRED,
    REVIEW_SUBJECT_INVALID,
    review_close,
    review_reply,
    review_request_create,
)
from coaching.selectors import review_latest
from coaching.services import CoachingError
from tiers.models import TierDecision
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

def exactly(message):
    return "^" + re.escape(str(message)) + "$"


def decision_for(creator, tier_before="mid", tier_after="tail"):
    return TierDecision.objects.create(influencer=creator, tier_before=tier_before, tier_after=tier_after,
                                       cause="refresh", decided_on=timezone.localdate())


@pytest.fixture
def creator():
    return InfluencerFactory()


@pytest.fixture
def staff():
    return UserFactory(username="ops", is_staff=True)


def test_a_creator_asks_for_a_review_of_their_latest_decision(creator):
    metric_days(creator, days=30, gmv="5000")
    refresh_run_sync()
    latest = TierDecision.objects.get(influencer=creator)

    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER,
                                   message="  我上个月做了一场大促，请再看看我的等级。  ")

    assert (review.status, review.subject, review.decision) == (ReviewStatus.OPEN, ReviewSubject.TIER, latest)
    assert review.message == "我上个月做了一场大促，请再看看我的等级。"
    assert review_latest(influencer=creator) == review


def test_only_one_request_is_open_at_a_time(creator, staff):
    first = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="Please look again.")

    with pytest.raises(CoachingError, match=exactly(REVIEW_ALREADY_OPEN)):
        review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="Something else entirely.")
    with pytest.raises(CoachingError, match=exactly(REVIEW_ALREADY_OPEN)):
        review_request_create(influencer=creator, subject=ReviewSubject.CREATOR_TYPE, message="Please look again.")
    # the database refuses it too, whatever path a second open request takes
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewRequest.objects.create(influencer=creator, subject=ReviewSubject.TIER, message="raw insert")

    # once staff answer, the creator may ask again
    review_reply(review=first, reply="We checked: the window is the last 30 days.", by=staff)
    second = review_request_create(influencer=creator, subject=ReviewSubject.CREATOR_TYPE, message="And my type?")

    assert second.pk != first.pk
    assert review_latest(influencer=creator) == second
    review_close(review=second, by=staff)
    third = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="One more question.")
    assert review_latest(influencer=creator) == third


def test_the_open_request_comes_first_even_when_an_answered_one_is_newer():
    creator, staff = InfluencerFactory(), UserFactory()
    older = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="first")
    review_reply(review=older, reply="answered", by=staff)
    newest_open = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="second")
    # an answered request written after the open one (timestamps can tie or skew) must not hide it
    ReviewRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() + timezone.timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        latest = review_latest(influencer=creator)

    assert latest == newest_open
    assert len(queries) == 1
    assert review_latest(influencer=InfluencerFactory()) is None


def test_a_double_submit_is_applied_once(creator):
    first = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="请复核我的等级")
    again = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="请复核我的等级 ")

    assert again.pk == first.pk
    assert ReviewRequest.objects.filter(influencer=creator).count() == 1


@pytest.mark.parametrize(
    ("subject", "message", "error"),
    [
        (ReviewSubject.TIER, "", REVIEW_MESSAGE_REQUIRED),
        (ReviewSubject.TIER, " \n\t ", REVIEW_MESSAGE_REQUIRED),
        (ReviewSubject.TIER, "字" * 1001, REVIEW_MESSAGE_TOO_LONG.format(limit=1000)),
        ("followers", "Please look", REVIEW_SUBJECT_INVALID.format(subject="followers", choices="tier, creator_type")),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(creator, subject, message, error):
    with pytest.raises(CoachingError, match=exactly(error)):
        review_request_create(influencer=creator, subject=subject, message=message)

    assert not ReviewRequest.objects.exists()


def test_a_decision_about_another_creator_is_refused(creator):
    someone_else = decision_for(InfluencerFactory())

    with pytest.raises(CoachingError, match=exactly(REVIEW_DECISION_NOT_YOURS)):
        review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="why?", decision=someone_else)

    own = decision_for(creator)
    assert review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="why?", decision=own).decision == own


def test_a_staff_reply_answers_the_request_and_notifies_the_creator(creator, staff):
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="Why am I tail?",
                                   decision=decision_for(creator))

    answered = review_reply(review=review, reply="  Your 30-day GMV was ¥78,000, under the ¥80,000 keep line. ",
                            by=staff)

    assert (answered.status, answered.replied_by, answered.staff_reply) == (
        ReviewStatus.ANSWERED, staff, "Your 30-day GMV was ¥78,000, under the ¥80,000 keep line.")
    assert answered.replied_at is not None
    notification = Notification.objects.get(influencer=creator)
    assert (notification.kind, notification.review_id, notification.read_at) == (
        NotificationKind.REVIEW_ANSWERED, review.pk, None)
    assert notification.data == {"subject": "tier", "status": "answered", "reply": answered.staff_reply}
    assert notification_text(notification, "zh-hans") == "运营已回复你关于等级的复核申请。"
    assert unread_count(influencer=creator) == 1


def test_a_second_reply_closes_the_request_and_refreshes_the_one_notification(creator, staff):
    review = review_request_create(influencer=creator, subject=ReviewSubject.CREATOR_TYPE, message="I sell beauty only.")
    review_reply(review=review, reply="Looking into it.", by=staff)
    first = Notification.objects.get(influencer=creator)
    notification_mark_read(influencer=creator, notification_id=first.pk)
    # the same reply sent twice (a double click) changes nothing and does not notify again
    review_reply(review=review, reply="Looking into it.", by=staff)
    assert unread_count(influencer=creator) == 0

    closed = review_reply(review=review, reply="You are vertical from the next refresh.", by=staff, close=True)

    assert closed.status == ReviewStatus.CLOSED
    notification = Notification.objects.get(influencer=creator)
    assert notification.pk == first.pk and notification.read_at is None
    assert notification.data["status"] == "closed"
    assert notification_text(notification, "en") == (
        "The creator-ops team answered and closed your request to review your creator type.")
    assert review_reply(review=review, reply="You are vertical from the next refresh.", by=staff, close=True) == closed
    with pytest.raises(CoachingError, match=exactly(REVIEW_CLOSED)):
        review_reply(review=review, reply="Another thought.", by=staff)


def test_an_empty_reply_is_refused(creator, staff):
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="?")

    with pytest.raises(CoachingError, match=exactly(REVIEW_REPLY_REQUIRED)):
        review_reply(review=review, reply="   ", by=staff)

    review.refresh_from_db()
    assert (review.status, review.staff_reply) == (ReviewStatus.OPEN, "")
    assert not Notification.objects.exists()


def test_staff_may_close_a_request_without_a_reply(creator, staff):
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="duplicate of my email")

    closed = review_close(review=review, by=staff)
    again = review_close(review=review, by=UserFactory(username="second-closer", is_staff=True))

    assert closed.status == again.status == ReviewStatus.CLOSED
    assert again.closed_by == staff and again.closed_at == closed.closed_at  # closing again changes nothing
    assert not Notification.objects.exists()  # nothing was answered


def test_a_closing_reply_records_who_closed_the_request(creator, staff):
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="?")

    answered = review_reply(review=review, reply="Checking.", by=staff)
    assert (answered.closed_by, answered.closed_at) == (None, None)
    closed = review_reply(review=review, reply="Done.", by=staff, close=True)

    assert closed.closed_by == staff and closed.closed_at == closed.replied_at


# ---------------------------------------------------------------- the admin queue


def test_the_queue_lists_open_requests_first_and_filters_and_searches(admin_client, staff):
    answered_creator = InfluencerFactory(platform_id="ks-answered", handle="answered_one")
    answered = review_request_create(influencer=answered_creator, subject=ReviewSubject.TIER, message="a")
    waiting = review_request_create(influencer=InfluencerFactory(platform_id="ks-waiting", handle="waiting_one"),
                                    subject=ReviewSubject.CREATOR_TYPE, message="b")
    review_reply(review=answered, reply="done", by=staff)
    ReviewRequest.objects.filter(pk=answered.pk).update(created_at=timezone.now() + timezone.timedelta(hours=1))
    url = reverse("admin:coaching_reviewrequest_changelist")

    listed = admin_client.get(url)
    by_status = admin_client.get(url, {"status__exact": "open"})
    by_subject = admin_client.get(url, {"subject__exact": "tier"})
    searched = admin_client.get(url, {"q": "waiting"})

    assert [r.pk for r in listed.context["cl"].result_list] == [waiting.pk, answered.pk]
    assert [r.pk for r in by_status.context["cl"].result_list] == [waiting.pk]
    assert [r.pk for r in by_subject.context["cl"].result_list] == [answered.pk]
    assert [r.pk for r in searched.context["cl"].result_list] == [waiting.pk]


def test_the_queue_query_count_does_not_grow_with_requests(admin_client):
    url = reverse("admin:coaching_reviewrequest_changelist")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    for n in range(2):
        review_request_create(influencer=InfluencerFactory(), subject=ReviewSubject.TIER, message=f"m{n}")
    few = queries()
    for n in range(20):
        review_request_create(influencer=InfluencerFactory(), subject=ReviewSubject.TIER, message=f"m{n}")

    assert queries() == few


def test_staff_reply_on_the_change_page_goes_through_the_service(admin_client):
    creator = InfluencerFactory()
    decision = decision_for(creator)
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="Please check.",
                                   decision=decision)
    url = reverse("admin:coaching_reviewrequest_change", args=[review.pk])

    page = admin_client.get(url)
    refused = admin_client.post(url, {"staff_reply": "  ", "close": ""})
    # the message and the decision are shown, not editable: a posted message is ignored
    saved = admin_client.post(url, {"staff_reply": "Checked: correct.", "close": "on", "message": "tampered"})

    assert page.status_code == 200 and "Please check." in page.content.decode()
    assert "staff_reply" in page.context["adminform"].form.fields
    assert "message" not in page.context["adminform"].form.fields
    assert refused.status_code == 200 and str(REVIEW_REPLY_REQUIRED) in refused.content.decode()
    assert saved.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.staff_reply, review.message, review.decision_id) == (
        ReviewStatus.CLOSED, "Checked: correct.", "Please check.", decision.pk)
    assert review.replied_by.is_superuser
    assert Notification.objects.filter(influencer=creator, kind=NotificationKind.REVIEW_ANSWERED).count() == 1
    # closed: staff still see it, read-only
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"staff_reply": "more"}).status_code == 403
