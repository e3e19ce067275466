"""What changed for a creator, as in-app notifications: written set-based with each chunk of an assignment."""

import datetime
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from tiers.choices import LADDER, DecisionCause, Tier
from tiers.models import Influencer, RefreshRun, TierDecision
from tiers.rules import PolicyRules

from .choices import NotificationKind, ReasonCode, ReviewStatus
from .formatting import MISSING, is_chinese, money
from .models import EnrollmentEvent, Notification, ReviewRequest

BATCH = 2_000
INBOX_LIMIT = 30

# Which enrolment changes a creator hears about. ineligible_grace is left out on purpose: the
# creator may become eligible again within the grace period, and the exit is notified if not.
KIND_OF_REASON = {
    ReasonCode.ENROLLED: NotificationKind.ENROLLED,
    ReasonCode.SIGNED_UP: NotificationKind.ENROLLED,
    ReasonCode.ADDED_BY_STAFF: NotificationKind.ENROLLED,
    ReasonCode.STAGE_ADVANCED: NotificationKind.STAGE_ADVANCED,
    ReasonCode.GRADUATED: NotificationKind.GRADUATED,
    ReasonCode.GRADUATED_PROMOTED: NotificationKind.GRADUATED,
    **{reason: NotificationKind.EXITED for reason in ReasonCode.values if reason.startswith("exited_")},
}

