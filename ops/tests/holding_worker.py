"""The what-if kill test's worker: the real Celery app, with one what-if chunk held open inside its transaction."""

import os
import time
from pathlib import Path

from celery.signals import worker_process_init

from config.celery_app import app  # noqa: F401  (`celery -A ops.tests.holding_worker` runs this app)

HOLD_SECONDS = 600


@worker_process_init.connect
def hold_one_chunk(**_kwargs):
    """In each pool process: the chunk at LADDER_TEST_HOLD_INDEX writes its changes, then writes how many to
    LADDER_TEST_HOLD_MARKER and waits, its transaction still open, to be killed."""
    from ops import whatif

    index = int(os.environ["LADDER_TEST_HOLD_INDEX"])
    marker = Path(os.environ["LADDER_TEST_HOLD_MARKER"])
    work = whatif._whatif_work

    def work_then_hold(run, chunk):
        result = work(run, chunk)
        if chunk.index == index:
            marker.write_text(str(result.counts["done"]))
            time.sleep(HOLD_SECONDS)
        return result

    whatif._whatif_work = work_then_hold
