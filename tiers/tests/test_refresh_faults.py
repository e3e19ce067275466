"""Faults during a refresh on real workers: a killed worker, a lost send, a lost database connection, a time limit, a race."""

import contextlib
import datetime
import json
import os
import signal
import threading
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from config.celery_app import app as celery_app
from config.embedded_redis import free_port
from conftest import drop_queues, forget_queue, start_worker, stop_worker, wait_for, waiting
from core import outbox
from core.models import OutboxMessage
from core.runs import STALE_AFTER
from core.tasks import outbox_flush
from tiers.choices import RunStatus, RunTrigger
from tiers.models import RefreshChunk, RefreshRun, TierDecision
from tiers.refresh import (
    REFRESH_ALREADY_RUNNING,
    REFRESH_QUEUED_AFTER,
    REFRESH_RESENT,
    RefreshAlreadyRunning,
    refresh_queue,
    refresh_run_sync,
    refresh_start,
)
from tiers.tasks import refresh_chunk
from tiers.tests.factories import InfluencerFactory, metric_days
from tiers.tests.test_refresh_worker import _ledger, _state

POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
HOLDING_WORKER = "tiers.tests.holding_worker"


def _population(n: int = 15) -> None:
    for i in range(n):
        metric_days(InfluencerFactory(handle=f"f{i}"), days=30, gmv=("1000", "5000", "150000")[i % 3])


def _clean_run() -> tuple[list, list]:
    """What a clean refresh of everyone leaves, computed in this process and rolled back."""
    with transaction.atomic():
        refresh_run_sync()
        clean = _state(), _ledger()
        transaction.set_rollback(True)
    return clean


def _holding_worker(own_queue, tmp_path, **env):
    """A one-process worker that holds chunk 1 open once (see holding_worker); its process and the marker
    it writes when it holds."""
    marker = tmp_path / "holding"
    proc, _ = own_queue(app=HOLDING_WORKER, concurrency=1,
                        env={"LADDER_TEST_HOLD_INDEX": "1", "LADDER_TEST_HOLD_MARKER": str(marker), **env})
    return proc, marker


def _finished(run_id: int) -> RefreshRun | None:
    return RefreshRun.objects.filter(pk=run_id, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).first()


@pytest.fixture
def own_queue(monkeypatch, redis_url, settings):
    """A queue for this test's workers alone (what they hold unacknowledged is dropped afterwards);
    chunks of three creators."""
    settings.LADDER_CHUNK_SIZE = 3
    queue = f"ladder-fault-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    workers = []

    def start(**kwargs):
        proc, hostname = start_worker(redis_url, queue=queue, **kwargs)
        workers.append((proc, hostname))
        return proc, hostname

    yield start
    try:
        for proc, hostname in workers:
            if proc.poll() is None:
                _wait_idle(redis_url, queue, hostname)
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                stop_worker(proc, redis_url, queue)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # a pool process still holding a chunk open
    forget_queue(redis_url, queue)
    drop_queues(redis_url, queue)


def _wait_idle(redis_url: str, queue: str, hostname: str) -> None:
    """Until the worker has nothing running and nothing waits in the queue, twice in a row: the
    database is flushed after the test, and must not be under a task still writing."""
    idle = 0

    def quiet():
        nonlocal idle
        inspect = celery_app.control.inspect(destination=[hostname], timeout=1)
        busy = any((inspect.active() or {}).values()) or any((inspect.reserved() or {}).values()) or waiting(redis_url, queue)
        idle = 0 if busy else idle + 1
        return idle >= 2

    wait_for(quiet, "the worker to finish the test's tasks")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_a_staff_request_resends_it_and_the_run_equals_a_clean_run(
        shipped_defaults, own_queue, tmp_path, admin_client):
    # given 15 creators (five chunks), and what a clean refresh of them leaves
    _population()
    expected_state, expected_ledger = _clean_run()
    doomed, marker = _holding_worker(own_queue, tmp_path)

    # when beat's refresh starts, and its worker is killed while chunk 1 is written but not committed
    run = refresh_queue(trigger=RunTrigger.SCHEDULE)
    wait_for(marker.exists, "the worker to hold chunk 1 open")
    assert json.loads(marker.read_text())["decisions"] > 0
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)

    # then nothing of chunk 1 is in the database
    held = RefreshChunk.objects.get(run=run, index=1)
    assert held.done_at is None
    assert not TierDecision.objects.filter(influencer__id__range=(held.first_id, held.last_id)).exists()
    # and another worker takes the chunks still queued, but chunk 1's message waits in Redis's unacked
    # set for the visibility timeout (two hours): the run is stuck at 4/5
    own_queue()
    wait_for(lambda: RefreshRun.objects.get(pk=run.pk).chunks_done == 4, "the other chunks")

    # when staff ask for a refresh once the run has not moved for STALE_AFTER
    RefreshRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - STALE_AFTER - datetime.timedelta(seconds=1))
    response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))

    # then they are told the truth, and the stuck chunk is sent again
    queued = RefreshRun.objects.get(trigger=RunTrigger.STAFF)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        REFRESH_QUEUED_AFTER.format(run_id=queued.pk, active_id=run.pk, done=4, count=5) + " "
        + REFRESH_RESENT.format(run_id=run.pk, chunks=1)]
    # and the run completes as a clean run would, nothing twice; the queued one follows and changes nothing
    wait_for(lambda: _finished(queued.pk), "both runs to finish")
    run.refresh_from_db()
    queued.refresh_from_db()
    assert (run.status, queued.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED), (run.error, queued.error)
    assert (run.chunks_done, run.done, run.resent) == (5, 15, 1)
    assert (queued.newly_classified, queued.promoted, queued.demoted) == (0, 0, 0)
    assert _state() == expected_state
    assert _ledger() == expected_ledger


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_refresh_whose_starter_died_after_the_commit_is_sent_by_beats_outbox_flush(
        shipped_defaults, celery_worker, settings, monkeypatch, redis_url):
    # given creators, and what a clean refresh of them leaves
    _population(6)
    settings.LADDER_CHUNK_SIZE = 3
    expected_state, expected_ledger = _clean_run()

    # when a refresh starts, and the process dies between its commit and sending the chunks
    with monkeypatch.context() as dying:
        dying.setattr(outbox, "deliver", lambda **kwargs: 0)
        run = refresh_queue(trigger=RunTrigger.SCHEDULE)

    # then the run is recorded with the sending it owes, and nothing reached the workers
    unsent = OutboxMessage.objects.get(sent_at__isnull=True)
    assert unsent.kwargs == {"kind": "refresh", "run_id": run.pk}
    assert waiting(redis_url, settings.CELERY_TASK_DEFAULT_QUEUE) == 0
    # when beat's outbox flush runs
    outbox_flush.delay()
    # then the chunks go out and the run ends as a clean one
    run = wait_for(lambda: _finished(run.pk), "the refresh")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (_state(), _ledger()) == (expected_state, expected_ledger)
    assert OutboxMessage.objects.get(pk=unsent.pk).sent_at is not None


