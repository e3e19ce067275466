"""App config for coaching."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoachingConfig(AppConfig):
    name = "coaching"
    verbose_name = _("Coaching")

    def ready(self):
        from core import runs

        from .services import ASSIGNMENT

        runs.register(ASSIGNMENT)
