"""What changed for a creator, as in-app notifications: written set-based (INSERT … SELECT) with each chunk of an assignment."""

import datetime
from collections.abc import Iterator
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, JSONObject
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from core.language import in_sentence, pick, speaking
from tiers.choices import LADDER, CreatorType, DecisionCause, Tier
from tiers.models import Influencer, RefreshRun, TierDecision
from tiers.rules import PolicyRules, demotion_date

from .choices import NotificationKind, ReasonCode, ReviewStatus, ReviewSubject
from .formatting import MISSING, money
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

# Why a creator left a programme, as the second half of "You left …: <why>."
EXIT_WHY = {
    ReasonCode.EXITED_DEMOTED: gettext_lazy("your tier fell below the programme's tiers"),
    ReasonCode.EXITED_PROMOTED: gettext_lazy("you were promoted beyond the programme's tiers"),
    ReasonCode.EXITED_INELIGIBLE: gettext_lazy("you no longer meet the programme's criteria"),
    ReasonCode.EXITED_CLOSED: gettext_lazy("the programme has ended"),
}


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


# Columns of a notification that INSERT … SELECT may set, in this order.
_INSERTED = ("influencer_id", "kind", "decision_id", "enrollment_event_id", "data", "created_at")
_INSERT_IGNORING = {
    "postgresql": "INSERT INTO {table} ({columns}) {select} ON CONFLICT DO NOTHING",
    "sqlite": "INSERT OR IGNORE INTO {table} ({columns}) {select}",
}


def _insert_from(source: QuerySet, *, kind, data, influencer_id=None, decision_id=None,
                 enrollment_event_id=None) -> int:
    """One notification per row of `source`, written by the database in one INSERT … SELECT (nothing passes through
    Python, however many rows): `data` and the links are expressions over `source`'s rows. A row whose notification
    exists already is skipped (the unique links), so a job that runs again adds nothing; returns how many were added.
    """
    values = {
        "influencer_id": influencer_id if influencer_id is not None else F("influencer_id"),
        "kind": kind if hasattr(kind, "resolve_expression") else Value(kind),
        "decision_id": decision_id if decision_id is not None else Value(None, output_field=IntegerField()),
        "enrollment_event_id": (enrollment_event_id if enrollment_event_id is not None
                                else Value(None, output_field=IntegerField())),
        "data": data,
        "created_at": Value(timezone.now(), output_field=DateTimeField()),
    }
    aliases = {f"notification_{column}": values[column] for column in _INSERTED}
    select, params = source.order_by().annotate(**aliases).values_list(*aliases).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_IGNORING[connection.vendor].format(
            table=Notification._meta.db_table, columns=", ".join(_INSERTED), select=select), params)
        return cursor.rowcount


def _not_notified(**link) -> Exists:
    return ~Exists(Notification.objects.filter(**link))


