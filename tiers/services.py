"""Writes of the tier engine: policy versions, overrides and the chunked refresh."""

import datetime
import json
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from .choices import (
    OVERRIDE_VALUES,
    TIER_RANK,
    DecisionCause,
    OverrideEndReason,
    OverrideField,
    PolicyStatus,
    RunStatus,
    RunTrigger,
    Tier,
)
from .models import Influencer, RefreshChunk, RefreshRun, TierDecision, TierOverride, TierPolicy
from .rules import PolicyRules, RuleCheck, TierState, decide
from .selectors import overrides_from, overrides_open_between, policy_published, tune_for_batch, window_features

logger = logging.getLogger(__name__)

POLICY_NOT_DRAFT = _("Policy v{version} is {status}: only a draft can be changed or published. Clone it to change it.")
POLICY_CLONED_FROM = _("Cloned from v%(version)s.")
OVERRIDE_REASON_REQUIRED = _("An override needs a reason.")
OVERRIDE_VALUE_INVALID = _("{value!r} is not a valid {field}; choose one of: {choices}.")
OVERRIDE_EXPIRY_PAST = _("The expiry {expires_at} is not in the future.")
OVERRIDE_ALREADY_ENDED = _("This override already ended ({end_reason}).")
REFRESH_ALREADY_RUNNING = "Refresh #{run_id} is still running; two refreshes never overlap."

DEFAULT_CHUNK_SIZE = 5_000
# A run whose chunks made no progress for this long is presumed dead and may be replaced.
STALE_RUN_AFTER = datetime.timedelta(hours=2)


class RefreshAlreadyRunning(Exception):
    def __init__(self, run_id):
        self.run_id = run_id
        super().__init__(REFRESH_ALREADY_RUNNING.format(run_id=run_id))


class ServiceError(ValueError):
    """A request that breaks a rule; the message says which, and nothing was changed.

    `field` names the input at fault when there is one, so a form can show the message next to it.
    """

    def __init__(self, message, *, field: str | None = None):
        self.field = field
        super().__init__(str(message))


# ---------------------------------------------------------------- policies


def _require_draft(policy: TierPolicy) -> None:
    if policy.status != PolicyStatus.DRAFT:
        raise ServiceError(POLICY_NOT_DRAFT.format(version=policy.version, status=policy.get_status_display()))


