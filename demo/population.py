"""Synthetic demo population (creators, daily metrics, demo logins) shaped to the default tier policy."""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from numpy.dtypes import StringDType
from tqdm import tqdm

from core import bulk
from tiers.choices import Category, InfluencerStatus
from tiers.models import DailyMetric, Influencer

from .programmes import seed_coaching_demo

ALREADY_POPULATED = (
    "The database already has {count} influencers. Pass --replace to delete them and their metrics "
    "first, or --if-empty to leave a populated database alone."
)
LOGINS_NEED_DEBUG = (
    "Refusing to create demo logins while DEBUG is off: they all share the published demo password. "
    "Pass --no-logins to seed the data without logins."
)


class DemoRefused(Exception):
    """The database or settings are not fit for seeding; the message says what to do instead."""


@dataclass(frozen=True)
class SeedResult:
    influencers: int
    metrics: int
    logins: int
    days: int
    seed: int
    seconds: float


# The random stream is split per chunk of this many creators (one generator per chunk, seeded with
# (seed, chunk number)), so the chunk size is part of what a seed means: changing it changes the data.
CHUNK_SIZE = 5_000
# The default policy's window; targets below are per this many days.
WINDOW_DAYS = 30
OPS_USERNAME = "ops"
CREATOR_LOGINS = 20
OPS_GROUP = "ops"  # made by a migration, with exactly the permissions creator-ops staff need
ANALYST_USERNAME = "analyst"
ANALYST_GROUP = "analysts"  # made by a migration: reads everything ops read, changes nothing

# --- the population's shape ------------------------------------------------------------------
# Calibrated against BRIEF's default policy (newcomer < 30 days or < 7 active days; mid at 100k
# GMV or 500k followers with 30k; head at 3M or 5M followers with 1M; reputation floor 4.0) to give
# about 1% head, 11% mid, 66% tail and 22% newcomer. The tier engine owns the policy; these only
# shape the data.

RECENT_SHARE = 0.15  # onboarded within the window: newcomers by age
SPARSE_SHARE = 0.07  # onboarded long ago but selling on fewer than 7 days: newcomers by thin data
EDGE_SHARE = 0.04  # judged creators placed close to the mid or head line, to show gaps and warnings
LOW_REPUTATION_SHARE = 0.10  # below the 4.0 floor whatever their GMV
PAUSED_SHARE = 0.006
# log10 of a judged creator's 30-day GMV in yuan: heavy tailed, median about ¥5,000.
GMV_LOG10_MEAN, GMV_LOG10_SD = 3.72, 1.22
NEWCOMER_GMV_LOG10_SHIFT = -0.4
MID_LINE, HEAD_LINE = 100_000, 3_000_000

# Each archetype meets exactly one type rule clearly, so every type shows up in every tier; the
# few generalists meet none (the engine still picks their strongest score).
PERSONA, VERTICAL, SEEDING, ENTERTAINMENT_CONTENT, ENTERTAINMENT_EVENTS, GENERALIST = range(6)
ARCHETYPE_SHARES = np.array([0.27, 0.23, 0.25, 0.11, 0.10, 0.04])


def _by_archetype(*pairs):
    """(low, high) per archetype, in archetype order, as two arrays."""
    low, high = zip(*pairs)
    return np.array(low, dtype=float), np.array(high, dtype=float)


# Live's share of GMV. Vertical and generalist stay near 55%: below the persona line, and leaving
# short video + storefront under half so they are not seeding either. Event-driven creators get
# theirs from their big-live share (below).
LIVE_SHARE = _by_archetype((0.65, 0.90), (0.50, 0.60), (0.05, 0.40), (0.55, 0.75), (0.0, 0.0), (0.50, 0.60))
TOP_CATEGORY_SHARE = _by_archetype((0.35, 0.62), (0.78, 0.95), (0.35, 0.62), (0.35, 0.62), (0.35, 0.62), (0.34, 0.55))
REPEAT_BUYER_RATE = _by_archetype((0.28, 0.55), (0.08, 0.24), (0.10, 0.30), (0.04, 0.18), (0.04, 0.18), (0.08, 0.22))
ENTERTAINMENT_VIDEO_SHARE = _by_archetype(
    (0.0, 0.25), (0.0, 0.20), (0.05, 0.35), (0.70, 0.95), (0.30, 0.90), (0.10, 0.40)
)
VIDEOS_PER_DAY = _by_archetype((0.2, 0.8), (0.3, 1.2), (1.5, 4.0), (1.0, 3.0), (0.5, 2.0), (0.5, 1.5))
# Persona creators sell (and go live) on most days: the rule wants 12 live days in the window.
ACTIVE_DAY_PROBABILITY = _by_archetype(
    (0.72, 0.97), (0.45, 0.95), (0.40, 0.95), (0.40, 0.90), (0.40, 0.90), (0.40, 0.90)
)
# Short video's part of (short video + storefront) GMV.
VIDEO_SPLIT = _by_archetype((0.2, 0.5), (0.2, 0.5), (0.45, 0.8), (0.4, 0.7), (0.3, 0.6), (0.3, 0.6))
LIVE_DAY_PROBABILITY = np.array([0.92, 0.60, 0.30, 0.30, 0.10, 0.50])  # of active days
FOLLOWER_BONUS_LOG10 = np.array([0.1, 0.0, 0.25, 0.6, 0.5, 0.0])  # entertainers draw audiences
BIG_LIVE_SHARE = (0.60, 0.80)  # event-driven creators: GMV share of their 1–3 big live days

