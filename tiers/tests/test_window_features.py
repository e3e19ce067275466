"""The one-pass window aggregate equals a full recomputation from the daily rows, on random creators and days."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiers.choices import Category
from tiers.models import DailyMetric
from tiers.selectors import window_features
from tiers.tests.factories import InfluencerFactory

pytestmark = pytest.mark.django_db

WINDOW = 30
CENT = Decimal("0.01")

_money = st.integers(0, 500_000).map(lambda cents: Decimal(cents) / 100)
_rate = st.integers(0, 10_000).map(lambda basis: Decimal(basis) / 10_000)
_day = st.fixed_dictionaries({
    "live_gmv": _money, "video_gmv": _money, "storefront_gmv": _money,
    "followers": st.integers(0, 10**7), "orders": st.integers(0, 500),
    "live_sessions": st.integers(0, 3), "big_live_sessions": st.integers(0, 2),
    "videos_posted": st.integers(0, 4), "entertainment_videos": st.integers(0, 4),
    "reputation_score": st.none() | st.integers(0, 500).map(lambda n: Decimal(n) / 100),
    "repeat_buyer_rate": _rate, "refund_rate": _rate,
    # whole yuan per category, so the float category sums are exact
    "category_gmv": st.dictionaries(st.sampled_from(Category.values), st.integers(0, 5_000), max_size=3),
})
# A creator's days: which day (days ago; beyond the window too) and its figures. None: the creator has no rows.
_creator = st.dictionaries(st.integers(0, WINDOW + 10), _day, max_size=12)
# Late corrections, applied after the first aggregation: a day's figures replaced, or the day withdrawn (None).
_corrections = st.dictionaries(st.integers(0, WINDOW + 10), st.none() | _day, max_size=4)


def _row(creator, date, day) -> DailyMetric:
    gmv = day["live_gmv"] + day["video_gmv"] + day["storefront_gmv"]
    return DailyMetric(influencer=creator, date=date, gmv=gmv, **{k: v for k, v in day.items()
                                                                  if k != "category_gmv"},
                       category_gmv={c: str(amount) for c, amount in day["category_gmv"].items()})


def _recomputed(days: dict, today: datetime.date, onboarded: datetime.date) -> dict | None:
    """Every feature, written out from the creator's days in the window (independently of the SQL)."""
    window = {ago: day for ago, day in days.items() if ago < WINDOW}
    if not window:
        return None
    gmv_of = {ago: day["live_gmv"] + day["video_gmv"] + day["storefront_gmv"] for ago, day in window.items()}
    gmv = sum(gmv_of.values(), Decimal(0))
    latest = min(window)
    rated = [ago for ago, day in window.items() if day["reputation_score"] is not None]
    categories = {}
    for day in window.values():
        for category, amount in day["category_gmv"].items():
            categories[category] = categories.get(category, 0) + amount
    top = min(categories, key=lambda c: (-categories[c], c)) if categories else None

    def rate(name):
        weighted = sum((day[name] * gmv_of[ago] for ago, day in window.items()), Decimal(0))
        return min(1.0, max(0.0, float(weighted) / float(gmv))) if gmv > 0 else 0.0

    return {
        "days_since_onboarding": (today - onboarded).days,
        "active_days": sum(1 for value in gmv_of.values() if value > 0),
        "orders": sum(day["orders"] for day in window.values()),
        "gmv": gmv.quantize(CENT),
        "live_gmv": sum((day["live_gmv"] for day in window.values()), Decimal(0)).quantize(CENT),
        "video_gmv": sum((day["video_gmv"] for day in window.values()), Decimal(0)).quantize(CENT),
        "storefront_gmv": sum((day["storefront_gmv"] for day in window.values()), Decimal(0)).quantize(CENT),
        "big_live_gmv": sum((gmv_of[ago] for ago, day in window.items() if day["big_live_sessions"] > 0),
                            Decimal(0)).quantize(CENT),
        "followers": window[latest]["followers"],
        "reputation": window[min(rated)]["reputation_score"].quantize(CENT) if rated else None,
        "top_category": top,
        "top_category_gmv": Decimal(categories.get(top, 0)).quantize(CENT),
        "live_days": sum(1 for day in window.values() if day["live_sessions"] > 0),
        "live_sessions": sum(day["live_sessions"] for day in window.values()),
        "big_live_days": sum(1 for day in window.values() if day["big_live_sessions"] > 0),
        "videos_posted": sum(day["videos_posted"] for day in window.values()),
        "entertainment_videos": sum(day["entertainment_videos"] for day in window.values()),
        "repeat_buyer_rate": pytest.approx(rate("repeat_buyer_rate")),
        "refund_rate": pytest.approx(rate("refund_rate")),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(creators=st.lists(st.tuples(_creator, _corrections), min_size=1, max_size=4))
def test_the_window_aggregate_equals_a_recomputation_from_the_days_after_late_corrections(creators, today):
    # The aggregate keeps no state between calls: the corrections are rows replaced, added and withdrawn in place,
    # which the one pass must read as they now stand.
    # given a few creators, each with some days (none at all, or only outside the window: appearing and gone)
    made = []
    for days, _corrections_of in creators:
        creator = InfluencerFactory(onboarded_on=today - datetime.timedelta(days=60))
        DailyMetric.objects.bulk_create([_row(creator, today - datetime.timedelta(days=ago), day)
                                         for ago, day in days.items()])
        made.append(creator)
    first_id, last_id = made[0].pk, made[-1].pk
    onboarded = {creator.pk: creator.onboarded_on for creator in made}

    # when late corrections arrive: a past day's figures replaced, a day withdrawn, a day that was missing added
    for creator, (days, corrections) in zip(made, creators):
        for ago, day in corrections.items():
            date = today - datetime.timedelta(days=ago)
            DailyMetric.objects.filter(influencer=creator, date=date).delete()
            if day is None:
                days.pop(ago, None)
            else:
                _row(creator, date, day).save()
                days[ago] = day

    # then the chunk's aggregate is, creator by creator, what the days now in the window say
    features = window_features(first_id=first_id, last_id=last_id, today=today, window_days=WINDOW,
                               onboarded=onboarded)
    for creator, (days, _) in zip(made, creators):
        expected = _recomputed(days, today, creator.onboarded_on)
        if expected is None:
            assert creator.pk not in features
            continue
        got = features[creator.pk]
        assert {name: getattr(got, name) for name in expected} == expected
