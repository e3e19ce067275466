"""Reads for the tier engine: window features per chunk, the current policy, decision history."""

import datetime
import json
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from .choices import LADDER, Category, DecisionCause, OverrideField, PolicyStatus
from .models import Influencer, TierDecision, TierOverride, TierPolicy, TierStateChange
from .rules import NO_OVERRIDES, Features, Overrides, PolicyRules, TierState

CENT = Decimal("0.01")

# The only vendor differences: how one category's GMV is read from a day's JSON object, and how one
# parameter holding a list of ids restricts the window to some creators (a replay of a few).
_CATEGORY_GMV = {
    # Category sums only ever become a share, so a float sum is exact enough and much cheaper.
    "postgresql": "CAST(m.category_gmv ->> '{category}' AS double precision)",
    "sqlite": "CAST(json_extract(m.category_gmv, '$.{category}') AS REAL)",
}
_IN_IDS = {
    "postgresql": " AND m.influencer_id = ANY(%s)",
    "sqlite": " AND m.influencer_id IN (SELECT value FROM json_each(%s))",
}

# One aggregate query per chunk, one pass over the window's rows: sums and counts, and the sum of each
# category's GMV (categories are a fixed set, and a key lookup in each day's JSON costs far less than expanding
# it into rows to group, sort and rank: issue 14's profile); the latest followers and the latest rated
# reputation by index lookup on (influencer, date) (a join here tempts the planner into scanning the whole table).
_WINDOW_FILTER = "m.influencer_id BETWEEN %s AND %s AND m.date > %s AND m.date <= %s"
_WINDOW_SQL = """
WITH agg AS (
    SELECT m.influencer_id,
           SUM(m.gmv) AS gmv, SUM(m.live_gmv) AS live_gmv, SUM(m.video_gmv) AS video_gmv,
           SUM(m.storefront_gmv) AS storefront_gmv,
           SUM(CASE WHEN m.big_live_sessions > 0 THEN m.gmv ELSE 0 END) AS big_live_gmv,
           SUM(m.orders) AS orders,
           SUM(CASE WHEN m.gmv > 0 THEN 1 ELSE 0 END) AS active_days,
           SUM(CASE WHEN m.live_sessions > 0 THEN 1 ELSE 0 END) AS live_days,
           SUM(m.live_sessions) AS live_sessions,
           SUM(CASE WHEN m.big_live_sessions > 0 THEN 1 ELSE 0 END) AS big_live_days,
           SUM(m.videos_posted) AS videos_posted, SUM(m.entertainment_videos) AS entertainment_videos,
           SUM(m.repeat_buyer_rate * m.gmv) AS repeat_weighted, SUM(m.refund_rate * m.gmv) AS refund_weighted,
           MAX(m.date) AS last_date,
           MAX(CASE WHEN m.reputation_score IS NOT NULL THEN m.date END) AS last_rated_date,
           {category_sums}
    FROM tiers_dailymetric m
    WHERE {window}
    GROUP BY m.influencer_id
)
SELECT agg.*,
       (SELECT l.followers FROM tiers_dailymetric l
        WHERE l.influencer_id = agg.influencer_id AND l.date = agg.last_date) AS followers,
       (SELECT r.reputation_score FROM tiers_dailymetric r
        WHERE r.influencer_id = agg.influencer_id AND r.date = agg.last_rated_date) AS reputation
FROM agg
"""
# Alphabetical, as the tie between two categories of equal GMV goes to the first in this order.
_CATEGORIES = sorted(Category.values)


def window_aggregate_sql(*, some: bool = False) -> str:
    """The chunk aggregate for this database; its parameters are (first_id, last_id, start, today), plus a list
    of ids when `some`."""
    window = _WINDOW_FILTER + (_IN_IDS[connection.vendor] if some else "")
    category_gmv = _CATEGORY_GMV[connection.vendor]
    category_sums = ", ".join(f"SUM({category_gmv.format(category=category)}) AS category_{index}"
                              for index, category in enumerate(_CATEGORIES))
    return _WINDOW_SQL.format(category_sums=category_sums, window=window)


