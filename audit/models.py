"""The audit log: one append-only row per staff action, written in the action's own transaction."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

AUDIT_APPEND_ONLY = "The audit log is append-only: an entry is never changed or deleted."


class AuditAction(models.TextChoices):
    POLICY_DRAFT_CREATE = "policy.draft_create", _("policy draft created")
    POLICY_DRAFT_UPDATE = "policy.draft_update", _("policy draft edited")
    POLICY_PUBLISH = "policy.publish", _("policy published")
    OVERRIDE_CREATE = "override.create", _("override created")
    OVERRIDE_END = "override.end", _("override ended")
    IMPORT_UPLOAD = "import.upload", _("metric file recorded for import")
    IMPORT_CONFIRM = "import.confirm", _("metric import confirmed")
    REFRESH_START = "refresh.start", _("refresh started")
    REFRESH_QUEUE = "refresh.queue", _("refresh queued")
    REPLAY_START = "replay.start", _("replay started")
    ASSIGNMENT_START = "assignment.start", _("programme assignment started")
    REVIEW_REPLY = "review.reply", _("review request answered")
    REVIEW_CLOSE = "review.close", _("review request closed")
    ADMIN_ADD = "admin.add", _("added in the admin")
    ADMIN_CHANGE = "admin.change", _("changed in the admin")
    ADMIN_DELETE = "admin.delete", _("deleted in the admin")
    PASSWORD_SET = "user.password_set", _("password set")


class AppendOnly(Exception):
    """Something tried to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly(AUDIT_APPEND_ONLY)

    def delete(self):
        raise AppendOnly(AUDIT_APPEND_ONLY)

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnly(AUDIT_APPEND_ONLY)

    def select_for_update(self, *args, **kwargs):
        raise AppendOnly(AUDIT_APPEND_ONLY)


class AuditEntry(models.Model):
    """Who did what to which object, what it was before and after, and why (zulip's RealmAuditLog)."""

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # No database constraint and nothing done on delete: deleting a user must not touch their
    # entries (the PostgreSQL trigger would refuse it); `actor_name` keeps who it was.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("who"), null=True, blank=True,
                              on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor_name = models.CharField(_("who (name)"), max_length=150, blank=True,
                                  help_text=_("empty: a scheduled job or the system"))
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        return f"#{self.pk} {self.get_action_display()} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly(AUDIT_APPEND_ONLY)
        kwargs.pop("force_update", None)
        kwargs.pop("force_insert", None)
        super().save(*args, force_insert=True, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly(AUDIT_APPEND_ONLY)
