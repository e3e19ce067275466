"""Time only moves forward: an earlier date is refused, and a replay of corrected days equals a forward run."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from tiers.choices import DecisionCause, OverrideField, RunStatus, RunTrigger, StateSource, Tier
from tiers.models import DailyMetric, Influencer, RefreshRun, TierDecision, TierOverride, TierPolicy, TierStateChange
from tiers.refresh import (
    REFRESH_DATE_IN_PAST,
    REPLAY_BEFORE_HISTORY,
    REPLAY_DAY_FAILED,
    REPLAY_NOTHING,
    REPLAY_UNKNOWN_CREATORS,
    RefreshAlreadyRunning,
    RefreshDateInPast,
    RefreshError,
    refresh_chunk_apply,
    refresh_fail,
    refresh_run_sync,
    refresh_start,
    replay_run_sync,
    replay_start,
)
from tiers.rules import PolicyRules
from tiers.selectors import decision_history, state_history_mismatches
from tiers.services import (
    OVERRIDE_DURING_REPLAY,
    ServiceError,
    override_create,
    override_end,
    policy_clone,
    policy_publish,
    policy_update_draft,
)
from tiers.tasks import refresh_all
from tiers.tests.factories import InfluencerFactory, UserFactory

TODAY = timezone.localdate()
WINDOW = 7


def day(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def short_window_rules(**changes) -> dict:
    """A 7-day policy whose lines a few days of sales cross: tiers move within a short test."""
    rules = PolicyRules.default().to_json()
    rules["window_days"] = WINDOW
    rules["head"].update(promote_gmv="210000", promote_followers=10**9, keep_gmv="168000")
    rules["mid"].update(promote_gmv="21000", promote_followers=10**9, keep_gmv="16800")
    rules["newcomer"].update(min_days_since_onboarding=3, min_active_days=3)
    rules["anti_flap"].update(min_days_in_tier=3, grace_days=3)
    rules["types"].update(persona_min_live_days=3)
    for section, values in changes.items():
        rules[section].update(values)
    return rules


def publish(rules: dict, by) -> TierPolicy:
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=by)
    policy_update_draft(policy=draft, rules=rules, by=by)
    return policy_publish(policy=draft, by=by, refresh=False)  # the test runs each refresh itself


def sell(creator, date: datetime.date, gmv, live_share="0.7") -> None:
    """One day of sales, replacing what was recorded for that day (a corrected import does the same); None: no row
    for the day (the creator is not selling on the platform yet, or any more, or the day was withdrawn)."""
    if gmv is None:
        DailyMetric.objects.filter(influencer=creator, date=date).delete()
        return
    gmv = Decimal(gmv)
    live = (gmv * Decimal(live_share)).quantize(Decimal("0.01"))
    video = ((gmv - live) / 2).quantize(Decimal("0.01"))
    DailyMetric.objects.update_or_create(influencer=creator, date=date, defaults=dict(
        followers=10_000, gmv=gmv, live_gmv=live, video_gmv=video, storefront_gmv=gmv - live - video,
        orders=10 if gmv else 0, live_sessions=1, live_minutes=90, videos_posted=1, reputation_score=Decimal("4.50"),
        repeat_buyer_rate=Decimal("0.30"), category_gmv={"beauty": str(gmv)},
    ))


_COMPUTED = {DecisionCause.REFRESH, DecisionCause.POLICY_CHANGE, DecisionCause.REPLAY}


def effective_ledger(creator) -> list[tuple]:
    """What the creator's history shows, in order; a refresh, a policy change and a replay are all 'computed'."""
    rows = TierDecision.objects.effective().filter(influencer=creator).order_by("effective_at", "id").values_list(
        "tier_before", "tier_after", "type_before", "type_after", "cause", "decided_on", "policy_id", "actor_id",
        "features", "explanation")
    return [(*row[:4], "computed" if row[4] in _COMPUTED else row[4], *row[5:8], json.dumps(row[8], sort_keys=True),
             json.dumps(row[9], sort_keys=True)) for row in rows]


def effective_history(creator) -> list[tuple]:
    return list(TierStateChange.objects.filter(influencer=creator, superseded_by__isnull=True)
                .order_by("effective_at", "id").values_list("tier", "creator_type", "tier_since", "below_keep_since", "source"))