CATEGORIES = [choice.value for choice in Category]
CATEGORY_SHARES = np.array([0.18, 0.20, 0.15, 0.10, 0.07, 0.12, 0.08, 0.10])
AVERAGE_ORDER_YUAN = np.array([90, 110, 45, 70, 600, 80, 350, 95], dtype=float)
REFUND_RATE = (
    np.array([0.03, 0.08, 0.01, 0.02, 0.04, 0.02, 0.02, 0.01]),
    np.array([0.10, 0.22, 0.05, 0.08, 0.14, 0.08, 0.07, 0.06]),
)

# Display names are built from these (hanzi, pinyin) pieces; handles from the pinyin.
SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
    ("朱", "zhu"), ("马", "ma"), ("胡", "hu"), ("郭", "guo"), ("林", "lin"), ("何", "he"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
]
GIVEN = [
    ("小", "xiao"), ("美", "mei"), ("佳", "jia"), ("欣", "xin"), ("雨", "yu"), ("婷", "ting"),
    ("强", "qiang"), ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("丽", "li"), ("静", "jing"),
    ("敏", "min"), ("燕", "yan"), ("明", "ming"), ("超", "chao"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("琳", "lin"), ("晨", "chen"), ("阳", "yang"), ("思", "si"), ("乐", "le"),
    ("彤", "tong"), ("浩", "hao"), ("宇", "yu"), ("萱", "xuan"), ("倩", "qian"), ("辉", "hui"),
]
SHOP_SUFFIXES = ["严选", "好物", "的小店", "优选", "工厂店", "源头好货", "直播间", "生活馆", "说好物", "种草记"]

# The first creators carry the demo logins (creator1 … creator20), so they are chosen to show
# every tier and type and the interesting edges rather than drawn at random.
_SHOWCASE = [
    dict(archetype=PERSONA, gmv=8_200_000, reputation=4.82, followers=6_300_000),
    dict(archetype=VERTICAL, gmv=4_600_000, reputation=4.71, category="jade"),
    dict(archetype=ENTERTAINMENT_EVENTS, gmv=1_800_000, reputation=4.55, followers=12_500_000),
    dict(archetype=PERSONA, gmv=420_000, reputation=4.63),
    dict(archetype=SEEDING, gmv=260_000, reputation=4.48, category="beauty"),
    dict(archetype=VERTICAL, gmv=185_000, reputation=4.39, category="fresh"),
    dict(archetype=ENTERTAINMENT_CONTENT, gmv=62_000, reputation=4.41, followers=930_000),
    dict(archetype=PERSONA, gmv=104_000, reputation=4.22, growth=-0.012),  # just above the mid line
    dict(archetype=SEEDING, gmv=86_000, reputation=4.35, growth=-0.015),  # between keep and promote
    dict(archetype=PERSONA, gmv=2_720_000, reputation=4.68, growth=0.01),  # close to head
    dict(archetype=PERSONA, gmv=21_000, reputation=4.52),
    dict(archetype=VERTICAL, gmv=8_400, reputation=4.31, category="food"),
    dict(archetype=SEEDING, gmv=3_100, reputation=4.18),
    dict(archetype=ENTERTAINMENT_CONTENT, gmv=1_600, reputation=4.27),
    dict(archetype=SEEDING, gmv=310_000, reputation=3.72),  # mid-level sales, reputation too low
    dict(archetype=SEEDING, gmv=24_000, reputation=4.44, age=10),
    dict(archetype=PERSONA, gmv=150_000, reputation=4.58, age=3),  # strong start, still a newcomer
    dict(archetype=VERTICAL, gmv=6_000, reputation=4.12, sparse_days=4),
    dict(archetype=VERTICAL, gmv=94_000, reputation=4.36, category="mother_baby", growth=0.012),
    dict(archetype=SEEDING, gmv=5_500, reputation=4.21, paused_days=6),
]

_TEXT = StringDType()
_TWO_DIGITS = np.array([f"{k:02d}" for k in range(100)], dtype=_TEXT)
_FOUR_DIGITS = np.array([f"{k:04d}" for k in range(10_000)], dtype=_TEXT)
METRIC_COLUMNS = (
    "influencer_id", "date", "followers", "gmv", "live_gmv", "video_gmv", "storefront_gmv", "orders",
    "live_sessions", "live_minutes", "big_live_sessions", "videos_posted", "entertainment_videos",
    "reputation_score", "refund_rate", "repeat_buyer_rate", "category_gmv",
)
INFLUENCER_COLUMNS = (
    "id", "created_at", "updated_at", "platform_id", "handle", "display_name", "onboarded_on",
    "main_category", "status",
)


# --- the entry point -------------------------------------------------------------------------


def seed_population(
    *,
    influencers: int,
    days: int,
    seed: int,
    progress: bool = False,
    replace: bool = False,
    logins: bool = False,
) -> SeedResult:
    """Write `influencers` creators with `days` of daily metrics ending today, in one transaction.

    Refuses (DemoRefused) when influencers exist and `replace` is off, and when `logins` is asked
    for with DEBUG off. The same seed gives the same rows on any database.
    """
    if influencers < 1 or days < 1:
        raise ValueError("influencers and days must be at least 1")
    if logins and not settings.DEBUG:
        raise DemoRefused(LOGINS_NEED_DEBUG)
    started = time.perf_counter()
    today = timezone.localdate()
    with transaction.atomic():
        existing = Influencer.objects.count()
        if existing and not replace:
            raise DemoRefused(ALREADY_POPULATED.format(count=existing))
        if existing:
            _delete_population()
        writer = (_CopyWriter if connection.vendor == "postgresql" else _InsertWriter)(influencers)
        rendered = (
            writer.render(chunk)
            for chunk in _chunks(influencers=influencers, days=days, seed=seed, today=today)
        )
        metrics = 0
        with tqdm(total=influencers, unit="creators", file=sys.stderr, disable=not progress) as bar:
            for rows in _ahead(rendered):
                metrics += writer.write(rows)
                bar.update(rows.influencers)
        writer.finish()
        login_count = demo_logins_ensure(password=settings.DEMO_PASSWORD) if logins else 0
        seed_coaching_demo(seed=seed)
    return SeedResult(
        influencers=influencers,
        metrics=metrics,
        logins=login_count,
        days=days,
        seed=seed,
        seconds=time.perf_counter() - started,
    )


def demo_logins_ensure(*, password: str) -> int:
    """Create or update `ops`, `analyst` and creator1…creator20 (linked to the first creators); returns the count."""
    User = get_user_model()
    # One hash for every demo login: they share the password anyway, and hashing is the slow part.
    hashed = make_password(password)
    for username, group in ((OPS_USERNAME, OPS_GROUP), (ANALYST_USERNAME, ANALYST_GROUP)):
        # Ordinary staff users in their role's group: the demo shows what each role really may do, no more.
        staff, _ = User.objects.update_or_create(
            username=username,
            defaults={"password": hashed, "is_staff": True, "is_superuser": False, "is_active": True},
        )
        staff.user_permissions.clear()
        staff.groups.set([Group.objects.get(name=group)])
    first_creators = list(Influencer.objects.order_by("platform_id").values_list("pk", "display_name")[:CREATOR_LOGINS])
    for number, (influencer_id, display_name) in enumerate(first_creators, start=1):
        user, _ = User.objects.update_or_create(
            username=f"creator{number}",
            defaults={
                "password": hashed,
                "first_name": display_name[:150],
                "is_staff": False,
                "is_superuser": False,
                "is_active": True,
            },
        )
        Influencer.objects.filter(user=user).exclude(pk=influencer_id).update(user=None)
        Influencer.objects.filter(pk=influencer_id).update(user=user)
    return 2 + len(first_creators)


def _delete_population() -> None:
    influencer_table = connection.ops.quote_name(Influencer._meta.db_table)
    metric_table = connection.ops.quote_name(DailyMetric._meta.db_table)
    if connection.vendor == "postgresql":
        # TRUNCATE refuses while deferred foreign-key checks from earlier writes in this transaction
        # are pending (a caller's, or a test's): run them now.
        connection.check_constraints()
        # CASCADE also empties whatever hangs off creators (decisions, overrides, enrolments).
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {metric_table}, {influencer_table} RESTART IDENTITY CASCADE")
        return
    # The metrics go in one statement; the ORM then cascades to anything else that points at creators.
    DailyMetric.objects.all().delete()
    Influencer.objects.all().delete()


# --- generation: pure numpy, no database -----------------------------------------------------


@dataclass
class Chunk:
    """One chunk of generated rows, every value already as database text.

    Metric rows are grouped by creator and dated ascending; `owner[k]` is the position in this
    chunk of the creator metric row k belongs to (ids are the writer's business).
    """

    start: int
    influencers: dict[str, list[str]]
    owner: np.ndarray
    metrics: dict[str, np.ndarray]  # StringDType columns, METRIC_COLUMNS minus influencer_id
    reputation_missing: np.ndarray

    @property
    def size(self) -> int:
        return len(self.influencers["platform_id"])


def _chunks(*, influencers: int, days: int, seed: int, today: dt.date):
    for chunk_index, start in enumerate(range(0, influencers, CHUNK_SIZE)):
        size = min(CHUNK_SIZE, influencers - start)
        yield generate_chunk(seed=seed, chunk_index=chunk_index, start=start, size=size, days=days, today=today)


def generate_chunk(*, seed: int, chunk_index: int, start: int, size: int, days: int, today: dt.date) -> Chunk:
    rng = np.random.default_rng([seed, chunk_index])
    creators = _creators(rng, start=start, size=size)
    daily = _daily(rng, creators, days=days)
    return _as_text(rng, creators, daily, start=start, days=days, today=today)


def _uniform(rng, bounds, archetype):
    low, high = bounds
    return low[archetype] + (high[archetype] - low[archetype]) * rng.random(len(archetype))


def _creators(rng, *, start: int, size: int) -> dict[str, np.ndarray]:
    n = size
    archetype = rng.choice(len(ARCHETYPE_SHARES), size=n, p=ARCHETYPE_SHARES)
    cohort = rng.random(n)
    recent = cohort < RECENT_SHARE
    sparse = (cohort >= RECENT_SHARE) & (cohort < RECENT_SHARE + SPARSE_SHARE)
    age = np.where(
        recent,
        rng.integers(0, WINDOW_DAYS, n),
        WINDOW_DAYS + np.minimum(rng.exponential(420, n), 3000).astype(np.int64),
    )
    sparse_days = rng.integers(1, 7, n)

    log_gmv = rng.normal(GMV_LOG10_MEAN, GMV_LOG10_SD, n)
    edge = ~recent & ~sparse & (rng.random(n) < EDGE_SHARE)
    edge_line = np.where(rng.random(n) < 0.8, MID_LINE, HEAD_LINE)
    edge_gmv = np.log10(edge_line * rng.uniform(0.75, 1.2, n))
    log_gmv = np.where(edge, edge_gmv, log_gmv) + np.where(recent, NEWCOMER_GMV_LOG10_SHIFT, 0.0)
    log_gmv = np.clip(log_gmv, 2.7, 8.0)
    # Day-over-day drift of sales; edge creators move faster, half of them downwards.
    growth = np.where(
        edge,
        np.where(rng.random(n) < 0.5, -1.0, 1.0) * rng.uniform(0.005, 0.015, n),
        rng.normal(0.0, 0.006, n),
    )

    low_reputation = rng.random(n) < LOW_REPUTATION_SHARE
    reputation = np.where(low_reputation, 3.0 + 0.9 * rng.beta(2, 2, n), 4.06 + 0.9 * rng.beta(2.5, 1.5, n))
    paused = ~recent & (rng.random(n) < PAUSED_SHARE)
    paused_days = np.where(paused, rng.integers(3, 10, n), 0)
    follower_noise = rng.normal(0.0, 0.45, n)
    follower_growth = rng.normal(0.0015, 0.002, n)

    main_category = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_SHARES)
    category_keys = rng.random((n, len(CATEGORIES)))
    secondary_weights = np.sort(rng.gamma(2.0, size=(n, 3)), axis=1)[:, ::-1]
    secondaries_vertical = rng.integers(1, 3, n)
    secondaries_other = rng.integers(2, 4, n)
    order_value = rng.lognormal(0.0, 0.3, n)
    refund_u = rng.random(n)
    big_live_days = rng.integers(1, 4, n)
    big_live_share = rng.uniform(*BIG_LIVE_SHARE, n)
    big_live_extra = rng.uniform(0.05, 0.15, n)
    overrides = {}  # showcase follower counts, applied after the formula
    categories_fixed = {}

    for position in range(max(0, min(n, len(_SHOWCASE) - start))):
        spec = _SHOWCASE[start + position]
        archetype[position] = spec["archetype"]
        log_gmv[position] = np.log10(spec["gmv"])
        reputation[position] = spec["reputation"]
        age[position] = spec.get("age", 400 + 37 * position)
        recent[position] = spec.get("age", WINDOW_DAYS) < WINDOW_DAYS
        sparse[position] = "sparse_days" in spec
        sparse_days[position] = spec.get("sparse_days", 1)
        growth[position] = spec.get("growth", 0.0)
        paused[position] = "paused_days" in spec
        paused_days[position] = spec.get("paused_days", 0)
        if "followers" in spec:
            overrides[position] = spec["followers"]
        if "category" in spec:
            categories_fixed[position] = CATEGORIES.index(spec["category"])
    for position, category in categories_fixed.items():
        main_category[position] = category

    gmv = 10.0**log_gmv
    log_followers = 2.1 + 0.55 * log_gmv + FOLLOWER_BONUS_LOG10[archetype] + follower_noise
    followers = np.clip(10.0**log_followers, 30, 2e8)
    for position, count in overrides.items():
        followers[position] = count

    # Category mix: the main category takes the top share, up to three others split the rest.
    vertical = archetype == VERTICAL
    top_share = _uniform(rng, TOP_CATEGORY_SHARE, archetype)
    category_keys[np.arange(n), main_category] = -1.0
    others = np.argsort(category_keys, axis=1)[:, 1:4]
    secondary_count = np.where(vertical, secondaries_vertical, secondaries_other)
    secondary_weights = secondary_weights * (np.arange(3)[None, :] < secondary_count[:, None])
    secondary_weights /= secondary_weights.sum(axis=1, keepdims=True)
    category_share = np.zeros((n, len(CATEGORIES)))
    category_share[np.arange(n), main_category] = top_share
    np.put_along_axis(category_share, others, (1 - top_share)[:, None] * secondary_weights, axis=1)

    live_share = _uniform(rng, LIVE_SHARE, archetype)
    events = archetype == ENTERTAINMENT_EVENTS
    big_share = np.where(events, big_live_share, 0.0)
    live_share = np.where(events, big_share + big_live_extra, live_share)

    columns = {
        "index": start + np.arange(n),
        "archetype": archetype,
        "sparse": sparse,
        "sparse_days": sparse_days,
        "age": age,
        "gmv": gmv,
        "growth": growth,
        "reputation": reputation,
        "paused": paused,
        "paused_days": paused_days,
        "followers": followers,
        "follower_growth": follower_growth,
        "category_share": category_share,
        "main_category": np.argmax(category_share, axis=1),
        "order_value": AVERAGE_ORDER_YUAN[main_category] * order_value,
        "refund_rate": REFUND_RATE[0][main_category] + (REFUND_RATE[1] - REFUND_RATE[0])[main_category] * refund_u,
        "live_share": live_share,
        "big_share": big_share,
        "big_live_days": np.where(events, big_live_days, 0),
        "repeat_buyer_rate": _uniform(rng, REPEAT_BUYER_RATE, archetype),
        "entertainment_share": _uniform(rng, ENTERTAINMENT_VIDEO_SHARE, archetype),
        "videos_per_day": _uniform(rng, VIDEOS_PER_DAY, archetype),
        "video_split": _uniform(rng, VIDEO_SPLIT, archetype),
        "active_probability": np.clip(
            _uniform(rng, ACTIVE_DAY_PROBABILITY, archetype) + 0.04 * (log_gmv - 4.0), 0.3, 0.98
        ),
        "live_probability": LIVE_DAY_PROBABILITY[archetype],
    }
    return columns