# (Chinese, English) labels for the sentences below.
TIER_LABELS = {
    Tier.HEAD: ("头部", "head"),
    Tier.MID: ("腰部", "mid"),
    Tier.TAIL: ("尾部", "tail"),
    Tier.NEWCOMER: ("新手", "newcomer"),
}
TYPE_LABELS = {
    "persona": ("人设型", "persona"),
    "vertical": ("垂直型", "vertical"),
    "seeding": ("种草型", "seeding"),
    "entertainment": ("娱乐型", "entertainment"),
}
NO_TYPE = ("未判定", "not yet determined")
SUBJECT_LABELS = {"tier": ("等级", "tier"), "creator_type": ("达人类型", "creator type")}
EXIT_WHY = {
    ReasonCode.EXITED_DEMOTED: ("等级已低于该项目面向的等级", "your tier fell below the programme's tiers"),
    ReasonCode.EXITED_PROMOTED: ("你已晋级，超出了该项目面向的等级", "you were promoted beyond the programme's tiers"),
    ReasonCode.EXITED_INELIGIBLE: ("不再符合该项目的条件", "you no longer meet the programme's criteria"),
    ReasonCode.EXITED_CLOSED: ("项目已结束", "the programme has ended"),
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


# ---------------------------------------------------------------- writes


def _pages(queryset: QuerySet, *fields: str) -> Iterator[list[dict]]:
    """The rows of `queryset` as dicts, BATCH at a time by primary key.

    Keyset pages keep memory and the number of queries bounded by the batch, not the run's size,
    and hold no cursor open across the inserts.
    """
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        rows = list(page.order_by("pk").values("pk", *fields)[:BATCH])
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = rows[-1]["pk"]


def _insert(notifications: list[Notification]) -> int:
    # The callers already skip what exists; ignore_conflicts covers a concurrent run of the same job
    # (whose rows would then also be counted here: the database does not say which inserts it skipped).
    Notification.objects.bulk_create(notifications, batch_size=BATCH, ignore_conflicts=True)
    return len(notifications)


def _not_notified(**link) -> Exists:
    return ~Exists(Notification.objects.filter(**link))


@transaction.atomic
def notifications_after_refresh(*, refresh_run_id: int, first_id: int | None = None, last_id: int | None = None) -> int:
    """Tier and type changes of one refresh, and warnings for creators who just went below their keep line.

    A first classification is not news, so moves from nothing are skipped. Set-based: a few queries
    per BATCH of decisions, none per creator. Running it again creates nothing. With `first_id` and
    `last_id`, only for the creators with ids in that range (one chunk of an assignment). Returns how
    many notifications were created.
    """
    run = RefreshRun.objects.select_related("policy").get(pk=refresh_run_id)
    decisions = _of_creators(TierDecision.objects.filter(refresh_run_id=run.pk), "influencer__id", first_id, last_id)
    return _decision_notifications(decisions) + _demotion_warnings(run, first_id, last_id)


def _of_creators(queryset: QuerySet, field: str, first_id: int | None, last_id: int | None) -> QuerySet:
    if first_id is None:
        return queryset
    return queryset.filter(**{f"{field}__range": (first_id, last_id)})


@transaction.atomic
def notifications_after_decision(*, decision_id: int) -> int:
    """The tier or type change of one decision made outside a refresh (a staff override); idempotent."""
    return _decision_notifications(TierDecision.objects.filter(pk=decision_id))


def _decision_notifications(decisions: QuerySet) -> int:
    created = 0
    tier_moves = (
        decisions.filter(tier_before__isnull=False)
        .exclude(tier_before=F("tier_after"))
        .filter(_not_notified(kind=NotificationKind.TIER_CHANGED, decision=OuterRef("pk")))
    )
    for rows in _pages(tier_moves, "influencer_id", "tier_before", "tier_after", "decided_on", "cause"):
        created += _insert([
            Notification(
                influencer_id=row["influencer_id"], kind=NotificationKind.TIER_CHANGED, decision_id=row["pk"],
                data={"tier_before": row["tier_before"], "tier_after": row["tier_after"],
                      "decided_on": row["decided_on"].isoformat(), "cause": row["cause"]},
            )
            for row in rows
        ])

    type_moves = (
        decisions.filter(type_before__isnull=False)
        .filter(Q(type_after__isnull=True) | ~Q(type_after=F("type_before")))
        .filter(_not_notified(kind=NotificationKind.TYPE_CHANGED, decision=OuterRef("pk")))
    )
    for rows in _pages(type_moves, "influencer_id", "type_before", "type_after", "decided_on", "cause"):
        created += _insert([
            Notification(
                influencer_id=row["influencer_id"], kind=NotificationKind.TYPE_CHANGED, decision_id=row["pk"],
                data={"type_before": row["type_before"], "type_after": row["type_after"],
                      "decided_on": row["decided_on"].isoformat(), "cause": row["cause"]},
            )
            for row in rows
        ])
    return created


def _demotion_warnings(run: RefreshRun, first_id: int | None, last_id: int | None) -> int:
    """A warning for every mid or head creator whose days below the keep line started at this run."""
    rules = PolicyRules.from_json(run.policy.rules)
    anti_flap = rules.anti_flap
    warned_on = run.run_date
    below = _of_creators(Influencer.objects.filter(below_keep_since=warned_on, tier__in=(Tier.MID, Tier.HEAD)), "id",
                         first_id, last_id).filter(
        _not_notified(kind=NotificationKind.DEMOTION_WARNING, influencer=OuterRef("pk"), warning_on=warned_on)
    )
    created = 0
    for rows in _pages(below, "tier", "tier_since"):
        notifications = []
        for row in rows:
            # The first refresh that may demote, counted as tiers.rules.decide counts it: the grace
            # period below the line and the minimum stay in the tier must both be over.
            demote_on = warned_on + datetime.timedelta(days=anti_flap.grace_days)
            if row["tier_since"] is not None:
                demote_on = max(demote_on, row["tier_since"] + datetime.timedelta(days=anti_flap.min_days_in_tier))
            notifications.append(Notification(
                influencer_id=row["pk"], kind=NotificationKind.DEMOTION_WARNING, warning_on=warned_on,
                data={"tier": row["tier"], "keep_gmv": str(rules.thresholds(row["tier"]).keep_gmv),
                      "window_days": rules.window_days, "below_since": warned_on.isoformat(),
                      "demote_on": demote_on.isoformat()},
            ))
        created += _insert(notifications)
    return created


# data key: the column it is read from.
_EVENT_DATA = {
    "reason": "reason",
    "program_code": "enrollment__program__code",
    "program_name_zh": "enrollment__program__name_zh",
    "program_name_en": "enrollment__program__name_en",
    "from_stage_name_zh": "from_stage__name_zh",
    "from_stage_name_en": "from_stage__name_en",
    "stage_name_zh": "to_stage__name_zh",
    "stage_name_en": "to_stage__name_en",
}


@transaction.atomic
def notifications_after_assignment(*, assignment_run_id: int, first_id: int | None = None,
                                   last_id: int | None = None, from_event_id: int | None = None) -> int:
    """One notification per enrolment, stage, graduation and exit event of an assignment run.

    Set-based like notifications_after_refresh, and like it limited to one chunk's creators when
    given their id range, and to the events from `from_event_id` on when given; running it again
    creates nothing. Returns how many notifications were created.
    """
    events = EnrollmentEvent.objects.filter(assignment_run_id=assignment_run_id, reason__in=list(KIND_OF_REASON))
    if from_event_id is not None:
        events = events.filter(pk__gte=from_event_id)
    events = _of_creators(events, "enrollment__influencer__id", first_id, last_id).filter(
        _not_notified(enrollment_event=OuterRef("pk")))
    created = 0
    for rows in _pages(events, "enrollment__influencer", *_EVENT_DATA.values()):
        created += _insert([
            Notification(
                influencer_id=row["enrollment__influencer"], kind=KIND_OF_REASON[row["reason"]],
                enrollment_event_id=row["pk"], data={key: row[column] for key, column in _EVENT_DATA.items()},
            )
            for row in rows
        ])
    return created


def notifications_after_review_reply(*, review: ReviewRequest) -> Notification:
    """Tell the creator staff answered their review request.

    One notification per request: a later reply updates it, marks it unread and moves it to the
    top again, so the creator learns of the new answer without a second entry.
    """
    notification, _ = Notification.objects.update_or_create(
        review=review,
        kind=NotificationKind.REVIEW_ANSWERED,
        defaults={
            "influencer_id": review.influencer_id,
            "data": {"subject": review.subject, "status": review.status, "reply": review.staff_reply},
            "read_at": None,
            "created_at": timezone.now(),
        },
    )
    return notification


@transaction.atomic
def notification_mark_read(*, influencer: Influencer, notification_id: int) -> Notification:
    """Mark one of the creator's notifications read; another creator's raises Notification.DoesNotExist."""
    notification = Notification.objects.get(pk=notification_id, influencer=influencer)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, influencer: Influencer) -> int:
    """Mark every unread notification of the creator read, in one UPDATE; returns how many."""
    return Notification.objects.unread().filter(influencer=influencer).update(read_at=timezone.now())


