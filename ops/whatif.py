"""The policy what-if: a refresh under a draft, read and decided chunk by chunk as a refresh is, written nowhere but here."""

import logging
from collections import Counter

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import runs
from tiers.choices import TIER_RANK, CreatorType, PolicyStatus, RunStatus
from tiers.models import Influencer, TierPolicy
from tiers.refresh import chunk_preview
from tiers.rules import PolicyRules
from tiers.selectors import influencer_chunks

from .models import Move, WhatIf, WhatIfChange, WhatIfChunk

logger = logging.getLogger(__name__)

WHATIF_NOT_DRAFT = _("Only a draft is previewed: v{version} is {status}.")
WHATIF_ALREADY_RUNNING = _("What-if #{id} of this draft is already running.")
WHATIF_QUEUED = _("What-if #{id} queued: a worker previews the draft now.")
SAMPLE_SIZE = 20
NONE = ""  # a tier or type not given yet, in the counts' keys


class WhatIfError(ValueError):
    """A preview that cannot start; the message says why, nothing was changed."""


class WhatIfAlreadyRunning(WhatIfError):
    def __init__(self, whatif_id):
        self.whatif_id = whatif_id
        super().__init__(WHATIF_ALREADY_RUNNING.format(id=whatif_id))


def _move(tier_before, tier_after) -> str:
    if tier_before is None:
        return Move.NEWLY_CLASSIFIED
    if TIER_RANK[tier_after] > TIER_RANK[tier_before]:
        return Move.PROMOTED
    if TIER_RANK[tier_after] < TIER_RANK[tier_before]:
        return Move.DEMOTED
    return Move.TYPE_CHANGED


def whatif_is_stale(whatif: WhatIf, policy: TierPolicy) -> bool:
    """The draft changed since the preview ran: its rules are no longer those previewed."""
    return whatif.rules != policy.rules


# ---------------------------------------------------------------- start


def whatif_start(*, policy: TierPolicy, by, chunk_size: int | None = None) -> WhatIf:
    """Create the preview and its chunks; its chunk tasks are sent through the outbox once the transaction commits
    (and again by the run watch if its workers die).

    Raises WhatIfError for a policy that is not a draft (or whose rules do not validate),
    WhatIfAlreadyRunning while a preview of the same draft runs.
    """
    _recover()
    with transaction.atomic():
        whatif = _create(policy=policy, by=by, chunk_size=chunk_size)
        runs.send_after_commit(WHATIF, run_id=whatif.pk)
    return whatif


def _recover() -> None:
    # A preview whose workers died is resent, then given up (core.runs), so it never blocks the draft for ever;
    # in a transaction of its own, so a start refused because one still runs keeps the resend.
    with transaction.atomic():
        runs.recover(WHATIF)


def _create(*, policy: TierPolicy, by, chunk_size: int | None) -> WhatIf:
    policy = TierPolicy.objects.get(pk=policy.pk)
    if policy.status != PolicyStatus.DRAFT:
        raise WhatIfError(WHATIF_NOT_DRAFT.format(version=policy.version, status=policy.get_status_display()))
    PolicyRules.from_json(policy.rules)  # a PolicyError names every bad rule
    now = timezone.now()
    running = WhatIf.objects.filter(policy=policy, status=RunStatus.RUNNING).values_list("pk", flat=True).first()
    if running is not None:
        raise WhatIfAlreadyRunning(running)
    try:
        with transaction.atomic():
            whatif = WhatIf.objects.create(policy=policy, rules=policy.rules, data_date=timezone.localdate(now),
                                           requested_by=by, total=Influencer.objects.count(), started_at=now)
    except IntegrityError:  # a racing start of the same draft won
        raise WhatIfAlreadyRunning(WhatIf.objects.filter(policy=policy, status=RunStatus.RUNNING)
                                   .values_list("pk", flat=True).first()) from None
    whatif.chunk_count = runs.make_chunks(WHATIF, run_id=whatif.pk,
                                          bounds=influencer_chunks(runs.chunk_size(chunk_size)))
    return whatif


# ---------------------------------------------------------------- one chunk


def whatif_chunk_apply(*, run_id: int, index: int) -> bool:
    """Preview one chunk, once (core.runs.apply_chunk): its creators decided under the draft as a refresh would;
    False if already done. Its counts and changes commit with the chunk's mark."""
    return runs.apply_chunk(WHATIF, run_id=run_id, index=index, work=_whatif_work)


