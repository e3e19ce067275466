"""The review queue: staff see each request beside its evidence, uphold or override it, and the creator hears."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from coaching.choices import NotificationKind, ReviewStatus, ReviewSubject
from coaching.models import Notification, ReviewRequest
from coaching.reviews import review_request_create
from demo.population import demo_logins_ensure
from tiers.choices import Tier
from tiers.models import TierOverride
from tiers.refresh import refresh_run_sync
from tiers.tasks import after_decision
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    demo_logins_ensure(password="ladder-test-pass")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="ops")
    client.force_login(user)
    return user


@pytest.fixture
def analyst(client):
    from django.contrib.auth.models import Group

    user = UserFactory(username="analyst_q", is_staff=True)
    user.groups.add(Group.objects.get(name="analysts"))
    client.force_login(user)
    return user


def _requests(count, *, days_old=0):
    reviews = []
    for _ in range(count):
        creator = InfluencerFactory(tier=Tier.TAIL)
        metric_days(creator, days=5, gmv="2000")
        review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="I sold more this month")
        reviews.append(review)
    if days_old:
        ReviewRequest.objects.filter(pk__in=[r.pk for r in reviews]).update(
            created_at=timezone.now() - datetime.timedelta(days=days_old, hours=1))
    return reviews


def test_the_sla_view_counts_open_requests_by_age(client, ops):
    _requests(2)
    _requests(1, days_old=2)
    _requests(3, days_old=10)
    answered = _requests(1, days_old=10)[0]
    ReviewRequest.objects.filter(pk=answered.pk).update(status=ReviewStatus.CLOSED)

    response = client.get(reverse("coaching:reviews"))

    assert response.status_code == 200
    assert [bucket["count"] for bucket in response.context["sla"]] == [2, 1, 0, 3]
    assert len(response.context["rows"]) == 6  # open ones, oldest first
    assert response.context["rows"][0]["review"].created_at < response.context["rows"][-1]["review"].created_at
    assert response.context["rows"][0]["sums"]["gmv"] == 10000


def test_the_queue_takes_as_many_queries_with_many_requests_as_with_few(client, ops):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("coaching:reviews")).status_code == 200
        return len(ctx.captured_queries)

    _requests(2)
    few = queries()
    _requests(30)
    many = queries()

    assert many == few


def test_the_request_page_takes_as_many_queries_with_a_long_history_as_with_a_short_one(client, ops):
    def queries(days):
        creator = InfluencerFactory(tier=Tier.TAIL)
        metric_days(creator, days=days, gmv="2000")
        review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="again")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("coaching:review_detail", args=[review.pk])).status_code == 200
        return len(ctx.captured_queries)

    assert queries(3) == queries(60)


def test_the_request_page_shows_the_decision_the_explanation_now_and_the_metrics(client, ops):
    creator = InfluencerFactory(handle="asks_again", tier=Tier.TAIL)
    metric_days(creator, days=10, gmv="2000")
    refresh_run_sync()
    review = review_request_create(influencer=creator, subject=ReviewSubject.TIER, message="look again please")

    page = client.get(reverse("coaching:review_detail", args=[review.pk])).content.decode()

    assert "asks_again" in page and "look again please" in page
    assert "¥20000" in page.replace(",", "")  # ten days of ¥2,000
    assert "<code>" in page  # the checks of the decision and of now
    assert " style=" not in page and "<script>" not in page.split("</head>")[1]


def test_upholding_replies_closes_and_tells_the_creator(client, ops):
    review = _requests(1)[0]

    response = client.post(reverse("coaching:review_uphold", args=[review.pk]), {"reply": "Your GMV is below the mid line."},
                           HTTP_HX_REQUEST="true")

    review.refresh_from_db()
    assert response.status_code == 200 and 'id="answer"' in response.content.decode()
    assert (review.status, review.staff_reply, review.closed_by) == (ReviewStatus.CLOSED, "Your GMV is below the mid line.", ops)
    assert Notification.objects.filter(review=review, kind=NotificationKind.REVIEW_ANSWERED).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.REVIEW_REPLY, object_id=str(review.pk)).count() == 1


def test_overriding_pins_the_tier_closes_the_request_and_tells_the_creator(client, ops, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    told = []
    monkeypatch.setattr("core.outbox.send_task",
                        lambda *, name, args: told.append(args[0]) if name == after_decision.name else None)
    review = _requests(1)[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("coaching:review_override", args=[review.pk]), {
            "field": "tier", "value": Tier.MID, "reason": "campaign GMV counted late", "expires_at": "2099-01-01T00:00",
            "reply": "You are mid until the data catches up."})

    review.refresh_from_db()
    pin = TierOverride.objects.get(influencer_id=review.influencer_id)
    assert response.status_code == 302
    assert review.status == ReviewStatus.CLOSED and review.staff_reply.startswith("You are mid")
    assert (pin.value, pin.reason, pin.created_by) == (Tier.MID, "campaign GMV counted late", ops)
    assert len(told) == 1  # the tier change reaches the creator like any override's
    assert Notification.objects.filter(review=review, kind=NotificationKind.REVIEW_ANSWERED).count() == 1


def test_a_bad_override_changes_nothing_and_says_why(client, ops):
    review = _requests(1)[0]

    response = client.post(reverse("coaching:review_override", args=[review.pk]), {
        "field": "tier", "value": "persona", "reason": "", "reply": "ok"}, HTTP_HX_REQUEST="true")

    review.refresh_from_db()
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.lstrip().startswith('<section class="card" id="answer"')
    assert fragment.count('class="error"') >= 2  # the value that is no tier, the missing reason
    assert review.status == ReviewStatus.OPEN and TierOverride.objects.count() == 0


def test_answering_a_closed_request_is_refused_with_a_message(client, ops):
    review = _requests(1)[0]
    ReviewRequest.objects.filter(pk=review.pk).update(status=ReviewStatus.CLOSED, staff_reply="done")

    response = client.post(reverse("coaching:review_uphold", args=[review.pk]), {"reply": "again"})

    assert response.status_code == 400
    assert ReviewRequest.objects.get(pk=review.pk).staff_reply == "done"


def test_an_analyst_reads_the_queue_and_cannot_answer(client, analyst):
    review = _requests(1)[0]

    pages = [client.get(reverse("coaching:reviews")).status_code,
             client.get(reverse("coaching:review_detail", args=[review.pk])).status_code]
    writes = [client.post(reverse("coaching:review_uphold", args=[review.pk]), {"reply": "x"}).status_code,
              client.post(reverse("coaching:review_override", args=[review.pk]),
                          {"field": "tier", "value": "mid", "reason": "x", "reply": "x"}).status_code]

    assert pages == [200, 200] and writes == [403, 403]
    assert ReviewRequest.objects.get(pk=review.pk).status == ReviewStatus.OPEN


@pytest.mark.parametrize("language, word", [("en", "Review queue"), ("zh-hans", "复核队列")])
def test_the_queue_speaks_the_staff_language(client, ops, language, word):
    response = client.get(reverse("coaching:reviews"), HTTP_ACCEPT_LANGUAGE=language)

    assert word in response.content.decode()
