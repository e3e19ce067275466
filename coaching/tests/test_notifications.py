"""Creators are told what changed: tier and type moves, keep-line warnings, programme steps; never twice."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.choices import NotificationKind, ReasonCode
from coaching.models import Notification, Stage
from coaching.notifications import (
    notification_mark_read,
    notification_text,
    notifications_after_assignment,
    notifications_after_refresh,
    notifications_for,
    notifications_mark_all_read,
    unread_count,
)
from coaching.services import assignment_after_decision, assignment_after_refresh, assignment_run
from coaching.tests.factories import ProgramFactory
from tiers.choices import OverrideField, Tier
from tiers.models import Influencer, RefreshRun, TierDecision, TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.services import override_create
from tiers.tests.factories import InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db


def told(creator, *kinds):
    """The creator's notifications of these kinds (all kinds when none given), oldest first."""
    notifications = Notification.objects.filter(influencer=creator).order_by("created_at", "id")
    if kinds:
        notifications = notifications.filter(kind__in=kinds)
    return list(notifications)


def refresh_and_notify(today):
    run = refresh_run_sync(today=today)
    return run, notifications_after_refresh(refresh_run_id=run.pk)


def assign_and_notify(today):
    """An assignment, which tells creators of its enrolment changes with each chunk it writes."""
    run = assignment_run(today=today)
    return run, run.notified


# ---------------------------------------------------------------- after a refresh and an assignment


def test_the_tail_mid_tail_timeline_tells_the_creator_each_change(days_ago):
    campaign = ProgramFactory(code="mid-growth-season", eligible_tiers=["mid"], name_zh="腰部成长季",
                              name_en="Mid growth season")
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(90), gmv="1000")  # tail: ¥30k a window
    metric_days(creator, days=30, end=days_ago(60), gmv="5000")  # mid: ¥150k
    metric_days(creator, days=60, end=days_ago(0), gmv="1000")  # tail again

    # first classification is not news; joining the village is
    _, created = refresh_and_notify(days_ago(90))
    assert created == 0
    _, created = assign_and_notify(days_ago(90))
    assert created == 1
    (joined,) = told(creator)
    assert (joined.kind, joined.data["program_code"], joined.data["stage_name_en"]) == (
        NotificationKind.ENROLLED, "newcomer-village", "Getting started")

    # promoted to mid: the tier change, then the village graduation and the two mid programmes
    promotion, created = refresh_and_notify(days_ago(60))
    assert created == 1
    (promoted,) = told(creator, NotificationKind.TIER_CHANGED)
    assert promoted.data == {"tier_before": "tail", "tier_after": "mid", "decided_on": days_ago(60).isoformat(),
                             "cause": "refresh"}
    assert promoted.decision == TierDecision.objects.get(refresh_run=promotion)
    _, created = assign_and_notify(days_ago(60))
    assert created == 3
    assert {(n.kind, n.data["program_code"], n.data["reason"]) for n in told(creator)[2:]} == {
        (NotificationKind.GRADUATED, "newcomer-village", ReasonCode.GRADUATED_PROMOTED),
        (NotificationKind.ENROLLED, "mid-product-pool", ReasonCode.ENROLLED),
        (NotificationKind.ENROLLED, campaign.code, ReasonCode.ENROLLED),
    }

    # still above the keep line eight days later: no warning yet
    _, created = refresh_and_notify(days_ago(52))
    assert created == 0

    # below the keep line at days_ago(42): a warning with the line and the first day a demotion can happen
    _, created = refresh_and_notify(days_ago(42))
    assert created == 1
    (warning,) = told(creator, NotificationKind.DEMOTION_WARNING)
    assert warning.warning_on == days_ago(42)
    assert warning.data == {"tier": "mid", "keep_gmv": "80000", "window_days": 30,
                            "below_since": days_ago(42).isoformat(), "demote_on": days_ago(28).isoformat()}
    assert notification_text(warning, "en").startswith("Your GMV over the last 30 days is below the mid keep line of ¥80,000.")

    # still below a week later: the same warning is not repeated
    _, created = refresh_and_notify(days_ago(35))
    assert created == 0

    # demoted on the day the warning named
    _, created = refresh_and_notify(days_ago(28))
    assert created == 1
    assert [n.data for n in told(creator, NotificationKind.TIER_CHANGED)][1] == {
        "tier_before": "mid", "tier_after": "tail", "decided_on": days_ago(28).isoformat(), "cause": "refresh"}
    # the pool's grace period is not news; the village taking them back is
    _, created = assign_and_notify(days_ago(28))
    assert created == 1
    # a week later they leave the pool and the campaign
    _, created = assign_and_notify(days_ago(21))
    assert created == 2
    exits = told(creator, NotificationKind.EXITED)
    assert {(n.data["program_code"], n.data["reason"]) for n in exits} == {
        ("mid-product-pool", ReasonCode.EXITED_DEMOTED), (campaign.code, ReasonCode.EXITED_DEMOTED)}
    assert not Notification.objects.filter(enrollment_event__reason=ReasonCode.INELIGIBLE_GRACE).exists()
    assert notification_text(exits[0], "zh-hans").startswith("你已离开「")