def _pick_days(rng, allowed: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per row, `count` distinct random columns among the allowed ones (fewer if fewer are allowed)."""
    keys = np.where(allowed, rng.random(allowed.shape), 2.0)
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return allowed & (ranks < count[:, None])


def _spread(weights: np.ndarray, in_window: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Whole cents per day: the window's days sum to `target` yuan, days before it follow the same scale."""
    total = (weights * in_window).sum(axis=1)
    scale = np.divide(target * 100.0, total, out=np.zeros_like(total), where=total > 0)
    return np.rint(weights * scale[:, None]).astype(np.int64)


def _daily(rng, c: dict[str, np.ndarray], *, days: int) -> dict[str, np.ndarray]:
    n = len(c["index"])
    day = np.arange(days)[None, :]
    onboard_day = (days - 1) - c["age"]
    exists = day >= onboard_day[:, None]
    window = np.broadcast_to(day >= days - WINDOW_DAYS, exists.shape)
    exists_in_window = exists & window
    noise = rng.random((n, days))
    live_noise = rng.random((n, days))

    # Selling days.
    active = exists & (noise < c["active_probability"][:, None])
    sparse_active = np.where(
        window, _pick_days(rng, exists_in_window, c["sparse_days"]), exists & (noise < 0.1)
    )
    active = np.where(c["sparse"][:, None], sparse_active, active)
    big = np.where(
        window,
        _pick_days(rng, exists_in_window, c["big_live_days"]),
        exists & (live_noise < c["big_live_days"][:, None] / WINDOW_DAYS),
    )
    big = np.where(c["sparse"][:, None], big & active, big)
    active |= big
    paused = day >= (days - c["paused_days"])[:, None]
    active &= ~paused
    big &= ~paused
    live = (active & (live_noise < c["live_probability"][:, None])) | big

    # Money, in cents: each channel's window total is fixed, the days share it by noisy weights.
    trend = np.exp(c["growth"][:, None] * (day - (days - 1)))
    days_in_window = exists_in_window.sum(axis=1)
    base = c["gmv"] * days_in_window / WINDOW_DAYS
    live_weights = (live & ~big) * rng.lognormal(0.0, 0.55, (n, days)) * trend
    big_weights = big * rng.uniform(0.7, 1.3, (n, days)) * trend
    rest_weights = active * rng.lognormal(0.0, 0.55, (n, days)) * trend
    target_big = base * c["big_share"]
    target_live = base * (c["live_share"] - c["big_share"])
    target_rest = base * (1.0 - c["live_share"])
    # Whatever a channel cannot place (no such days in the window) moves to one that can.
    no_big = (big_weights * window).sum(axis=1) == 0
    target_live, target_big = target_live + target_big * no_big, target_big * ~no_big
    no_live = (live_weights * window).sum(axis=1) == 0
    has_big = ~no_big
    target_big = target_big + target_live * (no_live & has_big)
    target_rest = target_rest + target_live * (no_live & ~has_big)
    target_live = target_live * ~no_live

    live_cents = _spread(live_weights, window, target_live) + _spread(big_weights, window, target_big)
    rest_cents = _spread(rest_weights, window, target_rest)
    video_part = np.clip(c["video_split"][:, None] + rng.normal(0.0, 0.08, (n, days)), 0.0, 1.0)
    video_cents = np.rint(rest_cents * video_part).astype(np.int64)
    storefront_cents = rest_cents - video_cents
    gmv_cents = live_cents + video_cents + storefront_cents

    # Category split of each day's GMV; the top category takes the rounding remainder.
    share = c["category_share"][:, None, :] * rng.lognormal(0.0, 0.25, (n, days, len(CATEGORIES)))
    share /= share.sum(axis=2, keepdims=True)
    category_cents = np.floor(gmv_cents[:, :, None] * share).astype(np.int64)
    top = c["main_category"]
    category_cents[np.arange(n), :, top] = 0
    category_cents[np.arange(n), :, top] = gmv_cents - category_cents.sum(axis=2)

    order_value = c["order_value"][:, None] * rng.lognormal(0.0, 0.15, (n, days))
    orders = np.where(gmv_cents > 0, np.maximum(1, np.rint(gmv_cents / 100.0 / order_value)), 0).astype(np.int64)

    persona = (c["archetype"] == PERSONA)[:, None]
    sessions = live * (1 + (persona & (rng.random((n, days)) < 0.3))) + (big & (rng.random((n, days)) < 0.3))
    minutes_per_session = np.where(persona, rng.uniform(90, 240, (n, days)), rng.uniform(45, 150, (n, days)))
    minutes = np.rint(sessions * minutes_per_session + big * rng.uniform(240, 480, (n, days))).astype(np.int64)

    videos = np.minimum(rng.poisson(c["videos_per_day"][:, None], (n, days)), 40) * exists
    entertainment_videos = rng.binomial(videos, c["entertainment_share"][:, None])

    steps = rng.normal(0.0, 0.003, (n, days))
    # Followers are anchored today and drift backwards in time; the step noise accumulates.
    later_steps = np.cumsum(steps[:, ::-1], axis=1)[:, ::-1] - steps
    followers = np.rint(
        c["followers"][:, None] * np.exp(c["follower_growth"][:, None] * (day - (days - 1)) - later_steps)
    ).astype(np.int64)

    reputation = np.clip(c["reputation"][:, None] + np.clip(rng.normal(0, 0.012, (n, days)), -0.03, 0.03), 0, 5)
    # The platform rates a seller only after a few days of trading.
    unrated = (day - onboard_day[:, None]) < 3
    refund = np.clip(c["refund_rate"][:, None] + rng.normal(0, 0.005, (n, days)), 0, 1)
    repeat = np.clip(c["repeat_buyer_rate"][:, None] + rng.normal(0, 0.01, (n, days)), 0, 1)

    return {
        "exists": exists,
        "followers": followers,
        "gmv": gmv_cents,
        "live_gmv": live_cents,
        "video_gmv": video_cents,
        "storefront_gmv": storefront_cents,
        "orders": orders,
        "live_sessions": sessions.astype(np.int64),
        "live_minutes": minutes,
        "big_live_sessions": big.astype(np.int64),
        "videos_posted": videos,
        "entertainment_videos": entertainment_videos,
        "reputation_score": np.rint(reputation * 100).astype(np.int64),
        "reputation_missing": unrated,
        "refund_rate": np.rint(refund * 10_000).astype(np.int64),
        "repeat_buyer_rate": np.rint(repeat * 10_000).astype(np.int64),
        "category_gmv": category_cents,
    }


# --- generated numbers as database text ------------------------------------------------------


def _fixed_text(values: np.ndarray, places: int) -> np.ndarray:
    """Whole hundredths (places=2) or ten-thousandths (places=4) as exact decimal text."""
    unit, digits = (100, _TWO_DIGITS) if places == 2 else (10_000, _FOUR_DIGITS)
    return np.strings.add(np.strings.add((values // unit).astype(_TEXT), "."), digits[values % unit])


def _category_json(cents: np.ndarray) -> np.ndarray:
    """{"beauty": "1234.50", ...} per row, categories with no sales left out."""
    text = np.full(len(cents), "", dtype=_TEXT)
    for k, name in enumerate(CATEGORIES):
        sold = cents[:, k] > 0
        if not sold.any():
            continue
        part = np.full(len(cents), "", dtype=_TEXT)
        part[sold] = np.strings.add(np.strings.add(f', "{name}": "', _fixed_text(cents[sold, k], 2)), '"')
        text = np.strings.add(text, part)
    return np.strings.add(np.strings.add("{", np.strings.lstrip(text, ", ")), "}")


def _names(rng, size: int, index: np.ndarray) -> tuple[list[str], list[str]]:
    surname = rng.integers(0, len(SURNAMES), size)
    first = rng.integers(0, len(GIVEN), size)
    second = rng.integers(0, len(GIVEN), size)
    two_syllables = rng.random(size) < 0.6
    shop = rng.random(size) < 0.35
    suffix = rng.integers(0, len(SHOP_SUFFIXES), size)
    display_names, handles = [], []
    for k in range(size):
        given_hanzi = GIVEN[first[k]][0] + (GIVEN[second[k]][0] if two_syllables[k] else "")
        given_pinyin = GIVEN[first[k]][1] + (GIVEN[second[k]][1] if two_syllables[k] else "")
        if shop[k]:
            display_names.append(given_hanzi + SHOP_SUFFIXES[suffix[k]])
        else:
            display_names.append(SURNAMES[surname[k]][0] + given_hanzi)
        handles.append(f"{SURNAMES[surname[k]][1]}{given_pinyin}{index[k] + 1}")
    return display_names, handles


def _as_text(rng, c, d, *, start: int, days: int, today: dt.date) -> Chunk:
    size = len(c["index"])
    display_names, handles = _names(rng, size, c["index"])
    onboarded = [(today - dt.timedelta(days=int(age))).isoformat() for age in c["age"]]
    influencers = {
        "platform_id": [f"ks-{index + 1:06d}" for index in c["index"]],
        "handle": handles,
        "display_name": display_names,
        "onboarded_on": onboarded,
        "main_category": [CATEGORIES[k] for k in c["main_category"]],
        "status": [InfluencerStatus.PAUSED.value if p else InfluencerStatus.ACTIVE.value for p in c["paused"]],
    }

    rows = d["exists"]
    owner, day = np.nonzero(rows)
    dates = np.array([(today - dt.timedelta(days=days - 1 - j)).isoformat() for j in range(days)], dtype=_TEXT)
    metrics = {"date": dates[day]}
    for name in ("followers", "orders", "live_sessions", "live_minutes", "big_live_sessions", "videos_posted",
                 "entertainment_videos"):
        metrics[name] = d[name][rows].astype(_TEXT)
    for name in ("gmv", "live_gmv", "video_gmv", "storefront_gmv", "reputation_score"):
        metrics[name] = _fixed_text(d[name][rows], 2)
    for name in ("refund_rate", "repeat_buyer_rate"):
        metrics[name] = _fixed_text(d[name][rows], 4)
    metrics["category_gmv"] = _category_json(d["category_gmv"][rows])
    return Chunk(
        start=start,
        influencers=influencers,
        owner=owner,
        metrics=metrics,
        reputation_missing=d["reputation_missing"][rows],
    )


# --- writers: COPY on PostgreSQL, executemany elsewhere --------------------------------------
# A writer reserves every id up front, so rendering a chunk into rows needs no database and can
# run in the background thread; only write() and finish() touch the connection.


@dataclass(frozen=True)
class _Rendered:
    influencers: int
    metrics: int
    influencer_rows: object
    metric_rows: object


class _CopyWriter:
    """COPY text into the tables; the metrics' foreign key is checked once, after the load."""

    def __init__(self, count: int):
        self.now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
        self.ids = bulk.reserve_ids(Influencer, count)
        self.foreign_keys = bulk.foreign_keys_drop(DailyMetric, Influencer)

    def render(self, chunk: Chunk) -> _Rendered:
        ids = self.ids[chunk.start : chunk.start + chunk.size]
        influencer_rows = zip(
            map(str, ids),
            [self.now] * chunk.size,
            [self.now] * chunk.size,
            *(chunk.influencers[name] for name in INFLUENCER_COLUMNS[3:]),
        )
        metric_rows = zip(*_metric_columns(chunk, ids, null="\\N"))
        return _Rendered(
            influencers=chunk.size,
            metrics=len(chunk.owner),
            influencer_rows="".join("\t".join(row) + "\n" for row in influencer_rows),
            metric_rows="\n".join(map("\t".join, metric_rows)) + "\n",
        )

    def write(self, rendered: _Rendered) -> int:
        bulk.copy_text(Influencer, INFLUENCER_COLUMNS, rendered.influencer_rows)
        if rendered.metrics:
            bulk.copy_text(DailyMetric, METRIC_COLUMNS, rendered.metric_rows)
        return rendered.metrics

    def finish(self) -> None:
        bulk.foreign_keys_restore(DailyMetric, self.foreign_keys)


class _InsertWriter:
    """Parameterised executemany, for SQLite (and any other backend)."""

    def __init__(self, count: int):
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.first_id = bulk.reserve_ids(Influencer, 1)[0]

    def render(self, chunk: Chunk) -> _Rendered:
        ids = list(range(self.first_id + chunk.start, self.first_id + chunk.start + chunk.size))
        influencer_rows = zip(
            ids,
            [self.now] * chunk.size,
            [self.now] * chunk.size,
            *(chunk.influencers[name] for name in INFLUENCER_COLUMNS[3:]),
        )
        return _Rendered(
            influencers=chunk.size,
            metrics=len(chunk.owner),
            influencer_rows=list(influencer_rows),
            metric_rows=list(zip(*_metric_columns(chunk, ids, null=None))),
        )

    def write(self, rendered: _Rendered) -> int:
        bulk.insert_rows(Influencer, INFLUENCER_COLUMNS, rendered.influencer_rows)
        if rendered.metrics:
            bulk.insert_rows(DailyMetric, METRIC_COLUMNS, rendered.metric_rows)
        return rendered.metrics

    def finish(self) -> None:
        pass


def _metric_columns(chunk: Chunk, ids: list[int], *, null) -> list[list]:
    id_text = np.array([str(pk) for pk in ids], dtype=_TEXT)
    columns = [id_text[chunk.owner].tolist()]
    for name in METRIC_COLUMNS[1:]:
        values = chunk.metrics[name].tolist()
        if name == "reputation_score":
            for k in np.flatnonzero(chunk.reputation_missing).tolist():
                values[k] = null
        columns.append(values)
    return columns


def _ahead(items, depth: int = 2):
    """Yield from `items`, computed by a worker thread up to `depth` items ahead.

    Python builds the next chunk while the database digests this one. The worker never touches
    the database connection (Django's connections are per thread).
    """
    ready = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not offer((True, item)):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer((False, error))
            return
        offer((False, None))

    worker = threading.Thread(target=produce, name="seed-demo-generator", daemon=True)
    worker.start()
    try:
        while True:
            more, value = ready.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        worker.join()