def tune_for_batch() -> None:
    """For the rest of this transaction of a batch job: enough memory to aggregate a chunk without
    spilling to disk, and no JIT, whose compile time costs more than it saves on a chunk."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")


def _money(value) -> Decimal:
    if value is None:
        return Decimal("0.00")
    if not isinstance(value, Decimal):  # SQLite sums come back as floats (or ints)
        value = Decimal(repr(round(value, 2)))
    return value.quantize(CENT)


def _rate(weighted, gmv: Decimal) -> float:
    return min(1.0, max(0.0, float(weighted or 0) / float(gmv))) if gmv > 0 else 0.0


def _top_category(row: dict) -> tuple[str | None, float | None]:
    """The category with the most GMV in the window (the alphabetically first of equals), and its GMV; a category
    no day names is not a candidate, one named with 0 is."""
    top, top_gmv = None, None
    for index, category in enumerate(_CATEGORIES):
        gmv = row[f"category_{index}"]
        if gmv is not None and (top_gmv is None or gmv > top_gmv):
            top, top_gmv = category, gmv
    return top, top_gmv


def window_start(today: datetime.date, window_days: int) -> datetime.date:
    """The window is the `window_days` days ending today: (today - window_days, today]."""
    return today - datetime.timedelta(days=window_days)


def window_features(
    *, first_id: int, last_id: int, today: datetime.date, window_days: int, onboarded: dict[int, datetime.date],
    ids: list[int] | None = None,
) -> dict[int, Features]:
    """Features of every creator with id in [first_id, last_id] (and in `ids`, if given) that has
    metrics in the window."""
    sql = window_aggregate_sql(some=ids is not None)
    start = window_start(today, window_days)
    params = [first_id, last_id, start, today]
    if connection.vendor == "sqlite":
        params = [first_id, last_id, start.isoformat(), today.isoformat()]
    if ids is not None:
        params.append(list(ids) if connection.vendor == "postgresql" else json.dumps(list(ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description]
        rows = cursor.fetchall()
    features = {}
    for row in rows:
        r = dict(zip(columns, row))
        influencer_id = r["influencer_id"]
        category, category_gmv = _top_category(r)
        gmv = _money(r["gmv"])
        reputation = r["reputation"]
        features[influencer_id] = Features(
            days_since_onboarding=(today - onboarded[influencer_id]).days,
            active_days=int(r["active_days"] or 0),
            orders=int(r["orders"] or 0),
            gmv=gmv,
            live_gmv=_money(r["live_gmv"]),
            video_gmv=_money(r["video_gmv"]),
            storefront_gmv=_money(r["storefront_gmv"]),
            big_live_gmv=_money(r["big_live_gmv"]),
            followers=int(r["followers"] or 0),
            reputation=None if reputation is None else _money(reputation),
            top_category=category,
            top_category_gmv=_money(category_gmv),
            live_days=int(r["live_days"] or 0),
            live_sessions=int(r["live_sessions"] or 0),
            big_live_days=int(r["big_live_days"] or 0),
            videos_posted=int(r["videos_posted"] or 0),
            entertainment_videos=int(r["entertainment_videos"] or 0),
            repeat_buyer_rate=_rate(r["repeat_weighted"], gmv),
            refund_rate=_rate(r["refund_weighted"], gmv),
        )
    return features


def influencer_features(*, influencer: Influencer, policy_rules: PolicyRules, today: datetime.date) -> Features | None:
    """One creator's features today (one query), for growth plans and the admin page."""
    return window_features(
        first_id=influencer.pk,
        last_id=influencer.pk,
        today=today,
        window_days=policy_rules.window_days,
        onboarded={influencer.pk: influencer.onboarded_on},
    ).get(influencer.pk)


def overrides_from(pins: dict[str, TierOverride]) -> Overrides:
    """The rules' view of a creator's open overrides, keyed by field."""
    tier_pin, type_pin = pins.get(OverrideField.TIER), pins.get(OverrideField.CREATOR_TYPE)
    if not pins:
        return NO_OVERRIDES
    return Overrides(
        tier=tier_pin.value if tier_pin else None,
        creator_type=type_pin.value if type_pin else None,
        tier_reason=tier_pin.reason if tier_pin else "",
        type_reason=type_pin.reason if type_pin else "",
    )


def policy_published() -> TierPolicy:
    return TierPolicy.objects.get(status=PolicyStatus.PUBLISHED)


def policy_rules_published() -> PolicyRules:
    """The rules every reader of the current policy needs (one query)."""
    return PolicyRules.from_json(policy_published().rules)


def decision_history(*, influencer: Influencer):
    """The creator's effective ledger, newest first: what a replay recomputed is left out."""
    return TierDecision.objects.effective().filter(influencer=influencer).select_related("policy", "actor", "refresh_run")


def judged_by_rules(*, influencer_ids) -> set[int]:
    """Those of these creators whom the rules (not a staff pin) have ever placed on head, mid or tail."""
    return set(
        TierDecision.objects.filter(
            influencer_id__in=list(influencer_ids),
            superseded_by__isnull=True,
            tier_after__in=LADDER,
            cause__in=(DecisionCause.REFRESH, DecisionCause.POLICY_CHANGE, DecisionCause.OVERRIDE_LAPSED,
                       DecisionCause.REPLAY),
        ).values_list("influencer_id", flat=True).distinct()
    )


