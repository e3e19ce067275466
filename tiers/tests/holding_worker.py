"""The refresh fault tests' worker: the real Celery app, with one refresh chunk held open inside its transaction."""

import json
import os
import time
from pathlib import Path

from celery.signals import worker_init, worker_process_init

from config.celery_app import app  # noqa: F401  (`celery -A tiers.tests.holding_worker` runs this app)

HOLD_SECONDS = 120  # a hold that outlives this ends, its chunk commits, and the test fails


@worker_init.connect
def tiny_time_limits(**_kwargs):
    """LADDER_TEST_CHUNK_SOFT_TIME_LIMIT: a refresh chunk's soft time limit, in seconds, for this worker."""
    soft = os.environ.get("LADDER_TEST_CHUNK_SOFT_TIME_LIMIT")
    if soft:
        from tiers.tasks import refresh_chunk

        refresh_chunk.soft_time_limit = float(soft)
        refresh_chunk.time_limit = float(soft) + 30


@worker_process_init.connect
def hold_one_chunk(**_kwargs):
    """In each pool process: chunk LADDER_TEST_HOLD_INDEX (of run LADDER_TEST_HOLD_RUN, if set) writes
    everything, run counters included, then writes LADDER_TEST_HOLD_MARKER (its database backend's pid
    and how many decisions it wrote) and waits, its transaction open, until the test deletes the
    marker (or kills the worker). It is held once; a second delivery goes through."""
    from django.db import connection

    from tiers import refresh

    index = int(os.environ["LADDER_TEST_HOLD_INDEX"])
    run_id = int(os.environ.get("LADDER_TEST_HOLD_RUN") or 0)
    marker = Path(os.environ["LADDER_TEST_HOLD_MARKER"])
    held = marker.with_suffix(".held")
    write = refresh._write

    def write_then_hold(chunk, context, writes):
        write(chunk, context, writes)
        if chunk.index != index or (run_id and chunk.run_id != run_id) or held.exists():
            return
        held.touch()
        pid = connection.connection.info.backend_pid if connection.vendor == "postgresql" else None
        marker.write_text(json.dumps({"backend_pid": pid, "decisions": len(writes.decisions)}))
        deadline = time.monotonic() + HOLD_SECONDS
        while marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    refresh._write = write_then_hold
