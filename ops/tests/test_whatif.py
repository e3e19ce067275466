"""The policy what-if: exactly the creators a refresh under the draft would move, and nothing written to them."""

import datetime

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from core.runs import RESENDS, RUN_STALE, STALE_AFTER
from ops.models import Move, WhatIf, WhatIfChange
from ops.whatif import (
    WhatIfAlreadyRunning,
    WhatIfError,
    whatif_chunk_apply,
    whatif_is_stale,
    whatif_report,
    whatif_run_sync,
    whatif_start,
)
from tiers.choices import RunStatus, Tier
from tiers.models import Influencer, TierDecision, TierPolicy, TierStateChange
from tiers.refresh import refresh_run_sync
from tiers.services import policy_clone, policy_publish, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def day(n):
    return TODAY - datetime.timedelta(days=n)


@pytest.fixture
def ops_user():
    return UserFactory(username="ops-whatif")


@pytest.fixture
def judged_population():
    """Creators judged by a refresh 20 days ago under the published policy, some of whose sales moved since,
    and creators who arrived after it (never judged)."""
    def creator(handle, *, recent, earlier=None, onboarded=200):
        influencer = InfluencerFactory(handle=handle, onboarded_on=day(onboarded))
        metric_days(influencer, days=20, end=TODAY, gmv=recent)
        metric_days(influencer, days=40, end=day(20), gmv=earlier or recent)
        return influencer

    steady_mid = creator("steady_mid", recent="5000")  # ¥150k: mid under both
    weak_mid = creator("weak_mid", recent="3500")  # ¥105k: mid, under a raised keep line only a grace period
    rising = creator("rising", recent="5000", earlier="1000")  # ¥110k now: mid under v1, not under the draft
    soaring = creator("soaring", recent="8000", earlier="1000")  # ¥170k now: mid under both
    tail = creator("tail", recent="500")
    refresh_run_sync(today=day(20))
    arrived_mid = creator("arrived_mid", recent="4000", onboarded=60)  # ¥120k, never judged
    arrived_high = creator("arrived_high", recent="6000", onboarded=60)
    return {c.handle: c for c in (steady_mid, weak_mid, rising, soaring, tail, arrived_mid, arrived_high)}


def raised_mid_draft(by):
    """v1 cloned, with the mid line raised from ¥100k to ¥140k (kept while ≥ ¥120k)."""
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=by)
    rules = dict(draft.rules)
    rules["mid"] = {**rules["mid"], "promote_gmv": "140000", "keep_gmv": "120000"}
    return policy_update_draft(policy=draft, rules=rules, by=by)


def creators_snapshot():
    return list(Influencer.objects.order_by("id").values_list("id", "tier", "creator_type", "tier_since",
                                                              "below_keep_since", "updated_at"))


def test_a_raised_mid_line_previews_exactly_the_moves_a_refresh_under_it_makes(judged_population, ops_user):
    # given a draft raising the mid line
    draft = raised_mid_draft(ops_user)
    before = creators_snapshot()
    ledger, history = TierDecision.objects.count(), TierStateChange.objects.count()

    # when it is previewed (chunks of 2, as a refresh's)
    whatif = whatif_run_sync(policy=draft, by=ops_user, chunk_size=2)

    # then nothing was written to the creators, their ledger or their history
    assert creators_snapshot() == before
    assert (TierDecision.objects.count(), TierStateChange.objects.count()) == (ledger, history)
    assert whatif.status == RunStatus.SUCCEEDED and (whatif.done, whatif.total) == (7, 7)
    previewed = set(WhatIfChange.objects.filter(whatif=whatif).values_list(
        "influencer__handle", "tier_before", "tier_after", "type_before", "type_after"))
    moved = {handle for handle, *_ in previewed}
    assert {"soaring", "arrived_mid", "arrived_high"} <= moved
    assert "rising" not in moved  # v1 would promote them; the draft does not
    assert ("arrived_mid", None, Tier.TAIL) in {row[:3] for row in previewed}

    # and a refresh under the published draft makes exactly those moves
    policy_publish(policy=draft, by=ops_user, refresh=False)
    run = refresh_run_sync()
    refreshed = set(TierDecision.objects.filter(refresh_run=run).values_list(
        "influencer__handle", "tier_before", "tier_after", "type_before", "type_after"))
    assert previewed == refreshed