def _whatif_work(whatif: WhatIf, chunk: WhatIfChunk) -> runs.ChunkResult:
    rules = PolicyRules.from_json(whatif.rules)
    creators, writes = chunk_preview(first_id=chunk.first_id, last_id=chunk.last_id, rules=rules,
                                     policy_id=whatif.policy_id, today=whatif.data_date, as_of=whatif.started_at)
    decided = {row.influencer_id: row for row in writes.decisions}
    tiers, types = Counter(), Counter()
    for creator in creators:
        row = decided.get(creator.influencer_id)
        before = creator.stored
        tier_after, type_after = (row.tier_after, row.type_after) if row else (before.tier, before.creator_type)
        tiers[f"{before.tier or NONE}>{tier_after or NONE}"] += 1
        types[f"{before.creator_type or NONE}>{type_after or NONE}"] += 1
    changes = [
        WhatIfChange(whatif_id=whatif.pk, influencer_id=row.influencer_id, move=_move(row.tier_before, row.tier_after),
                     tier_before=row.tier_before, tier_after=row.tier_after, type_before=row.type_before,
                     type_after=row.type_after, explanation=row.explanation)
        # a lapsed pin is recorded by a refresh even when nothing moves; the preview lists only moves
        for row in writes.decisions if (row.tier_before, row.type_before) != (row.tier_after, row.type_after)
    ]
    WhatIfChange.objects.bulk_create(changes, batch_size=2_000)
    return runs.ChunkResult(counts={"done": len(creators)},
                            chunk_fields={"counts": {"tier": dict(tiers), "type": dict(types), "creators": len(creators)}})


# ---------------------------------------------------------------- finish


def _sum_counts(chunks) -> dict:
    tiers, types = Counter(), Counter()
    for counts in chunks:
        tiers.update(counts.get("tier", {}))
        types.update(counts.get("type", {}))
    return {"tier": dict(tiers), "type": dict(types)}


@transaction.atomic
def whatif_finish(*, run_id: int) -> bool:
    """Once every chunk is done: the summary (sums of the chunks, moves by category) and succeeded.

    Only the call that finishes it does the work; it reads the chunks' rows and one aggregate.
    """
    if not runs.end_succeeded(WHATIF, run_id=run_id):
        return False
    summary = _sum_counts(WhatIfChunk.objects.filter(run_id=run_id).values_list("counts", flat=True))
    by_category = {}
    for category, move, n in (WhatIfChange.objects.filter(whatif_id=run_id)
                              .values_list("influencer__main_category", "move").annotate(n=Count("id"))
                              .order_by("influencer__main_category", "move")):
        by_category.setdefault(category or NONE, {})[move] = n
    summary["by_category"] = by_category
    totals = Counter()
    for moves in by_category.values():
        totals.update(moves)
    summary["moves"] = dict(totals)
    WhatIf.objects.filter(pk=run_id).update(summary=summary)
    return True


def whatif_fail(*, run_id: int, error: str) -> bool:
    return runs.end_failed(WHATIF, run_id=run_id, error=error)


WHATIF = runs.RunKind(name="what-if", run_model=WhatIf, chunk_model=WhatIfChunk, chunk_task="ops.whatif_chunk",
                      apply=whatif_chunk_apply, finish=whatif_finish, fail=whatif_fail)


def whatif_run_sync(*, policy: TierPolicy, by=None, chunk_size: int | None = None) -> WhatIf:
    """The whole preview in this process (tests and the benchmark)."""
    _recover()
    with transaction.atomic():
        whatif = _create(policy=policy, by=by, chunk_size=chunk_size)
    runs.run_here(WHATIF, run_id=whatif.pk)
    whatif.refresh_from_db()
    return whatif


# ---------------------------------------------------------------- reading it


def whatif_report(whatif: WhatIf) -> dict:
    """What the page shows of a finished preview: counts now and under the draft, the two movement
    matrices, moves by category, the demotion warning, a sample of the creators it would move."""
    summary = whatif.summary or {}
    tier_moves = summary.get("tier", {})
    type_moves = summary.get("type", {})
    tier_keys = [NONE, *TIER_RANK]
    type_keys = [NONE, *CreatorType.values]
    moves = summary.get("moves", {})
    previewed = whatif.total or 1
    demoted = moves.get(Move.DEMOTED, 0)
    threshold = settings.LADDER_WHATIF_DEMOTION_WARNING
    return {
        "tier_matrix": _matrix(tier_moves, tier_keys),
        "type_matrix": _matrix(type_moves, type_keys),
        "tier_counts": _before_after(tier_moves, tier_keys),
        "type_counts": _before_after(type_moves, type_keys),
        "moves": {move: moves.get(move, 0) for move in Move.values},
        "by_category": summary.get("by_category", {}),
        "demoted_share": demoted / previewed,
        "demotion_warning": demoted / previewed > threshold,
        "demotion_threshold": threshold,
        "sample": list(WhatIfChange.objects.filter(whatif=whatif).select_related("influencer")
                       .order_by("id")[:SAMPLE_SIZE]),
    }


def _matrix(moves: dict, keys: list[str]) -> list[tuple[str, list[tuple[str, int]]]]:
    """Rows (from) of cells (to, count) for every key pair, zero where none moved."""
    return [(before, [(after, moves.get(f"{before}>{after}", 0)) for after in keys]) for before in keys]


def _before_after(moves: dict, keys: list[str]) -> list[tuple[str, int, int]]:
    now, draft = Counter(), Counter()
    for key, n in moves.items():
        before, after = key.split(">")
        now[before] += n
        draft[after] += n
    return [(key, now[key], draft[key]) for key in keys]