# ---------------------------------------------------------------- reads


def unread_count(*, influencer: Influencer) -> int:
    return Notification.objects.unread().filter(influencer=influencer).count()


def notifications_for(*, influencer: Influencer, limit: int = INBOX_LIMIT) -> list[Notification]:
    """The creator's latest notifications, newest first, in one query."""
    return list(Notification.objects.filter(influencer=influencer).order_by("-created_at", "-id")[:limit])


# ---------------------------------------------------------------- sentences


def notification_text(notification: Notification, language: str) -> str:
    """The notification as one short sentence, in Chinese for any zh* language, else in English."""
    zh = is_chinese(language)
    return _SENTENCES[notification.kind](notification.data or {}, zh, language)


def _pick(labels: tuple[str, str], zh: bool) -> str:
    return labels[0] if zh else labels[1]


def _tier(value, zh: bool) -> str:
    return _pick(TIER_LABELS[value], zh) if value in TIER_LABELS else MISSING


def _type(value, zh: bool) -> str:
    return _pick(TYPE_LABELS.get(value, NO_TYPE), zh)


def _program(data: dict, zh: bool) -> str:
    name_zh = data.get("program_name_zh") or data.get("program_code") or MISSING
    return name_zh if zh else (data.get("program_name_en") or name_zh)


def _stage(data: dict, prefix: str, zh: bool) -> str | None:
    name_zh = data.get(f"{prefix}name_zh")
    return name_zh if zh else (data.get(f"{prefix}name_en") or name_zh)


