"""The refresh: everyone judged with reasons, changes only, anti-flap over days, overrides, no overlap."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.runs import RESENDS, RUN_STALE, STALE_AFTER
from tiers.choices import Category, DecisionCause, OverrideField, RunStatus, RunTrigger, Tier
from tiers.models import DailyMetric, Influencer, RefreshRun, TierDecision, TierOverride, TierPolicy
from tiers.refresh import (
    REFRESH_ALREADY_RUNNING,
    RefreshAlreadyRunning,
    Resent,
    refresh_chunk_apply,
    refresh_finish,
    refresh_for_policy,
    refresh_queue,
    refresh_recover,
    refresh_run_sync,
    refresh_start,
)
from tiers.rules import PolicyRules
from tiers.selectors import window_features
from tiers.services import override_create, policy_clone, policy_publish, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

@pytest.fixture
def population(days_ago):
    head = InfluencerFactory(handle="head")
    metric_days(head, days=30, gmv="120000")  # ¥3.6M in the window
    mid = InfluencerFactory(handle="mid")
    metric_days(mid, days=30, gmv="5000")  # ¥150k
    tail = InfluencerFactory(handle="tail")
    metric_days(tail, days=30, gmv="1000")  # ¥30k
    fresh = InfluencerFactory(handle="fresh", onboarded_on=days_ago(10))
    metric_days(fresh, days=10, gmv="20000")  # big numbers, but only 10 days on the platform
    silent = InfluencerFactory(handle="silent")  # no metrics at all
    return {"head": head, "mid": mid, "tail": tail, "fresh": fresh, "silent": silent}


def tiers_by_handle():
    return dict(Influencer.objects.values_list("handle", "tier"))


def test_first_refresh_judges_everyone_and_records_why(population):
    run = refresh_run_sync(chunk_size=2)

    assert tiers_by_handle() == {"head": "head", "mid": "mid", "tail": "tail", "fresh": "newcomer", "silent": "newcomer"}
    assert run.status == RunStatus.SUCCEEDED
    assert (run.total, run.done, run.chunk_count, run.chunks_done) == (5, 5, 3, 3)
    assert run.newly_classified == 5 and run.promoted == run.demoted == 0
    decision = TierDecision.objects.get(influencer=population["mid"])
    assert (decision.tier_before, decision.tier_after, decision.cause) == (None, "mid", DecisionCause.REFRESH)
    assert decision.policy.version == 1 and decision.refresh_run == run
    assert Decimal(decision.features["gmv"]) == Decimal("150000.00")
    rules = {check["rule"]: check for check in decision.explanation["checks"]}
    assert rules["mid.promote_gmv"]["passed"] is True
    assert rules["mid.promote_gmv"]["threshold"] in ("100000", "100000.00")
    assert rules["head.promote_gmv"]["passed"] is False


def test_a_second_refresh_with_unchanged_metrics_writes_nothing(population):
    refresh_run_sync()
    decisions = TierDecision.objects.count()
    stamps = dict(Influencer.objects.values_list("id", "updated_at"))

    second = refresh_run_sync()

    assert TierDecision.objects.count() == decisions
    assert dict(Influencer.objects.values_list("id", "updated_at")) == stamps
    assert (second.promoted, second.demoted, second.type_changed, second.unchanged) == (0, 0, 0, 5)


def test_a_redelivered_chunk_applies_once(population):
    run = refresh_start(trigger=RunTrigger.SCHEDULE, chunk_size=100)

    assert refresh_chunk_apply(run_id=run.pk, index=0) is True
    assert refresh_chunk_apply(run_id=run.pk, index=0) is False

    assert TierDecision.objects.filter(refresh_run=run).count() == 5
    run.refresh_from_db()
    assert (run.done, run.chunks_done) == (5, 1)


def test_two_refreshes_never_overlap(population):
    running = refresh_start(trigger=RunTrigger.SCHEDULE)

    with pytest.raises(RefreshAlreadyRunning) as refused:
        refresh_start(trigger=RunTrigger.STAFF)

    assert str(refused.value) == REFRESH_ALREADY_RUNNING.format(run_id=running.pk)


def test_a_run_that_stopped_moving_is_sent_again_then_failed_and_the_run_queued_behind_starts(
        population, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: sent.append(kwargs))
    dead = refresh_start(trigger=RunTrigger.SCHEDULE, chunk_size=2)
    refresh_chunk_apply(run_id=dead.pk, index=0)
    queued = refresh_queue(trigger=RunTrigger.STAFF)

    def stall(by=STALE_AFTER + datetime.timedelta(seconds=1)):
        RefreshRun.objects.filter(pk=dead.pk).update(updated_at=timezone.now() - by)

    # a run that moved within STALE_AFTER is left alone
    stall(by=STALE_AFTER - datetime.timedelta(minutes=1))
    assert refresh_recover() == []
    # a stalled one has its unfinished chunks sent again, RESENDS times (beat's watch, or a request)
    for times in range(1, RESENDS + 1):
        stall()
        with django_capture_on_commit_callbacks(execute=True):
            assert refresh_recover() == [Resent(dead.pk, dead.chunk_count - 1)]
        assert sent[-1] == {"kind": "refresh", "run_id": dead.pk, "indexes": list(range(1, dead.chunk_count))}
        assert RefreshRun.objects.get(pk=dead.pk).resent == times
    # then it is failed, and the run queued behind it starts
    stall()
    with django_capture_on_commit_callbacks(execute=True):
        fresh = refresh_queue(trigger=RunTrigger.STAFF)

    dead.refresh_from_db()
    queued.refresh_from_db()
    assert (dead.status, dead.active, dead.error) == (RunStatus.FAILED, None, str(RUN_STALE).format(minutes=15, times=2))
    assert (queued.status, queued.active) == (RunStatus.RUNNING, True)
    assert sent[-1] == {"kind": "refresh", "run_id": queued.pk, "indexes": list(range(queued.chunk_count))}
    assert fresh.status == RunStatus.PENDING  # behind the one that started


def test_demotion_waits_for_minimum_stay_and_grace_then_drops_one_tier(days_ago):
    # given a mid creator who sold ¥5,000 a day until 45 days ago and ¥1,000 a day since
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=45, end=days_ago(45), gmv="5000")
    metric_days(creator, days=45, end=days_ago(0), gmv="1000")
    d0 = days_ago(45)  # window of d0 is all ¥5,000 days

    refresh_run_sync(today=d0)
    creator.refresh_from_db()
    assert (creator.tier, creator.tier_since) == (Tier.MID, d0)

    # ¥86k at d0+16: above the ¥80k keep line
    refresh_run_sync(today=d0 + datetime.timedelta(days=16))
    creator.refresh_from_db()
    assert (creator.tier, creator.below_keep_since) == (Tier.MID, None)

    # ¥78k at d0+18: below the keep line, grace starts
    below_on = d0 + datetime.timedelta(days=18)
    refresh_run_sync(today=below_on)
    creator.refresh_from_db()
    assert (creator.tier, creator.below_keep_since) == (Tier.MID, below_on)

    # 13 days into the grace period: still mid
    refresh_run_sync(today=below_on + datetime.timedelta(days=13))
    creator.refresh_from_db()
    assert creator.tier == Tier.MID

    # grace over: demoted, with the grace rule in the explanation
    refresh_run_sync(today=below_on + datetime.timedelta(days=14))
    creator.refresh_from_db()
    assert creator.tier == Tier.TAIL
    last = TierDecision.objects.filter(influencer=creator).first()
    assert (last.tier_before, last.tier_after) == ("mid", "tail")
    assert any(c["rule"] == "anti_flap.grace" for c in last.explanation["checks"])


def test_a_head_creator_whose_sales_collapse_steps_down_one_tier_at_a_time(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(30), gmv="150000")
    metric_days(creator, days=30, end=days_ago(0), gmv="100")

    refresh_run_sync(today=days_ago(30))
    refresh_run_sync(today=days_ago(0))  # ¥3k in the window, 30 days after entering head
    first_drop = Influencer.objects.get(pk=creator.pk)

    assert first_drop.tier == Tier.HEAD  # grace starts at days_ago(0)
    refresh_run_sync(today=days_ago(0) + datetime.timedelta(days=14))
    assert Influencer.objects.get(pk=creator.pk).tier == Tier.MID  # never straight to tail


def test_an_override_pins_the_tier_and_lapses_with_a_ledger_row(population):
    refresh_run_sync()
    staff = UserFactory(username="ops-lead", is_staff=True)
    mid = population["mid"]

    override = override_create(influencer=mid, field=OverrideField.TIER, value=Tier.HEAD, reason="Signed key account",
                               expires_at=timezone.now() + datetime.timedelta(hours=1), by=staff)

    mid.refresh_from_db()
    assert mid.tier == Tier.HEAD
    pinned = TierDecision.objects.filter(influencer=mid).first()
    assert (pinned.cause, pinned.actor, pinned.tier_after) == (DecisionCause.OVERRIDE, staff, "head")
    assert pinned.explanation["checks"][0]["note"] == "Signed key account"

    # the refresh honours the pin and records it in the explanation, writing no new row
    run = refresh_run_sync()
    mid.refresh_from_db()
    assert mid.tier == Tier.HEAD
    assert not TierDecision.objects.filter(refresh_run=run).exists()

    # the pin expires: the next refresh lapses it and the creator returns to their computed tier
    TierOverride.objects.filter(pk=override.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    run = refresh_run_sync()
    mid.refresh_from_db()
    assert mid.tier == Tier.MID
    lapse = TierDecision.objects.get(refresh_run=run, influencer=mid)
    assert lapse.cause == DecisionCause.OVERRIDE_LAPSED
    override.refresh_from_db()
    assert override.end_reason == "expired" and override.ended_at is not None
    assert run.overrides_lapsed == 1


def test_publishing_a_policy_starts_a_refresh_whose_changes_say_policy_change(
    population, django_capture_on_commit_callbacks, monkeypatch
):
    refresh_run_sync()
    staff = UserFactory(username="policy-owner", is_staff=True)
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=staff)
    rules = PolicyRules.default().to_json()
    rules["mid"].update(promote_gmv="25000", promote_followers_gmv="10000", keep_gmv="20000")
    policy_update_draft(policy=draft, rules=rules, by=staff)
    sent = []
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: sent.append(kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        policy_publish(policy=draft, by=staff)

    run = refresh_for_policy(draft)
    assert (run.trigger, run.status, run.requested_by, run.policy.version) == (RunTrigger.POLICY_PUBLISH, "running", staff, 2)
    assert sent == [{"kind": "refresh", "run_id": run.pk, "indexes": list(range(run.chunk_count))}]  # only after the publish committed
    assert list(TierPolicy.objects.published().values_list("version", flat=True)) == [2]
    for index in range(run.chunk_count):  # as the workers would
        refresh_chunk_apply(run_id=run.pk, index=index)
    assert refresh_finish(run_id=run.pk).announce_run_id == run.pk
    change = TierDecision.objects.get(refresh_run=run)
    assert (change.influencer_id, change.tier_after, change.cause) == (population["tail"].pk, "mid", DecisionCause.POLICY_CHANGE)
    assert change.policy.version == 2


# A day's GMV by category: some categories, a few whole yuan (so float sums are exact and ties are common), zeros too.
_category_days = st.lists(
    st.tuples(st.integers(0, 40), st.dictionaries(st.sampled_from(Category.values), st.integers(0, 3), max_size=4)),
    min_size=1, max_size=12, unique_by=lambda day: day[0],
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=_category_days)
@example(days=[(0, {"food": 2, "beauty": 1}), (1, {"beauty": 1})])  # a tie: beauty before food
@example(days=[(0, {"jade": 0, "home": 0})])  # only zeros: still a top category
def test_the_top_category_is_the_one_with_most_gmv_in_the_window_ties_to_the_first_by_name(days, today):
    # given a creator's days, some outside the 30-day window, each with GMV by category
    creator = InfluencerFactory()
    DailyMetric.objects.bulk_create([
        DailyMetric(influencer=creator, date=today - datetime.timedelta(days=ago), gmv=Decimal(sum(by_category.values())),
                    category_gmv={category: str(amount) for category, amount in by_category.items()})
        for ago, by_category in days
    ])

    # when the window is aggregated
    features = window_features(first_id=creator.pk, last_id=creator.pk, today=today, window_days=30,
                               onboarded={creator.pk: today})

    # then the top category is what summing each category over the window's days says, written out here
    sums = {}
    for ago, by_category in days:
        if ago < 30:
            for category, amount in by_category.items():
                sums[category] = sums.get(category, 0) + amount
    in_window = [ago for ago, _ in days if ago < 30]
    if not in_window:
        assert creator.pk not in features
        return
    top = min(sums, key=lambda category: (-sums[category], category)) if sums else None
    assert features[creator.pk].top_category == top
    assert features[creator.pk].top_category_gmv == Decimal(sums.get(top, 0)).quantize(Decimal("0.01"))


def test_window_features_aggregate_what_the_rules_need(days_ago, today):
    creator = InfluencerFactory(onboarded_on=days_ago(100), main_category="beauty")
    metric_days(creator, days=20, end=days_ago(10), gmv="1000", followers=900, category="beauty")
    metric_days(creator, days=10, end=days_ago(0), gmv="3000", followers=1000, big_live_sessions=1, category="food",
                reputation=None)
    metric_days(creator, days=5, end=days_ago(30), gmv="999999")  # outside the 30-day window

    features = window_features(first_id=creator.pk, last_id=creator.pk, today=today, window_days=30,
                               onboarded={creator.pk: creator.onboarded_on})[creator.pk]

    assert features.gmv == Decimal("50000.00")
    assert features.active_days == 30 and features.days_since_onboarding == 100
    assert features.followers == 1000  # the latest day's
    assert features.reputation == Decimal("4.50")  # the latest *rated* day's
    assert (features.top_category, features.top_category_gmv) == ("food", Decimal("30000.00"))
    assert features.big_live_days == 10 and features.big_live_gmv == Decimal("30000.00")
    assert features.live_gmv == Decimal("30000.00")
    assert features.repeat_buyer_rate == pytest.approx(0.30)


def test_refresh_tiers_command_prints_a_summary(population, capsys):
    call_command("refresh_tiers", "--no-progress", "--skip-coaching")

    out = capsys.readouterr().out
    assert "5 creators" in out and "5 first classified" in out and "policy v1" in out


def test_refresh_tiers_replays_history_the_first_time_only(population, days_ago, today):
    call_command("refresh_tiers", "--no-progress", "--skip-coaching", "--history", "60")
    call_command("refresh_tiers", "--no-progress", "--skip-coaching", "--history", "60")

    assert sorted(RefreshRun.objects.values_list("run_date", flat=True)) == [days_ago(60), days_ago(30), today, today]


def test_refresh_tiers_backfills_a_given_date(population, days_ago):
    call_command("refresh_tiers", "--no-progress", "--skip-coaching", "--date", days_ago(5).isoformat())

    assert RefreshRun.objects.get().run_date == days_ago(5)


def test_on_demo_data_every_tier_and_type_occurs_and_a_second_refresh_writes_nothing():
    from demo.population import seed_population

    seed_population(influencers=600, days=30, seed=11)
    refresh_run_sync()
    decisions = TierDecision.objects.count()

    second = refresh_run_sync()

    assert set(Influencer.objects.values_list("tier", flat=True)) == set(Tier.values)
    assert set(Influencer.objects.exclude(creator_type=None).values_list("creator_type", flat=True)) == {
        "persona", "vertical", "seeding", "entertainment"}
    assert TierDecision.objects.count() == decisions
    assert (second.promoted, second.demoted, second.newly_classified, second.type_changed) == (0, 0, 0, 0)


def test_a_chunk_that_dies_halfway_leaves_nothing_applied_and_its_retry_applies_once(population, monkeypatch):
    run = refresh_start(trigger=RunTrigger.SCHEDULE, chunk_size=100)

    def crash(*args, **kwargs):  # after the state UPDATE, before the decisions: a worker dying mid-write
        raise RuntimeError("worker lost")

    with monkeypatch.context() as patched:
        patched.setattr("tiers.refresh.decisions_append", crash)
        with pytest.raises(RuntimeError):
            refresh_chunk_apply(run_id=run.pk, index=0)

    assert set(Influencer.objects.values_list("tier", flat=True)) == {None}
    assert not TierDecision.objects.exists()
    assert refresh_chunk_apply(run_id=run.pk, index=0) is True  # the redelivered task
    assert TierDecision.objects.count() == 5 and None not in set(Influencer.objects.values_list("tier", flat=True))


def test_the_start_lock_keeps_a_second_starter_out_on_every_path(population, redis_url, monkeypatch):
    import redis

    from tiers.refresh import REFRESH_START_BUSY, START_LOCK, RefreshError
    from tiers.tasks import refresh_all

    monkeypatch.setattr("tiers.refresh.START_LOCK_WAIT_SECONDS", 0.2)
    held = redis.Redis.from_url(redis_url).lock(START_LOCK, timeout=30)
    assert held.acquire(blocking=False)
    try:
        for start in (lambda: refresh_all(trigger=RunTrigger.SCHEDULE), refresh_run_sync):  # a worker's task; the command's
            with pytest.raises(RefreshError) as refused:
                start()
            assert str(refused.value) == str(REFRESH_START_BUSY)
    finally:
        held.release()

    assert not RefreshRun.objects.exists()
