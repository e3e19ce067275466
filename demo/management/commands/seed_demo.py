"""`manage.py seed_demo`: fill the database with a synthetic demo population (see demo.population)."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.population import LOGINS_NEED_DEBUG, DemoRefused, seed_population
from tiers.models import Influencer


class Command(BaseCommand):
    help = (
        "Create N synthetic creators with D days of daily metrics ending today, plus demo logins "
        "(ops, creator1…creator20) when DEBUG is on. The same --seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--influencers", type=int, default=5_000, help="creators to create (default 5000)")
        parser.add_argument("--days", type=int, default=30, help="days of metrics ending today (default 30)")
        parser.add_argument("--seed", type=int, default=38, help="random seed (default 38)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any influencer exists")
        parser.add_argument("--replace", action="store_true", help="delete existing influencers and metrics first")
        parser.add_argument("--no-logins", action="store_true", help="seed data only, no demo logins")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, influencers, days, seed, if_empty, replace, no_logins, no_progress, **options):
        if influencers < 1 or days < 1:
            raise CommandError("--influencers and --days must be at least 1.")
        logins = not no_logins
        if logins and not settings.DEBUG:
            raise CommandError(LOGINS_NEED_DEBUG)
        if if_empty:
            existing = Influencer.objects.count()
            if existing:
                self.stdout.write(f"{existing} influencers already exist; --if-empty, so nothing was seeded.")
                return
        try:
            result = seed_population(
                influencers=influencers,
                days=days,
                seed=seed,
                progress=not no_progress and sys.stderr.isatty(),
                replace=replace,
                logins=logins,
            )
        except DemoRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.influencers} influencers and {result.metrics} daily metrics "
                f"({result.days} days, seed {result.seed}) and {result.logins} logins "
                f"in {result.seconds:.1f} s."
            )
        )
