"""`manage.py refresh_tiers`: refresh every creator's tier and type now, in this process."""

import datetime
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from tiers.choices import RunTrigger
from tiers.models import RefreshRun
from tiers.services import RefreshAlreadyRunning, refresh_announce, refresh_run_sync


class Command(BaseCommand):
    help = "Refresh every creator's tier and type under the published policy, then run coaching assignment."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=None, help="creators per chunk (default 5000)")
        parser.add_argument("--skip-coaching", action="store_true", help="do not run programme assignment afterwards")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--date", type=datetime.date.fromisoformat, default=None,
                            help="refresh as of this day (YYYY-MM-DD), e.g. to backfill; default today")
        parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                            help="if no refresh ever ran, first replay the days DAYS and DAYS/2 ago, so tiers have "
                                 "a history (demo data)")

    def handle(self, *args, chunk_size, skip_coaching, no_progress, date, history, **options):
        if history and not RefreshRun.objects.exists():
            today = date or timezone.localdate()
            for days_ago in (history, history // 2):
                self._refresh(today - datetime.timedelta(days=days_ago), chunk_size, skip_coaching, no_progress)
        self._refresh(date, chunk_size, skip_coaching, no_progress)

    def _refresh(self, date, chunk_size, skip_coaching, no_progress):
        started = time.monotonic()
        bar = None

        def on_chunk(index, total):
            nonlocal bar
            if bar is None:
                bar = tqdm(desc=f"refresh {date or 'today'}", total=total, unit="chunk", file=sys.stderr,
                           disable=no_progress or not sys.stderr.isatty())
            bar.update(1)

        try:
            run = refresh_run_sync(trigger=RunTrigger.COMMAND, chunk_size=chunk_size, on_chunk=on_chunk, today=date)
        except RefreshAlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        refreshed = time.monotonic() - started
        self.stdout.write(
            f"refresh #{run.pk} of {run.run_date} under policy v{run.policy.version}: {run.total} creators in {refreshed:.1f}s — "
            f"{run.newly_classified} first classified, {run.promoted} promoted, {run.demoted} demoted, {run.unchanged} unchanged tier, "
            f"{run.type_changed} type changes, {run.overrides_lapsed} overrides lapsed"
        )
        if not skip_coaching:
            assign_started = time.monotonic()
            refresh_announce(run_id=run.pk)
            self.stdout.write(f"after-refresh steps done in {time.monotonic() - assign_started:.1f}s")
