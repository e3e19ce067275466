"""Programme assignment follows creators as their tier moves, with reasons, and is idempotent."""

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils.translation import override

from coaching.choices import EnrollmentPolicy, EnrollmentStatus, NotificationKind, ProgramKind, ReasonCode
from coaching.models import AssignmentRun, Enrollment, EnrollmentEvent, Notification, Program, Task, TaskCompletion
from coaching.services import (
    CANNOT_LEAVE,
    CoachingError,
    NOT_ELIGIBLE,
    NOT_OPT_IN,
    PROGRAM_FULL,
    SELECTION_LIMIT,
    WHY_NOT,
    assignment_run,
    enrollment_leave,
    enrollment_sign_up,
    product_select,
    task_complete,
    traffic_reward_grant,
)
from coaching.tests.factories import ProgramFactory, pool_with_products
from tiers.choices import Tier
from demo.population import seed_population
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

def enrolment(creator, code):
    return Enrollment.objects.filter(influencer=creator, program__code=code).select_related("stage").first()


def test_a_creator_moves_tail_to_mid_to_tail_and_programmes_follow(days_ago):
    campaign = ProgramFactory(code="mid-growth-season", eligible_tiers=["mid"])
    village, pool = Program.objects.get(code="newcomer-village"), Program.objects.get(code="mid-product-pool")
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(90), gmv="1000")  # tail: ¥30k a window
    metric_days(creator, days=30, end=days_ago(60), gmv="5000")  # mid: ¥150k
    metric_days(creator, days=60, end=days_ago(0), gmv="1000")  # tail again

    # tail: in the village, stage 1, the storefront task ticked from metrics, the lesson still open
    refresh_run_sync(today=days_ago(90))
    assignment_run(today=days_ago(90))
    stay = enrolment(creator, "newcomer-village")
    assert (stay.status, stay.stage.order, stay.reason) == (EnrollmentStatus.ACTIVE, 1, ReasonCode.ENROLLED)
    ticked = set(TaskCompletion.objects.filter(enrollment=stay).values_list("task__title_en", flat=True))
    assert ticked == {"Set up your storefront"}
    assert enrolment(creator, "mid-product-pool") is None and enrolment(creator, campaign.code) is None

    # the creator opens the lesson: stage 1 is done and they move on at once
    lesson = Task.objects.get(stage=stay.stage, kind="lesson")
    task_complete(enrollment=stay, task=lesson, by=creator.user, today=days_ago(90))
    stay = enrolment(creator, "newcomer-village")
    assert (stay.stage.order, stay.reason) == (2, ReasonCode.STAGE_ADVANCED)

    # promoted to mid: graduates from the village, joins the mid pool and the mid campaign
    refresh_run_sync(today=days_ago(60))
    assert Influencer.objects.get(pk=creator.pk).tier == Tier.MID
    assignment_run(today=days_ago(60))
    stay = Enrollment.objects.get(influencer=creator, program=village)
    assert (stay.status, stay.reason, stay.graduated_on) == (
        EnrollmentStatus.GRADUATED, ReasonCode.GRADUATED_PROMOTED, days_ago(60))
    assert enrolment(creator, "mid-product-pool").status == EnrollmentStatus.ACTIVE
    assert enrolment(creator, campaign.code).reason == ReasonCode.ENROLLED

    # below the keep line at days_ago(42), demoted after 14 days of grace
    refresh_run_sync(today=days_ago(42))
    refresh_run_sync(today=days_ago(28))
    assert Influencer.objects.get(pk=creator.pk).tier == Tier.TAIL
    # the pool gives 7 days of grace before the creator leaves; the village takes them back at once
    assignment_run(today=days_ago(28))
    in_pool = enrolment(creator, "mid-product-pool")
    assert (in_pool.status, in_pool.reason, in_pool.ineligible_since) == (
        EnrollmentStatus.ACTIVE, ReasonCode.INELIGIBLE_GRACE, days_ago(28))
    assignment_run(today=days_ago(21))
    in_pool.refresh_from_db()
    assert (in_pool.status, in_pool.reason) == (EnrollmentStatus.EXITED, ReasonCode.EXITED_DEMOTED)
    back = Enrollment.objects.get(influencer=creator, program=village, status=EnrollmentStatus.ACTIVE)
    assert back.reason == ReasonCode.ENROLLED
    reasons = list(EnrollmentEvent.objects.filter(enrollment=in_pool).order_by("at", "id").values_list("reason", flat=True))
    assert reasons == [ReasonCode.ENROLLED, ReasonCode.INELIGIBLE_GRACE, ReasonCode.EXITED_DEMOTED]
    assert pool.enrollments.count() == 1


