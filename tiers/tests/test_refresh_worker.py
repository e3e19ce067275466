"""The Celery refresh on a real worker's two processes: equal to the in-process one, chunks at once, runs queued."""

import json
import time

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext

from tiers.choices import DecisionCause, PolicyStatus, RunStatus, RunTrigger
from tiers.models import Influencer, RefreshChunk, RefreshRun, TierDecision, TierPolicy
from tiers.refresh import REFRESH_QUEUED_AFTER, refresh_run_sync, refresh_start
from tiers.rules import PolicyRules
from tiers.services import policy_clone, policy_update_draft
from core.runs import send_chunks
from tiers.tasks import refresh_all, refresh_replay
from conftest import wait_for
from tiers.tests.factories import InfluencerFactory, metric_days

RUN_TIMEOUT_SECONDS = 90


def _state():
    return set(Influencer.objects.values_list("id", "tier", "creator_type", "tier_since", "below_keep_since"))


def _ledger():
    rows = TierDecision.objects.values_list("influencer_id", "tier_before", "tier_after", "type_before", "type_after",
                                            "cause", "explanation")
    return sorted((*row[:-1], json.dumps(row[-1], sort_keys=True)) for row in rows)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_refresh_through_real_workers_equals_the_synchronous_refresh(celery_worker, shipped_defaults):
    # given a dozen creators across tiers and types
    for i, (gmv, live_share, video_share) in enumerate(
        [("150000", "0.8", "0.1"), ("5000", "0.2", "0.6"), ("5000", "0.8", "0.1"), ("1000", "0.1", "0.5"),
         ("800", "0.7", "0.2"), ("20000", "0.3", "0.3")] * 2
    ):
        creator = InfluencerFactory(handle=f"c{i}")
        metric_days(creator, days=30 if i % 5 else 5, gmv=gmv, live_share=live_share, video_share=video_share,
                    entertainment_videos=1 if i % 3 == 0 else 0)
    sync_run = refresh_run_sync(chunk_size=3)
    expected_state, expected_ledger = _state(), _ledger()
    Influencer.objects.update(tier=None, creator_type=None, tier_since=None, below_keep_since=None)
    TierDecision.objects.all().delete()

    # when beat's task starts a refresh on the worker
    refresh_all.delay(trigger=RunTrigger.SCHEDULE)

    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        run = RefreshRun.objects.exclude(pk=sync_run.pk).first()
        if run and run.status != RunStatus.RUNNING:
            break
        assert time.monotonic() < deadline, f"the refresh did not finish: {run}"
        time.sleep(0.2)

    # then it ran as four chunks and left exactly the synchronous result
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.chunk_count, run.chunks_done, run.done, run.total) == (4, 4, 12, 12)
    assert (run.newly_classified, run.promoted, run.demoted) == (12, 0, 0)
    assert _state() == expected_state
    assert _ledger() == expected_ledger

    # and the worker ran programme assignment after it, as the task that follows every refresh
    from coaching.models import AssignmentRun, Enrollment

    while not AssignmentRun.objects.filter(refresh_run=run, status="succeeded").exists():
        assert time.monotonic() < deadline + RUN_TIMEOUT_SECONDS, "assignment did not follow the refresh"
        time.sleep(0.2)
    assert Enrollment.objects.filter(status="active").count() >= 12  # everyone has a programme


def _creators(n: int) -> list[Influencer]:
    creators = [InfluencerFactory(handle=f"c{i}") for i in range(n)]
    for i, creator in enumerate(creators):
        metric_days(creator, days=30, gmv=("5000", "1000", "150000")[i % 3])
    return creators


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_apply_chunks_of_one_run_at_the_same_time(celery_worker, shipped_defaults):
    # given 15 creators: five chunks of three for the worker's two processes
    creators = _creators(15)
    expected = refresh_run_sync(chunk_size=3)  # what the run must end in, decided here in one process
    expected_state = _state()
    Influencer.objects.update(tier=None, creator_type=None, tier_since=None, below_keep_since=None)
    TierDecision.objects.all().delete()

    if connection.vendor == "postgresql":
        # when one chunk is held mid-transaction (its first creator's row is locked here, so its
        # write waits) while the worker refreshes everyone
        with transaction.atomic():
            Influencer.objects.select_for_update().get(pk=creators[0].pk)
            refresh_all.delay(trigger=RunTrigger.SCHEDULE)
            run = wait_for(lambda: RefreshRun.objects.exclude(pk=expected.pk).first(), "the run's start")
            wait_for(_a_chunk_waits_for_a_row_lock, "the first chunk's wait on the locked creator")
            # then the other process applies every other chunk meanwhile: nothing of the run is
            # locked by the waiting chunk (before, its lock on the run row held all the others)
            wait_for(lambda: RefreshChunk.objects.filter(run=run, done_at__isnull=False).count() == run.chunk_count - 1,
                     "the other chunks, while the first one waits,", timeout=30)
            assert not RefreshChunk.objects.get(run=run, index=0).done_at
        run = wait_for(lambda: RefreshRun.objects.filter(pk=run.pk).exclude(status=RunStatus.RUNNING).first(), "the run's end")
        chunks = list(RefreshChunk.objects.filter(run=run).order_by("index"))
        held = chunks[0]
        intervals = [(c.index, c.started_at.time(), c.done_at.time()) for c in chunks]
        assert any(held.started_at < other.started_at and other.done_at < held.done_at for other in chunks[1:]), intervals
    else:
        # SQLite lets one transaction write at a time: the chunks cannot overlap here, whatever the
        # code does. This branch proves only that two processes end in the right state, and says so:
        # their transactions follow one another. CI runs the branch above, on PostgreSQL.
        refresh_all.delay(trigger=RunTrigger.SCHEDULE)
        run = wait_for(lambda: RefreshRun.objects.exclude(pk=expected.pk).exclude(status=RunStatus.RUNNING).first(),
                       "the run's end")
        intervals = sorted(RefreshChunk.objects.filter(run=run).values_list("started_at", "done_at"))
        assert all(done <= next_start for (_, done), (next_start, _) in zip(intervals, intervals[1:]))

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.chunk_count, run.chunks_done, run.done) == (5, 5, 15)
    assert _state() == expected_state


