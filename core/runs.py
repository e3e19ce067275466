"""Chunked runs that stopped moving (a worker died holding their chunks): sent again, then failed."""

import datetime
from typing import NamedTuple

from django.db.models import F, QuerySet

# A run of which no chunk finished for this long has stopped: nothing works on it any more. A chunk
# takes seconds and is stopped by its time limit after eleven minutes at most (a refresh chunk's; an
# assignment chunk's is six), so 15 minutes without one finishing is not a slow chunk; yet it is short
# enough that a worker lost in the night holds a run back by minutes, not the two hours the broker
# waits before it delivers an unacknowledged task again. Such a run is resumed (its unfinished chunks
# are sent again: harmless even if a chunk is still running, a chunk applies once) RESENDS times, then
# failed so the next run can start: at most about 45 minutes after the last sign of life.
STALE_AFTER = datetime.timedelta(minutes=15)
RESENDS = 2


class Stalled(NamedTuple):
    resend: list  # claimed here (their `resent` counted): send their unfinished chunks again
    fail: list  # already sent again RESENDS times: fail them


def stalled_runs(running: QuerySet, *, now: datetime.datetime) -> Stalled:
    """Among `running` (running rows of a run model with `resent` and `updated_at`), those no chunk
    finished for STALE_AFTER. A run to resend is claimed with a conditional update, so two watchers
    never both resend it; the claim counts as a sign of life, so the next resend waits STALE_AFTER."""
    resend, fail = [], []
    for run in running.filter(updated_at__lt=now - STALE_AFTER).order_by("pk"):
        if run.resent >= RESENDS:
            fail.append(run)
            continue
        claimed = running.filter(pk=run.pk, resent=run.resent).update(resent=F("resent") + 1, updated_at=now)
        if claimed:
            run.resent += 1
            run.updated_at = now
            resend.append(run)
    return Stalled(resend, fail)
