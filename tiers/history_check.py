"""Rebuild creators' tier history from the ledger and the state history, and name where the stored state disagrees."""

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .models import Influencer, TierDecision, TierStateChange

CHUNK = 5_000
STORED_VS_LEDGER = "creator %(creator)s: stored %(field)s is %(stored)s, the ledger's last decision (#%(decision)s) says %(ledger)s"
LEDGER_BROKEN = ("creator %(creator)s: decision #%(decision)s starts from %(field)s %(before)s, "
                 "but the decision before it (#%(previous)s) ended at %(after)s")
STORED_VS_HISTORY = ("creator %(creator)s: stored %(field)s is %(stored)s, the state history's last row (#%(row)s) "
                     "says %(history)s")
JUDGED_WITHOUT_LEDGER = "creator %(creator)s: stored tier is %(stored)s, but the ledger has no decision for them"


@dataclass(frozen=True)
class Decision:
    id: int
    tier_before: str | None
    tier_after: str
    type_before: str | None
    type_after: str | None


@dataclass(frozen=True)
class StoredState:
    creator: str
    tier: str | None
    creator_type: str | None
    tier_since: datetime.date | None
    below_keep_since: datetime.date | None


@dataclass(frozen=True)
class StateRow:
    id: int
    tier: str | None
    creator_type: str | None
    tier_since: datetime.date | None
    below_keep_since: datetime.date | None


def _shown(value) -> str:
    return "—" if value in (None, "") else str(value)


def history_mismatches(state: StoredState, decisions: list[Decision], last_row: StateRow | None) -> list[str]:
    """What is wrong with one creator: a ledger whose decisions do not follow one another, a stored tier or
    type the ledger did not end at, or stored state the state history's last row does not hold."""
    problems = []
    for previous, decision in zip(decisions, decisions[1:], strict=False):
        for field, before, after in (("tier", decision.tier_before, previous.tier_after),
                                     ("type", decision.type_before, previous.type_after)):
            if before != after:
                problems.append(_(LEDGER_BROKEN) % {"creator": state.creator, "decision": decision.id, "field": field,
                                                    "before": _shown(before), "previous": previous.id,
                                                    "after": _shown(after)})
    if decisions:
        last = decisions[-1]
        for field, stored, ledger in (("tier", state.tier, last.tier_after),
                                      ("type", state.creator_type, last.type_after)):
            if stored != ledger:
                problems.append(_(STORED_VS_LEDGER) % {"creator": state.creator, "field": field, "stored": _shown(stored),
                                                       "decision": last.id, "ledger": _shown(ledger)})
    elif state.tier is not None:
        problems.append(_(JUDGED_WITHOUT_LEDGER) % {"creator": state.creator, "stored": state.tier})
    if last_row is not None:
        for field in ("tier", "creator_type", "tier_since", "below_keep_since"):
            stored, history = getattr(state, field), getattr(last_row, field)
            if stored != history:
                problems.append(_(STORED_VS_HISTORY) % {"creator": state.creator, "field": field, "stored": _shown(stored),
                                                        "row": last_row.id, "history": _shown(history)})
    return problems


def _chunks(influencer_ids: Iterable[int] | None) -> Iterator[list[int]]:
    ids = Influencer.objects.order_by("pk").values_list("pk", flat=True)
    if influencer_ids is not None:
        ids = ids.filter(pk__in=list(influencer_ids))
    last = 0
    while chunk := list(ids.filter(pk__gt=last)[:CHUNK]):
        yield chunk
        last = chunk[-1]


def ledger_history(influencer_ids: list[int]) -> dict[int, list[Decision]]:
    """Each creator's effective decisions, oldest first (three queries a chunk, whatever its creators)."""
    rows = (TierDecision.objects.effective().filter(influencer_id__in=influencer_ids)
            .order_by("influencer_id", Coalesce("effective_at", "created_at"), "created_at", "id")
            .values_list("influencer_id", "id", "tier_before", "tier_after", "type_before", "type_after"))
    history: dict[int, list[Decision]] = {}
    for influencer_id, *fields in rows.iterator(chunk_size=CHUNK):
        history.setdefault(influencer_id, []).append(Decision(*fields))
    return history


def tier_history_check(*, influencer_ids: Iterable[int] | None = None) -> tuple[int, list[str]]:
    """(creators checked, mismatches named) over every creator, or the ones given, a chunk at a time."""
    checked, problems = 0, []
    for chunk in _chunks(influencer_ids):
        states = Influencer.objects.filter(pk__in=chunk).order_by("pk").values_list(
            "pk", "platform_id", "tier", "creator_type", "tier_since", "below_keep_since")
        decisions = ledger_history(chunk)
        last_rows = {}
        rows = (TierStateChange.objects.filter(influencer_id__in=chunk, superseded_by__isnull=True)
                .order_by("influencer_id", F("effective_at").desc(), "-id")
                .values_list("influencer_id", "id", "tier", "creator_type", "tier_since", "below_keep_since"))
        for influencer_id, *fields in rows.iterator(chunk_size=CHUNK):
            last_rows.setdefault(influencer_id, StateRow(*fields))  # the first of each creator is their latest
        for pk, platform_id, *state in states:
            problems += history_mismatches(StoredState(f"{platform_id} (#{pk})", *state), decisions.get(pk, []),
                                           last_rows.get(pk))
            checked += 1
    return checked, problems