def _date(value: str | None, zh: bool) -> str:
    if not value:
        return MISSING
    day = datetime.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日" if zh else f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _tier_changed(data, zh, language):
    before, after = data.get("tier_before"), data.get("tier_after")
    b, a = _tier(before, zh), _tier(after, zh)
    if before in LADDER and after in LADDER:
        if LADDER.index(after) > LADDER.index(before):
            text = f"恭喜，你的等级从{b}升到了{a}！" if zh else f"Congratulations: your tier went up from {b} to {a}."
        else:
            text = f"你的等级从{b}调整为{a}。" if zh else f"Your tier moved down from {b} to {a}."
    else:
        # Leaving or entering newcomer is neither a promotion nor a demotion.
        text = f"你的等级从{b}变为{a}。" if zh else f"Your tier changed from {b} to {a}."
    return _with_cause(text, data, zh)


def _type_changed(data, zh, language):
    b, a = _type(data.get("type_before"), zh), _type(data.get("type_after"), zh)
    text = f"你的达人类型从{b}变为{a}。" if zh else f"Your creator type changed from {b} to {a}."
    return _with_cause(text, data, zh)


def _with_cause(text: str, data, zh) -> str:
    """A staff override, not the metrics, made this change: say so, or the creator looks for the
    reason in their figures. The note goes before the closing mark: "…调整为腰部（…）。"."""
    if data.get("cause") != DecisionCause.OVERRIDE:
        return text
    return text[:-1] + ("（由达人运营团队调整）" if zh else " (set by the creator-ops team)") + text[-1]


def _enrolled(data, zh, language):
    program, stage = _program(data, zh), _stage(data, "stage_", zh)
    if stage:
        return f"你已加入「{program}」，从「{stage}」开始。" if zh else f"You joined {program}, starting with {stage}."
    return f"你已加入「{program}」。" if zh else f"You joined {program}."


def _stage_advanced(data, zh, language):
    program, stage = _program(data, zh), _stage(data, "stage_", zh) or MISSING
    return f"你在「{program}」进入了下一阶段：「{stage}」。" if zh else f"You moved on to {stage} in {program}."


def _graduated(data, zh, language):
    program = _program(data, zh)
    if data.get("reason") == ReasonCode.GRADUATED_PROMOTED:
        return f"恭喜晋级！你已从「{program}」毕业。" if zh else f"Congratulations on your promotion: you graduated from {program}."
    return (f"恭喜，你完成了「{program}」的全部阶段，顺利毕业！" if zh
            else f"Congratulations: you completed every stage of {program} and graduated.")


def _exited(data, zh, language):
    program = _program(data, zh)
    why = EXIT_WHY.get(data.get("reason"))
    if why is None:
        return f"你已离开「{program}」。" if zh else f"You left {program}."
    return f"你已离开「{program}」：{_pick(why, zh)}。" if zh else f"You left {program}: {_pick(why, zh)}."


def _demotion_warning(data, zh, language):
    tier = _tier(data.get("tier"), zh)
    keep = money(Decimal(data["keep_gmv"]) if data.get("keep_gmv") else None, language)
    days, on = data.get("window_days", 30), _date(data.get("demote_on"), zh)
    if zh:
        return f"你近{days}天的GMV低于{tier}达人的保级线{keep}。如果到{on}还没有回到保级线以上，你的等级将下调一级。"
    return (f"Your GMV over the last {days} days is below the {tier} keep line of {keep}. "
            f"Unless it is back above the line by {on}, you will move down a tier.")


def _review_answered(data, zh, language):
    subject = _pick(SUBJECT_LABELS.get(data.get("subject"), ("复核", "review")), zh)
    if data.get("status") == ReviewStatus.CLOSED:
        return (f"运营已回复并结束了你关于{subject}的复核申请。" if zh
                else f"The creator-ops team answered and closed your request to review your {subject}.")
    return (f"运营已回复你关于{subject}的复核申请。" if zh
            else f"The creator-ops team answered your request to review your {subject}.")


_SENTENCES = {
    NotificationKind.TIER_CHANGED: _tier_changed,
    NotificationKind.TYPE_CHANGED: _type_changed,
    NotificationKind.ENROLLED: _enrolled,
    NotificationKind.STAGE_ADVANCED: _stage_advanced,
    NotificationKind.GRADUATED: _graduated,
    NotificationKind.EXITED: _exited,
    NotificationKind.DEMOTION_WARNING: _demotion_warning,
    NotificationKind.REVIEW_ANSWERED: _review_answered,
}
