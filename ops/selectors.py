"""Reads of the ops desk: the dashboard's figures, each from one aggregate query whatever the population."""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, F, Q
from django.urls import reverse

from coaching.choices import EnrollmentStatus
from coaching.models import AssignmentRun, Enrollment, Program, Stage
from tiers.choices import TIER_RANK, CreatorType, RunStatus, Tier
from tiers.models import ImportBatch, Influencer, RefreshRun, TierDecision

RECENT_RUNS = 5
FLAP_SHOWN = 50
TIERS = [Tier.HEAD, Tier.MID, Tier.TAIL, Tier.NEWCOMER]

PROMOTED = Q(*(Q(tier_before=before, tier_after=after) for before in TIER_RANK for after in TIER_RANK
               if TIER_RANK[after] > TIER_RANK[before]), _connector=Q.OR)
DEMOTED = Q(*(Q(tier_before=before, tier_after=after) for before in TIER_RANK for after in TIER_RANK
              if TIER_RANK[after] < TIER_RANK[before]), _connector=Q.OR)
# A first type is not a change (as the refresh counts it).
TYPE_CHANGED = Q(type_before__isnull=False) & ~Q(type_before=F("type_after"))


def changelist(model_admin: str, **filters) -> str:
    """The admin list behind a number, filtered as the number counts (None: the field is empty)."""
    params = {}
    for name, value in filters.items():
        if value is None:
            params[f"{name}__isnull"] = "True"
        else:
            params[name] = value
    return reverse(f"admin:{model_admin}_changelist") + ("?" + urlencode(params) if params else "")


def _tier_filter(value):
    return {"tier__exact": value} if value else {"tier": None}


# ---------------------------------------------------------------- tier × type


@dataclass
class Cell:
    count: int
    url: str


def population() -> dict[tuple, int]:
    """Creators counted by (tier, type, main category): one scan of the creators, which the matrix and the funnels
    share (at a million creators each scan costs a noticeable part of the page)."""
    return {(tier, creator_type, category): n for tier, creator_type, category, n in
            Influencer.objects.order_by().values_list("tier", "creator_type", "main_category").annotate(n=Count("id"))}


def tier_type_matrix(population: dict[tuple, int]) -> dict:
    """Creators by tier (rows, unjudged last) and type (columns, none last), with totals, from `population()`."""
    counts = Counter()
    for (tier, creator_type, _category), n in population.items():
        counts[(tier, creator_type)] += n
    tiers = [*TIERS, None]
    types = [*CreatorType.values, None]
    rows = []
    for tier in tiers:
        cells = []
        for creator_type in types:
            filters = {"tier__exact" if tier else "tier": tier, "creator_type__exact" if creator_type else "creator_type":
                       creator_type}
            cells.append(Cell(counts.get((tier, creator_type), 0), changelist("tiers_influencer", **filters)))
        total = sum(cell.count for cell in cells)
        rows.append((tier, cells, Cell(total, changelist("tiers_influencer", **_tier_filter(tier)))))
    column_totals = [Cell(sum(counts.get((tier, t), 0) for tier in tiers),
                          changelist("tiers_influencer", **({"creator_type__exact": t} if t else {"creator_type": None})))
                     for t in types]
    return {"types": types, "rows": rows, "column_totals": column_totals,
            "total": Cell(sum(counts.values()), changelist("tiers_influencer"))}


# ---------------------------------------------------------------- movements


def movements_since_last_refresh() -> dict | None:
    """The latest finished refresh and its moves, tier → tier, counted; one query for the moves."""
    run = RefreshRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-id").first()
    if run is None:
        return None
    moves = [
        (before, after, Cell(n, changelist("tiers_tierdecision", refresh_run__id__exact=run.pk,
                                           **({"tier_before__exact": before} if before else {"tier_before": None}),
                                           tier_after__exact=after)))
        for before, after, n in TierDecision.objects.filter(refresh_run=run).order_by()
        .values_list("tier_before", "tier_after").annotate(n=Count("id")).order_by("tier_before", "tier_after")
    ]
    return {"run": run, "moves": moves, "url": changelist("tiers_tierdecision", refresh_run__id__exact=run.pk)}


