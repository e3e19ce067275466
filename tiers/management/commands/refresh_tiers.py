"""`manage.py refresh_tiers`: refresh every creator's tier and type now, or replay past days, in this process."""

import datetime
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from tiers.choices import RunTrigger
from tiers.models import RefreshRun
from tiers.refresh import RefreshError, refresh_run_sync, replay_run_sync


def _creator_ids(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--creators takes creator ids separated by commas, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Refresh every creator's tier and type under the published policy, in this process, then tell what "
        "listens (programme assignment and notifications). Time only moves forward: a --date earlier than the "
        "latest refresh's is refused. After past metrics were corrected, --replay-from DAY recomputes every "
        "refresh from DAY on, in order, each with its own date, policy and overrides, so that the state and the "
        "ledger end as if those days had been refreshed with the corrected data."
    )

    def add_arguments(self, parser):
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--date", type=datetime.date.fromisoformat, default=None,
                          help="refresh as of this day (YYYY-MM-DD), not earlier than the latest refresh; default today")
        when.add_argument("--replay-from", type=datetime.date.fromisoformat, default=None, metavar="DAY",
                          help="replay every refresh from DAY (YYYY-MM-DD) to the latest one, in order")
        parser.add_argument("--creators", type=_creator_ids, default=None, metavar="ID,ID,…",
                            help="with --replay-from: replay only these creators")
        parser.add_argument("--chunk-size", type=int, default=None, help="creators per chunk (default 5000)")
        parser.add_argument("--skip-coaching", action="store_true",
                            help="do not tell the listeners (programme assignment) afterwards")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                            help="if no refresh ever ran, first refresh as of DAYS and DAYS/2 days ago, so tiers have "
                                 "a history (demo data)")

    def handle(self, *args, date, replay_from, creators, chunk_size, skip_coaching, no_progress, history, **options):
        if creators is not None and replay_from is None:
            raise CommandError("--creators goes with --replay-from: a refresh is always of every creator.")
        progress = _Progress(disabled=no_progress or not sys.stderr.isatty())
        started = time.monotonic()
        try:
            if replay_from is not None:
                runs = replay_run_sync(from_date=replay_from, influencer_ids=creators, chunk_size=chunk_size,
                                       on_chunk=progress.chunk, announce=not skip_coaching)
                self.stdout.write(f"replay #{runs[0].replay_id} from {replay_from}: {len(runs)} refreshes recomputed, "
                                  f"in {time.monotonic() - started:.1f}s")
            else:
                runs = []
                if history and not RefreshRun.objects.exists():
                    today = date or timezone.localdate()
                    for days_ago in (history, history // 2):
                        runs.append(self._refresh(today - datetime.timedelta(days=days_ago), chunk_size, skip_coaching,
                                                  progress))
                runs.append(self._refresh(date, chunk_size, skip_coaching, progress))
        except RefreshError as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
        for run in runs:
            self.stdout.write(_summary(run))
        if not skip_coaching:
            # A replay is announced once, for its last day; every plain refresh for itself.
            announced = runs[-1:] if replay_from is not None else runs
            self.stdout.write(f"after-refresh steps done for refresh {', '.join(f'#{run.pk}' for run in announced)}")

    def _refresh(self, date, chunk_size, skip_coaching, progress):
        return refresh_run_sync(trigger=RunTrigger.COMMAND, chunk_size=chunk_size, today=date, on_chunk=progress.chunk,
                                announce=not skip_coaching)


def _summary(run: RefreshRun) -> str:
    return (
        f"refresh #{run.pk} of {run.run_date} under policy v{run.policy.version}: {run.total} creators in "
        f"{run.duration.total_seconds():.1f}s — {run.newly_classified} first classified, {run.promoted} promoted, "
        f"{run.demoted} demoted, {run.unchanged} unchanged tier, {run.type_changed} type changes, "
        f"{run.overrides_lapsed} overrides lapsed"
    )


class _Progress:
    """One bar per run on a terminal."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar = None
        self.run_id = None

    def chunk(self, run, index):
        if run.pk != self.run_id:
            self.close()
            self.run_id = run.pk
            self.bar = tqdm(desc=f"refresh #{run.pk} of {run.run_date}", total=run.chunk_count, unit="chunk",
                            file=sys.stderr, disable=self.disabled)
        self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
