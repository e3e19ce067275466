"""factory_boy factories for the tier engine's models, hypothesis strategies for its rules, and test dates."""

import datetime
from decimal import ROUND_DOWN, Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from hypothesis import strategies as st

from tiers.choices import Category
from tiers.models import DailyMetric, Influencer
from tiers.rules import Features, PolicyRules

CENT = Decimal("0.01")


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


def days_before(today: datetime.date):
    """days_before(today)(n): the date n days before `today`; a fixed `today` keeps pure tests deterministic."""
    return lambda days: today - datetime.timedelta(days=days)


# --- hypothesis strategies for the pure rules ----------------------------------------------------

# Values on and around each default threshold, so properties exercise the edges, not just the middle.
money = st.one_of(
    st.sampled_from(
        [
            Decimal(x)
            for x in (
                "0",
                "29999.99",
                "30000",
                "79999.99",
                "80000",
                "100000",
                "1000000",
                "2399999.99",
                "2400000",
                "3000000",
            )
        ]
    ),
    st.integers(0, 1_000_000_000).map(lambda cents: Decimal(cents) / 100),
)
follower_counts = st.one_of(
    st.sampled_from([0, 499_999, 500_000, 4_999_999, 5_000_000]), st.integers(0, 10**7)
)
reputations = st.one_of(st.none(), st.integers(0, 50).map(lambda tenths: Decimal(tenths) / 10))
rates = st.floats(0, 1)


def part_of(whole, percent):
    return (whole * percent / 100).quantize(CENT, rounding=ROUND_DOWN)


@st.composite
def features_st(draw, newcomer=None, window_days=30):
    """Internally consistent window features: channel GMV sums to at most total GMV, and so on.

    newcomer=False draws only creators old and active enough to be judged under the default
    newcomer rule, newcomer=True only those who are not; drawing them directly beats filtering.
    """
    rule = PolicyRules.default().newcomer
    onboarding = st.one_of(st.sampled_from([0, 29, 30]), st.integers(0, 3000))
    active = st.integers(0, window_days)
    if newcomer is False:
        onboarding = st.integers(rule.min_days_since_onboarding, 3000)
        active = st.integers(rule.min_active_days, window_days)
    elif newcomer is True:
        if draw(st.booleans()):
            onboarding = st.integers(0, rule.min_days_since_onboarding - 1)
        else:
            active = st.integers(0, rule.min_active_days - 1)
    gmv = draw(money)
    live_pct, video_pct, storefront_pct = draw(st.lists(st.integers(0, 100), min_size=3, max_size=3))
    scale = max(100, live_pct + video_pct + storefront_pct)
    active_days = draw(active)
    live_days = draw(st.integers(0, window_days))
    big_live_days = draw(st.integers(0, live_days))
    videos_posted = draw(st.integers(0, 300))
    return Features(
        days_since_onboarding=draw(onboarding),
        active_days=active_days,
        orders=draw(st.integers(0, 10**6)),
        gmv=gmv,
        live_gmv=part_of(gmv, Decimal(live_pct * 100) / scale),
        video_gmv=part_of(gmv, Decimal(video_pct * 100) / scale),
        storefront_gmv=part_of(gmv, Decimal(storefront_pct * 100) / scale),
        big_live_gmv=part_of(gmv, draw(st.integers(0, 100))),
        followers=draw(follower_counts),
        reputation=draw(reputations),
        top_category=draw(st.sampled_from(Category.values)) if gmv else None,
        top_category_gmv=part_of(gmv, draw(st.integers(0, 100))),
        live_days=live_days,
        live_sessions=draw(st.integers(live_days, live_days * 3)),
        big_live_days=big_live_days,
        videos_posted=videos_posted,
        entertainment_videos=draw(st.integers(0, videos_posted)),
        repeat_buyer_rate=draw(rates),
        refund_rate=draw(rates),
    )


@st.composite
def wild_features_st(draw):
    """Anything the type system allows, however inconsistent: the rules and the playbook must still answer."""
    decimals = st.decimals(min_value=-(10**9), max_value=10**10, allow_nan=False, places=2)
    counts = st.integers(-10, 10**8)
    return Features(
        days_since_onboarding=draw(counts),
        active_days=draw(counts),
        orders=draw(counts),
        gmv=draw(decimals),
        live_gmv=draw(decimals),
        video_gmv=draw(decimals),
        storefront_gmv=draw(decimals),
        big_live_gmv=draw(decimals),
        followers=draw(counts),
        reputation=draw(
            st.one_of(st.none(), st.decimals(min_value=-1, max_value=10, allow_nan=False, places=1))
        ),
        # No braces: a category literally named "{x}" would read as a leftover placeholder in a sentence.
        top_category=draw(
            st.one_of(st.none(), st.text(alphabet=st.characters(exclude_characters="{}"), max_size=5))
        ),
        top_category_gmv=draw(decimals),
        live_days=draw(counts),
        live_sessions=draw(counts),
        big_live_days=draw(counts),
        videos_posted=draw(counts),
        entertainment_videos=draw(counts),
        repeat_buyer_rate=draw(st.floats(-1, 100)),
        refund_rate=draw(st.floats(-1, 100)),
    )