def _a_chunk_waits_for_a_row_lock() -> bool:
    # pg_locks, not pg_stat_activity: the latter is read once per transaction, and the test is in one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_policy_published_during_a_refresh_gets_its_own_refresh_after_it(celery_worker, shipped_defaults, admin_client):
    # given a refresh running (started, its chunks not yet taken by a worker) and a draft that
    # lowers the mid line under a tail creator's sales
    creators = _creators(6)
    running = refresh_start(trigger=RunTrigger.SCHEDULE)
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=None)
    rules = PolicyRules.default().to_json()
    rules["mid"].update(promote_gmv="25000", promote_followers_gmv="10000", keep_gmv="20000")
    policy_update_draft(policy=draft, rules=rules, by=None)

    # when staff publish it
    response = admin_client.post(reverse("admin:tiers_tierpolicy_changelist"),
                                 {"action": "publish", "_selected_action": [draft.pk]})

    # then they are told the truth: its refresh waits for the running one
    queued = RefreshRun.objects.get(trigger=RunTrigger.POLICY_PUBLISH)
    assert queued.status == RunStatus.PENDING and queued.policy_id == draft.pk
    told = [str(m) for m in get_messages(response.wsgi_request)]
    assert told == [gettext("v%(version)s published. %(refresh)s") % {
        "version": 2, "refresh": REFRESH_QUEUED_AFTER.format(run_id=queued.pk, active_id=running.pk, done=0, count=running.chunk_count)}]

    # and once the workers finish the running refresh, the policy's own refresh follows under v2
    send_chunks(kind="refresh", run_id=running.pk, indexes=list(range(running.chunk_count)))
    queued = wait_for(lambda: RefreshRun.objects.filter(pk=queued.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).first(),
                      "the policy's refresh")
    running.refresh_from_db()
    assert (running.status, queued.status, queued.error) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, "")
    assert queued.started_at >= running.finished_at
    assert TierPolicy.objects.get(pk=draft.pk).status == PolicyStatus.PUBLISHED
    moved = TierDecision.objects.filter(refresh_run=queued)
    assert set(moved.values_list("cause", "tier_before", "tier_after", "policy_id")) == {
        (DecisionCause.POLICY_CHANGE, "tail", "mid", draft.pk)}
    assert moved.count() == len(creators) // 3  # every ¥1,000-a-day creator


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_replay_runs_its_days_in_order_on_the_workers_and_is_announced_once(celery_worker, shipped_defaults):
    from coaching.models import AssignmentRun

    from tiers.tests.test_replay import course, day, sell

    # given daily refreshes of twins, one of whom has the corrected figure for day(3) from the start
    forward, replayed = InfluencerFactory(handle="forward"), InfluencerFactory(handle="replayed")
    for creator in (forward, replayed):
        for n in range(40):
            sell(creator, day(n), "3000")
    sell(forward, day(3), "90000")
    for n in range(5, -1, -1):
        refresh_run_sync(today=day(n))
    sell(replayed, day(3), "90000")
    forward_before = course(forward)

    # when the workers replay from day(3)
    refresh_replay.delay(from_date=day(3).isoformat(), requested_by_id=None)

    runs = wait_for(lambda: (runs := list(RefreshRun.objects.filter(trigger=RunTrigger.REPLAY).order_by("id")))
                    and all(run.status != RunStatus.RUNNING and run.status != RunStatus.PENDING for run in runs) and runs,
                    "the replay")
    assert [(run.run_date, run.status) for run in runs] == [(day(n), RunStatus.SUCCEEDED) for n in range(3, -1, -1)]
    assert all(a.finished_at <= b.started_at for a, b in zip(runs, runs[1:]))
    assert course(forward) == forward_before and course(replayed)[0] == forward_before[0]
    assert course(replayed)[1] == forward_before[1]
    # coaching heard once, of the last day
    wait_for(lambda: AssignmentRun.objects.filter(refresh_run__in=runs).exists(), "the announcement")
    assert list(AssignmentRun.objects.filter(refresh_run__in=runs).values_list("refresh_run_id", flat=True)) == [runs[-1].pk]
