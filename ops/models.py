"""What the ops desk keeps: policy what-if previews, their chunks and the creators they would move."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Chunk, ChunkedRun
from tiers.choices import CreatorType, RunStatus, Tier
from tiers.models import Influencer, TierPolicy


class Move(models.TextChoices):
    """How a preview (or a refresh) would move a creator."""

    NEWLY_CLASSIFIED = "newly", _("First classified")
    PROMOTED = "promoted", _("Promoted")
    DEMOTED = "demoted", _("Demoted")
    TYPE_CHANGED = "type", _("Type changed only")


class WhatIf(ChunkedRun):
    """A preview of what a refresh under a draft policy would do to every creator; it writes nothing to them.

    `rules` and `data_date` say which rules it ran and on which day's data: when the draft's rules no
    longer equal `rules`, the preview is stale.
    """

    policy = models.ForeignKey(TierPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="whatifs")
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    rules = models.JSONField(_("rules previewed"))
    data_date = models.DateField(_("data as of"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    total = models.PositiveIntegerField(_("creators"), default=0)
    done = models.PositiveIntegerField(_("creators done"), default=0)
    # Once done: the sums of the chunks' counts, the moves by category (ops.whatif.whatif_finish).
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("policy what-if")
        verbose_name_plural = _("policy what-ifs")
        constraints = [
            # One preview running per policy: a second start is told which one runs.
            models.UniqueConstraint(fields=["policy"], condition=models.Q(status=RunStatus.RUNNING),
                                    name="one_running_whatif_per_policy"),
        ]

    def __str__(self):
        return f"what-if #{self.pk} of policy v{self.policy.version}"

    @property
    def running(self) -> bool:
        return self.status in (RunStatus.RUNNING, RunStatus.PENDING)


class WhatIfChunk(Chunk):
    """A slice of creators by id (core.models.Chunk); `counts` is written with `done_at`, in one transaction."""

    run = models.ForeignKey(WhatIf, on_delete=models.CASCADE, related_name="chunks")
    # {"tier": {"mid>head": 3, …}, "type": {"seeding>persona": 1, …}, "creators": n}; "" stands for none yet.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_whatif_chunk_per_index")]


class WhatIfChange(models.Model):
    """A creator the draft would move (tier or type), with the explanation the draft's rules give."""

    whatif = models.ForeignKey(WhatIf, on_delete=models.CASCADE, related_name="changes")
    influencer = models.ForeignKey(Influencer, verbose_name=_("influencer"), on_delete=models.CASCADE, related_name="+")
    move = models.CharField(_("move"), max_length=8, choices=Move.choices)
    tier_before = models.CharField(_("tier now"), max_length=16, choices=Tier.choices, null=True, blank=True)
    tier_after = models.CharField(_("tier under the draft"), max_length=16, choices=Tier.choices)
    type_before = models.CharField(_("type now"), max_length=16, choices=CreatorType.choices, null=True, blank=True)
    type_after = models.CharField(_("type under the draft"), max_length=16, choices=CreatorType.choices, null=True,
                                  blank=True)
    explanation = models.JSONField(_("explanation"), default=dict)

    class Meta:
        ordering = ["whatif", "id"]
        constraints = [models.UniqueConstraint(fields=["whatif", "influencer"], name="one_whatif_change_per_creator")]
