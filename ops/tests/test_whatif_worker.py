"""A worker killed in the middle of a what-if chunk: the run watch sends it again, and the preview finishes as a clean one."""

import datetime
import os
import signal
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery_app import app as celery_app
from conftest import drop_queues, forget_queue, start_worker, stop_worker, wait_for, waiting
from core import runs
from core.runs import STALE_AFTER
from ops.models import WhatIf, WhatIfChange, WhatIfChunk
from ops.whatif import whatif_run_sync, whatif_start
from tiers.choices import RunStatus
from tiers.models import TierPolicy
from tiers.services import policy_clone, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days


def changes(whatif_id: int) -> list[tuple]:
    return sorted(WhatIfChange.objects.filter(whatif_id=whatif_id).values_list(
        "influencer_id", "move", "tier_before", "tier_after", "type_before", "type_after"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_whatif_whose_worker_is_killed_mid_chunk_is_resent_by_the_watch_and_finishes_as_a_clean_one(
    shipped_defaults, redis_url, settings, monkeypatch, tmp_path, django_capture_on_commit_callbacks, days_ago
):
    # given 15 creators not judged yet, in chunks of 3, and a draft that raises the mid line over some of them
    for i, gmv in enumerate(["3500", "5000", "4200"] * 5):
        metric_days(InfluencerFactory(onboarded_on=days_ago(400), handle=f"w{i}"), days=30, gmv=gmv)
    ops = UserFactory(username="ops-kill")
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=ops)
    raised = {**draft.rules["mid"], "promote_gmv": "140000", "keep_gmv": "120000"}
    draft = policy_update_draft(policy=draft, rules={**draft.rules, "mid": raised}, by=ops)
    settings.LADDER_CHUNK_SIZE = 3
    # and what a clean preview finds, computed in this process and rolled back
    with transaction.atomic():
        clean = whatif_run_sync(policy=draft, by=ops)
        expected = (clean.summary, clean.done, changes(clean.pk))
        transaction.set_rollback(True)
    assert clean.chunk_count == 5 and len(expected[2]) == 15  # the draft would judge all of them

    # when the preview's chunks go to a worker that holds chunk 1 open and is killed there
    queue = f"ladder-whatif-kill-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    with django_capture_on_commit_callbacks(execute=False) as send:
        whatif = whatif_start(policy=draft, by=ops)
    marker = tmp_path / "holding"
    doomed, _ = start_worker(redis_url, queue=queue, app="ops.tests.holding_worker", concurrency=1, env={
        "LADDER_TEST_HOLD_INDEX": "1", "LADDER_TEST_HOLD_MARKER": str(marker)})
    survivor = None
    try:
        for callback in send:
            callback()  # the outbox sends the chunks once the start commits
        wait_for(marker.exists, "the worker to hold chunk 1 open")
        assert int(marker.read_text()) == 3
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)

        # then nothing of chunk 1 is left behind, and the preview is stuck at "running"
        held = WhatIfChunk.objects.get(run=whatif, index=1)
        whatif.refresh_from_db()
        assert held.done_at is None and held.counts == {}
        assert not WhatIfChange.objects.filter(whatif=whatif, influencer__id__range=(held.first_id, held.last_id)).exists()
        assert (whatif.status, whatif.chunks_done) == (RunStatus.RUNNING, 1)

        # when a new worker starts, and beat's run watch finds the preview stuck (as it would after STALE_AFTER)
        survivor, _ = start_worker(redis_url, queue=queue)
        runs.watch(now=timezone.now() + STALE_AFTER + datetime.timedelta(seconds=1))

        # then the preview finishes with exactly what a clean one finds: nothing lost, nothing twice
        wait_for(lambda: WhatIf.objects.get(pk=whatif.pk).status != RunStatus.RUNNING, "the preview to finish")
        whatif.refresh_from_db()
        assert whatif.status == RunStatus.SUCCEEDED, whatif.error
        assert whatif.resent == 1
        assert (whatif.summary, whatif.done, changes(whatif.pk)) == expected
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
        if survivor is not None:
            wait_for(lambda: not waiting(redis_url, queue), "the queues to drain")
            stop_worker(survivor, redis_url, queue)
        forget_queue(redis_url, queue)
        drop_queues(redis_url, queue)
