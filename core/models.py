"""What the ground floor keeps: the outbox of work for the workers, and the shapes every model of a chunked run shares."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class ChunkedRun(TimeStampedModel):
    """A job over every creator, done chunk by chunk by any worker (core.runs): a refresh, an assignment, a what-if.

    Each model adds its own `status` (running, succeeded and failed at least) and `started_at`. `updated_at` moves
    with every chunk done, so a run that stopped moving is found (core.runs.stalled_runs).
    """

    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    resent = models.PositiveSmallIntegerField(
        _("times resent"), default=0, help_text=_("how often its unfinished chunks were sent to the workers again"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        abstract = True

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at and self.started_at else None


class Chunk(models.Model):
    """A slice of a run's creators by id, [first_id, last_id]; `done_at` is set in the same transaction as its
    writes, so a chunk is applied once however often its task is delivered. Each model adds `run`, its run."""

    index = models.PositiveIntegerField(_("index"))
    first_id = models.BigIntegerField(_("first creator id"))
    last_id = models.BigIntegerField(_("last creator id"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """Work for the workers that a write decided on, recorded in the write's own transaction
    (core.outbox), and sent to the broker once committed, or later when the broker is back."""

    # The dotted path of the function that sends it, and its keyword arguments.
    sender = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "tiers_outboxmessage"  # made by tiers before the ground floor had its own app
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], name="outbox_unsent", condition=models.Q(sent_at__isnull=True))]

    def __str__(self):
        return f"{self.sender}({self.kwargs})"
