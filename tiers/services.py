"""Writes of the tier engine: policy versions and overrides (the refresh is in `tiers.refresh`)."""

import datetime
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

import audit
from audit.models import AuditAction
from core import outbox
from core.validation import ServiceError

from .choices import (
    OVERRIDE_VALUES,
    OverrideEndReason,
    OverrideField,
    PolicyStatus,
    RunStatus,
    RunTrigger,
)
from .models import (
    Influencer,
    OverrideBatch,
    RefreshRun,
    TierDecision,
    TierOverride,
    TierPolicy,
    TierStateChange,
)
from .refresh import override_rows, refresh_queue
from .rules import PolicyRules, TierState, pin

POLICY_NOT_DRAFT = _("Policy v{version} is {status}: only a draft can be changed or published. Clone it to change it.")
POLICY_CLONED_FROM = _("Cloned from v%(version)s.")
OVERRIDE_REASON_REQUIRED = _("An override needs a reason.")
OVERRIDE_VALUE_INVALID = _("{value!r} is not a valid {field}; choose one of: {choices}.")
OVERRIDE_EXPIRY_PAST = _("The expiry {expires_at} is not in the future.")
OVERRIDE_ALREADY_ENDED = _("This override already ended ({end_reason}).")
OVERRIDE_DURING_REPLAY = _("Replay #{replay_id} is recomputing past refreshes; pin the creator once it has finished.")


# ---------------------------------------------------------------- policies


def _require_draft(policy: TierPolicy) -> None:
    if policy.status != PolicyStatus.DRAFT:
        raise ServiceError(POLICY_NOT_DRAFT.format(version=policy.version, status=policy.get_status_display()))


