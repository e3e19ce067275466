"""Service tokens (only their hash is kept) and the responses remembered for Idempotency-Key retries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class Scope(models.TextChoices):
    READ = "read", _("Read")
    WRITE_METRICS = "write-metrics", _("Write metrics")
    WRITE_RUNS = "write-runs", _("Start refreshes")


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(TimeStampedModel):
    """A pipeline's or service's credential. The token itself is shown once, at creation; only its
    SHA-256 is stored, so a leaked database gives no usable token."""

    name = models.CharField(_("name"), max_length=120)
    key_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token starts with"), max_length=12, editable=False)
    # Comma-separated Scope values: a short fixed vocabulary, checked by the service that writes it.
    scopes = models.CharField(_("scopes"), max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+", editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.split(",") if scope]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list


class IdempotentResponse(models.Model):
    """The first answer to a request sent with an Idempotency-Key, returned again to its retries."""

    principal = models.CharField(_("sender"), max_length=64)  # "token:<id>" or "user:<id>"
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    body = models.JSONField(_("response body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("idempotent response")
        verbose_name_plural = _("idempotent responses")
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="one_response_per_idempotency_key")]