def test_stage_moves_and_graduation_in_a_staged_programme_are_notified(days_ago):
    programme = ProgramFactory(code="tail-sprint", eligible_tiers=["tail"], name_zh="尾部冲刺", name_en="Tail sprint")
    Stage.objects.create(program=programme, order=1, name_zh="起步", name_en="Warm-up", exit_needs_tasks=False,
                         exit_criteria=[{"feature": "gmv", "op": ">=", "value": 50000}])
    Stage.objects.create(program=programme, order=2, name_zh="冲刺", name_en="Sprint", exit_needs_tasks=False,
                         exit_criteria=[{"feature": "gmv", "op": ">=", "value": 70000}])
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(61), gmv="1000")  # ¥30k: stage 1
    metric_days(creator, days=30, end=days_ago(31), gmv="2000")  # ¥60k: stage 2
    metric_days(creator, days=31, end=days_ago(0), gmv="2500")  # ¥75k: graduated, and still tail

    for today in (days_ago(61), days_ago(31), days_ago(0)):
        refresh_and_notify(today)
        assign_and_notify(today)

    sprint = [n for n in told(creator) if n.data.get("program_code") == "tail-sprint"]
    assert [n.kind for n in sprint] == [NotificationKind.ENROLLED, NotificationKind.STAGE_ADVANCED,
                                        NotificationKind.GRADUATED]
    enrolled, advanced, graduated = sprint
    assert (enrolled.data["stage_name_zh"], advanced.data["from_stage_name_en"], advanced.data["stage_name_en"]) == (
        "起步", "Warm-up", "Sprint")
    assert notification_text(advanced, "en") == "You moved on to Sprint in Tail sprint."
    assert notification_text(graduated, "zh") == "恭喜，你完成了「尾部冲刺」的全部阶段，顺利毕业！"
    assert Influencer.objects.get(pk=creator.pk).tier == Tier.TAIL


def test_a_type_change_is_notified_but_not_a_first_type(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(30), gmv="1000", live_share="0.8", video_share="0.1")  # one category: vertical
    metric_days(creator, days=30, end=days_ago(0), gmv="1000", live_share="0.1", video_share="0.8")  # video: seeding
    _, created = refresh_and_notify(days_ago(30))
    assert (created, Influencer.objects.get(pk=creator.pk).creator_type) == (0, "vertical")

    _, created = refresh_and_notify(days_ago(0))

    assert created == 1
    (changed,) = told(creator)
    assert (changed.kind, changed.data["type_before"], changed.data["type_after"]) == (
        NotificationKind.TYPE_CHANGED, "vertical", "seeding")
    assert notification_text(changed, "zh-hans") == "你的达人类型从垂直型变为种草型。"


def test_running_the_notification_jobs_again_creates_nothing(days_ago):
    creators = [InfluencerFactory(onboarded_on=days_ago(400)) for _ in range(3)]
    for creator in creators:
        metric_days(creator, days=30, end=days_ago(30), gmv="1000")
        metric_days(creator, days=30, end=days_ago(0), gmv="5000")
    refresh_and_notify(days_ago(30))
    assign_and_notify(days_ago(30))
    refresh = refresh_run_sync(today=days_ago(0))
    assignment = assignment_run(today=days_ago(0))

    first = notifications_after_refresh(refresh_run_id=refresh.pk) + assignment.notified
    total = Notification.objects.count()
    second = notifications_after_refresh(refresh_run_id=refresh.pk) + notifications_after_assignment(
        assignment_run_id=assignment.pk)

    assert first == 3 * 3  # per creator: promoted, graduated from the village, joined the mid pool
    assert second == 0
    assert Notification.objects.count() == total