@transaction.atomic
def policy_create_draft(*, name: str, rules: dict, notes: str = "", by) -> TierPolicy:
    """A new draft with the next version number; PolicyError names every bad rule."""
    # Two drafts at once: the unique version makes the second fail rather than share a number.
    next_version = (TierPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    return TierPolicy.objects.create(version=next_version, name=name, rules=PolicyRules.from_json(rules).to_json(),
                                     notes=notes, created_by=by, updated_by=by)


def policy_clone(*, policy: TierPolicy, by) -> TierPolicy:
    """A new draft, next version number, with the same rules."""
    return policy_create_draft(name=policy.name, rules=policy.rules,
                               notes=_gettext(POLICY_CLONED_FROM) % {"version": policy.version}, by=by)


@transaction.atomic
def policy_update_draft(*, policy: TierPolicy, rules: dict, name: str | None = None, notes: str | None = None, by) -> TierPolicy:
    _require_draft(policy)
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
    return policy


@transaction.atomic
def policy_publish(*, policy: TierPolicy, by, refresh: bool = True) -> TierPolicy:
    """Archive the published version, publish this draft, and (after commit) refresh everyone under it."""
    policy = TierPolicy.objects.select_for_update().get(pk=policy.pk)
    _require_draft(policy)
    PolicyRules.from_json(policy.rules)
    TierPolicy.objects.filter(status=PolicyStatus.PUBLISHED).update(status=PolicyStatus.ARCHIVED, updated_at=timezone.now())
    policy.status = PolicyStatus.PUBLISHED
    policy.published_at = timezone.now()
    policy.published_by = by
    policy.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    if refresh:
        from .tasks import refresh_all

        by_id = by.pk if by else None
        transaction.on_commit(lambda: refresh_all.delay(trigger=RunTrigger.POLICY_PUBLISH, requested_by_id=by_id))
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

    influencer = Influencer.objects.select_for_update().get(pk=influencer.pk)
    TierOverride.objects.filter(influencer=influencer, field=field, ended_at__isnull=True).update(
        ended_at=now, end_reason=OverrideEndReason.REPLACED, ended_by=by, updated_at=now
    )
    override = TierOverride.objects.create(
        influencer=influencer, field=field, value=value, reason=reason.strip(), expires_at=expires_at, created_by=by
    )
    before = (influencer.tier, influencer.creator_type)
    if field == OverrideField.TIER:
        if influencer.tier != value:
            influencer.tier_since = timezone.localdate()
        influencer.tier = value
        influencer.below_keep_since = None
    else:
        influencer.creator_type = value
    if (influencer.tier, influencer.creator_type) != before:
        influencer.save(update_fields=["tier", "creator_type", "tier_since", "below_keep_since", "updated_at"])
        check = RuleCheck(rule=f"override.{'tier' if field == OverrideField.TIER else 'type'}", metric=field,
                          value=value, threshold=str(before[0] if field == OverrideField.TIER else before[1] or ""),
                          passed=True, note=reason.strip())
        decision = TierDecision.objects.create(
            influencer=influencer,
            tier_before=before[0],
            tier_after=influencer.tier or Tier.NEWCOMER,
            type_before=before[1],
            type_after=influencer.creator_type,
            policy=TierPolicy.objects.published().first(),
            explanation={"checks": [check.to_json()]},
            cause=DecisionCause.OVERRIDE,
            actor=by,
            decided_on=timezone.localdate(),
        )
        from .tasks import after_decision

        # The creator hears of it and their programmes follow now, not at the next nightly refresh.
        transaction.on_commit(lambda: after_decision.delay(decision.pk))
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
    return override


# ---------------------------------------------------------------- refresh


def influencer_chunks(chunk_size: int) -> list[tuple[int, int]]:
    """(first_id, last_id) per chunk of `chunk_size` creators, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS rn FROM tiers_influencer) AS t "
            "WHERE rn %% %s = 0 ORDER BY id",
            [chunk_size],
        )
        firsts = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT MAX(id) FROM tiers_influencer")
        last = cursor.fetchone()[0]
    return [(first, (firsts[i + 1] - 1) if i + 1 < len(firsts) else last) for i, first in enumerate(firsts)]


def _fail_stale_runs(now) -> None:
    RefreshRun.objects.filter(active=True, updated_at__lt=now - STALE_RUN_AFTER).update(
        status=RunStatus.FAILED, active=None, finished_at=now, error="No progress for too long; presumed dead.", updated_at=now
    )


def refresh_start(*, trigger: str, by=None, chunk_size: int | None = None, today: datetime.date | None = None) -> RefreshRun:
    """Create the run and its chunks. Raises RefreshAlreadyRunning while another run is active."""
    chunk_size = chunk_size or getattr(settings, "LADDER_REFRESH_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
    now = timezone.now()
    _fail_stale_runs(now)
    try:
        with transaction.atomic():
            bounds = influencer_chunks(chunk_size)
            run = RefreshRun.objects.create(
                policy=policy_published(),
                trigger=trigger,
                run_date=today or timezone.localdate(),
                requested_by=by,
                total=Influencer.objects.count(),
                chunk_count=len(bounds),
            )
            RefreshChunk.objects.bulk_create(
                RefreshChunk(run=run, index=i, first_id=first, last_id=last) for i, (first, last) in enumerate(bounds)
            )
    except IntegrityError:
        active = RefreshRun.objects.filter(active=True).values_list("id", flat=True).first()
        if active is None:
            raise
        raise RefreshAlreadyRunning(active) from None
    return run


_STATE_COLUMNS = ("id", "tier", "creator_type", "tier_since", "below_keep_since")
_DECISION_COLUMNS = ("influencer_id", "tier_before", "tier_after", "type_before", "type_after", "policy_id", "features",
                     "explanation", "cause", "refresh_run_id", "decided_on", "created_at")
WRITE_BATCH = 2_000


def _write_states(rows: list[tuple], now) -> None:
    """Set tier, type, tier_since and below_keep_since for many creators at once.

    PostgreSQL: COPY into a temporary table, then one UPDATE … FROM it. Elsewhere: UPDATE … FROM
    (VALUES …) in batches.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS refresh_state (id bigint PRIMARY KEY, tier varchar(16), "
                "creator_type varchar(16), tier_since date, below_keep_since date) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY refresh_state ({', '.join(_STATE_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "UPDATE tiers_influencer AS i SET tier = s.tier, creator_type = s.creator_type, "
                "tier_since = s.tier_since, below_keep_since = s.below_keep_since, updated_at = %s "
                "FROM refresh_state AS s WHERE i.id = s.id",
                [now],
            )
            cursor.execute("TRUNCATE refresh_state")
            return
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start:start + WRITE_BATCH]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            params = [now]
            for influencer_id, tier, creator_type, tier_since, below_keep_since in batch:
                params += [influencer_id, tier, creator_type, tier_since and tier_since.isoformat(),
                           below_keep_since and below_keep_since.isoformat()]
            cursor.execute(
                "UPDATE tiers_influencer SET tier = v.tier, creator_type = v.creator_type, tier_since = v.tier_since, "
                "below_keep_since = v.below_keep_since, updated_at = %s "
                "FROM (SELECT column1 AS id, column2 AS tier, column3 AS creator_type, column4 AS tier_since, "
                f"column5 AS below_keep_since FROM (VALUES {placeholders}) AS vals) AS v "
                "WHERE tiers_influencer.id = v.id",
                params,
            )