def test_the_report_counts_now_and_under_the_draft_and_the_movement_matrix(judged_population, ops_user, settings):
    settings.LADDER_WHATIF_DEMOTION_WARNING = 0.5
    whatif = whatif_run_sync(policy=raised_mid_draft(ops_user), by=ops_user)
    report = whatif_report(whatif)

    now = {key: n for key, n, _draft in report["tier_counts"]}
    draft = {key: n for key, _now, n in report["tier_counts"]}
    assert now == {"": 2, "newcomer": 0, "tail": 3, "mid": 2, "head": 0}
    assert draft == {"": 0, "newcomer": 0, "tail": 3, "mid": 4, "head": 0}
    matrix = {(before, after): n for before, row in report["tier_matrix"] for after, n in row}
    assert matrix[("tail", "mid")] == 1 and matrix[("", "tail")] == 1 and matrix[("", "mid")] == 1
    assert report["moves"][Move.PROMOTED] == 1 and report["moves"][Move.NEWLY_CLASSIFIED] == 2
    assert report["by_category"]["beauty"][Move.PROMOTED] == 1
    assert not report["demotion_warning"]
    assert {change.influencer.handle for change in report["sample"]} == {"soaring", "arrived_mid", "arrived_high"}
    assert all(change.explanation["checks"] for change in report["sample"])


def test_a_preview_goes_stale_when_the_draft_changes(judged_population, ops_user):
    draft = raised_mid_draft(ops_user)
    whatif = whatif_run_sync(policy=draft, by=ops_user)
    assert not whatif_is_stale(whatif, draft)
    rules = {**draft.rules, "window_days": 28}
    draft = policy_update_draft(policy=draft, rules=rules, by=ops_user)
    assert whatif_is_stale(whatif, draft)


def test_only_a_draft_is_previewed_and_one_preview_runs_at_a_time(judged_population, ops_user, django_capture_on_commit_callbacks):
    with pytest.raises(WhatIfError):
        whatif_start(policy=TierPolicy.objects.published().get(), by=ops_user)
    draft = raised_mid_draft(ops_user)
    with django_capture_on_commit_callbacks(execute=False):
        first = whatif_start(policy=draft, by=ops_user)
    with pytest.raises(WhatIfAlreadyRunning) as refused:
        whatif_start(policy=draft, by=ops_user)
    assert refused.value.whatif_id == first.pk


def test_a_redelivered_chunk_changes_nothing_twice(judged_population, ops_user, django_capture_on_commit_callbacks):
    draft = raised_mid_draft(ops_user)
    with django_capture_on_commit_callbacks(execute=False):
        whatif = whatif_start(policy=draft, by=ops_user, chunk_size=100)
    assert whatif_chunk_apply(run_id=whatif.pk, index=0) is True
    assert whatif_chunk_apply(run_id=whatif.pk, index=0) is False
    whatif.refresh_from_db()
    assert whatif.done == 7 and WhatIfChange.objects.filter(whatif=whatif).count() == 3
    assert WhatIf.objects.get(pk=whatif.pk).chunks_done == 1


def test_a_preview_whose_workers_died_is_resent_then_given_up_so_it_never_blocks_the_draft(
        judged_population, ops_user, django_capture_on_commit_callbacks):
    draft = raised_mid_draft(ops_user)
    with django_capture_on_commit_callbacks(execute=False):
        dead = whatif_start(policy=draft, by=ops_user)

    # a preview that stopped moving is resent (by the run watch, or by the next start), and still runs
    WhatIf.objects.filter(pk=dead.pk).update(updated_at=timezone.now() - STALE_AFTER - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False), pytest.raises(WhatIfAlreadyRunning):
        whatif_start(policy=draft, by=ops_user)
    assert WhatIf.objects.get(pk=dead.pk).resent == 1
    assert OutboxMessage.objects.filter(sender="core.runs.dispatch", kwargs={"kind": "what-if", "run_id": dead.pk},
                                        sent_at__isnull=True).count() == 2  # its first sending, and the resend

    # once sent again RESENDS times with nothing done, it is given up, and the draft previews afresh
    WhatIf.objects.filter(pk=dead.pk).update(resent=RESENDS,
                                             updated_at=timezone.now() - STALE_AFTER - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False):
        fresh = whatif_start(policy=draft, by=ops_user)
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and fresh.pk != dead.pk
    assert dead.error == str(RUN_STALE).format(minutes=15, times=RESENDS)
