"""`manage.py import_metrics FILE`: check or import a metric file (CSV or XLSX) in this process."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from tiers.cells import date_format_from_option
from tiers.choices import ImportStatus, RunTrigger, UnknownCreators
from tiers.imports import ImportAlreadyRunning, ImportStateError, import_file, refresh_after_import, rejected_rows_csv
from tiers.refresh import RefreshError

SHOWN_REJECTIONS = 20


def _date_format(value: str) -> str:
    if value:
        date_format_from_option(value)  # argparse reports a ValueError as a bad argument
    return value


class Command(BaseCommand):
    help = ("Import daily creator metrics from a CSV (UTF-8, GBK/GB18030; comma, tab or semicolon) or XLSX file "
            "with Chinese or English headers. Good rows are upserted on (creator, day); bad rows are listed with "
            "their line and reason. The same file imported twice changes nothing the second time.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check the whole file and count, write no metric")
        parser.add_argument("--missing", choices=UnknownCreators.values, default=UnknownCreators.CREATE,
                            help="unknown creators: create them from the file (default) or report their rows")
        parser.add_argument("--refresh", action="store_true",
                            help="afterwards, refresh the creators the import changed (and run coaching assignment)")
        parser.add_argument("--encoding", default="", help="the file's text encoding (default: detected)")
        parser.add_argument("--sheet", default="", help="XLSX: the sheet to read (default: the first)")
        parser.add_argument("--date-format", default="", type=_date_format,
                            help="for dates like 11/24/2026: MM/DD/YYYY (or %%m/%%d/%%Y), DD/MM/YYYY")
        parser.add_argument("--rejected-csv", default="", metavar="PATH",
                            help="write the rejected rows, with their reasons, to this CSV file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, dry_run, missing, refresh, encoding, sheet, date_format, rejected_csv, no_progress,
               **options):
        if refresh and dry_run:
            raise CommandError(_("--refresh needs an import, not a --dry-run."))
        bar = tqdm(total=0, unit="B", unit_scale=True, file=sys.stderr, disable=no_progress or not sys.stderr.isatty())

        def progress(batch):
            bar.total = batch.progress_total
            bar.update(batch.progress_done - bar.n)
            bar.set_postfix_str(_("%(read)s rows, %(rejected)s rejected") % {"read": batch.rows_read,
                                                                             "rejected": batch.rejected})

        try:
            batch = import_file(path=file, dry_run=dry_run, unknown_creators=missing, encoding=encoding, sheet=sheet,
                                date_format=date_format, on_progress=progress)
        except ImportAlreadyRunning as running:
            raise CommandError(str(running)) from None
        except FileNotFoundError:
            raise CommandError(_("No such file: %(file)s") % {"file": file}) from None
        finally:
            bar.close()
        if batch.status == ImportStatus.REFUSED:
            raise CommandError(_("Import #%(id)s refused: %(error)s") % {"id": batch.pk, "error": batch.error})
        self._report(batch, dry_run)
        if rejected_csv and batch.rejected:
            with open(rejected_csv, "w", encoding="utf-8", newline="") as out:
                out.writelines(rejected_rows_csv(batch=batch))
            self.stdout.write(_("Rejected rows written to %(path)s.") % {"path": rejected_csv})
        if refresh:
            self._refresh(batch)

    def _report(self, batch, dry_run):
        counts = {"id": batch.pk, "name": batch.file_name, "read": f"{batch.rows_read:,}", "new": f"{batch.new:,}",
                  "updated": f"{batch.updated:,}", "unchanged": f"{batch.unchanged:,}",
                  "rejected": f"{batch.rejected:,}", "created": f"{batch.creators_created:,}"}
        if dry_run:
            line = _("Checked #%(id)s %(name)s, nothing written: %(read)s rows read; importing would add %(new)s new, "
                     "update %(updated)s, leave %(unchanged)s unchanged, reject %(rejected)s, create %(created)s "
                     "creators.")
        else:
            line = _("Import #%(id)s %(name)s: %(read)s rows read; %(new)s new, %(updated)s updated, %(unchanged)s "
                     "unchanged, %(rejected)s rejected; %(created)s creators created.")
        self.stdout.write(line % counts)
        if batch.duration:
            self.stdout.write(_("Took %(seconds).1f s.") % {"seconds": batch.duration.total_seconds()})
        unknown = batch.report.get("mapping", {}).get("unknown", [])
        if unknown:
            self.stdout.write(_("Columns not imported (no field has these names): %(columns)s")
                              % {"columns": ", ".join(unknown)})
        rejections = list(batch.rejections.order_by("line").values_list("line", "reason")[:SHOWN_REJECTIONS])
        if rejections:
            self.stdout.write(_("Rejected lines (first %(shown)s of %(total)s):")
                              % {"shown": len(rejections), "total": f"{batch.rejected:,}"})
            for line, reason in rejections:
                self.stdout.write(_("  line %(line)s: %(reason)s") % {"line": line, "reason": reason})
        if batch.replay_from:
            self.stdout.write(_("It changed days a refresh had already judged, from %(day)s.")
                              % {"day": batch.replay_from.isoformat()})

    def _refresh(self, batch):
        try:
            run = refresh_after_import(batch=batch, trigger=RunTrigger.COMMAND)
        except (ImportStateError, RefreshError) as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(_("Refresh #%(id)s of the %(total)s creators it changed: %(promoted)s promoted, %(demoted)s "
                            "demoted, %(first)s first classified.")
                          % {"id": run.pk, "total": run.total, "promoted": run.promoted, "demoted": run.demoted,
                             "first": run.newly_classified})
