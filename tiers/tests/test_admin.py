"""Staff find creators and metrics in the admin; changelists do not slow down with more rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tiers.choices import Category, Tier
from tiers.tests.factories import DailyMetricFactory, InfluencerFactory

pytestmark = pytest.mark.django_db


def _changelist_queries(admin_client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("factory, model", [(InfluencerFactory, "influencer"), (DailyMetricFactory, "dailymetric")])
def test_changelist_query_count_does_not_grow_with_rows(admin_client, factory, model):
    factory.create_batch(3)
    url = reverse(f"admin:tiers_{model}_changelist")
    few = _changelist_queries(admin_client, url)

    factory.create_batch(40)
    many = _changelist_queries(admin_client, url)

    assert many == few


def test_influencer_changelist_filters_by_tier_type_category_and_status(admin_client):
    InfluencerFactory(handle="mid_beauty", tier=Tier.MID, creator_type="persona", main_category=Category.BEAUTY)
    InfluencerFactory(handle="tail_food", tier=Tier.TAIL, creator_type="seeding", main_category=Category.FOOD)
    url = reverse("admin:tiers_influencer_changelist")

    response = admin_client.get(url, {"tier__exact": "mid", "creator_type__exact": "persona",
                                      "main_category__exact": "beauty", "status__exact": "active"})

    assert response.status_code == 200
    handles = [obj.handle for obj in response.context["cl"].result_list]
    assert handles == ["mid_beauty"]


@pytest.mark.parametrize("query", ["ks-find-me", "findme"])
def test_influencer_search_by_platform_id_or_handle_prefix(admin_client, query):
    InfluencerFactory(platform_id="ks-find-me", handle="findme_please")
    InfluencerFactory(platform_id="ks-other", handle="someone_else")

    response = admin_client.get(reverse("admin:tiers_influencer_changelist"), {"q": query})

    assert [obj.platform_id for obj in response.context["cl"].result_list] == ["ks-find-me"]


def test_influencer_change_page_shows_recent_metrics_and_links_the_rest(admin_client):
    metric = DailyMetricFactory()

    response = admin_client.get(reverse("admin:tiers_influencer_change", args=[metric.influencer_id]))

    assert response.status_code == 200
    assert f"?influencer__id__exact={metric.influencer_id}" in response.content.decode()
    assert str(metric.gmv) in response.content.decode()
