"""Reads of coaching: a creator's growth plan and plan page, built from current state in a fixed number of queries."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Case, Count, Max, Prefetch, Q, Sum, Value, When
from django.utils import timezone

from tiers.models import DailyMetric, Influencer, TierDecision, TierPolicy
from tiers.rules import (
    Decision,
    DemotionWarning,
    Features,
    Gap,
    PolicyRules,
    TierState,
    demotion_warning,
    gap_to_next_tier,
)
from tiers.selectors import decide_now, decision_history, window_features

from . import playbook
from .adapters import as_creator, eligibility_of
from .charts import TrendChart, trend_chart
from .choices import EnrollmentPolicy, ReviewStatus
from .conditions import feature_values
from .explain import tier_reason, type_reason
from .models import Enrollment, PlaybookRule, Program, ReviewRequest, Stage, Task, TaskCompletion
from .notifications import unread_count
from .rules import ineligibility

HISTORY_LIMIT = 20
ACTIONS_LIMIT = 3
TREND_DAYS = (30, 90)  # the chart's two spans; the first is the default


@dataclass(frozen=True)
class TaskView:
    task: Task
    done: bool


@dataclass(frozen=True)
class ProgrammeView:
    enrollment: Enrollment
    program: Program
    stage: Stage | None
    stages: list[Stage]
    tasks: list[TaskView]

    @property
    def done(self) -> int:
        return sum(t.done for t in self.tasks)

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True)
class GrowthPlan:
    influencer: Influencer
    today: datetime.date
    policy: TierPolicy | None
    features: Features | None
    decision: Decision | None
    next_tier: str | None
    gaps: tuple[Gap, ...]
    warning: DemotionWarning | None
    actions: list[playbook.Recommendation]
    programmes: list[ProgrammeView]
    open_programmes: list[Program]
    history: list[TierDecision]
    traffic_reward_total: int

    @property
    def leavable(self) -> list[ProgrammeView]:
        """The programmes the creator is in and may leave (campaigns and opt-in programmes)."""
        return [p for p in self.programmes if p.program.creators_may_leave]


class TrendDay(NamedTuple):
    date: datetime.date
    live_gmv: Decimal
    video_gmv: Decimal
    storefront_gmv: Decimal
    followers: int


@dataclass(frozen=True)
class PlanPage:
    """What a creator's plan page shows: the growth plan, why they stand where they do, their trend and inbox."""

    plan: GrowthPlan
    tier_reason: str
    type_reason: str
    trend: TrendChart
    trend_days: int
    trend_rows: list[TrendDay]
    unread: int
    review: ReviewRequest | None


def playbook_rules() -> list[playbook.PlaybookRule]:
    return [playbook.rule_from_json(rule.to_json()) for rule in PlaybookRule.objects.filter(is_active=True)]


def growth_plan(*, influencer: Influencer, today: datetime.date | None = None, language: str | None = None) -> GrowthPlan:
    """Everything a creator's plan page shows. Twelve queries whatever the creator's history."""
    today = today or timezone.localdate()
    decided = decide_now(influencer=influencer, today=today)  # 3 queries
    features = decision = policy = None
    next_tier, gaps, warning, actions = None, (), None, []
    if decided is not None:
        features, decision, policy = decided
        rules = PolicyRules.from_json(policy.rules)
        state = TierState(tier=influencer.tier, creator_type=influencer.creator_type, tier_since=influencer.tier_since,
                          below_keep_since=influencer.below_keep_since)
        if features is not None and influencer.tier:
            next_tier, gaps = gap_to_next_tier(features, rules, influencer.tier)
        # A judged creator with nothing in the window is judged as selling nothing: warn them too.
        warning = demotion_warning(features, rules, state, today)
        previous = window_features(  # the window before this one, for trends
            first_id=influencer.pk, last_id=influencer.pk, today=today - datetime.timedelta(days=rules.window_days),
            window_days=rules.window_days, onboarded={influencer.pk: influencer.onboarded_on},
        ).get(influencer.pk)
        if features is not None:
            values = feature_values(features, previous, influencer.tier, influencer.creator_type)
            actions = playbook.recommend(playbook_rules(), values, influencer.tier, influencer.creator_type, language,
                                         limit=ACTIONS_LIMIT)

    programmes = _programmes(influencer)  # 4 queries
    return GrowthPlan(
        influencer=influencer,
        today=today,
        policy=policy,
        features=features,
        decision=decision,
        next_tier=next_tier,
        gaps=gaps,
        warning=warning,
        actions=actions,
        programmes=programmes,
        open_programmes=_open_programmes(influencer, features, today, {p.program.pk for p in programmes}),
        history=list(decision_history(influencer=influencer)[:HISTORY_LIMIT]),
        traffic_reward_total=influencer.traffic_rewards.aggregate(total=Sum("impressions"))["total"] or 0,
    )


