"""The outbox: work for the workers is recorded in the same transaction as the write that decided on it, then sent."""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import messages
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .models import OutboxMessage

logger = logging.getLogger(__name__)

JOBS_UNAVAILABLE = _(
    "Background jobs are unavailable right now (the broker cannot be reached). What you saved is kept; what "
    "follows from it (the refresh, the creators' notifications, the import's check) starts by itself when they "
    "are back."
)
SEND_TASK = "core.outbox.send_task"
# Sent rows are kept this long (to read what was sent when), then deleted by the flush.
KEEP_SENT = timedelta(days=7)
FLUSH_BATCH = 500

_tracked = threading.local()


def send_task(*, name: str, args: list) -> None:
    """Send one Celery task by name (a row's sender for a plain task)."""
    from config.celery_app import app

    # retry=False: one attempt within the broker's short socket timeouts; the outbox retries later.
    app.tasks[name].apply_async(args=args, retry=False)


def _record(sender: str, kwargs: dict) -> None:
    message = OutboxMessage.objects.create(sender=sender, kwargs=kwargs)
    tracker = getattr(_tracked, "current", None)
    if tracker is not None:
        tracker.ids.append(message.pk)
    # In a transaction: sent once it commits, and kept if it does not. Outside one: sent now. One delivery takes
    # every message recorded so far, so a transaction that recorded thousands (a bulk pin) sends them in one go and
    # stops at the first failure; the callbacks after it find nothing left. A row rolled back is not found, not sent.
    pending = _pending_ids()
    pending.append(message.pk)
    transaction.on_commit(_deliver_pending)


def _pending_ids() -> list[int]:
    if not hasattr(_tracked, "pending"):
        _tracked.pending = []
    return _tracked.pending


def _deliver_pending() -> None:
    ids, _tracked.pending = _pending_ids(), []
    if ids:
        deliver(ids=ids, limit=len(ids))


def task_after_commit(task, *args) -> None:
    """Send `task(*args)` (ids only) to the workers once the current transaction commits; if the
    broker cannot take it then, the outbox's flush sends it when the broker is back."""
    _record(SEND_TASK, {"name": task.name, "args": list(args)})


def call_after_commit(sender: Callable, **kwargs) -> None:
    """Call `sender(**kwargs)`, a function that sends work to the workers (it must be importable by
    its dotted path and may be called again), once the current transaction commits, and until it succeeds."""
    dotted = f"{sender.__module__}.{sender.__qualname__}"
    if import_string(dotted) is not sender:
        raise ValueError(f"{dotted} does not name the sender it was given")
    _record(dotted, kwargs)


def deliver(*, ids: list[int] | None = None, limit: int = FLUSH_BATCH) -> int:
    """Send the given unsent messages (None: the oldest waiting), in order; how many were sent.

    Never raises: at the first failure (the broker is down) it records the error and stops, and
    the rest wait for the next flush. A message is sent at least once: a process that dies after
    sending and before marking it sends it again later, and every task is idempotent.
    """
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id")
    if ids is not None:
        waiting = waiting.filter(pk__in=ids)
    sent = 0
    for pk in list(waiting.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            # Locked while it is sent, so the flush and an on-commit attempt never send it both.
            message = (OutboxMessage.objects.select_for_update(skip_locked=True)
                       .filter(pk=pk, sent_at__isnull=True).first())
            if message is None:
                continue
            try:
                import_string(message.sender)(**message.kwargs)
            except Exception as exc:  # whatever the broker raised: kept, and tried again by the flush
                logger.warning("outbox message #%s (%s) not sent, kept for later: %s: %s", pk, message.sender,
                               exc.__class__.__name__, exc)
                OutboxMessage.objects.filter(pk=pk).update(attempts=F("attempts") + 1,
                                                           last_error=f"{exc.__class__.__name__}: {exc}"[:2000])
                return sent
            OutboxMessage.objects.filter(pk=pk).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
            sent += 1
    return sent


def flush() -> int:
    """Send what waits (beat's `outbox flush`), and forget what was sent long ago; how many were sent."""
    OutboxMessage.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    sent = deliver()
    if sent:
        logger.info("outbox: %s waiting messages sent", sent)
    return sent


@dataclass
class Tracker:
    ids: list[int] = field(default_factory=list)

    @property
    def held_back(self) -> bool:
        """Whether work recorded while tracking is still waiting for the broker, or other work is (a
        send failed and none has succeeded since: what was queued here will wait for it too)."""
        return OutboxMessage.objects.filter(sent_at__isnull=True).filter(Q(pk__in=self.ids) | Q(attempts__gt=0)).exists()


@contextmanager
def tracking():
    """The outbox messages recorded in this thread while inside, to tell whether they left."""
    outer = getattr(_tracked, "current", None)
    _tracked.current = tracker = Tracker()
    try:
        yield tracker
    finally:
        _tracked.current = outer
        if outer is not None:
            outer.ids.extend(tracker.ids)


class TellStaffMiddleware:
    """Around every staff write (a POST by a staff user, outside the API): if the work it queued could not reach
    the broker, say so plainly. After MessageMiddleware, so the warning is kept for the page staff see next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
            return self.get_response(request)
        with tracking() as tracker:
            response = self.get_response(request)
        user = getattr(request, "user", None)
        if tracker.ids and user is not None and user.is_staff and tracker.held_back:
            messages.warning(request, JOBS_UNAVAILABLE)
        return response