def state(creator) -> tuple:
    creator.refresh_from_db()
    return creator.tier, creator.creator_type, creator.tier_since, creator.below_keep_since


def course(creator) -> tuple:
    """Where the creator stands, and by which effective decisions and state history."""
    return state(creator), effective_ledger(creator), effective_history(creator)


def assert_same_course(forward, replayed, forward_before):
    """The replayed creator ends where the forward one does, by the same effective decisions and
    history; and the forward one, whose data was right all along, is left as it was even where the
    replay recomputed it."""
    assert course(forward) == forward_before
    assert state(replayed) == state(forward)
    assert effective_ledger(replayed) == effective_ledger(forward)
    assert effective_history(replayed) == effective_history(forward)


# ---------------------------------------------------------------- time only moves forward


@pytest.mark.django_db
def test_a_refresh_for_a_day_before_the_latest_run_is_refused_on_every_path():
    creator = InfluencerFactory(onboarded_on=day(100))
    for n in range(40):
        sell(creator, day(n), "5000")
    latest = refresh_run_sync(today=day(3))
    before = (state(creator), TierDecision.objects.count(), RefreshRun.objects.count())
    message = REFRESH_DATE_IN_PAST.format(date=day(5).isoformat(), run_id=latest.pk, latest=day(3).isoformat())

    with pytest.raises(CommandError) as by_command:
        call_command("refresh_tiers", "--no-progress", "--skip-coaching", "--date", day(5).isoformat())
    with pytest.raises(RefreshDateInPast) as by_service:
        refresh_start(trigger=RunTrigger.STAFF, today=day(5))
    with pytest.raises(RefreshDateInPast) as by_task:
        refresh_all(trigger=RunTrigger.STAFF, run_date=day(5).isoformat())  # the task's body, as a worker runs it

    assert str(by_command.value) == str(by_service.value) == str(by_task.value) == message
    assert day(3).isoformat() in message and f"--replay-from {day(5).isoformat()}" in message
    assert (state(creator), TierDecision.objects.count(), RefreshRun.objects.count()) == before
    assert refresh_run_sync(today=day(3)).status == RunStatus.SUCCEEDED  # the same day again is not going back


@pytest.mark.django_db
def test_a_queued_run_counts_as_the_latest():
    InfluencerFactory()
    refresh_start(trigger=RunTrigger.SCHEDULE, today=day(1))

    with pytest.raises(RefreshDateInPast):
        refresh_start(trigger=RunTrigger.STAFF, today=day(2))


# ---------------------------------------------------------------- replay


@pytest.fixture
def ops(db):
    return UserFactory(username="ops-replay", is_staff=True)


@pytest.fixture
def short_window(ops):
    return publish(short_window_rules(), ops)


def twins(n: int = 1, **kwargs):
    """Pairs of creators alike in all but name: one sees corrected data from the start (the forward
    run), the other is refreshed on the original data and replayed once it is corrected."""
    return [(InfluencerFactory(handle=f"forward{i}", **kwargs), InfluencerFactory(handle=f"replayed{i}", **kwargs))
            for i in range(n)]


