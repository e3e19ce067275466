"""The staff and service endpoints: filters, details, refresh runs, and query counts that stay flat."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from coaching.services import assignment_run
from coaching.tests.factories import pool_with_products
from tiers.choices import OverrideField, RunStatus, Tier
from tiers.models import RefreshRun, TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/influencers/", "/api/v1/decisions/", "/api/v1/refresh-runs/", "/api/v1/policies/",
         "/api/v1/programmes/", "/api/v1/enrolments/", "/api/v1/product-pools/"]


def test_influencers_filter_and_page_by_cursor(world, bearer):
    api = bearer("read")
    mid = world["mid"]

    by_tier = api.get("/api/v1/influencers/", {"tier": Tier.MID}).json()
    by_search = api.get("/api/v1/influencers/", {"search": "tailcr"}).json()
    first = api.get("/api/v1/influencers/", {"page_size": 1}).json()
    second = api.get(first["next"]).json()

    assert [c["id"] for c in by_tier["results"]] == [mid.pk]
    assert [c["handle"] for c in by_search["results"]] == ["tailcreator"]
    assert len(first["results"]) == 1 and first["results"][0]["id"] < second["results"][0]["id"]
    assert api.get("/api/v1/influencers/", {"tier": "emperor"}).status_code == 400
    assert api.get("/api/v1/influencers/", {"updated_since": "not a time"}).status_code == 400


def test_an_influencer_shows_tier_type_explanation_and_open_overrides(world, bearer):
    staff = UserFactory(username="ops-detail", is_staff=True)
    override_create(influencer=world["mid"], field=OverrideField.TIER, value=Tier.HEAD, reason="key account", by=staff)

    body = bearer("read").get(f"/api/v1/influencers/{world['mid'].pk}/").json()

    assert body["tier"] == Tier.HEAD
    assert body["explanation"]["checks"]
    assert [(o["field"], o["value"], o["reason"]) for o in body["open_overrides"]] == [("tier", "head", "key account")]
    assert bearer("read").get("/api/v1/influencers/999999/").status_code == 404


def test_decisions_filter_by_creator_cause_run_and_days(world, bearer, today):
    api = bearer("read")
    run = RefreshRun.objects.latest("id")

    mine = api.get("/api/v1/decisions/", {"influencer": world["mid"].pk}).json()["results"]
    of_run = api.get("/api/v1/decisions/", {"refresh_run": run.pk, "cause": "refresh",
                                            "decided_from": today.isoformat(), "decided_to": today.isoformat()})

    assert mine and {d["influencer"] for d in mine} == {world["mid"].pk}
    assert {d["refresh_run"] for d in of_run.json()["results"]} == {run.pk}
    assert api.get("/api/v1/decisions/", {"decided_from": "yesterday"}).status_code == 400


def test_policies_current_and_rules(world, bearer):
    api = bearer("read")
    current = api.get("/api/v1/policies/current/").json()
    rules = api.get(f"/api/v1/policies/{current['id']}/rules/").json()

    assert current["status"] == "published"
    assert rules["rules"] == TierPolicy.objects.get(pk=current["id"]).rules


def test_a_refresh_is_started_with_write_runs_and_told_truthfully(world, bearer, django_capture_on_commit_callbacks):
    api = bearer("read,write-runs")
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post("/api/v1/refresh-runs/")
    assert started.status_code == 202, started.json()
    run_id = started.json()["run"]["id"]
    assert f"#{run_id}" in started.json()["message"]

    with django_capture_on_commit_callbacks(execute=False):
        queued = api.post("/api/v1/refresh-runs/")
    assert queued.status_code == 202 and queued.json()["run"]["status"] == RunStatus.PENDING
    assert f"#{run_id}" in queued.json()["message"]  # queued after the one still running
    detail = api.get(f"/api/v1/refresh-runs/{run_id}/").json()
    assert detail["status"] == RunStatus.RUNNING and 0 <= detail["progress"] <= 1


def test_pool_products_and_enrolments(world, bearer):
    api = bearer("read")
    products = api.get(f"/api/v1/product-pools/{world['pool'].pk}/products/").json()["results"]
    enrolments = api.get("/api/v1/enrolments/", {"influencer": world["mid"].pk}).json()["results"]

    assert len(products) == 5
    assert {e["program_code"] for e in enrolments} >= {"mid-product-pool"}


def _queries(api, url, page_size):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url, {"page_size": page_size})
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries), len(response.json()["results"])


def _grow(world):
    """More of everything the lists show: creators, metrics, decisions, runs, enrolments, products."""
    for k in range(6):
        metric_days(InfluencerFactory(handle=f"more{k}"), days=30, gmv="5000" if k % 2 else "800")
    pool_with_products(world["pool"], 10)
    refresh_run_sync()
    assignment_run()


def test_list_query_counts_do_not_grow_with_page_size_or_data(world, bearer):
    api = bearer("read")
    api.get("/api/v1/policies/")  # the token's first use is recorded once; count the steady state
    pool_url = f"/api/v1/product-pools/{world['pool'].pk}/products/"
    small = {url: _queries(api, url, 1) for url in [*LISTS, pool_url]}

    _grow(world)
    large = {url: _queries(api, url, 50) for url in [*LISTS, pool_url]}

    for url in small:
        assert large[url][0] == small[url][0], (url, small[url], large[url])
    assert large["/api/v1/influencers/"][1] > 1 and large[pool_url][1] > 1


def test_the_plan_query_count_does_not_grow_with_history(world, days_ago):
    api = APIClient()
    api.force_login(world["mid"].user)
    with CaptureQueriesContext(connection) as before:
        api.get("/api/v1/me/plan/")
    metric_days(world["mid"], days=60, end=days_ago(31))
    refresh_run_sync()
    with CaptureQueriesContext(connection) as after:
        api.get("/api/v1/me/plan/")
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_creator_s_pool_list_query_count_does_not_grow(world):
    api = APIClient()
    api.force_login(world["mid"].user)
    url = f"/api/v1/me/pools/{world['pool'].pk}/products/"
    small = _queries(api, url, 1)

    pool_with_products(world["pool"], 20)
    large = _queries(api, url, 50)

    assert large[0] == small[0] and large[1] == 25
