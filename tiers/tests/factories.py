"""factory_boy factories for the tier engine's models."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from tiers.choices import Category
from tiers.models import DailyMetric, Influencer
from tiers.rules import Features


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("ladder-test-pass")


class FeaturesFactory(factory.Factory):
    """One creator's window features, as the pure rules read them: by default a settled, rated,
    active tail creator selling mostly through short video. Tests pass what they need changed."""

    class Meta:
        model = Features

    days_since_onboarding, active_days, orders, followers = 200, 25, 800, 120_000
    # ¥50k in the window: a fifth live, the rest short video and storefront; no big live events
    gmv, live_gmv, video_gmv, storefront_gmv = Decimal("50000"), Decimal("10000"), Decimal("20000"), Decimal("15000")
    big_live_gmv, top_category, top_category_gmv = Decimal("0"), Category.BEAUTY.value, Decimal("25000")
    live_days, live_sessions, big_live_days, videos_posted, entertainment_videos = 4, 4, 0, 30, 3
    reputation, repeat_buyer_rate, refund_rate = Decimal("4.5"), 0.1, 0.05


class InfluencerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Influencer

    platform_id = factory.Sequence(lambda n: f"ks-test-{n:06d}")
    handle = factory.Sequence(lambda n: f"creator_{n}")
    display_name = factory.Sequence(lambda n: f"达人{n}")
    onboarded_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=200))
    main_category = Category.BEAUTY


class DailyMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyMetric

    influencer = factory.SubFactory(InfluencerFactory)
    date = factory.LazyFunction(timezone.localdate)
    followers = 10_000
    gmv = Decimal("1000.00")
    live_gmv = Decimal("600.00")
    video_gmv = Decimal("300.00")
    storefront_gmv = Decimal("100.00")
    orders = 20
    reputation_score = Decimal("4.50")
    category_gmv = factory.LazyAttribute(lambda m: {m.influencer.main_category or "beauty": str(m.gmv)})


def metric_days(influencer, *, days, end=None, gmv="1000", live_share="0.6", video_share="0.3", followers=10_000,
                reputation="4.50", live_sessions=1, big_live_sessions=0, videos_posted=1, entertainment_videos=0,
                repeat_buyer_rate="0.30", category=None, orders=20):
    """`days` consecutive daily rows ending `end` (today by default), all alike; bulk-created."""
    end = end or timezone.localdate()
    gmv = Decimal(gmv)
    live = (gmv * Decimal(live_share)).quantize(Decimal("0.01"))
    video = (gmv * Decimal(video_share)).quantize(Decimal("0.01"))
    rows = [
        DailyMetric(
            influencer=influencer,
            date=end - datetime.timedelta(days=offset),
            followers=followers,
            gmv=gmv,
            live_gmv=live,
            video_gmv=video,
            storefront_gmv=gmv - live - video,
            orders=orders if gmv > 0 else 0,
            live_sessions=live_sessions,
            live_minutes=live_sessions * 120,
            big_live_sessions=big_live_sessions,
            videos_posted=videos_posted,
            entertainment_videos=entertainment_videos,
            reputation_score=Decimal(reputation) if reputation is not None else None,
            repeat_buyer_rate=Decimal(repeat_buyer_rate),
            category_gmv={(category or influencer.main_category or "beauty"): str(gmv)},
        )
        for offset in range(days)
    ]
    return DailyMetric.objects.bulk_create(rows)
