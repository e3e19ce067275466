"""App config for tiers."""

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from .refresh import check_listeners

        checks.register(check_listeners)