@pytest.mark.django_db
def test_a_replay_after_a_correction_ends_where_a_forward_run_does(short_window):
    # given a mid creator selling ¥3,500 a day, then ¥2,500 (¥17.5k a week, above the ¥16.8k keep line)
    [(forward, replayed)] = twins(onboarded_on=day(60))
    for creator in (forward, replayed):
        for n in range(11, 25):
            sell(creator, day(n), "3500")
        for n in range(0, 11):
            sell(creator, day(n), "2500")
    # whose sales on day(7) were in truth nothing: the forward creator has the corrected figures from the start
    sell(forward, day(7), "0")
    for n in range(10, -1, -1):
        refresh_run_sync(today=day(n))
    assert state(forward) != state(replayed)  # the correction matters: below the keep line, then demoted
    assert state(forward)[0] == Tier.TAIL and state(replayed)[0] == Tier.MID

    # when the correction arrives and the days from it on are replayed, for everyone
    sell(replayed, day(7), "0")
    forward_before = course(forward)
    runs = replay_run_sync(from_date=day(7))

    # then every refresh from day(7) on was recomputed in order, under its own policy, and the
    # replayed creator ended where the forward one did, by the same decisions
    assert [run.run_date for run in runs] == [day(n) for n in range(7, -1, -1)]
    assert {(run.trigger, run.status, run.policy_id) for run in runs} == {(RunTrigger.REPLAY, RunStatus.SUCCEEDED, short_window.pk)}
    assert_same_course(forward, replayed, forward_before)
    replay_rows = TierDecision.objects.filter(influencer=replayed, refresh_run__in=runs)
    assert replay_rows.exists() and set(replay_rows.values_list("cause", flat=True)) == {DecisionCause.REPLAY}
    # nothing was deleted: what the replaced refreshes decided is kept, superseded by the replay
    superseded = TierDecision.objects.filter(superseded_by=runs[0].replay)
    assert superseded.exists() and all(d.decided_on >= day(7) for d in superseded)
    assert list(decision_history(influencer=replayed)) == list(TierDecision.objects.effective().filter(influencer=replayed))
    assert state_history_mismatches(first_id=forward.pk, last_id=replayed.pk) == []


@pytest.mark.django_db
def test_a_replay_of_some_creators_leaves_the_others_alone(short_window):
    # given tail creators (¥2,600 a day, ¥18.2k a week) whose day(4) was in truth a ¥9,000 day: mid from it on
    pairs = twins(2, onboarded_on=day(60))
    bystander = InfluencerFactory(onboarded_on=day(60))
    for creator in (*[c for pair in pairs for c in pair], bystander):
        for n in range(20):
            sell(creator, day(n), "2600")
    for forward, _ in pairs:
        sell(forward, day(4), "9000")
    for n in range(8, -1, -1):
        refresh_run_sync(today=day(n))
    assert {state(f)[0] for f, _ in pairs} == {Tier.MID} and {state(r)[0] for _, r in pairs} == {Tier.TAIL}
    bystander_before = course(bystander)
    forward_before = {f: course(f) for f, _ in pairs}
    for _, replayed in pairs:
        sell(replayed, day(4), "9000")
    # the bystander's day(4) changes too, but it is not among the creators replayed
    sell(bystander, day(4), "9000")

    runs = replay_run_sync(from_date=day(4), influencer_ids=[replayed.pk for _, replayed in pairs])

    assert [(run.run_date, run.total) for run in runs] == [(day(n), 2) for n in range(4, -1, -1)]
    for forward, replayed in pairs:
        assert_same_course(forward, replayed, forward_before[forward])
    assert course(bystander) == bystander_before
    assert not TierDecision.objects.filter(superseded_by__isnull=False).exclude(influencer__in=[r for _, r in pairs]).exists()


@pytest.mark.django_db
def test_a_replay_re_enacts_the_overrides_and_the_policy_each_day_had(short_window, ops):
    [(forward, replayed)] = twins(onboarded_on=day(60))
    for creator in (forward, replayed):
        for n in range(20):
            sell(creator, day(n), "4000")
    sell(forward, day(8), "0")
    pinned = {}
    for n in range(8, -1, -1):
        if n == 6:  # staff pin the type until further notice, then revoke it two days later
            pinned = {c: override_create(influencer=c, field=OverrideField.CREATOR_TYPE, value="seeding",
                                         reason="campaign", by=ops) for c in (forward, replayed)}
        if n == 4:
            for override in pinned.values():
                override_end(override=override, by=ops)
        if n == 3:  # a pin that expires before the next day's refresh
            pinned = {c: override_create(influencer=c, field=OverrideField.TIER, value=Tier.HEAD, reason="key account",
                                         expires_at=timezone.now() + datetime.timedelta(hours=1), by=ops)
                      for c in (forward, replayed)}
        if n == 2:
            TierOverride.objects.filter(pk__in=[o.pk for o in pinned.values()]).update(expires_at=timezone.now())
        trigger = RunTrigger.STAFF
        if n == 5:  # a new policy, stricter for mid, from day(5) on
            publish(short_window_rules(mid={"promote_gmv": "30000", "keep_gmv": "29000"}), ops)
            trigger = RunTrigger.POLICY_PUBLISH
        refresh_run_sync(today=day(n), trigger=trigger)

    sell(replayed, day(8), "0")
    forward_before = course(forward)
    runs = replay_run_sync(from_date=day(8))

    assert_same_course(forward, replayed, forward_before)
    causes = [row[4] for row in effective_ledger(replayed)]
    assert DecisionCause.OVERRIDE in causes and DecisionCause.OVERRIDE_LAPSED in causes
    assert [run.policy.version for run in runs] == [2, 2, 2, 3, 3, 3, 3, 3, 3]


