"""App config for tiers."""

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        import config.security  # noqa: F401 (connects the staff login's idle expiry)

        from core import runs

        from .refresh import REFRESH, check_listeners

        checks.register(check_listeners)
        runs.register(REFRESH)