def test_the_after_refresh_listener_assigns_then_notifies_once(days_ago):
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(31), gmv="1000")
    metric_days(creator, days=31, end=days_ago(0), gmv="5000")
    refresh_run_sync(today=days_ago(31))
    run = refresh_run_sync()

    assignment_after_refresh(run_id=run.pk)
    assignment_after_refresh(run_id=run.pk)  # a redelivered announcement

    assert sorted((n.kind, n.data.get("program_code")) for n in told(creator)) == [
        (NotificationKind.ENROLLED, "mid-product-pool"), (NotificationKind.TIER_CHANGED, None)]


def test_a_staff_override_moves_programmes_and_tells_the_creator_at_once(admin_user, days_ago):
    # given a tail creator in the newcomer village
    creator = InfluencerFactory(onboarded_on=days_ago(400))
    metric_days(creator, days=30, end=days_ago(0), gmv="1000")
    assign_and_notify(refresh_run_sync().run_date)
    assert [n.data["program_code"] for n in told(creator)] == ["newcomer-village"]

    # when staff pin them to mid and the listener hears of the decision (twice: a redelivery)
    override_create(influencer=creator, field=OverrideField.TIER, value=Tier.MID, reason="Signed agency", by=admin_user)
    decision = TierDecision.objects.get(influencer=creator, cause="override")
    assignment_after_decision(decision_id=decision.pk)
    assignment_after_decision(decision_id=decision.pk)

    # then they are told once, in words that say staff made the change, and mid programmes are theirs now
    (moved,) = told(creator, NotificationKind.TIER_CHANGED)
    assert (moved.decision, moved.data["cause"]) == (decision, "override")
    assert notification_text(moved, "zh-hans") == "恭喜，你的等级从尾部升到了腰部（由达人运营团队调整）！"
    assert notification_text(moved, "en") == "Congratulations: your tier went up from tail to mid (set by the creator-ops team)."
    assert set(creator.enrollments.filter(status="active").values_list("program__code", flat=True)) == {"mid-product-pool"}


# ---------------------------------------------------------------- set-based


def _run_with_changes(creators: int, run_date: datetime.date) -> RefreshRun:
    """A finished run where `creators` were promoted with a type change and as many more went below the keep line."""
    run = RefreshRun.objects.create(policy=TierPolicy.objects.published().get(), trigger="command", run_date=run_date,
                                    status="succeeded", active=None)
    promoted = InfluencerFactory.create_batch(creators, tier=Tier.MID, tier_since=run_date)
    TierDecision.objects.bulk_create(
        TierDecision(influencer=c, tier_before=Tier.TAIL, tier_after=Tier.MID, type_before="seeding",
                     type_after="persona", cause="refresh", refresh_run=run, decided_on=run_date)
        for c in promoted
    )
    InfluencerFactory.create_batch(creators, tier=Tier.MID, tier_since=run_date - datetime.timedelta(days=60),
                                   below_keep_since=run_date)
    return run


def test_notifications_after_refresh_takes_the_same_queries_for_3_or_30_creators(days_ago):
    few_run, many_run = _run_with_changes(3, days_ago(10)), _run_with_changes(30, days_ago(5))

    with CaptureQueriesContext(connection) as few:
        few_created = notifications_after_refresh(refresh_run_id=few_run.pk)
    with CaptureQueriesContext(connection) as many:
        many_created = notifications_after_refresh(refresh_run_id=many_run.pk)

    assert (few_created, many_created) == (3 * 3, 30 * 3)
    assert len(many.captured_queries) == len(few.captured_queries)
    warning = Notification.objects.filter(kind=NotificationKind.DEMOTION_WARNING, warning_on=days_ago(5)).first()
    assert warning.data["demote_on"] == (days_ago(5) + datetime.timedelta(days=14)).isoformat()


