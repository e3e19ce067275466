"""The creator pages: own data only, htmx fragments and plain posts, pinned query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coaching.choices import EnrollmentPolicy, EnrollmentStatus
from coaching.models import Enrollment, Program, Task
from coaching.services import assignment_run
from coaching.tests.factories import ProgramFactory, pool_with_products
from tiers.choices import OverrideField, Tier
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
PLAN_PAGE_QUERIES = 18  # session, user, creator, then plan_for: the growth plan (12), trend, unread count, review


def creator(handle, gmv):
    user = UserFactory(username=handle)
    influencer = InfluencerFactory(handle=handle, display_name=f"{handle}-name", user=user)
    metric_days(influencer, days=30, gmv=gmv)
    return influencer


@pytest.fixture
def world():
    """A tail creator (in the village) and a mid creator (in the pool), a campaign open to both."""
    tail, mid = creator("tailcreator", "1000"), creator("midcreator", "5000")
    campaign = ProgramFactory(code="open-campaign", enrollment_policy=EnrollmentPolicy.OPT_IN, eligible_tiers=["tail", "mid"],
                              name_zh="开放活动", name_en="Open campaign")
    pool = Program.objects.get(code="mid-product-pool")
    products = pool_with_products(pool, 15)
    refresh_run_sync()
    assignment_run()
    return {"tail": Influencer.objects.get(pk=tail.pk), "mid": Influencer.objects.get(pk=mid.pk), "campaign": campaign,
            "pool": pool, "products": products, "village_task": Task.objects.filter(stage__program__code="newcomer-village",
                                                                                      check_by="self_report").first()}


def login(client, influencer):
    client.force_login(influencer.user)


def queries(client, url, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response


def test_plan_needs_a_login(client, world):
    assert client.get("/plan/").status_code == 302


@pytest.mark.parametrize("language, words", [
    ("zh-CN", ("没有达人档案", "你已用 somebody 登录", "退出登录")),
    ("en", ("No creator profile", "You are logged in as somebody", "Log out")),
])
def test_a_login_without_a_creator_profile_is_told_what_is_missing_and_can_log_out(client, world, language, words):
    client.force_login(UserFactory(username="somebody"))

    for url in ("/", "/plan/", reverse("coaching:notifications")):
        response = client.get(url, follow=True, HTTP_ACCEPT_LANGUAGE=language)
        body = response.content.decode()
        assert response.status_code == 403, url
        assert all(word in body for word in words), url
        assert f'<form action="{reverse("logout")}" method="post">' in body

    logged_out = client.post(reverse("logout"))
    assert logged_out.status_code == 302 and client.get("/plan/")["Location"].startswith(reverse("login"))


def test_staff_without_a_creator_profile_are_sent_to_the_admin(client, world):
    client.force_login(UserFactory(username="ops-desk", is_staff=True))

    for url in ("/", "/plan/", reverse("coaching:notifications")):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, reverse("admin:index")), url


def test_a_creator_sees_their_own_plan_only(client, world):
    login(client, world["tail"])

    body = client.get("/plan/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "tailcreator-name" in body and "midcreator-name" not in body
    assert "达人新手村" in body and "Newcomer village" not in body


def test_staff_open_any_plan_read_only_and_creators_cannot(client, world, admin_user):
    url = reverse("coaching:staff_plan", args=[world["mid"].pk])
    login(client, world["tail"])
    assert client.get(url).status_code == 403  # a creator holds no staff permission

    client.force_login(admin_user)
    body = client.get(url).content.decode()
    assert "midcreator-name" in body and 'action="/plan/tasks/' not in body


def test_ticking_a_task_returns_the_updated_programme_or_redirects_without_js(client, world):
    login(client, world["tail"])
    task = world["village_task"]
    enrollment = Enrollment.objects.get(influencer=world["tail"], program__code="newcomer-village")

    response = client.post(reverse("coaching:task_done", args=[task.pk]), **HX)

    assert response.status_code == 200
    assert f'id="programme-{enrollment.pk}"' in response.content.decode()
    plain = client.post(reverse("coaching:task_undo", args=[task.pk]))
    assert plain.status_code == 302 and plain["Location"] == "/plan/"


def test_tasks_pools_and_programmes_of_others_give_404(client, world):
    login(client, world["mid"])  # not in the village, not in the campaign
    task = world["village_task"]

    assert client.post(reverse("coaching:task_done", args=[task.pk]), **HX).status_code == 404
    assert client.get(reverse("coaching:lesson", args=[task.pk])).status_code == 404
    assert client.post(reverse("coaching:leave", args=[world["campaign"].pk])).status_code == 404
    login(client, world["tail"])  # not in the pool
    assert client.get(reverse("coaching:pool", args=[world["pool"].pk])).status_code == 404
    assert client.post(reverse("coaching:pick", args=[world["pool"].pk, world["products"][0].pk])).status_code == 404


def test_browse_the_pool_with_filters_and_pages(client, world):
    login(client, world["mid"])
    url = reverse("coaching:pool", args=[world["pool"].pk])

    first = client.get(url)
    second = client.get(url, {"page": 2}, **HX)
    none = client.get(url, {"category": "food"}, **HX)

    assert first.status_code == 200 and first.content.decode().count('class="card product"') == 12
    assert second.content.decode().count('class="card product"') == 3 and "<html" not in second.content.decode()
    assert "No product matches" in none.content.decode() or "没有符合" in none.content.decode()
    assert client.get(url, {"price_max": "-1"}).status_code == 200  # a bad filter is shown, not a crash


def test_pick_and_unpick_a_product(client, world):
    login(client, world["mid"])
    product = world["products"][0]
    pick = reverse("coaching:pick", args=[world["pool"].pk, product.pk])

    response = client.post(pick, **HX)
    again = client.post(pick, **HX)

    assert response.status_code == 200 and again.status_code == 200
    assert world["mid"].product_selections.count() == 1
    assert 'hx-swap-oob="true"' in response.content.decode()
    client.post(reverse("coaching:unpick", args=[world["pool"].pk, product.pk]))
    assert world["mid"].product_selections.count() == 0


def test_join_and_leave_a_campaign(client, world):
    login(client, world["tail"])
    campaign = world["campaign"]

    joined = client.post(reverse("coaching:join", args=[campaign.pk]), **HX)

    assert joined.status_code == 200 and 'id="campaigns"' in joined.content.decode()
    assert Enrollment.objects.get(influencer=world["tail"], program=campaign).status == EnrollmentStatus.ACTIVE
    left = client.post(reverse("coaching:leave", args=[campaign.pk]))
    assert left.status_code == 302
    assert Enrollment.objects.get(influencer=world["tail"], program=campaign).status == EnrollmentStatus.EXITED


def test_a_creator_may_leave_an_automatic_campaign_and_join_it_again(client, world):
    # given an automatic campaign the tail creator was put in
    campaign = ProgramFactory(code="auto-campaign", eligible_tiers=["tail"], name_zh="自动活动", name_en="Auto campaign")
    assignment_run()
    login(client, world["tail"])
    leave = reverse("coaching:leave", args=[campaign.pk])
    join = reverse("coaching:join", args=[campaign.pk])
    assert f'action="{leave}"' in client.get("/plan/").content.decode()

    # when they leave it, they are told it lasts, and the next assignment leaves them out
    left = client.post(leave, follow=True).content.decode()
    assignment_run()

    assert "除非你自己重新报名" in left
    assert not Enrollment.objects.active().filter(influencer=world["tail"], program=campaign).exists()
    # then they find it among the campaigns they can join, and joining brings them back
    assert f'action="{join}"' in client.get("/plan/").content.decode()
    client.post(join, **HX)
    assert Enrollment.objects.active().get(influencer=world["tail"], program=campaign).source == "creator"


def test_request_a_review_once(client, world):
    login(client, world["tail"])
    data = {"subject": "tier", "message": "My sales doubled last week."}

    first = client.post(reverse("coaching:review"), data, **HX)
    second = client.post(reverse("coaching:review"), data, **HX)
    empty = client.post(reverse("coaching:review"), {"subject": "tier", "message": ""}, **HX)

    assert first.status_code == second.status_code == 200
    assert world["tail"].review_requests.count() == 1
    assert 'role="alert"' in empty.content.decode()


def test_notifications_list_and_mark_read(client, world):
    login(client, world["mid"])
    staff = UserFactory(username="ops-x", is_staff=True)
    override_create(influencer=world["mid"], field=OverrideField.TIER, value=Tier.HEAD, reason="key account", by=staff)
    refresh_run_sync(today=timezone.localdate() + datetime.timedelta(days=1))

    listing = client.get(reverse("coaching:notifications"))
    read = client.post(reverse("coaching:notifications_read"), **HX)

    assert listing.status_code == 200 and read.status_code == 200
    assert world["mid"].notifications.filter(read_at__isnull=True).count() == 0


def test_plan_queries_are_pinned_and_do_not_grow_with_history(client, world):
    login(client, world["tail"])
    few, _ = queries(client, "/plan/")
    staff = UserFactory(username="coach-y", is_staff=True)
    for value in (Tier.MID, Tier.HEAD, Tier.TAIL, Tier.MID):
        override_create(influencer=world["tail"], field=OverrideField.TIER, value=value, reason="history", by=staff)

    many, response = queries(client, "/plan/")

    assert many == few
    assert few == PLAN_PAGE_QUERIES, f"/plan/ ran {few} queries"


@pytest.mark.parametrize("name", ["pool", "notifications", "trend"])
def test_fragment_queries_do_not_grow(client, world, name):
    login(client, world["mid"])
    url = {"pool": reverse("coaching:pool", args=[world["pool"].pk]), "notifications": reverse("coaching:notifications"),
           "trend": "/plan/?days=90"}[name]
    few, _ = queries(client, url, **HX)
    pool_with_products(world["pool"], 30)
    metric_days(world["mid"], days=60, end=timezone.localdate() - datetime.timedelta(days=30), gmv="4000")

    many, _ = queries(client, url, **HX)

    assert many == few


def test_notifications_and_reviews_of_another_creator_never_show(client, world):
    from coaching.models import Notification
    from coaching.reviews import review_request_create

    Notification.objects.create(influencer=world["mid"], kind="tier_changed", data={"tier_before": "tail", "tier_after": "mid"})
    review_request_create(influencer=world["mid"], subject="tier", message="mid creator's private message")
    unread = Notification.objects.filter(influencer=world["mid"], read_at__isnull=True).count()
    login(client, world["tail"])

    notifications = client.get(reverse("coaching:notifications")).content.decode()
    client.post(reverse("coaching:notifications_read"))
    plan = client.get("/plan/").content.decode()

    assert "mid creator's private message" not in plan
    assert Notification.objects.filter(influencer=world["mid"], read_at__isnull=True).count() == unread
    assert "腰部" not in notifications and "mid" not in notifications.lower().split("notifications")[-1]


def test_unpicking_only_touches_your_own_selection(client, world):
    from coaching.services import product_select

    product = world["products"][0]
    product_select(influencer=world["mid"], pool=world["pool"], product_id=product.pk)
    other = creator("othermid", "5000")
    refresh_run_sync()
    assignment_run()
    login(client, Influencer.objects.get(pk=other.pk))

    client.post(reverse("coaching:unpick", args=[world["pool"].pk, product.pk]), **HX)

    assert world["mid"].product_selections.filter(product=product).exists()


def post_queries(client, url, data=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, data or {}, **HX)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def grow_history(influencer):
    """Many decisions, overrides and older metrics; the creator ends in the tier they started in."""
    staff = UserFactory(username=f"historian-{influencer.pk}", is_staff=True)
    for value in (Tier.MID, Tier.HEAD, Tier.TAIL, Tier.NEWCOMER, influencer.tier):
        override_create(influencer=influencer, field=OverrideField.TIER, value=value, reason="history", by=staff)
    metric_days(influencer, days=60, end=timezone.localdate() - datetime.timedelta(days=30), gmv="900")


@pytest.fixture
def twins(world):
    """Two creators per tier in the same state; the second has a long history."""
    pairs = {"tail": (creator("tail_a", "1000"), creator("tail_b", "1000")),
             "mid": (creator("mid_a", "5000"), creator("mid_b", "5000"))}
    refresh_run_sync()
    assignment_run()
    fresh = {tier: tuple(Influencer.objects.get(pk=c.pk) for c in pair) for tier, pair in pairs.items()}
    for _short, long in fresh.values():
        grow_history(long)
    return fresh


def test_fragment_queries_do_not_grow_with_history(client, world, twins):
    task = world["village_task"]
    actions = {
        "tail": [("post", reverse("coaching:task_done", args=[task.pk]), None),
                 ("post", reverse("coaching:task_undo", args=[task.pk]), None),
                 ("get", reverse("coaching:lesson", args=[task.pk]), None),
                 ("post", reverse("coaching:join", args=[world["campaign"].pk]), None),
                 ("post", reverse("coaching:review"), {"subject": "tier", "message": "please look again"})],
        "mid": [("post", reverse("coaching:pick", args=[world["pool"].pk, world["products"][0].pk]), None),
                ("post", reverse("coaching:unpick", args=[world["pool"].pk, world["products"][0].pk]), None)],
    }
    for tier, steps in actions.items():
        counts = []
        for influencer in twins[tier]:
            login(client, influencer)
            counts.append([post_queries(client, url, data) if method == "post" else queries(client, url, **HX)[0]
                           for method, url, data in steps])
        assert counts[0] == counts[1], f"{tier}: {counts}"
