"""What the ground floor keeps: the outbox of work for the workers."""

from django.db import models


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