@pytest.mark.django_db
def test_a_replay_after_a_replay_recomputes_from_the_earlier_day(short_window):
    # given a tail creator (¥2,600 a day) whose day(3) and day(6) were in truth ¥9,000 days
    [(forward, replayed)] = twins(onboarded_on=day(60))
    for creator in (forward, replayed):
        for n in range(20):
            sell(creator, day(n), "2600")
    sell(forward, day(3), "9000")
    sell(forward, day(6), "9000")
    for n in range(8, -1, -1):
        refresh_run_sync(today=day(n))
    forward_before = course(forward)

    # when day(3) is corrected and replayed, then day(6), further back
    sell(replayed, day(3), "9000")
    replay_run_sync(from_date=day(3))
    after_first = course(replayed)
    sell(replayed, day(6), "9000")
    replay_run_sync(from_date=day(6))

    # then the second replay starts from the state the first left before day(6), and ends as the forward run
    assert after_first != forward_before  # mid from day(3) only
    assert_same_course(forward, replayed, forward_before)
    assert state_history_mismatches(first_id=forward.pk, last_id=replayed.pk) == []


ANNOUNCED = []


def record_announcement(*, run_id, in_process):
    ANNOUNCED.append((run_id, in_process))


@pytest.mark.django_db
@override_settings(LADDER_AFTER_REFRESH=["tiers.tests.test_replay.record_announcement"])
def test_a_replay_is_announced_once_for_its_last_day(short_window):
    creator = InfluencerFactory(onboarded_on=day(60))
    for n in range(10):
        sell(creator, day(n), "3000")
    for n in range(4, -1, -1):
        refresh_run_sync(today=day(n))
    ANNOUNCED.clear()

    runs = replay_run_sync(from_date=day(3), announce=True)

    assert len(runs) == 4 and ANNOUNCED == [(runs[-1].pk, True)]


@pytest.mark.django_db
def test_refresh_tiers_replays_from_a_day(short_window, capsys):
    creator = InfluencerFactory(onboarded_on=day(60))
    for n in range(10):
        sell(creator, day(n), "3000")
    for n in range(3, -1, -1):
        refresh_run_sync(today=day(n))

    call_command("refresh_tiers", "--no-progress", "--skip-coaching", "--replay-from", day(2).isoformat(),
                 "--creators", str(creator.pk))

    replayed = RefreshRun.objects.filter(trigger=RunTrigger.REPLAY).order_by("id")
    assert [run.run_date for run in replayed] == [day(2), day(1), day(0)]
    assert replayed[0].replay.influencer_ids == [creator.pk]
    out = capsys.readouterr().out
    assert f"replay #{replayed[0].replay_id} from {day(2)}: 3 refreshes recomputed" in out


@pytest.mark.django_db
def test_a_replay_is_refused_with_a_reason(short_window):
    creator = InfluencerFactory(onboarded_on=day(60))
    for n in range(10):
        sell(creator, day(n), "3000")
    first = refresh_run_sync(today=day(2))

    with pytest.raises(RefreshError) as nothing:
        replay_start(from_date=day(1))
    with pytest.raises(RefreshError) as unknown:
        replay_start(from_date=day(2), influencer_ids=[creator.pk, 999_999])
    running = refresh_start(trigger=RunTrigger.SCHEDULE, today=day(1))
    with pytest.raises(RefreshAlreadyRunning):
        replay_start(from_date=day(2))
    refresh_fail(run_id=running.pk, error="stopped by the test")
    # the state history began after the first refresh (a database migrated with judged creators)
    began = first.started_at + datetime.timedelta(seconds=1)
    TierStateChange.objects.create(influencer=creator, effective_at=began, source=StateSource.BASELINE)
    with pytest.raises(RefreshError) as before_history:
        replay_start(from_date=day(2))

    assert str(nothing.value) == REPLAY_NOTHING.format(date=day(1).isoformat())
    assert str(unknown.value) == REPLAY_UNKNOWN_CREATORS.format(ids="999999")
    assert str(before_history.value) == REPLAY_BEFORE_HISTORY.format(
        date=day(2).isoformat(), run_id=first.pk, since=timezone.localtime(began).isoformat(" ", "minutes"))
    assert not RefreshRun.objects.filter(trigger=RunTrigger.REPLAY).exists()


