"""Tasks sent from this process are run by a real Celery worker against the same database, each on its queue."""

import uuid

import pytest
import redis
from django.contrib.auth import get_user_model

from coaching.choices import NotificationKind
from coaching.models import Notification
from config.celery_app import app as celery_app
from conftest import start_worker, stop_worker, wait_for, waiting
from core.tasks import health_probe
from tiers.choices import OverrideField, RunStatus, RunTrigger, Tier
from tiers.models import RefreshRun
from tiers.refresh import refresh_queue
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_broker_and_worker(celery_worker):
    # given three users committed to the test database
    UserFactory.create_batch(3)

    # when the web side sends a task
    result = health_probe.delay()

    # then a worker process ran it and saw the same rows
    assert result.get(timeout=30) == get_user_model().objects.count() == 3


def test_every_ladder_task_goes_to_the_sites_own_queue_and_batch_work_to_its_batch_queue():
    # given the site's queue (a fresh one per test, so another worker on the Redis never takes it)
    queue = celery_app.conf.task_default_queue
    assert queue.startswith("ladder-")

    # when the router places each of our tasks (every app's tasks, as a worker loads them)
    celery_app.loader.import_default_modules()
    ours = [task for name, task in celery_app.tasks.items() if name.startswith(("core.", "tiers.", "coaching.", "ops."))]
    own_options = {task.name: {"queue": task.queue} if getattr(task, "queue", None) else {} for task in ours}
    placed = {name: celery_app.amqp.router.route(options, name)["queue"].name for name, options in own_options.items()}

    # then refresh, replay, import, assignment and what-if work goes to the batch queue, the rest to the site's queue
    batch = {name for name, placed_in in placed.items() if placed_in == f"{queue}.batch"}
    assert batch == {"tiers.refresh_all", "tiers.refresh_replay", "tiers.refresh_chunk", "tiers.after_refresh",
                     "tiers.import_check", "tiers.import_apply", "tiers.import_refresh", "coaching.assignment_chunk",
                     "ops.whatif_chunk"}
    assert {placed[name] for name in placed.keys() - batch} == {queue}
    assert {"tiers.after_decision", "tiers.outbox_flush", "core.health_probe"} <= placed.keys() - batch


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_creators_notification_never_waits_behind_a_refresh(redis_url, monkeypatch, shipped_defaults):
    # given a worker for what people wait for, and no batch worker free: a refresh's chunks wait in the batch queue
    queue = f"ladder-people-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    creator = InfluencerFactory(tier=Tier.TAIL)
    metric_days(creator, days=30, gmv="500")
    worker, _ = start_worker(redis_url, queue=queue, batch=False)
    try:
        run = refresh_queue(trigger=RunTrigger.STAFF)
        wait_for(lambda: waiting(redis_url, queue) > 0, "the refresh's chunks to be queued")

        # when staff pin the creator's tier (the creator is told by a task)
        staff = UserFactory(is_staff=True)
        override_create(influencer=creator, field=OverrideField.TIER, value=Tier.MID, reason="pilot", by=staff)

        # then the creator is told while the refresh still waits for a batch worker
        wait_for(lambda: Notification.objects.filter(influencer=creator, kind=NotificationKind.TIER_CHANGED).exists(),
                 "the creator's notification")
        assert redis.Redis.from_url(redis_url).llen(f"{queue}.batch") > 0
        assert RefreshRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    finally:
        stop_worker(worker, redis_url, queue)