def test_a_second_assignment_changes_nothing():
    for gmv in ("1000", "5000", "150000"):
        metric_days(InfluencerFactory(), days=30, gmv=gmv)
    refresh_run_sync()
    first = assignment_run()
    snapshot = set(Enrollment.objects.values_list("id", "status", "stage_id", "reason", "ineligible_since"))
    events = EnrollmentEvent.objects.count()

    second = assignment_run()

    assert first.enrolled >= 3
    assert (second.enrolled, second.advanced, second.graduated, second.exited, second.tasks_checked) == (0, 0, 0, 0, 0)
    assert set(Enrollment.objects.values_list("id", "status", "stage_id", "reason", "ineligible_since")) == snapshot
    assert EnrollmentEvent.objects.count() == events


def test_on_demo_data_every_creator_is_where_their_tier_says_and_nowhere_else():
    seed_population(influencers=400, days=30, seed=7)  # with coaching's demo products and campaigns
    refresh_run_sync()
    assignment_run()

    active = Enrollment.objects.active()
    by_tier = {
        tier: set(active.filter(influencer__tier=tier).values_list("program__kind", flat=True).distinct())
        for tier in Tier.values
    }
    assert by_tier[Tier.NEWCOMER] == {ProgramKind.NEWCOMER_VILLAGE}
    assert by_tier[Tier.TAIL] == {ProgramKind.NEWCOMER_VILLAGE}
    assert {ProgramKind.PRODUCT_POOL, ProgramKind.CAMPAIGN} <= by_tier[Tier.MID]
    assert ProgramKind.ACCOUNT_MANAGEMENT in by_tier[Tier.HEAD]
    # every newcomer and tail creator is in the village; every head creator has account management
    for tier in (Tier.NEWCOMER, Tier.TAIL):
        assert Influencer.objects.filter(tier=tier, status="active").exclude(
            enrollments__program__code="newcomer-village", enrollments__status__in=["active", "graduated"]).count() == 0
    assert Influencer.objects.filter(tier=Tier.HEAD, status="active").exclude(
        enrollments__program__kind=ProgramKind.ACCOUNT_MANAGEMENT, enrollments__status="active").count() == 0
    # nobody is enrolled in a programme their tier is not eligible for
    for program in Program.objects.all():
        if program.eligible_tiers:
            assert not active.filter(program=program).exclude(influencer__tier__in=program.eligible_tiers).exists(), program
    assert assignment_run().enrolled == 0


def test_capacity_is_never_exceeded():
    campaign = ProgramFactory(eligible_tiers=["tail"], capacity=2)
    for _ in range(4):
        metric_days(InfluencerFactory(), days=30, gmv="1000")
    refresh_run_sync()

    assignment_run()

    assert campaign.enrollments.count() == 2
    with pytest.raises(CoachingError, match=PROGRAM_FULL.format(program=campaign.name_zh)):
        enrollment_sign_up(influencer=Influencer.objects.exclude(enrollments__program=campaign).first(),
                           program=campaign, by=None, source="staff")


def test_creators_sign_up_for_opt_in_campaigns_once_and_may_leave():
    campaign = ProgramFactory(enrollment_policy=EnrollmentPolicy.OPT_IN, eligible_tiers=["mid"])
    mid = InfluencerFactory()
    metric_days(mid, days=30, gmv="5000")
    tail = InfluencerFactory()
    metric_days(tail, days=30, gmv="1000")
    refresh_run_sync()
    assignment_run()
    assert not campaign.enrollments.exists()  # opt-in: nobody is put in

    first = enrollment_sign_up(influencer=mid, program=campaign, by=mid.user)
    again = enrollment_sign_up(influencer=mid, program=campaign, by=mid.user)

    assert first.pk == again.pk and first.reason == ReasonCode.SIGNED_UP
    with pytest.raises(CoachingError, match=NOT_ELIGIBLE.format(program=campaign.name_zh, why=WHY_NOT["tier_below"])):
        enrollment_sign_up(influencer=tail, program=campaign, by=None)
    with pytest.raises(CoachingError, match=NOT_OPT_IN.format(program="头部达人客户经理")):
        enrollment_sign_up(influencer=tail, program=Program.objects.get(code="head-account-management"), by=None)
    left = enrollment_leave(enrollment=first, by=mid.user)
    assert (left.status, left.reason) == (EnrollmentStatus.EXITED, ReasonCode.LEFT_BY_CREATOR)


def test_mid_creators_pick_products_from_their_pool_up_to_the_limit():
    pool = Program.objects.get(code="mid-product-pool")
    Program.objects.filter(pk=pool.pk).update(selection_limit=2)
    pool.refresh_from_db()
    products = pool_with_products(pool, 3)
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="5000")
    refresh_run_sync()
    assignment_run()

    product_select(influencer=creator, pool=pool, product_id=products[0].pk)
    product_select(influencer=creator, pool=pool, product_id=products[0].pk)  # twice: once
    product_select(influencer=creator, pool=pool, product_id=products[1].pk)

    assert creator.product_selections.count() == 2
    with pytest.raises(CoachingError, match=SELECTION_LIMIT.format(limit=2, program=pool.name_zh)):
        product_select(influencer=creator, pool=pool, product_id=products[2].pk)