@pytest.mark.django_db
def test_a_failed_replay_day_fails_the_days_after_it_and_staff_cannot_pin_meanwhile(short_window, ops):
    creator = InfluencerFactory(onboarded_on=day(60))
    for n in range(10):
        sell(creator, day(n), "3000")
    for n in range(3, -1, -1):
        refresh_run_sync(today=day(n))
    first = replay_start(from_date=day(2))

    with pytest.raises(ServiceError) as refused:
        override_create(influencer=creator, field=OverrideField.TIER, value=Tier.HEAD, reason="x", by=ops)
    refresh_chunk_apply(run_id=first.pk, index=0)
    refresh_fail(run_id=first.pk, error="worker lost")

    assert str(refused.value) == OVERRIDE_DURING_REPLAY.format(replay_id=first.replay_id)
    days = RefreshRun.objects.filter(replay=first.replay).order_by("id")
    assert [run.status for run in days] == [RunStatus.FAILED] * 3
    assert {run.error for run in days[1:]} == {REPLAY_DAY_FAILED.format(run_id=first.pk)}
    override_create(influencer=creator, field=OverrideField.TIER, value=Tier.HEAD, reason="x", by=ops)  # allowed again


# ---------------------------------------------------------------- the property


# None: no row that day, so creators appear (no rows before some day) and disappear (none after some day).
LEVELS = [None, "0", "800", "2500", "3100", "4500", "26000", "40000"]
PAIRS = 3


@st.composite
def scenarios(draw):
    """Random daily sales for a few creators over a few weeks (creators appearing and disappearing among them), a
    correction of one past day (a figure changed, a day added or withdrawn), staff pins, a policy change, and what
    is replayed."""
    rnd = draw(st.randoms(use_true_random=False))
    refresh_days = draw(st.integers(6, 14))
    metric_days = refresh_days + WINDOW + 2

    def spells():  # sales that stay at a level for a few days, so creators cross lines and stay
        level, days = rnd.choice(LEVELS), []
        for _ in range(metric_days):
            level = level if rnd.random() < 0.7 else rnd.choice(LEVELS)
            days.append(level)
        return days

    sales = [spells() for _ in range(PAIRS)]
    live = [rnd.choice(["0.1", "0.8"]) for _ in range(PAIRS)]
    corrected_day = draw(st.integers(0, refresh_days - 1))  # days ago, among the refreshed days
    corrections = [rnd.choice([level for level in LEVELS if level != sales[i][corrected_day]]) for i in range(PAIRS)]
    events = draw(st.dictionaries(
        st.integers(0, refresh_days - 1),
        st.tuples(st.integers(0, PAIRS - 1),
                  st.sampled_from(["pin_tier", "pin_type", "pin_expiring", "revoke", "expire"]),
                  st.sampled_from([Tier.HEAD, Tier.MID, Tier.TAIL]), st.sampled_from(["seeding", "persona"])),
        max_size=4))
    policy_day = draw(st.none() | st.integers(0, refresh_days - 1))
    some = draw(st.booleans())
    again = draw(st.none() | st.integers(corrected_day, refresh_days - 1))  # a second, full replay from further back
    return refresh_days, sales, live, corrected_day, corrections, events, policy_day, some, again


