"""The Celery refresh, fanned out over a real worker's processes, equals the synchronous refresh."""

import json
import time

import pytest

from tiers.choices import RunStatus, RunTrigger
from tiers.models import Influencer, RefreshRun, TierDecision
from tiers.refresh import refresh_run_sync
from tiers.tasks import refresh_all
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