def test_the_warning_waits_for_the_minimum_stay_when_it_ends_after_the_grace_period(days_ago):
    published = TierPolicy.objects.published().get()
    rules = {**published.rules, "anti_flap": {**published.rules["anti_flap"], "min_days_in_tier": 30}}
    policy = TierPolicy.objects.create(version=published.version + 1, name="long stay", rules=rules)
    run = RefreshRun.objects.create(policy=policy, trigger="command", run_date=days_ago(0), status="succeeded",
                                    active=None)
    InfluencerFactory(tier=Tier.MID, tier_since=days_ago(5), below_keep_since=days_ago(0))

    assert notifications_after_refresh(refresh_run_id=run.pk) == 1

    warning = Notification.objects.get(kind=NotificationKind.DEMOTION_WARNING)
    assert warning.data["demote_on"] == (days_ago(5) + datetime.timedelta(days=30)).isoformat()  # not days_ago(0) + 14


def test_an_assignment_and_its_notifications_take_the_same_queries_for_3_or_30_creators():
    def new_creators(count):
        for _ in range(count):
            metric_days(InfluencerFactory(), days=30, gmv="1000")
        refresh_run_sync()

    new_creators(3)
    with CaptureQueriesContext(connection) as few:
        few_run = assignment_run()
    new_creators(30)
    with CaptureQueriesContext(connection) as many:
        many_run = assignment_run()

    assert (few_run.chunk_count, many_run.chunk_count) == (1, 1)
    assert (few_run.enrolled, few_run.notified, many_run.enrolled, many_run.notified) == (3, 3, 30, 30)
    assert len(many.captured_queries) == len(few.captured_queries)


# ---------------------------------------------------------------- the creator's list


def _notify(creator, kind=NotificationKind.TIER_CHANGED, **data):
    return Notification.objects.create(influencer=creator, kind=kind, data=data or {"tier_before": "tail",
                                                                                    "tier_after": "mid"})


def test_unread_count_and_marking_read(django_assert_num_queries):
    creator, other = InfluencerFactory(), InfluencerFactory()
    first, second, third = _notify(creator), _notify(creator), _notify(creator)
    theirs = _notify(other)

    with django_assert_num_queries(1):
        assert unread_count(influencer=creator) == 3
    read = notification_mark_read(influencer=creator, notification_id=second.pk)
    again = notification_mark_read(influencer=creator, notification_id=second.pk)

    assert read.read_at is not None and again.read_at == read.read_at
    assert unread_count(influencer=creator) == 2
    with pytest.raises(Notification.DoesNotExist):
        notification_mark_read(influencer=creator, notification_id=theirs.pk)
    assert notifications_mark_all_read(influencer=creator) == 2
    assert unread_count(influencer=creator) == 0
    assert unread_count(influencer=other) == 1
    assert {first.pk, third.pk} <= set(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True))


def test_the_list_is_newest_first_limited_and_one_query(django_assert_num_queries):
    creator = InfluencerFactory()
    made = [_notify(creator) for _ in range(5)]
    _notify(InfluencerFactory())

    with django_assert_num_queries(1):
        latest = notifications_for(influencer=creator, limit=3)

    assert [n.pk for n in latest] == [n.pk for n in reversed(made)][:3]


# ---------------------------------------------------------------- sentences

VILLAGE = {"program_code": "newcomer-village", "program_name_zh": "达人新手村", "program_name_en": "Newcomer village"}
POOL = {"program_code": "mid-product-pool", "program_name_zh": "快分销·腰部精选货盘",
        "program_name_en": "Distribution pool for mid creators"}