@transaction.atomic
def policy_create_draft(*, name: str, rules: dict, notes: str = "", by) -> TierPolicy:
    """A new draft with the next version number; PolicyError names every bad rule."""
    # Two drafts at once: the unique version makes the second fail rather than share a number.
    next_version = (TierPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    policy = TierPolicy.objects.create(version=next_version, name=name, rules=PolicyRules.from_json(rules).to_json(),
                                       notes=notes, created_by=by, updated_by=by)
    audit.record(actor=by, action=AuditAction.POLICY_DRAFT_CREATE, obj=policy, after=_policy_fields(policy))
    return policy


def _policy_fields(policy: TierPolicy) -> dict:
    return audit.snapshot(policy, fields=("version", "name", "status", "rules", "notes"))


def policy_clone(*, policy: TierPolicy, by) -> TierPolicy:
    """A new draft, next version number, with the same rules."""
    return policy_create_draft(name=policy.name, rules=policy.rules,
                               notes=_gettext(POLICY_CLONED_FROM) % {"version": policy.version}, by=by)


@transaction.atomic
def policy_update_draft(*, policy: TierPolicy, rules: dict, name: str | None = None, notes: str | None = None, by) -> TierPolicy:
    _require_draft(policy)
    before = _policy_fields(TierPolicy.objects.get(pk=policy.pk))
    policy.rules = PolicyRules.from_json(rules).to_json()  # PolicyError names every bad field
    policy.updated_by = by
    update_fields = ["rules", "updated_by", "updated_at"]
    if name is not None:
        policy.name = name
        update_fields.append("name")
    if notes is not None:
        policy.notes = notes
        update_fields.append("notes")
    policy.save(update_fields=update_fields)
    audit.record(actor=by, action=AuditAction.POLICY_DRAFT_UPDATE, obj=policy, before=before,
                 after=_policy_fields(policy))
    return policy


@transaction.atomic
def policy_publish(*, policy: TierPolicy, by, refresh: bool = True) -> TierPolicy:
    """Archive the published version, publish this draft, and refresh everyone under it: at once on
    the workers, or after the refresh running now (`tiers.refresh.refresh_for_policy` finds it).

    Raises RefreshError, publishing nothing, when the refresh can be neither started nor queued.
    """
    policy = TierPolicy.objects.select_for_update().get(pk=policy.pk)
    _require_draft(policy)
    PolicyRules.from_json(policy.rules)
    previous = TierPolicy.objects.filter(status=PolicyStatus.PUBLISHED).values_list("version", flat=True).first()
    TierPolicy.objects.filter(status=PolicyStatus.PUBLISHED).update(status=PolicyStatus.ARCHIVED, updated_at=timezone.now())
    policy.status = PolicyStatus.PUBLISHED
    policy.published_at = timezone.now()
    policy.published_by = by
    policy.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    audit.record(actor=by, action=AuditAction.POLICY_PUBLISH, obj=policy,
                 before={"status": PolicyStatus.DRAFT, "published_version": previous},
                 after={"status": policy.status, "published_version": policy.version, "refresh": refresh})
    if refresh:
        refresh_queue(trigger=RunTrigger.POLICY_PUBLISH, by=by, policy=policy)
    return policy


# ---------------------------------------------------------------- overrides


def override_problems(*, field: str, value: str, reason: str, expires_at: datetime.datetime | None, now) -> dict[str, str]:
    """What stops this override from being created, by the input at fault; empty when nothing does.

    override_create refuses the same things, so the admin's form and the service agree.
    """
    problems = {}
    choices = OVERRIDE_VALUES.get(field)
    if choices is None:
        problems["field"] = OVERRIDE_VALUE_INVALID.format(value=field, field=_gettext("field"),
                                                          choices=", ".join(OverrideField.values))
    elif value not in choices.values:
        problems["value"] = OVERRIDE_VALUE_INVALID.format(value=value, field=OverrideField(field).label,
                                                          choices=", ".join(choices.values))
    if not (reason or "").strip():
        problems["reason"] = str(OVERRIDE_REASON_REQUIRED)
    if expires_at is not None and expires_at <= now:
        problems["expires_at"] = OVERRIDE_EXPIRY_PAST.format(
            expires_at=timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M"))
    return problems


@transaction.atomic
def override_create(
    *, influencer: Influencer, field: str, value: str, reason: str, expires_at: datetime.datetime | None = None, by
) -> TierOverride:
    """Pin a creator's tier or type now; the refresh honours it until it ends or expires."""
    now = timezone.now()
    problems = override_problems(field=field, value=value, reason=reason, expires_at=expires_at, now=now)
    if problems:
        where, problem = next(iter(problems.items()))
        raise ServiceError(problem, field=where)

    replaying = RefreshRun.objects.filter(replay__isnull=False, status__in=[RunStatus.RUNNING, RunStatus.PENDING])
    replay_id = replaying.values_list("replay_id", flat=True).first()
    if replay_id is not None:
        # A pin in the middle of a replay would be overwritten by the days still to be recomputed.
        raise ServiceError(OVERRIDE_DURING_REPLAY.format(replay_id=replay_id))

    influencer = Influencer.objects.select_for_update().get(pk=influencer.pk)
    TierOverride.objects.filter(influencer=influencer, field=field, ended_at__isnull=True).update(
        ended_at=now, end_reason=OverrideEndReason.REPLACED, ended_by=by, updated_at=now
    )
    override = TierOverride.objects.create(
        influencer=influencer, field=field, value=value, reason=reason.strip(), expires_at=expires_at, created_by=by
    )
    before = TierState(influencer.tier, influencer.creator_type, influencer.tier_since, influencer.below_keep_since)
    after, check = pin(before, field, value, override.reason, timezone.localdate(override.created_at))
    policy = TierPolicy.objects.published().first()
    history, decision = override_rows(influencer_id=influencer.pk, override=override, before=before, after=after,
                                      check=check, policy_id=policy.pk if policy else None)
    if history is not None:
        influencer.tier, influencer.creator_type = after.tier, after.creator_type
        influencer.tier_since, influencer.below_keep_since = after.tier_since, after.below_keep_since
        influencer.save(update_fields=["tier", "creator_type", "tier_since", "below_keep_since", "updated_at"])
        TierStateChange.objects.create(**history._asdict())
    if decision is not None:
        decision = TierDecision.objects.create(**decision._asdict())
        from .tasks import after_decision

        # The creator hears of it and their programmes follow now, not at the next nightly refresh;
        # recorded with the override, so a broker that is down delays it and never loses it.
        outbox.task_after_commit(after_decision, decision.pk)
    audit.record(actor=by, action=AuditAction.OVERRIDE_CREATE, obj=override, reason=override.reason,
                 before={"tier": before.tier, "creator_type": before.creator_type},
                 after={"field": field, "value": value, "expires_at": expires_at, "influencer_id": influencer.pk,
                        "tier": influencer.tier, "creator_type": influencer.creator_type})
    return override


@transaction.atomic
def override_end(*, override: TierOverride, by, reason: str = OverrideEndReason.REVOKED) -> TierOverride:
    """End an override; the creator's computed tier returns at the next refresh."""
    override = TierOverride.objects.select_for_update().get(pk=override.pk)
    if override.ended_at is not None:
        raise ServiceError(OVERRIDE_ALREADY_ENDED.format(end_reason=override.get_end_reason_display()))
    override.ended_at = timezone.now()
    override.end_reason = reason
    override.ended_by = by
    override.save(update_fields=["ended_at", "end_reason", "ended_by", "updated_at"])
    audit.record(actor=by, action=AuditAction.OVERRIDE_END, obj=override, reason=str(reason),
                 before={"ended_at": None}, after={"ended_at": override.ended_at, "end_reason": reason})
    return override


# ---------------------------------------------------------------- overrides in bulk

BULK_OVERRIDE_MAX = 5_000  # creators per bulk pin: each is pinned, notified and audited like a single one
BULK_OVERRIDE_NONE = _("Choose at least one creator.")
BULK_OVERRIDE_TOO_MANY = _("{count} creators selected; pin at most {limit} at a time.")


class BulkPreview(NamedTuple):
    """What a bulk pin would do: every creator with their value now, the pins it would make, and the
    ones already pinned to the same value with the same reason and expiry (left as they are)."""

    rows: list[dict]
    to_pin: list[int]
    unchanged: list[int]


def override_bulk_preview(*, influencer_ids, field: str, value: str, reason: str,
                          expires_at: datetime.datetime | None) -> BulkPreview:
    """The bulk pin's effect, in two queries whatever the number of creators; writes nothing."""
    ids = sorted(set(influencer_ids))
    if not ids:
        raise ServiceError(BULK_OVERRIDE_NONE)
    if len(ids) > BULK_OVERRIDE_MAX:
        raise ServiceError(BULK_OVERRIDE_TOO_MANY.format(count=len(ids), limit=BULK_OVERRIDE_MAX))
    open_pins = TierOverride.objects.filter(field=field, ended_at__isnull=True)
    creators = (Influencer.objects.filter(pk__in=ids).order_by("pk")
                .prefetch_related(Prefetch("overrides", queryset=open_pins, to_attr="open_pins")))
    rows, to_pin, unchanged = [], [], []
    for creator in creators:
        pinned = creator.open_pins[0] if creator.open_pins else None
        now_value = getattr(creator, field)
        same = pinned is not None and (pinned.value, pinned.reason, pinned.expires_at) == (value, reason.strip(),
                                                                                          expires_at)
        (unchanged if same else to_pin).append(creator.pk)
        rows.append({"influencer": creator, "now": now_value, "after": value, "pinned": pinned,
                     "moves": now_value != value, "unchanged": same})
    return BulkPreview(rows, to_pin, unchanged)


@transaction.atomic
def override_bulk_apply(*, token, influencer_ids, field: str, value: str, reason: str,
                        expires_at: datetime.datetime | None, by) -> tuple[OverrideBatch, bool]:
    """Pin each creator as override_create pins one (ledger, notification, audit entry each), once per
    `token`: the same form sent again returns the first batch and False, changing nothing."""
    problems = override_problems(field=field, value=value, reason=reason, expires_at=expires_at, now=timezone.now())
    if problems:
        where, problem = next(iter(problems.items()))
        raise ServiceError(problem, field=where)
    try:
        with transaction.atomic():
            # The unique token is the guard: a second send waits here for the first to commit, then fails.
            batch = OverrideBatch.objects.create(token=token, field=field, value=value, reason=reason.strip(),
                                                 expires_at=expires_at, created_by=by)
    except IntegrityError:
        return OverrideBatch.objects.get(token=token), False
    preview = override_bulk_preview(influencer_ids=influencer_ids, field=field, value=value, reason=reason,
                                    expires_at=expires_at)
    by_pk = {row["influencer"].pk: row["influencer"] for row in preview.rows}
    for pk in preview.to_pin:
        override_create(influencer=by_pk[pk], field=field, value=value, reason=reason, expires_at=expires_at, by=by)
    batch.requested, batch.pinned, batch.unchanged = len(preview.rows), len(preview.to_pin), len(preview.unchanged)
    batch.save(update_fields=["requested", "pinned", "unchanged", "updated_at"])
    return batch, True