@pytest.mark.worker
@pytest.mark.skipif(not POSTGRESQL, reason="a server connection to lose exists on PostgreSQL only (CI runs it)")
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_lost_mid_chunk_writes_nothing_of_it_and_the_retry_completes_the_run(
        shipped_defaults, own_queue, tmp_path):
    # given 15 creators, what a clean refresh leaves, and a worker that holds chunk 1 open once
    _population()
    expected_state, expected_ledger = _clean_run()
    _, marker = _holding_worker(own_queue, tmp_path)

    run = refresh_queue(trigger=RunTrigger.SCHEDULE)
    wait_for(marker.exists, "the worker to hold chunk 1 open")
    held = json.loads(marker.read_text())
    chunk = RefreshChunk.objects.get(run=run, index=1)
    # chunk 1 has written its states, decisions and counters, none of it visible: one transaction
    assert held["decisions"] > 0
    assert not TierDecision.objects.filter(influencer__id__range=(chunk.first_id, chunk.last_id)).exists()
    assert RefreshRun.objects.get(pk=run.pk).chunks_done == 1

    # when PostgreSQL drops the worker's connection in the middle of the chunk, and the chunk goes on
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [held["backend_pid"]])
        assert cursor.fetchone() == (True,)
    marker.unlink()

    # then the chunk's commit fails, nothing of it stays, the task is retried on a new connection,
    # and the run ends as a clean one: every decision once
    run = wait_for(lambda: _finished(run.pk), "the refresh")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.chunks_done, run.done) == (5, 15)
    assert (_state(), _ledger()) == (expected_state, expected_ledger)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_chunk_past_its_time_limit_fails_the_run_frees_its_place_and_the_queued_run_starts(
        shipped_defaults, own_queue, tmp_path, monkeypatch):
    # given 15 creators, and chunks that may take 3 s (the limits travel with each message: those this
    # process sends, and those the worker sends), of which chunk 1 hangs once
    _population()
    expected_state, expected_ledger = _clean_run()
    monkeypatch.setattr(refresh_chunk, "soft_time_limit", 3)
    monkeypatch.setattr(refresh_chunk, "time_limit", 33)
    monkeypatch.setattr(refresh_chunk, "_exec_options", None)  # Celery caches them at the task's first send
    _, marker = _holding_worker(own_queue, tmp_path, LADDER_TEST_CHUNK_SOFT_TIME_LIMIT="3")

    # when a refresh runs into the limit while another is queued behind it
    first = refresh_queue(trigger=RunTrigger.SCHEDULE)
    wait_for(marker.exists, "the worker to hang in chunk 1")
    second = refresh_queue(trigger=RunTrigger.STAFF)
    # (SQLite lets one transaction write at a time: there the request waits for the hung chunk's end)
    assert second.status == (RunStatus.PENDING if POSTGRESQL else RunStatus.RUNNING)

    # then the first is failed with the reason, its place is free, and the queued one runs to the end
    first = wait_for(lambda: _finished(first.pk), "the time limit")
    assert first.status == RunStatus.FAILED and first.active is None
    assert "chunk 1: SoftTimeLimitExceeded" in first.error
    second = wait_for(lambda: _finished(second.pk), "the queued refresh")
    assert second.status == RunStatus.SUCCEEDED, second.error
    # and nothing of the hung chunk stayed: the end state is a clean refresh's
    assert (_state(), _ledger()) == (expected_state, expected_ledger)


def _at_once(start, count: int = 2) -> list:
    """Call `start()` from `count` threads released together; what each returned or raised."""
    barrier = threading.Barrier(count)
    results = []

    def one():
        try:
            barrier.wait()
            results.append(start())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("redis_lock", [True, False], ids=["with the redis lock", "redis down: the database alone"])
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_started_at_once_exactly_one_runs_and_the_other_is_told_why(shipped_defaults, settings, redis_lock):
    _population(6)
    if not redis_lock:
        settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    results = _at_once(lambda: refresh_start(trigger=RunTrigger.STAFF))

    runs = [r for r in results if isinstance(r, RefreshRun)]
    refused = [r for r in results if isinstance(r, RefreshAlreadyRunning)]
    assert (len(runs), len(refused)) == (1, 1), results
    assert str(refused[0]) == REFRESH_ALREADY_RUNNING.format(run_id=runs[0].pk)
    assert list(RefreshRun.objects.values_list("pk", flat=True)) == [runs[0].pk]