def _insert_decisions(rows: list[tuple], now) -> None:
    """Append decisions; on PostgreSQL through COPY (a bulk INSERT spends most of its time quoting JSON)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        TierDecision.objects.bulk_create(
            (TierDecision(**dict(zip(_DECISION_COLUMNS, (*row, now)))) for row in rows), batch_size=WRITE_BATCH
        )
        return
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY tiers_tierdecision ({', '.join(_DECISION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row[:6], json.dumps(row[6]), json.dumps(row[7]), *row[8:], now))


@transaction.atomic
def refresh_chunk_apply(*, run_id: int, index: int) -> bool:
    """Decide every creator in one chunk and write what changed; False if it was already applied.

    The chunk row is locked and marked done in the same transaction as the writes, so a
    redelivered or duplicated task either finds it done or finds nothing applied.
    """
    chunk = RefreshChunk.objects.select_for_update().select_related("run__policy").get(run_id=run_id, index=index)
    run = chunk.run
    if chunk.done_at is not None or run.status != RunStatus.RUNNING:
        return False
    rules = PolicyRules.from_json(run.policy.rules)
    tune_for_batch()
    today = run.run_date
    lapse_at = run.started_at
    creators = list(
        Influencer.objects.filter(id__range=(chunk.first_id, chunk.last_id)).values_list(
            "id", "onboarded_on", "tier", "creator_type", "tier_since", "below_keep_since"
        )
    )
    features = window_features(
        first_id=chunk.first_id,
        last_id=chunk.last_id,
        today=today,
        window_days=rules.window_days,
        onboarded={c[0]: c[1] for c in creators},
    )
    pins: dict[int, dict] = {}
    lapsed: dict[int, set[str]] = {}
    lapsed_override_ids = []
    for override in overrides_open_between(first_id=chunk.first_id, last_id=chunk.last_id):
        if override.expires_at is not None and override.expires_at <= lapse_at:
            lapsed.setdefault(override.influencer_id, set()).add(override.field)
            lapsed_override_ids.append(override.pk)
        else:
            pins.setdefault(override.influencer_id, {})[override.field] = override

    cause = DecisionCause.POLICY_CHANGE if run.trigger == RunTrigger.POLICY_PUBLISH else DecisionCause.REFRESH
    states, decisions = [], []
    classified = promoted = demoted = type_changed = 0
    for influencer_id, _onboarded, tier, creator_type, tier_since, below_keep_since in creators:
        previous = TierState(tier=tier, creator_type=creator_type, tier_since=tier_since, below_keep_since=below_keep_since)
        if influencer_id in lapsed:
            # A pinned tier or type was never earned: once the pin lapses, anti-flap must not protect it.
            fields = lapsed[influencer_id]
            previous = TierState(
                tier=None if OverrideField.TIER in fields else tier,
                creator_type=None if OverrideField.CREATOR_TYPE in fields else creator_type,
                tier_since=None if OverrideField.TIER in fields else tier_since,
                below_keep_since=None if OverrideField.TIER in fields else below_keep_since,
            )
        pin = pins.get(influencer_id)
        overrides = overrides_from(pin or {})
        creator_features = features.get(influencer_id)
        decision = decide(creator_features, rules, previous, today, overrides)
        if (decision.tier, decision.creator_type, decision.tier_since, decision.below_keep_since) != (
            tier, creator_type, tier_since, below_keep_since
        ):
            states.append((influencer_id, decision.tier, decision.creator_type, decision.tier_since, decision.below_keep_since))
        tier_moved = decision.tier != tier
        type_moved = decision.creator_type != creator_type
        if tier_moved or type_moved or influencer_id in lapsed:
            classified += tier is None
            promoted += tier is not None and TIER_RANK[decision.tier] > TIER_RANK[tier]
            demoted += tier is not None and TIER_RANK[decision.tier] < TIER_RANK[tier]
            type_changed += type_moved and creator_type is not None  # a first type is not a change
            decisions.append((
                influencer_id, tier, decision.tier, creator_type, decision.creator_type, run.policy_id,
                creator_features.to_json() if creator_features else {}, decision.explanation_json(),
                DecisionCause.OVERRIDE_LAPSED if influencer_id in lapsed else (DecisionCause.OVERRIDE if pin else cause),
                run.pk, today,
            ))

    now = timezone.now()
    _write_states(states, now)
    _insert_decisions(decisions, now)
    if lapsed_override_ids:
        TierOverride.objects.filter(pk__in=lapsed_override_ids).update(ended_at=now, end_reason="expired", updated_at=now)
    chunk.done_at = now
    chunk.save(update_fields=["done_at"])
    tier_moves = classified + promoted + demoted
    RefreshRun.objects.filter(pk=run.pk).update(
        done=F("done") + len(creators),
        chunks_done=F("chunks_done") + 1,
        newly_classified=F("newly_classified") + classified,
        promoted=F("promoted") + promoted,
        demoted=F("demoted") + demoted,
        unchanged=F("unchanged") + (len(creators) - tier_moves),
        type_changed=F("type_changed") + type_changed,
        overrides_lapsed=F("overrides_lapsed") + len(lapsed_override_ids),
        updated_at=now,
    )
    return True


def refresh_finish(*, run_id: int) -> bool:
    """Mark the run succeeded once every chunk is done; True only for the call that did it."""
    now = timezone.now()
    finished = RefreshRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, chunks_done=F("chunk_count")).update(
        status=RunStatus.SUCCEEDED, active=None, finished_at=now, updated_at=now
    )
    return bool(finished)


def refresh_fail(*, run_id: int, error: str) -> None:
    now = timezone.now()
    RefreshRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, active=None, finished_at=now, error=error[:5000], updated_at=now
    )


def _announce(setting: str, **event) -> None:
    # tiers never imports coaching: whoever listens is named in settings.
    for dotted in getattr(settings, setting, []):
        import_string(dotted)(**event)


def refresh_announce(*, run_id: int) -> None:
    """Tell the listeners named in settings.LADDER_AFTER_REFRESH (coaching) that a run finished."""
    _announce("LADDER_AFTER_REFRESH", run_id=run_id)


def decision_announce(*, decision_id: int) -> None:
    """Tell the listeners named in settings.LADDER_AFTER_DECISION (coaching) of a decision made
    outside a refresh (a staff override)."""
    _announce("LADDER_AFTER_DECISION", decision_id=decision_id)


def refresh_run_sync(*, trigger: str = RunTrigger.COMMAND, by=None, chunk_size: int | None = None,
                     today: datetime.date | None = None, on_chunk=None) -> RefreshRun:
    """The whole refresh in this process, chunk by chunk (the command and the tests use it)."""
    run = refresh_start(trigger=trigger, by=by, chunk_size=chunk_size, today=today)
    try:
        for index in range(run.chunk_count):
            refresh_chunk_apply(run_id=run.pk, index=index)
            if on_chunk:
                on_chunk(index, run.chunk_count)
        refresh_finish(run_id=run.pk)
    except BaseException as exc:
        refresh_fail(run_id=run.pk, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run