class TestReplayEqualsAForwardRun(HypothesisTestCase):
    @settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios())
    def test_a_replay_ends_where_a_forward_run_does(self, scenario):
        refresh_days, sales, live, corrected_day, corrections, events, policy_day, some, again = scenario
        ops = UserFactory(username="ops-property", is_staff=True)
        publish(short_window_rules(), ops)
        pairs = twins(PAIRS, onboarded_on=day(len(sales[0]) - 3))
        for (forward, replayed), days, share, correction in zip(pairs, sales, live, corrections):
            for n, gmv in enumerate(days):
                for creator in (forward, replayed):
                    sell(creator, day(n), gmv, share)
            sell(forward, day(corrected_day), correction, share)  # the forward run knows the truth from the start

        pins: dict[int, list[TierOverride]] = {}
        for n in range(refresh_days - 1, -1, -1):
            if n in events:
                index, kind, tier, creator_type = events[n]
                pins[index] = _staff_act(pairs[index], kind, tier, creator_type, pins.get(index, []), ops)
            trigger = RunTrigger.SCHEDULE
            if n == policy_day:
                publish(short_window_rules(mid={"promote_gmv": "25000", "keep_gmv": "20000"}), ops)
                trigger = RunTrigger.POLICY_PUBLISH
            refresh_run_sync(today=day(n), trigger=trigger)

        for (forward, replayed), share, correction in zip(pairs, live, corrections):
            sell(replayed, day(corrected_day), correction, share)
        forward_before = {forward: course(forward) for forward, _ in pairs}
        replay_run_sync(from_date=day(corrected_day),
                        influencer_ids=[replayed.pk for _, replayed in pairs] if some else None)
        for forward, replayed in pairs:
            assert_same_course(forward, replayed, forward_before[forward])
        if again is not None:
            replay_run_sync(from_date=day(again))
            for forward, replayed in pairs:
                assert_same_course(forward, replayed, forward_before[forward])
        ids = [c.pk for pair in pairs for c in pair]
        assert state_history_mismatches(first_id=min(ids), last_id=max(ids)) == []


def _staff_act(pair, kind, tier, creator_type, open_pins, ops) -> list[TierOverride]:
    """The same staff act on both creators of a pair, between two refreshes."""
    if kind in ("pin_tier", "pin_type", "pin_expiring"):
        field, value = (OverrideField.CREATOR_TYPE, creator_type) if kind == "pin_type" else (OverrideField.TIER, tier)
        expires = timezone.now() + datetime.timedelta(hours=1) if kind == "pin_expiring" else None
        return [override_create(influencer=c, field=field, value=value, reason=kind, expires_at=expires, by=ops)
                for c in pair]
    still_open = [o for o in open_pins if TierOverride.objects.filter(pk=o.pk, ended_at__isnull=True).exists()]
    if kind == "revoke":
        for override in still_open:
            override_end(override=override, by=ops)
    else:  # expire: the time passes its expiry before the next refresh
        TierOverride.objects.filter(pk__in=[o.pk for o in still_open]).update(expires_at=timezone.now())
    return []


@pytest.mark.django_db
def test_migrating_records_every_judged_creators_state_as_the_history_baseline(short_window):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    # given a creator judged before the state history existed (their refresh left no history row)
    judged, unjudged = InfluencerFactory(onboarded_on=day(60)), InfluencerFactory(onboarded_on=day(60))
    for n in range(10):
        sell(judged, day(n), "3000")
    earlier = refresh_run_sync(today=day(1))
    TierStateChange.objects.all().delete()
    Influencer.objects.filter(pk=unjudged.pk).update(tier=None, creator_type=None, tier_since=None)

    # when the migration's data step runs
    migration = importlib.import_module("tiers.migrations.0006_refresh_queue_and_replay")
    migration.record_baseline(apps, SimpleNamespace(connection=connection))

    # then their state now is the baseline, and a replay that would need the state before it is refused
    baseline = TierStateChange.objects.get()
    assert (baseline.influencer_id, baseline.source) == (judged.pk, StateSource.BASELINE)
    assert (baseline.tier, baseline.creator_type, baseline.tier_since) == state(judged)[:3]
    with pytest.raises(RefreshError) as refused:
        replay_start(from_date=day(1))
    assert f"#{earlier.pk}" in str(refused.value)
    later = refresh_run_sync(today=day(0))
    assert replay_run_sync(from_date=day(0))[-1].replays == later  # from a refresh after it, it can
