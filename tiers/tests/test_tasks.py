"""Tasks sent from this process are run by a real Celery worker against the same database."""

import pytest

from tiers.models import Influencer
from tiers.tasks import count_influencers
from tiers.tests.factories import InfluencerFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_round_trips_through_broker_and_worker(celery_worker_process):
    # given three creators committed to the test database
    InfluencerFactory.create_batch(3)

    # when the web side sends a task
    result = count_influencers.delay()

    # then a worker process ran it and saw the same rows
    assert result.get(timeout=30) == Influencer.objects.count() == 3
