"""Tasks sent from this process are run by a real Celery worker against the same database."""

import pytest
from django.conf import settings

from config.celery_app import app as celery_app

from tiers.models import Influencer
from tiers.tasks import count_influencers
from tiers.tests.factories import InfluencerFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_broker_and_worker(celery_worker):
    # given three creators committed to the test database
    InfluencerFactory.create_batch(3)

    # when the web side sends a task
    result = count_influencers.delay()

    # then a worker process ran it and saw the same rows
    assert result.get(timeout=30) == Influencer.objects.count() == 3


def test_every_ladder_task_goes_to_the_sites_own_queue():
    # given the site's queue (a fresh one per test run, so another worker on the Redis never takes it)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue.startswith("ladder-test-")

    # when the router places each of our tasks
    ours = [task for name, task in celery_app.tasks.items() if name.startswith(("tiers.", "coaching."))]
    own_options = {task.name: {"queue": task.queue} if getattr(task, "queue", None) else {} for task in ours}
    placed = {name: celery_app.amqp.router.route(options, name)["queue"].name for name, options in own_options.items()}

    # then none is pinned to another queue
    assert len(placed) >= 4 and placed == dict.fromkeys(placed, queue)
