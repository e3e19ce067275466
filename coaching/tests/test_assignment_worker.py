"""A worker killed in the middle of an assignment chunk: the run still completes, as a clean run would."""

import datetime
import json
import os
import signal
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from coaching.choices import AssignmentStatus
from coaching.models import AssignmentChunk, AssignmentRun, Enrollment, EnrollmentEvent, Notification
from coaching.services import assignment_after_refresh, assignment_proceed, assignment_run
from core.runs import STALE_AFTER
from conftest import drop_queues, forget_queue, start_worker, stop_worker, wait_for, waiting
from config.celery_app import app as celery_app
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

WAIT_SECONDS = 90
COUNTS = ("chunk_count", "chunks_done", "enrolled", "advanced", "graduated", "exited", "tasks_checked", "notified")


def outcome():
    """Everything an assignment leaves, as sorted lists (a duplicate would show), without ids of its own making."""
    places = sorted(Enrollment.objects.values_list("influencer_id", "program_id", "stage_id", "status", "reason"),
                    key=repr)
    events = sorted(EnrollmentEvent.objects.values_list("enrollment__influencer_id", "enrollment__program_id", "reason",
                                                        "from_stage_id", "to_stage_id"), key=repr)
    told = sorted((n.influencer_id, n.kind, json.dumps(n.data, sort_keys=True)) for n in Notification.objects.all())
    return places, events, told


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_leaves_a_run_that_completes_as_a_clean_run(
    shipped_defaults, redis_url, settings, monkeypatch, tmp_path, django_capture_on_commit_callbacks, days_ago
):
    # given 15 creators, some promoted since yesterday's refresh, in chunks of 3
    for i, gmv in enumerate(["1000", "5000", "150000", "1000", "5000"] * 3):
        creator = InfluencerFactory(onboarded_on=days_ago(400), handle=f"k{i}")
        metric_days(creator, days=30, end=days_ago(31), gmv="1000")
        metric_days(creator, days=31, end=days_ago(0), gmv=gmv)
    refresh_run_sync(today=days_ago(31))
    assignment_run(today=days_ago(31))
    refresh = refresh_run_sync(today=days_ago(0))
    settings.LADDER_CHUNK_SIZE = 3
    # and what a clean run leaves, computed in this process and rolled back
    with transaction.atomic():
        assignment_after_refresh(run_id=refresh.pk)
        clean = AssignmentRun.objects.values_list(*COUNTS).get(refresh_run=refresh)
        expected = outcome()
        transaction.set_rollback(True)
    assert clean[:3] == (5, 5, 12)  # 5 chunks, all done; the nine promoted joined 12 programmes

    # when the workers' announcement sends the chunks to a worker that holds chunk 1 open and is killed there
    queue = f"ladder-kill-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    with django_capture_on_commit_callbacks(execute=False) as send:
        assignment_after_refresh(run_id=refresh.pk, in_process=False)
    run = AssignmentRun.objects.get(refresh_run=refresh)
    held = AssignmentChunk.objects.get(run=run, index=1)
    marker = tmp_path / "holding"
    doomed, _ = start_worker(redis_url, queue=queue, app="coaching.tests.slow_chunk_worker", concurrency=1, env={
        "LADDER_TEST_SLOW_FIRST_ID": str(held.first_id), "LADDER_TEST_SLOW_MARKER": str(marker)})
    survivor = None
    try:
        for callback in send:
            callback()
        wait_for(marker.exists, "the worker to hold chunk 1 open")
        assert int(marker.read_text()) > 0  # it had written enrolments and notifications, uncommitted
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)

        # then nothing of chunk 1 is left behind, and the run is stuck at "running"
        held.refresh_from_db()
        run.refresh_from_db()
        assert held.done_at is None
        assert not EnrollmentEvent.objects.filter(assignment_run=run, enrollment__influencer__id__range=(
            held.first_id, held.last_id)).exists()
        assert (run.status, run.chunks_done) == (AssignmentStatus.RUNNING, 1)

        # when a new worker starts, and the watch finds the run stuck (as it would after STALE_AFTER)
        survivor, _ = start_worker(redis_url, queue=queue)
        assignment_proceed(in_process=False, now=timezone.now() + STALE_AFTER + datetime.timedelta(seconds=1))

        # then the run completes, with exactly what a clean run leaves: nothing lost, nothing twice
        wait_for(lambda: AssignmentRun.objects.get(pk=run.pk).status != AssignmentStatus.RUNNING, "the run to finish")
        run.refresh_from_db()
        assert run.status == AssignmentStatus.SUCCEEDED, run.error
        assert run.resent == 1
        assert AssignmentRun.objects.values_list(*COUNTS).get(pk=run.pk) == clean
        assert outcome() == expected
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
        if survivor is not None:
            wait_for(lambda: not waiting(redis_url, queue), "the queues to drain")
            stop_worker(survivor, redis_url, queue)
        forget_queue(redis_url, queue)
        drop_queues(redis_url, queue)