def test_a_traffic_reward_sent_twice_is_granted_once(days_ago):
    creator = InfluencerFactory()
    chuanliu = Program.objects.get(code="chuanliu")
    grant = dict(influencer=creator, program=chuanliu, merchant="山野鲜果旗舰店", impressions=20_000,
                 period_start=days_ago(7), period_end=days_ago(1))

    traffic_reward_grant(**grant)
    traffic_reward_grant(**grant)

    assert creator.traffic_rewards.count() == 1


def test_refresh_tiers_runs_assignment_unless_told_not_to(capsys):
    metric_days(InfluencerFactory(), days=30, gmv="1000")

    call_command("refresh_tiers", "--no-progress", "--skip-coaching")
    assert not AssignmentRun.objects.exists()
    call_command("refresh_tiers", "--no-progress")

    assert AssignmentRun.objects.get().enrolled == 1
    assert "after-refresh steps done" in capsys.readouterr().out


def test_stage_criteria_are_validated_when_programmes_are_loaded():
    from coaching.conditions import ConditionError, conditions_from_json

    with pytest.raises(ConditionError) as error, override("en"):
        conditions_from_json([{"feature": "gvm", "op": ">=", "value": 1}, {"feature": "gmv", "op": "=>", "value": "x"}],
                             "criteria")

    assert error.value.errors == (
        "criteria[0].feature: unknown feature 'gvm'",
        "criteria[1].op: must be one of <, <=, >, >=, ==, !=",
        "criteria[1].value: must be a number",
    )


def test_graduated_enrolments_do_not_count_against_capacity():
    campaign = ProgramFactory(eligible_tiers=["tail"], capacity=1)
    first, second = InfluencerFactory(), InfluencerFactory()
    for creator in (first, second):
        metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()
    assignment_run()
    Enrollment.objects.filter(program=campaign).update(status=EnrollmentStatus.GRADUATED, ended_on=F("enrolled_on"))

    assignment_run()

    assert campaign.enrollments.filter(status=EnrollmentStatus.ACTIVE).count() == 1


def test_a_creator_who_left_an_automatic_campaign_stays_out_until_they_join_again():
    # given a tail creator whom assignment put in an automatic campaign
    campaign = ProgramFactory(code="tail-live-week", eligible_tiers=["tail"])
    creator = InfluencerFactory(user=UserFactory(username="leaver"))
    metric_days(creator, days=30, gmv="1000")
    refresh_run_sync()
    assignment_run()
    place = Enrollment.objects.get(influencer=creator, program=campaign)

    # when they leave it, and then assignment runs again: nightly, and after a task they tick
    enrollment_leave(enrollment=place, by=creator.user)
    nightly = assignment_run()
    village = Enrollment.objects.get(influencer=creator, program__code="newcomer-village", status=EnrollmentStatus.ACTIVE)
    task_complete(enrollment=village, task=Task.objects.get(stage=village.stage, kind="lesson"), by=creator.user)

    # then they stay out, and nobody tells them they joined
    assert nightly.enrolled == 0
    assert not campaign.enrollments.active().exists()
    joined = Notification.objects.filter(influencer=creator, kind=NotificationKind.ENROLLED, data__program_code=campaign.code)
    assert joined.count() == 1  # the first time only

    # until they join it again themselves, and then assignment keeps them
    back = enrollment_sign_up(influencer=creator, program=campaign, by=creator.user)
    assignment_run()
    assert (back.reason, list(campaign.enrollments.active())) == (ReasonCode.SIGNED_UP, [back])

    # and leaving a second time holds as the first did
    enrollment_leave(enrollment=back, by=creator.user)
    assert assignment_run().enrolled == 0
    assert not campaign.enrollments.active().exists()


def test_only_a_creator_who_left_an_automatic_programme_may_join_it_by_hand():
    campaign = ProgramFactory(code="mid-auto", eligible_tiers=["mid"])
    creator = InfluencerFactory()
    metric_days(creator, days=30, gmv="5000")
    refresh_run_sync()

    with pytest.raises(CoachingError, match=NOT_OPT_IN.format(program=campaign.name_zh)):
        enrollment_sign_up(influencer=creator, program=campaign, by=None)
    assignment_run()
    in_pool = Enrollment.objects.get(influencer=creator, program__code="mid-product-pool")
    with pytest.raises(CoachingError, match=str(CANNOT_LEAVE)):
        enrollment_leave(enrollment=in_pool, by=None)  # the pool follows the tier: leaving it could not last