@transaction.atomic
def notifications_after_refresh(*, refresh_run_id: int, first_id: int | None = None, last_id: int | None = None) -> int:
    """Tier and type changes of one refresh, and warnings for creators who just went below their keep line.

    A first classification is not news, so moves from nothing are skipped. Set-based: one INSERT … SELECT
    per kind of change, and a few queries per BATCH of warnings; none per creator. Running it again creates nothing. With `first_id` and
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
    changes = (
        (NotificationKind.TIER_CHANGED, "tier",
         decisions.filter(tier_before__isnull=False).exclude(tier_before=F("tier_after"))),
        (NotificationKind.TYPE_CHANGED, "type",
         decisions.filter(type_before__isnull=False)
         .filter(Q(type_after__isnull=True) | ~Q(type_after=F("type_before")))),
    )
    for kind, field, changed in changes:
        before, after = f"{field}_before", f"{field}_after"
        unnotified = changed.filter(_not_notified(kind=kind, decision=OuterRef("pk")))
        created += _insert_from(unnotified, kind=kind, decision_id=F("pk"), data=JSONObject(**{
            before: before, after: after, "decided_on": Cast("decided_on", CharField()), "cause": "cause"}))
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
            # The first refresh that may demote, as tiers.rules.decide counts it.
            demote_on = demotion_date(
                tier_since=row["tier_since"] or warned_on, below_keep_since=warned_on, anti_flap=anti_flap
            )
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
    kind = Case(*(When(reason=reason, then=Value(kind)) for reason, kind in KIND_OF_REASON.items()))
    return _insert_from(events, kind=kind, influencer_id=F("enrollment__influencer_id"), enrollment_event_id=F("pk"),
                        data=JSONObject(**_EVENT_DATA))


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


def notification_text(notification: Notification, language: str | None = None) -> str:
    """The notification as one short sentence in `language` (the active one when None)."""
    with speaking(language):
        return _SENTENCES[notification.kind](notification.data or {})


def _tier(value) -> str:
    return in_sentence(Tier(value).label) if value in Tier.values else MISSING


def _type(value) -> str:
    return in_sentence(CreatorType(value).label) if value in CreatorType.values else _("not yet determined")


def _program(data: dict) -> str:
    name_zh = data.get("program_name_zh") or data.get("program_code") or MISSING
    return pick(name_zh, data.get("program_name_en"))


def _stage(data: dict, prefix: str) -> str | None:
    name_zh = data.get(f"{prefix}name_zh")
    return name_zh and pick(name_zh, data.get(f"{prefix}name_en"))


def _date(value: str | None) -> str:
    if not value:
        return MISSING
    return dateformat.format(datetime.date.fromisoformat(value), pgettext("a date in a sentence", "j F Y"))


# A change's sentence by its direction and whether a staff override made it: an override says so,
# or the creator looks for the reason in their figures. Leaving or entering newcomer is neither a
# promotion nor a demotion, so it is a plain "changed".
_TIER_CHANGED = {
    ("up", False): gettext_lazy("Congratulations: your tier went up from %(before)s to %(after)s."),
    ("up", True): gettext_lazy(
        "Congratulations: your tier went up from %(before)s to %(after)s (set by the creator-ops team)."
    ),
    ("down", False): gettext_lazy("Your tier moved down from %(before)s to %(after)s."),
    ("down", True): gettext_lazy("Your tier moved down from %(before)s to %(after)s (set by the creator-ops team)."),
    ("changed", False): gettext_lazy("Your tier changed from %(before)s to %(after)s."),
    ("changed", True): gettext_lazy("Your tier changed from %(before)s to %(after)s (set by the creator-ops team)."),
}
_TYPE_CHANGED = {
    False: gettext_lazy("Your creator type changed from %(before)s to %(after)s."),
    True: gettext_lazy("Your creator type changed from %(before)s to %(after)s (set by the creator-ops team)."),
}


def _tier_changed(data):
    before, after = data.get("tier_before"), data.get("tier_after")
    direction = "changed"
    if before in LADDER and after in LADDER:
        direction = "up" if LADDER.index(after) > LADDER.index(before) else "down"
    sentence = _TIER_CHANGED[direction, data.get("cause") == DecisionCause.OVERRIDE]
    return sentence % {"before": _tier(before), "after": _tier(after)}


def _type_changed(data):
    sentence = _TYPE_CHANGED[data.get("cause") == DecisionCause.OVERRIDE]
    return sentence % {"before": _type(data.get("type_before")), "after": _type(data.get("type_after"))}


def _enrolled(data):
    program, stage = _program(data), _stage(data, "stage_")
    if stage:
        return _("You joined %(programme)s, starting with %(stage)s.") % {"programme": program, "stage": stage}
    return _("You joined %(programme)s.") % {"programme": program}


def _stage_advanced(data):
    return _("You moved on to %(stage)s in %(programme)s.") % {
        "programme": _program(data), "stage": _stage(data, "stage_") or MISSING}


def _graduated(data):
    program = _program(data)
    if data.get("reason") == ReasonCode.GRADUATED_PROMOTED:
        return _("Congratulations on your promotion: you graduated from %(programme)s.") % {"programme": program}
    return _("Congratulations: you completed every stage of %(programme)s and graduated.") % {"programme": program}


def _exited(data):
    program = _program(data)
    why = EXIT_WHY.get(data.get("reason"))
    if why is None:
        return _("You left %(programme)s.") % {"programme": program}
    return _("You left %(programme)s: %(why)s.") % {"programme": program, "why": why}


def _demotion_warning(data):
    days = data.get("window_days", 30)
    return ngettext(
        "Your GMV over the last %(days)s day is below the %(tier)s keep line of %(keep)s. "
        "Unless it is back above the line by %(date)s, you will move down a tier.",
        "Your GMV over the last %(days)s days is below the %(tier)s keep line of %(keep)s. "
        "Unless it is back above the line by %(date)s, you will move down a tier.",
        days,
    ) % {
        "days": days,
        "tier": _tier(data.get("tier")),
        "keep": money(Decimal(data["keep_gmv"]) if data.get("keep_gmv") else None),
        "date": _date(data.get("demote_on")),
    }


def _review_answered(data):
    subject = data.get("subject")
    what = in_sentence(ReviewSubject(subject).label) if subject in ReviewSubject.values else _("review")
    if data.get("status") == ReviewStatus.CLOSED:
        return _("The creator-ops team answered and closed your request to review your %(subject)s.") % {
            "subject": what}
    return _("The creator-ops team answered your request to review your %(subject)s.") % {"subject": what}


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
