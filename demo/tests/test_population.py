"""The demo-data generator: deterministic, valid rows, a population shaped like BRIEF's, safe logins."""

import datetime
import re
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum
from django.test import RequestFactory, override_settings
from django.utils import timezone

from demo import population
from tiers.choices import Category, InfluencerStatus
from demo.population import ALREADY_POPULATED, LOGINS_NEED_DEBUG, DemoRefused, seed_population
from tiers.models import DailyMetric, Influencer

pytestmark = pytest.mark.django_db

CREATORS, DAYS = 300, 30
MONEY = re.compile(r"^\d+\.\d{2}$")
METRIC_FIELDS = [
    "influencer__platform_id", "date", "followers", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders",
    "live_sessions", "live_minutes", "big_live_sessions", "videos_posted", "entertainment_videos",
    "reputation_score", "refund_rate", "repeat_buyer_rate", "category_gmv",
]
INFLUENCER_FIELDS = ["platform_id", "handle", "display_name", "onboarded_on", "main_category", "status", "tier"]


def _snapshot():
    return (
        list(Influencer.objects.order_by("platform_id").values_list(*INFLUENCER_FIELDS)),
        list(DailyMetric.objects.order_by("influencer__platform_id", "date").values_list(*METRIC_FIELDS)),
    )


def _seed(seed=7, **kwargs):
    return seed_population(influencers=CREATORS, days=DAYS, seed=seed, **kwargs)


@pytest.fixture
def seeded():
    return _seed()


def test_the_same_seed_gives_the_same_rows(seeded):
    # given a population seeded with 7
    first = _snapshot()

    # when it is replaced by another seeded with 7
    _seed(replace=True)

    # then every creator and every metric row is the same
    assert _snapshot() == first
    assert len(first[0]) == CREATORS


def test_another_seed_gives_other_rows(seeded):
    first = _snapshot()

    _seed(seed=8, replace=True)

    second = _snapshot()
    assert second[0] != first[0]
    assert second[1] != first[1]


def test_chunks_join_up_into_one_population(monkeypatch):
    # given chunks far smaller than the population
    monkeypatch.setattr(population, "CHUNK_SIZE", 128)

    result = _seed()

    assert Influencer.objects.count() == CREATORS == result.influencers
    assert DailyMetric.objects.count() == result.metrics
    assert Influencer.objects.filter(daily_metrics__isnull=True).count() == 0
    ids = list(Influencer.objects.order_by("platform_id").values_list("pk", flat=True))
    assert ids == sorted(ids)


def test_every_row_is_valid_and_adds_up(seeded):
    today = timezone.localdate()
    influencers = {i.pk: i for i in Influencer.objects.all()}
    for influencer in influencers.values():
        influencer.full_clean()
        assert influencer.tier is None and influencer.creator_type is None
    previous = {}
    for metric in DailyMetric.objects.order_by("influencer_id", "date"):
        onboarded = influencers[metric.influencer_id].onboarded_on
        assert max(onboarded, today - datetime.timedelta(days=DAYS - 1)) <= metric.date <= today
        assert metric.gmv == metric.live_gmv + metric.video_gmv + metric.storefront_gmv
        assert all(MONEY.match(value) for value in metric.category_gmv.values())
        assert set(metric.category_gmv) <= set(Category.values)
        assert sum((Decimal(value) for value in metric.category_gmv.values()), Decimal("0.00")) == metric.gmv
        assert (metric.orders > 0) == (metric.gmv > 0)
        assert metric.live_gmv == 0 or metric.live_sessions > 0
        assert metric.big_live_sessions <= metric.live_sessions
        assert metric.entertainment_videos <= metric.videos_posted
        assert metric.reputation_score is None or 0 <= metric.reputation_score <= 5
        assert 0 <= metric.refund_rate <= 1 and 0 <= metric.repeat_buyer_rate <= 1
        # followers drift slowly from one day to the next
        before = previous.get(metric.influencer_id)
        if before is not None:
            assert abs(metric.followers - before) <= 0.05 * before + 5
        previous[metric.influencer_id] = metric.followers
    for metric in DailyMetric.objects.all()[:50]:
        metric.full_clean()


def test_creators_differ_in_cadence_status_and_category(seeded):
    assert DailyMetric.objects.filter(gmv=0).exists()  # inactive days
    assert DailyMetric.objects.filter(big_live_sessions__gt=0).exists()
    assert Influencer.objects.filter(status=InfluencerStatus.PAUSED).exists()
    assert Influencer.objects.values("main_category").distinct().count() >= 6
    assert Influencer.objects.get(platform_id="ks-000001").display_name


def test_newcomers_only_have_rows_since_onboarding(seeded):
    today = timezone.localdate()
    newcomers = Influencer.objects.filter(onboarded_on__gt=today - datetime.timedelta(days=30))

    assert newcomers.exists()
    for influencer in newcomers.annotate(rows=Count("daily_metrics")):
        assert influencer.rows == (today - influencer.onboarded_on).days + 1


