"""Fixtures of the API tests: tokens, an API client, and two creators with plans to keep apart."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.services import token_create
from coaching.choices import EnrollmentPolicy
from coaching.models import Program, Task
from coaching.services import assignment_run
from coaching.tests.factories import ProgramFactory, pool_with_products
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

EVERY_SCOPE = "read,write-metrics,write-runs"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttling counts in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_token():
    """make_token("read,write-metrics") -> the secret of a new token with those scopes."""

    def make(scopes=EVERY_SCOPE, name="pipeline"):
        return token_create(name=name, scopes=scopes)[1]

    return make


@pytest.fixture
def bearer(api, make_token):
    """bearer(scopes) -> an API client sending a new token with those scopes."""

    def client(scopes=EVERY_SCOPE) -> APIClient:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes)}")
        return api

    return client


def creator(handle, gmv):
    user = UserFactory(username=handle)
    influencer = InfluencerFactory(handle=handle, display_name=f"{handle}-name", user=user)
    metric_days(influencer, days=30, gmv=gmv)
    return influencer


def build_world() -> dict:
    """A tail creator (in the village) and a mid creator (in the product pool), a campaign open to both."""
    tail, mid = creator("tailcreator", "1000"), creator("midcreator", "5000")
    campaign = ProgramFactory(code="open-campaign", enrollment_policy=EnrollmentPolicy.OPT_IN,
                              eligible_tiers=["tail", "mid"], name_zh="开放活动", name_en="Open campaign")
    pool = Program.objects.get(code="mid-product-pool")
    products = pool_with_products(pool, 5)
    refresh_run_sync()
    assignment_run()
    return {
        "tail": Influencer.objects.get(pk=tail.pk), "mid": Influencer.objects.get(pk=mid.pk), "campaign": campaign,
        "pool": pool, "products": products,
        "village_task": Task.objects.filter(stage__program__code="newcomer-village", check_by="self_report").first(),
    }


@pytest.fixture
def world(db):
    return build_world()
