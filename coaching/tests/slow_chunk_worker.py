"""The kill test's worker: the real Celery app, with one assignment chunk held open inside its transaction."""

import os
import time
from pathlib import Path

from celery.signals import worker_process_init

from config.celery_app import app  # noqa: F401  (`celery -A coaching.tests.slow_chunk_worker` runs this app)

HOLD_SECONDS = 600


@worker_process_init.connect
def hold_one_chunk(**_kwargs):
    """In each pool process: the chunk starting at LADDER_TEST_SLOW_FIRST_ID writes its enrolments and
    events, then touches LADDER_TEST_SLOW_MARKER and waits, its transaction still open, to be killed."""
    from coaching import services

    slow_first_id = int(os.environ["LADDER_TEST_SLOW_FIRST_ID"])
    marker = Path(os.environ["LADDER_TEST_SLOW_MARKER"])
    notify = services.notifications_after_assignment

    def notify_then_hold(*, assignment_run_id, first_id=None, last_id=None, from_event_id=None):
        created = notify(assignment_run_id=assignment_run_id, first_id=first_id, last_id=last_id,
                         from_event_id=from_event_id)
        if first_id == slow_first_id:
            marker.write_text(str(created))
            time.sleep(HOLD_SECONDS)
        return created

    services.notifications_after_assignment = notify_then_hold