def _window_tiers():
    """The default policy's tier from the last 30 days, computed here, without history."""
    today = timezone.localdate()
    window = DailyMetric.objects.filter(date__gt=today - datetime.timedelta(days=30))
    sums = {
        row["influencer_id"]: row
        for row in window.values("influencer_id").annotate(
            # named apart from the fields, or the filters below would read the sums
            gmv_sum=Sum("gmv"),
            live=Sum("live_gmv"),
            rest=Sum(F("video_gmv") + F("storefront_gmv")),
            active_days=Count("id", filter=Q(gmv__gt=0)),
            live_days=Count("id", filter=Q(live_sessions__gt=0)),
            videos=Sum("videos_posted"),
            entertainment=Sum("entertainment_videos"),
        )
    }
    latest = {m.influencer_id: m for m in DailyMetric.objects.filter(date=today)}
    by_category = defaultdict(lambda: defaultdict(Decimal))
    for influencer_id, category_gmv in window.values_list("influencer_id", "category_gmv"):
        for category, value in category_gmv.items():
            by_category[influencer_id][category] += Decimal(value)
    tiers, rules_met = {}, {"seeding": 0, "vertical": 0, "entertainment": 0, "persona_live": 0}
    for influencer in Influencer.objects.all():
        row, last = sums[influencer.pk], latest[influencer.pk]
        gmv, followers = row["gmv_sum"], last.followers
        reputable = last.reputation_score is not None and last.reputation_score >= 4
        if (today - influencer.onboarded_on).days < 30 or row["active_days"] < 7:
            tier = "newcomer"
        elif reputable and (gmv >= 3_000_000 or (followers >= 5_000_000 and gmv >= 1_000_000)):
            tier = "head"
        elif reputable and (gmv >= 100_000 or (followers >= 500_000 and gmv >= 30_000)):
            tier = "mid"
        else:
            tier = "tail"
        tiers[influencer.pk] = tier
        if tier != "newcomer" and gmv > 0:
            rules_met["seeding"] += row["rest"] >= gmv / 2
            rules_met["persona_live"] += row["live"] >= gmv * Decimal("0.6") and row["live_days"] >= 12
            rules_met["entertainment"] += row["videos"] > 0 and row["entertainment"] >= 0.6 * row["videos"]
            rules_met["vertical"] += max(by_category[influencer.pk].values()) >= gmv * Decimal("0.7")
    return tiers, rules_met


def test_the_population_is_shaped_like_the_brief(seeded):
    tiers, rules_met = _window_tiers()
    counts = Counter(tiers.values())
    share = {tier: counts[tier] / len(tiers) for tier in ("head", "mid", "tail", "newcomer")}

    assert share["head"] + share["mid"] >= 0.05
    assert share["tail"] > 0.5
    assert 0.15 <= share["newcomer"] <= 0.30
    assert all(count >= 5 for count in rules_met.values()), rules_met


def _login_request():
    # Every authentication goes through django-axes' lockout, which needs the request it counts.
    return RequestFactory().post("/accounts/login/")


def test_logins_are_created_and_authenticate():
    with override_settings(DEBUG=True):
        call_command("seed_demo", influencers=CREATORS, days=DAYS, seed=7, no_progress=True, stdout=StringIO())

    ops = get_user_model().objects.get(username="ops")
    assert ops.is_staff and not ops.is_superuser
    assert list(ops.groups.values_list("name", flat=True)) == ["ops"] and not ops.user_permissions.exists()
    assert ops.has_perm("tiers.publish_tierpolicy") and not ops.has_perm("auth.change_user")
    assert authenticate(_login_request(), username="ops", password=settings.DEMO_PASSWORD) == ops
    analyst = get_user_model().objects.get(username="analyst")
    assert analyst.is_staff and not analyst.is_superuser and not analyst.user_permissions.exists()
    assert list(analyst.groups.values_list("name", flat=True)) == ["analysts"]
    assert analyst.has_perm("tiers.view_influencer") and not analyst.has_perm("tiers.publish_tierpolicy")
    assert authenticate(_login_request(), username="analyst", password=settings.DEMO_PASSWORD) == analyst
    for number in (1, 20):
        user = authenticate(_login_request(), username=f"creator{number}", password=settings.DEMO_PASSWORD)
        assert user is not None and not user.is_staff
        assert user.influencer.platform_id == f"ks-{number:06d}"


def test_rerunning_updates_existing_logins():
    with override_settings(DEBUG=True):
        call_command("seed_demo", influencers=CREATORS, days=DAYS, no_progress=True, stdout=StringIO())
        get_user_model().objects.filter(username="creator3").update(password="", is_active=False)

        call_command("seed_demo", influencers=CREATORS, days=DAYS, replace=True, no_progress=True, stdout=StringIO())

    assert get_user_model().objects.filter(username__startswith="creator").count() == 20
    creator = authenticate(_login_request(), username="creator3", password=settings.DEMO_PASSWORD)
    assert creator is not None and creator.influencer.platform_id == "ks-000003"


def test_logins_are_refused_when_debug_is_off():
    assert settings.DEBUG is False

    with pytest.raises(CommandError, match=re.escape(LOGINS_NEED_DEBUG)):
        call_command("seed_demo", influencers=CREATORS, days=DAYS, no_progress=True, stdout=StringIO())
    with pytest.raises(DemoRefused, match=re.escape(LOGINS_NEED_DEBUG)):
        seed_population(influencers=CREATORS, days=DAYS, seed=7, logins=True)

    assert not Influencer.objects.exists()


def test_data_without_logins_is_allowed_when_debug_is_off():
    call_command("seed_demo", influencers=CREATORS, days=DAYS, no_logins=True, no_progress=True, stdout=StringIO())

    assert Influencer.objects.count() == CREATORS
    assert not get_user_model().objects.exists()


def test_if_empty_leaves_a_populated_database_alone(seeded):
    before = _snapshot()
    out = StringIO()

    call_command("seed_demo", influencers=10, days=5, seed=99, if_empty=True, no_logins=True, stdout=out)

    assert "nothing was seeded" in out.getvalue()
    assert _snapshot() == before


def test_a_populated_database_is_refused_without_replace(seeded):
    message = ALREADY_POPULATED.format(count=CREATORS)

    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("seed_demo", influencers=10, days=5, no_logins=True, no_progress=True, stdout=StringIO())

    assert Influencer.objects.count() == CREATORS