@dataclass
class Day:
    day: datetime.date
    promoted: int = 0
    demoted: int = 0
    type_changed: int = 0
    url: str = ""


def movements_per_day(*, today: datetime.date, days: int = 90) -> list[Day]:
    """Promotions, demotions and type changes of the effective ledger per day, oldest first; one query."""
    since = today - datetime.timedelta(days=days - 1)
    found = {
        row["decided_on"]: row for row in
        TierDecision.objects.effective().filter(decided_on__gte=since, decided_on__lte=today).order_by()
        .values("decided_on").annotate(promoted=Count("id", filter=PROMOTED), demoted=Count("id", filter=DEMOTED),
                                       type_changed=Count("id", filter=TYPE_CHANGED))
    }
    series = []
    for offset in range(days):
        day = since + datetime.timedelta(days=offset)
        row = found.get(day, {})
        series.append(Day(day, row.get("promoted", 0), row.get("demoted", 0), row.get("type_changed", 0),
                          changelist("tiers_tierdecision", decided_on=day.isoformat())))
    return series


# ---------------------------------------------------------------- flapping


@dataclass
class Flapper:
    influencer_id: int
    handle: str
    changes: int
    url: str


def flap_report(*, today: datetime.date, min_changes: int, days: int) -> dict:
    """Creators whose tier changed at least `min_changes` times in the last `days` days (the effective
    ledger, pins included): how many, and the first FLAP_SHOWN by most changes."""
    since = today - datetime.timedelta(days=days - 1)
    flapping = (TierDecision.objects.effective().filter(decided_on__gte=since, tier_before__isnull=False)
                .exclude(tier_before=F("tier_after")).order_by().values("influencer_id")
                .annotate(changes=Count("id")).filter(changes__gte=min_changes))
    total = flapping.count()
    shown = [
        Flapper(row["influencer_id"], row["influencer__handle"], row["changes"],
                reverse("admin:tiers_influencer_change", args=[row["influencer_id"]]))
        for row in flapping.values("influencer_id", "influencer__handle").annotate(changes=Count("id"))
        .order_by("-changes", "influencer_id")[:FLAP_SHOWN]
    ]
    return {"total": total, "shown": shown, "min_changes": min_changes, "days": days,
            "url": changelist("tiers_tierdecision", decided_on__gte=since.isoformat())}


# ---------------------------------------------------------------- programme funnels


@dataclass
class Funnel:
    program: Program
    eligible: Cell
    enrolled: Cell
    stages: list[tuple[Stage, Cell]] = field(default_factory=list)
    graduated: Cell | None = None
    # Promotion rate over the window: graduates vs creators of the same eligible tiers never enrolled.
    graduates_promoted: tuple[int, int] | None = None
    others_promoted: tuple[int, int] | None = None


def _eligible(program: Program, population: dict) -> int:
    """Creators the programme's tier, type and category rules admit (not its reputation floor or capacity)."""
    return sum(n for (tier, creator_type, category), n in population.items()
               if (not program.eligible_tiers or tier in program.eligible_tiers)
               and (not program.eligible_types or creator_type in program.eligible_types)
               and (not program.eligible_categories or category in program.eligible_categories))


def _eligible_list(program: Program) -> str:
    filters = {f"{field}__in": ",".join(values) for field, values in (
        ("tier", program.eligible_tiers), ("creator_type", program.eligible_types),
        ("main_category", program.eligible_categories)) if values}
    return changelist("tiers_influencer", **filters)