def programme_view(*, influencer: Influencer, enrollment_id: int) -> ProgrammeView | None:
    """One programme of the plan (the fragment a task tick re-renders), also once it has ended."""
    views = _programmes(influencer, enrollment_id=enrollment_id)
    return views[0] if views else None


def _programmes(influencer: Influencer, enrollment_id: int | None = None) -> list[ProgrammeView]:
    if enrollment_id is None:
        enrollments = Enrollment.objects.active().filter(influencer=influencer)
    else:
        enrollments = Enrollment.objects.filter(influencer=influencer, pk=enrollment_id)
    enrollments = list(
        enrollments
        .select_related("program", "stage")
        .prefetch_related(Prefetch("program__stages", queryset=Stage.objects.prefetch_related("tasks")))
        .order_by("program__kind", "program__code")
    )
    done = set(
        TaskCompletion.objects.filter(enrollment__in=[e.pk for e in enrollments]).values_list("enrollment_id", "task_id")
    )
    views = []
    for enrollment in enrollments:
        stages = list(enrollment.program.stages.all())
        current = enrollment.stage
        tasks = []
        if current is not None:
            stage = next((s for s in stages if s.pk == current.pk), None)
            tasks = [TaskView(task=t, done=(enrollment.pk, t.pk) in done) for t in (stage.tasks.all() if stage else [])]
        views.append(ProgrammeView(enrollment=enrollment, program=enrollment.program, stage=current, stages=stages,
                                   tasks=tasks))
    return views


def _open_programmes(influencer, features, today, enrolled: set[int]) -> list[Program]:
    """Opt-in programmes and campaigns running today that the creator may join now, with the automatic
    campaigns they left (only joining again brings them back)."""
    creator = as_creator(tier=influencer.tier, creator_type=influencer.creator_type,
                         category=influencer.main_category, status=influencer.status, features=features)
    left = Enrollment.objects.opted_out().filter(influencer=influencer).values("program_id")
    candidates = Program.objects.open_on(today).filter(
        Q(enrollment_policy=EnrollmentPolicy.OPT_IN) | Q(pk__in=left)
    ).exclude(pk__in=enrolled)
    return [p for p in candidates if ineligibility(eligibility_of(p), creator, today) is None]


def plan_for(influencer: Influencer, *, today: datetime.date | None = None, trend_days: int = TREND_DAYS[0],
             language: str | None = None) -> PlanPage:
    """Everything the plan page reads, in a fixed number of queries; reasons in `language` (None: the active one)."""
    today = today or timezone.localdate()
    plan = growth_plan(influencer=influencer, today=today, language=language)
    days = trend_rows(influencer=influencer, today=today, days=trend_days)
    return PlanPage(
        plan=plan,
        tier_reason=tier_reason(influencer.tier, plan.decision.checks if plan.decision else (), language),
        type_reason=type_reason(influencer.creator_type, plan.features, language),
        trend=trend_chart(days),
        trend_days=trend_days,
        trend_rows=days,
        unread=unread_count(influencer=influencer),
        review=review_latest(influencer=influencer),
    )


