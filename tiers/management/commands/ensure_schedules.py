"""`manage.py ensure_schedules`: create the periodic jobs of config/schedules.py that are missing."""

from django.conf import settings
from django.core.management.base import BaseCommand

from config.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create missing periodic tasks (existing ones, possibly edited in the admin, are left alone)."

    def handle(self, *args, **options):
        created = ensure_schedules(time_zone=settings.TIME_ZONE)
        self.stdout.write(f"created: {', '.join(created)}" if created else "all schedules exist")