def influencer_chunks(chunk_size: int) -> list[tuple[int, int]]:
    """(first_id, last_id) per chunk of `chunk_size` creators, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS rn FROM tiers_influencer) AS t "
            "WHERE rn %% %s = 0 ORDER BY id",
            [chunk_size],
        )
        firsts = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT MAX(id) FROM tiers_influencer")
        last = cursor.fetchone()[0]
    return [(first, (firsts[i + 1] - 1) if i + 1 < len(firsts) else last) for i, first in enumerate(firsts)]


def _in_chunk(queryset, *, first_id: int, last_id: int, ids: list[int] | None, field: str = "influencer__id"):
    queryset = queryset.filter(**{f"{field}__range": (first_id, last_id)})
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def overrides_open_between(*, first_id: int, last_id: int, ids: list[int] | None = None):
    """The overrides open now of the creators in a chunk."""
    return _in_chunk(TierOverride.objects.filter(ended_at__isnull=True), first_id=first_id, last_id=last_id, ids=ids)


def overrides_in_force_at(*, first_id: int, last_id: int, ids: list[int] | None, at: datetime.datetime):
    """The overrides of the creators in a chunk as they stood at `at`: created by then, not yet ended."""
    in_force = TierOverride.objects.filter(created_at__lte=at).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
    return _in_chunk(in_force, first_id=first_id, last_id=last_id, ids=ids)


def overrides_created_between(*, first_id: int, last_id: int, ids: list[int] | None, since: datetime.datetime,
                              until: datetime.datetime | None):
    """Overrides created in [since, until) for the creators in a chunk, oldest first (a replay re-enacts them)."""
    created = TierOverride.objects.filter(created_at__gte=since)
    if until is not None:
        created = created.filter(created_at__lt=until)
    return _in_chunk(created, first_id=first_id, last_id=last_id, ids=ids).order_by("created_at", "id")


def states_before(*, first_id: int, last_id: int, ids: list[int] | None,
                  before: datetime.datetime | None) -> dict[int, TierState]:
    """Each creator's state as it stood just before `before` (None: after everything), rebuilt from
    the effective state history.

    One query: the latest effective history row before that moment per creator. A creator with no
    such row had no state yet.
    """
    history = TierStateChange.objects.filter(superseded_by__isnull=True)
    if before is not None:
        history = history.filter(effective_at__lt=before)
    rows = (
        _in_chunk(history, first_id=first_id, last_id=last_id, ids=ids)
        .annotate(latest=Window(RowNumber(), partition_by=[F("influencer_id")],
                                order_by=[F("effective_at").desc(), F("id").desc()]))
        .filter(latest=1)
        .values_list("influencer_id", "tier", "creator_type", "tier_since", "below_keep_since")
    )
    return {row[0]: TierState(*row[1:]) for row in rows}


def state_history_mismatches(*, first_id: int, last_id: int) -> list[int]:
    """Creators in [first_id, last_id] whose stored state differs from the end of their state history
    (an empty state for a creator with no history): a check that the history rebuilds what is stored."""
    rebuilt = states_before(first_id=first_id, last_id=last_id, ids=None, before=None)
    stored = Influencer.objects.filter(id__range=(first_id, last_id)).values_list(
        "id", "tier", "creator_type", "tier_since", "below_keep_since")
    return [row[0] for row in stored if rebuilt.get(row[0], TierState()) != TierState(*row[1:])]


def decide_now(*, influencer: Influencer, today: datetime.date | None = None):
    """Decide one creator live from today's metrics and their state: (features, decision, policy).

    Three queries whatever the creator's history: the policy, the window aggregate, the open overrides.
    Returns None when no policy is published.
    """
    from django.utils import timezone

    from .rules import TierState, decide

    policy = TierPolicy.objects.published().first()
    if policy is None:
        return None
    today = today or timezone.localdate()
    rules = PolicyRules.from_json(policy.rules)
    features = influencer_features(influencer=influencer, policy_rules=rules, today=today)
    pins = {o.field: o for o in TierOverride.objects.active(timezone.now()).filter(influencer=influencer)}
    overrides = overrides_from(pins)
    state = TierState(tier=influencer.tier, creator_type=influencer.creator_type, tier_since=influencer.tier_since,
                      below_keep_since=influencer.below_keep_since)
    return features, decide(features, rules, state, today, overrides), policy


def explain_now(*, influencer: Influencer) -> dict | None:
    decided = decide_now(influencer=influencer)
    return None if decided is None else decided[1].explanation_json()


# ---------------------------------------------------------------- metric imports


def import_latest_judged_day() -> datetime.date | None:
    """The latest day any refresh has judged (wholly or in part): metrics of that day or before
    changed after it need a replay, not just a refresh."""
    from .models import RefreshRun

    return RefreshRun.objects.filter(chunks_done__gt=0).order_by("-run_date").values_list("run_date", flat=True).first()
