"""A staff override reaches the creator through a real Celery worker, not at the next nightly refresh."""

import time

import pytest
from django.urls import reverse

from coaching.choices import NotificationKind
from coaching.models import Notification
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

WAIT_SECONDS = 30


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_override_made_in_the_admin_is_announced_by_the_worker(celery_worker, shipped_defaults, admin_client):
    # given a tail creator
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()

    # when staff pin them to mid in the admin
    admin_client.post(reverse("admin:tiers_tieroverride_add"),
                      {"influencer": creator.pk, "field": "tier", "value": "mid", "reason": "Pilot partner"})

    # then, after the commit, the worker tells the creator and moves them into the mid pool
    deadline = time.monotonic() + WAIT_SECONDS
    while not Notification.objects.filter(influencer=creator, kind=NotificationKind.TIER_CHANGED).exists():
        assert time.monotonic() < deadline, "the worker never announced the override"
        time.sleep(0.2)
    assert creator.enrollments.filter(status="active", program__code="mid-product-pool").exists()
