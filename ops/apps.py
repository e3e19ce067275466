"""The ops desk: staff pages for the policy what-if, the dashboard, exports and live progress."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("ops desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import runs

        from .whatif import WHATIF

        runs.register(WHATIF)