def trend_rows(*, influencer: Influencer, today: datetime.date, days: int) -> list[TrendDay]:
    """The creator's GMV by channel and followers for the last `days` days up to today, oldest first."""
    since = today - datetime.timedelta(days=days)
    rows = DailyMetric.objects.filter(influencer=influencer, date__gt=since).order_by("date")
    return [TrendDay(*row) for row in rows.values_list(*TrendDay._fields)]


def review_latest(*, influencer: Influencer) -> ReviewRequest | None:
    """The creator's open request, else their most recent one, with the decision it questions; one query."""
    open_first = Case(When(status=ReviewStatus.OPEN, then=Value(0)), default=Value(1))
    return (
        ReviewRequest.objects.filter(influencer=influencer)
        .select_related("decision")
        .order_by(open_first, "-created_at", "-id")
        .first()
    )

# ---------------------------------------------------------------- the review queue (staff)

REVIEW_METRIC_DAYS = 30
# Age of an open request, in days: [from, to); the last bucket has no end.
SLA_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, None))


def review_sla(*, now: datetime.datetime | None = None) -> list[dict]:
    """Open review requests by age, one count per bucket, in one query."""
    now = now or timezone.now()
    counts = {}
    for start, end in SLA_BUCKETS:
        when = Q(created_at__lte=now - datetime.timedelta(days=start))
        if end is not None:
            when &= Q(created_at__gt=now - datetime.timedelta(days=end))
        counts[f"b{start}"] = Count("pk", filter=when)
    totals = ReviewRequest.objects.open().aggregate(**counts)
    return [{"start": start, "end": end, "count": totals[f"b{start}"]} for start, end in SLA_BUCKETS]


def review_queue(*, status: str):
    """Requests of one status, the oldest open question first (answered and closed: the latest first)."""
    order = ("created_at", "id") if status == ReviewStatus.OPEN else ("-created_at", "-id")
    return (ReviewRequest.objects.filter(status=status)
            .select_related("influencer", "decision", "replied_by", "closed_by").order_by(*order))


def recent_metric_sums(*, influencer_ids, today: datetime.date | None = None,
                       days: int = REVIEW_METRIC_DAYS) -> dict[int, dict]:
    """Each creator's last `days` days summed as the review pages show them (GMV, orders, active days, and
    followers as the highest in the window), in one query however many creators."""
    today = today or timezone.localdate()
    rows = (DailyMetric.objects.filter(influencer_id__in=influencer_ids,
                                       date__gt=today - datetime.timedelta(days=days), date__lte=today)
            .values("influencer_id")
            # Named apart from the fields they sum, so the filter below reads the day's GMV, not the sum.
            .annotate(sum_gmv=Sum("gmv"), sum_orders=Sum("orders"), max_followers=Max("followers"),
                      active_days=Count("pk", filter=Q(gmv__gt=0))))
    return {row.pop("influencer_id"): {name.removeprefix("sum_").removeprefix("max_"): value
                                       for name, value in row.items()} for row in rows}


def review_desk(*, review: ReviewRequest, today: datetime.date | None = None) -> dict:
    """What staff weigh a request with, side by side: the decision questioned and its checks, the live
    explanation now, and the creator's recent metrics, day by day and summed."""
    today = today or timezone.localdate()
    influencer = review.influencer
    decided = decide_now(influencer=influencer, today=today)
    days = list(DailyMetric.objects.filter(influencer=influencer, date__gt=today - datetime.timedelta(
        days=REVIEW_METRIC_DAYS)).order_by("-date"))
    return {
        "review": review,
        "decision_checks": (review.decision.explanation or {}).get("checks", []) if review.decision else [],
        "now_checks": decided[1].explanation_json()["checks"] if decided else [],
        "days": days,
        "sums": recent_metric_sums(influencer_ids=[influencer.pk], today=today).get(influencer.pk, {}),
    }
