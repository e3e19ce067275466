"""The growth plan shows where a creator stands and what to do next, in a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import override

from coaching.choices import EnrollmentPolicy
from coaching.models import Stage, Task
from coaching.reviews import review_request_create
from coaching.selectors import growth_plan, plan_for
from coaching.services import assignment_run, enrollment_sign_up, task_complete
from coaching.tests.factories import ProgramFactory
from tiers.choices import OverrideField, Tier
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

PLAN_QUERIES = 13
PLAN_PAGE_READS = PLAN_QUERIES + 3  # the trend, the unread count and the latest review


@pytest.fixture
def tail_creator(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, gmv="2000", live_share="0.9", video_share="0.05")  # ¥60k, almost all live
    refresh_run_sync()
    assignment_run()
    return Influencer.objects.get(pk=creator.pk)


def test_plan_shows_the_gap_to_mid_the_reasons_and_the_village(tail_creator):
    with override("en"):
        plan = growth_plan(influencer=tail_creator)

    assert plan.influencer.tier == Tier.TAIL and plan.next_tier == Tier.MID
    gmv_gap = next(g for g in plan.gaps if g.metric == "gmv")
    assert (gmv_gap.current, gmv_gap.missing) == (60000, 40000)
    assert any(c.rule == "mid.promote_gmv" and not c.passed for c in plan.decision.checks)
    assert [p.program.code for p in plan.programmes] == ["newcomer-village"]
    village = plan.programmes[0]
    assert village.stage.order == 1 and village.total == 2 and village.done == 1
    assert plan.actions, "a creator selling almost only live gets coaching"
    assert any("short" in a.text.lower() or "storefront" in a.text.lower() for a in plan.actions)
    assert plan.warning is None


def test_plan_warns_before_a_demotion_with_the_amount_and_the_date(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(30), gmv="5000")
    metric_days(creator, days=30, end=days_ago(0), gmv="2500")  # ¥75k now: under the ¥80k keep line
    refresh_run_sync(today=days_ago(30))
    refresh_run_sync(today=days_ago(0))
    creator.refresh_from_db()

    plan = growth_plan(influencer=creator)

    assert creator.tier == Tier.MID
    assert plan.warning is not None
    assert plan.warning.missing == 5000 and plan.warning.demote_on == days_ago(0) + datetime.timedelta(days=14)


def test_plan_queries_do_not_grow_with_programmes_tasks_or_history(tail_creator):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            plan = growth_plan(influencer=Influencer.objects.get(pk=tail_creator.pk))
        return len(ctx.captured_queries), plan

    few, _ = count()

    # given more programmes, tasks done, overrides and decisions
    staff = UserFactory(username="coach", is_staff=True)
    for i in range(3):
        campaign = ProgramFactory(enrollment_policy=EnrollmentPolicy.OPT_IN, eligible_tiers=["tail", "mid"])
        stage = Stage.objects.create(program=campaign, order=1, name_zh=f"阶段{i}")
        for order in range(1, 5):
            Task.objects.create(stage=stage, order=order, title_zh=f"任务{order}")
        enrollment = enrollment_sign_up(influencer=tail_creator, program=campaign, by=staff, source="staff")
        task_complete(enrollment=enrollment, task=stage.tasks.first(), by=staff)
    for value in (Tier.MID, Tier.HEAD, Tier.TAIL):
        override_create(influencer=tail_creator, field=OverrideField.TIER, value=value, reason="testing history", by=staff)

    many, plan = count()

    assert len(plan.programmes) == 4 and len(plan.history) >= 4
    assert many == few == PLAN_QUERIES


def test_a_creator_with_no_metrics_gets_a_plan_too(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(3))
    refresh_run_sync()
    assignment_run()

    plan = growth_plan(influencer=Influencer.objects.get(pk=creator.pk))

    assert plan.influencer.tier == Tier.NEWCOMER
    assert plan.features is None and plan.actions == []
    assert [p.program.code for p in plan.programmes] == ["newcomer-village"]


def test_a_judged_creator_with_nothing_in_the_window_is_warned_and_not_called_a_newcomer(days_ago):
    # given a mid creator whose last sale was 40 days ago
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(40), gmv="5000")
    refresh_run_sync(today=days_ago(40))
    refresh_run_sync(today=days_ago(0))
    creator = Influencer.objects.get(pk=creator.pk)

    with override("en"):
        plan = growth_plan(influencer=creator)

    # then they are still mid, warned that nothing sold means moving down after the grace period
    assert creator.tier == Tier.MID and plan.features is None
    assert plan.warning is not None
    assert (plan.warning.gmv, plan.warning.missing) == (0, 80000)
    assert plan.warning.demote_on == days_ago(0) + datetime.timedelta(days=14)
    assert plan.decision.tier == Tier.MID
    assert not any(c.rule.startswith("newcomer.") for c in plan.decision.checks)


def test_plan_for_gathers_what_the_plan_page_reads_in_a_fixed_number_of_queries(tail_creator, days_ago):
    def read(days):
        with CaptureQueriesContext(connection) as ctx:
            page = plan_for(Influencer.objects.get(pk=tail_creator.pk), trend_days=days, language="en")
        return len(ctx.captured_queries), page

    few, page = read(30)

    assert page.plan.next_tier == Tier.MID and page.trend_days == 30
    assert "100,000" in page.tier_reason or "100k" in page.tier_reason.lower(), page.tier_reason
    assert page.type_reason
    assert len({bar.day for bar in page.trend.bars}) == 30
    assert page.review is None
    assert page.unread == tail_creator.notifications.filter(read_at__isnull=True).count()

    # given a longer span, more notifications and a review request
    metric_days(tail_creator, days=60, end=days_ago(30), gmv="100")
    review = review_request_create(influencer=tail_creator, subject="tier", message="Why tail?", decision=None)
    for value in (Tier.MID, Tier.TAIL):
        override_create(influencer=tail_creator, field=OverrideField.TIER, value=value, reason="history",
                        by=UserFactory(is_staff=True))

    many, page = read(90)

    assert len({bar.day for bar in page.trend.bars}) == 90 and page.trend_days == 90
    assert page.review == review
    assert many == few == PLAN_PAGE_READS