def programme_funnels(*, today: datetime.date, population: dict[tuple, int], days: int = 90) -> list[Funnel]:
    """Per active programme: eligible → enrolled → each stage (active enrolments there) → graduated.

    The queries do not grow with creators: (with `population()`, shared with the matrix) one count of enrolments
    by programme, stage and status, one list of stages, and for a programme with graduates four counts for the
    promotion rates.
    """
    programs = list(Program.objects.filter(is_active=True).order_by("kind", "code"))
    enrolments = {}
    for program_id, stage_id, status, n in (Enrollment.objects.order_by().values_list("program_id", "stage_id", "status")
                                            .annotate(n=Count("id"))):
        enrolments[(program_id, stage_id, status)] = n
    stages = {}
    for stage in Stage.objects.filter(program__in=programs).order_by("program_id", "order"):
        stages.setdefault(stage.program_id, []).append(stage)
    since = today - datetime.timedelta(days=days - 1)
    funnels = []
    for program in programs:
        def enrolled_count(status=None, stage_id=...):
            return sum(n for (p, s, st), n in enrolments.items()
                       if p == program.pk and (status is None or st == status) and (stage_id is ... or s == stage_id))

        enrolment_list = "coaching_enrollment"
        funnel = Funnel(
            program=program,
            eligible=Cell(_eligible(program, population), _eligible_list(program)),
            enrolled=Cell(enrolled_count(), changelist(enrolment_list, program__id__exact=program.pk)),
            stages=[(stage, Cell(enrolled_count(EnrollmentStatus.ACTIVE, stage.pk),
                                 changelist(enrolment_list, program__id__exact=program.pk, stage__id__exact=stage.pk,
                                            status__exact=EnrollmentStatus.ACTIVE)))
                    for stage in stages.get(program.pk, [])],
            graduated=Cell(enrolled_count(EnrollmentStatus.GRADUATED),
                           changelist(enrolment_list, program__id__exact=program.pk,
                                      status__exact=EnrollmentStatus.GRADUATED)),
        )
        if funnel.graduated.count and program.eligible_tiers:
            funnel.graduates_promoted, funnel.others_promoted = _promotion_rates(program, since)
        funnels.append(funnel)
    return funnels


def _promotion_rates(program: Program, since: datetime.date) -> tuple[tuple[int, int], tuple[int, int]]:
    """(promoted, of how many) for the programme's graduates, and for comparable non-participants:
    creators who stood in one of its eligible tiers in the window (now, or before a decision in it)
    and were never enrolled in it. Promoted: a promotion out of an eligible tier in the window."""
    promoted = (TierDecision.objects.effective().filter(PROMOTED, decided_on__gte=since,
                                                       tier_before__in=program.eligible_tiers)
                .values("influencer_id"))
    ever_enrolled = Enrollment.objects.filter(program=program).values("influencer_id")
    graduates = Enrollment.objects.filter(program=program, status=EnrollmentStatus.GRADUATED)
    graduates_total = graduates.values("influencer_id").distinct().count()
    graduates_promoted = graduates.filter(influencer_id__in=promoted).values("influencer_id").distinct().count()
    in_window = TierDecision.objects.effective().filter(decided_on__gte=since, tier_before__in=program.eligible_tiers)
    comparable = (Influencer.objects.filter(Q(tier__in=program.eligible_tiers) | Q(pk__in=in_window.values("influencer_id")))
                  .exclude(pk__in=ever_enrolled))
    return (graduates_promoted, graduates_total), (comparable.filter(pk__in=promoted).count(), comparable.count())


# ---------------------------------------------------------------- runs


@dataclass
class Run:
    run: object
    duration: datetime.timedelta | None
    url: str


def latest_runs() -> dict:
    """The latest refresh, assignment and import runs, with status and duration; three queries."""
    def runs(queryset, admin_name):
        return [Run(run, run.finished_at - run.started_at if run.finished_at and run.started_at else None,
                    reverse(f"admin:{admin_name}_change", args=[run.pk]))
                for run in queryset.order_by("-id")[:RECENT_RUNS]]

    return {
        "refresh": runs(RefreshRun.objects.all(), "tiers_refreshrun"),
        "assignment": runs(AssignmentRun.objects.all(), "coaching_assignmentrun"),
        "import": runs(ImportBatch.objects.all(), "tiers_importbatch"),
    }