SENTENCES = [
    (NotificationKind.TIER_CHANGED, {"tier_before": "tail", "tier_after": "mid"},
     "恭喜，你的等级从尾部升到了腰部！", "Congratulations: your tier went up from tail to mid."),
    (NotificationKind.TIER_CHANGED, {"tier_before": "head", "tier_after": "mid"},
     "你的等级从头部调整为腰部。", "Your tier moved down from head to mid."),
    (NotificationKind.TIER_CHANGED, {"tier_before": "newcomer", "tier_after": "tail"},
     "你的等级从新手变为尾部。", "Your tier changed from newcomer to tail."),
    (NotificationKind.TIER_CHANGED, {"tier_before": "head", "tier_after": "mid", "cause": "override"},
     "你的等级从头部调整为腰部（由达人运营团队调整）。", "Your tier moved down from head to mid (set by the creator-ops team)."),
    (NotificationKind.TYPE_CHANGED, {"type_before": "seeding", "type_after": "vertical", "cause": "override"},
     "你的达人类型从种草型变为垂直型（由达人运营团队调整）。",
     "Your creator type changed from seeding to vertical (set by the creator-ops team)."),
    (NotificationKind.TYPE_CHANGED, {"type_before": "seeding", "type_after": "vertical"},
     "你的达人类型从种草型变为垂直型。", "Your creator type changed from seeding to vertical."),
    (NotificationKind.TYPE_CHANGED, {"type_before": "entertainment", "type_after": None},
     "你的达人类型从娱乐型变为未判定。", "Your creator type changed from entertainment to not yet determined."),
    (NotificationKind.ENROLLED, {**VILLAGE, "reason": "enrolled", "stage_name_zh": "入门：认识平台",
                                 "stage_name_en": "Getting started"},
     "你已加入「达人新手村」，从「入门：认识平台」开始。", "You joined Newcomer village, starting with Getting started."),
    (NotificationKind.ENROLLED, {**POOL, "reason": "enrolled", "stage_name_zh": None, "stage_name_en": None},
     "你已加入「快分销·腰部精选货盘」。", "You joined Distribution pool for mid creators."),
    (NotificationKind.STAGE_ADVANCED, {**VILLAGE, "reason": "stage_advanced", "stage_name_zh": "开张：第一笔成交",
                                       "stage_name_en": "First sales"},
     "你在「达人新手村」进入了下一阶段：「开张：第一笔成交」。", "You moved on to First sales in Newcomer village."),
    (NotificationKind.GRADUATED, {**VILLAGE, "reason": "graduated"},
     "恭喜，你完成了「达人新手村」的全部阶段，顺利毕业！",
     "Congratulations: you completed every stage of Newcomer village and graduated."),
    (NotificationKind.GRADUATED, {**VILLAGE, "reason": "graduated_promoted"},
     "恭喜晋级！你已从「达人新手村」毕业。", "Congratulations on your promotion: you graduated from Newcomer village."),
    (NotificationKind.EXITED, {**POOL, "reason": "exited_demoted"},
     "你已离开「快分销·腰部精选货盘」：等级已低于该项目面向的等级。",
     "You left Distribution pool for mid creators: your tier fell below the programme's tiers."),
    (NotificationKind.EXITED, {**POOL, "reason": "exited_closed", "program_name_en": ""},
     "你已离开「快分销·腰部精选货盘」：项目已结束。", "You left 快分销·腰部精选货盘: the programme has ended."),
    (NotificationKind.DEMOTION_WARNING, {"tier": "mid", "keep_gmv": "80000", "window_days": 30,
                                         "below_since": "2025-02-22", "demote_on": "2025-03-08"},
     "你近30天的GMV低于腰部达人的保级线¥8万。如果到2025年3月8日还没有回到保级线以上，你的等级将下调一级。",
     "Your GMV over the last 30 days is below the mid keep line of ¥80,000. "
     "Unless it is back above the line by 8 March 2025, you will move down a tier."),
    (NotificationKind.DEMOTION_WARNING, {"tier": "head", "keep_gmv": "2400000", "window_days": 30,
                                         "demote_on": "2025-12-01"},
     "你近30天的GMV低于头部达人的保级线¥240万。如果到2025年12月1日还没有回到保级线以上，你的等级将下调一级。",
     "Your GMV over the last 30 days is below the head keep line of ¥2.4M. "
     "Unless it is back above the line by 1 December 2025, you will move down a tier."),
    (NotificationKind.REVIEW_ANSWERED, {"subject": "tier", "status": "answered", "reply": "…"},
     "运营已回复你关于等级的复核申请。", "The creator-ops team answered your request to review your tier."),
    (NotificationKind.REVIEW_ANSWERED, {"subject": "creator_type", "status": "closed", "reply": "…"},
     "运营已回复并结束了你关于达人类型的复核申请。",
     "The creator-ops team answered and closed your request to review your creator type."),
]


def test_every_kind_has_a_sentence():
    assert {kind for kind, *_ in SENTENCES} == set(NotificationKind.values)


@pytest.mark.parametrize(("kind", "data", "chinese", "english"), SENTENCES)
def test_sentences_in_chinese_and_english(kind, data, chinese, english):
    notification = Notification(kind=kind, data=data)

    assert notification_text(notification, "zh-hans") == chinese
    assert notification_text(notification, "zh-Hant") == chinese
    assert notification_text(notification, "en") == english
    assert notification_text(notification, "en-us") == english
