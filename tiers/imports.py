"""Metric-file imports: an ImportBatch's life (check, confirm, apply, refresh after) around the ingestion core."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import PurePath

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

import audit
from audit.models import AuditAction
from core import bulk, outbox
from core.language import site_language
from core.spreadsheets import csv_rows

from .cells import date_format_from_option
from .choices import (
    IMPORT_WRITING,
    ImportSource,
    ImportStatus,
    RunTrigger,
    UnknownCreators,
)
from .ingest import NO_DATA_ROWS, BlockResult, Ingest, IngestRefused, header_map
from .metric_files import inspect, read_blocks
from .models import ImportBatch, ImportChange, ImportRejection, RefreshRun
from .refresh import RefreshAlreadyRunning, refresh_run_sync, replay_run_sync
from .selectors import import_latest_judged_day

logger = logging.getLogger(__name__)

IMPORT_ALREADY_WRITING = _("Import #{batch_id} of this same file is already running; it was not started twice.")
IMPORT_NOT_CHECKED = _("Import #{batch_id} is {status}: only a checked import can be confirmed.")
IMPORT_NOT_APPLIED = _("Import #{batch_id} is {status}: only an applied import can be followed by a refresh.")
IMPORT_CHANGED_NOTHING = _("Import #{batch_id} changed no creator's metrics: there is nothing to refresh.")


class ImportAlreadyRunning(Exception):
    def __init__(self, batch_id: int):
        self.batch_id = batch_id
        super().__init__(str(IMPORT_ALREADY_WRITING).format(batch_id=batch_id))


class ImportStateError(ValueError):
    """The batch is not in a state that allows this; the message says which state it is in."""


class _Superseded(Exception):
    """Another delivery of the same task got ahead of this one: stop and leave the batch to it."""


def file_digest(path: str) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# ---------------------------------------------------------------- create, check, confirm


def import_upload(*, upload, by, unknown_creators: str = UnknownCreators.CREATE, encoding: str = "", sheet: str = "",
                  date_format: str = "") -> ImportBatch:
    """A staff upload: stored, its quick checks passed (IngestRefused otherwise, and nothing is kept),
    recorded, and checked by a worker after commit."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored = default_storage.save(f"imports/{uuid.uuid4().hex}{PurePath(upload.name).suffix[:8]}", upload)
    try:
        inspect(default_storage.path(stored), size=upload.size, encoding=encoding, sheet=sheet, quick=True)
        with transaction.atomic():
            batch = import_batch_create(
                file_name=PurePath(upload.name).name, sha256=digest.hexdigest(), size=upload.size,
                source=ImportSource.UPLOAD, by=by, stored=stored, unknown_creators=unknown_creators,
                encoding=encoding, sheet=sheet, date_format=date_format,
            )
            from .tasks import import_check_task

            outbox.task_after_commit(import_check_task, batch.pk)
    except BaseException:
        default_storage.delete(stored)
        raise
    return batch


def import_batch_create(*, file_name: str, sha256: str, size: int, source: str, by=None, stored: str = "",
                        unknown_creators: str = UnknownCreators.CREATE, encoding: str = "", sheet: str = "",
                        date_format: str = "", language: str | None = None, report: dict | None = None,
                        confirmed: bool = False) -> ImportBatch:
    """Record a file to import. `stored` (a storage name) is the file the worker reads; `confirmed`
    batches go straight to applying (the command), so the one-writer-per-file rule applies now.
    ValueError for a date format that names no year, month and day."""
    batch = ImportBatch(
        file_name=file_name[:255], sha256=sha256, size=size, source=source, requested_by=by,
        unknown_creators=unknown_creators, encoding=encoding, sheet=sheet,
        date_format=date_format_from_option(date_format) if date_format else "",
        language=site_language(language), report=report or {},
        status=ImportStatus.QUEUED if confirmed else ImportStatus.UPLOADED,
    )
    batch.file.name = stored
    try:
        with transaction.atomic():
            batch.save()
            audit.record(actor=by, action=AuditAction.IMPORT_UPLOAD, obj=batch,
                         after=audit.snapshot(batch, fields=("file_name", "sha256", "size", "source", "status",
                                                             "unknown_creators", "encoding", "sheet", "date_format")))
    except IntegrityError:
        raise ImportAlreadyRunning(_writing_batch_id(sha256)) from None
    return batch


def _writing_batch_id(sha256: str) -> int | None:
    return ImportBatch.objects.filter(sha256=sha256, status__in=IMPORT_WRITING).values_list("pk", flat=True).first()


def import_check(*, batch_id: int, path: str | None = None, claim: str | None = None,
                 on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    """Read the whole file as an apply would, count what it would do, write no metric. Idempotent:
    a batch already checked (or being checked by another delivery) is returned as it is."""
    claim = claim or uuid.uuid4().hex
    claimed = ImportBatch.objects.filter(pk=batch_id).filter(
        status=ImportStatus.UPLOADED
    ).update(status=ImportStatus.CHECKING, claimed_by=claim, started_at=timezone.now(), updated_at=timezone.now())
    if not claimed:
        # A redelivered check (its first delivery died) starts again from the top.
        claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.CHECKING, claimed_by=claim).update(
            updated_at=timezone.now())
    batch = ImportBatch.objects.get(pk=batch_id)
    if not claimed:
        return batch
    _reset_counts(batch)
    return _run_pass(batch, path=path, dry_run=True, on_progress=on_progress)


@transaction.atomic
def import_confirm(*, batch: ImportBatch, by=None) -> ImportBatch:
    """Staff confirm a checked import: it is queued to apply (after commit, by a worker)."""
    try:
        with transaction.atomic():
            confirmed = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.CHECKED).update(
                status=ImportStatus.QUEUED, updated_at=timezone.now())
    except IntegrityError:
        raise ImportAlreadyRunning(_writing_batch_id(batch.sha256)) from None
    batch.refresh_from_db()
    if not confirmed:
        raise ImportStateError(str(IMPORT_NOT_CHECKED).format(batch_id=batch.pk, status=batch.get_status_display()))
    audit.record(actor=by, action=AuditAction.IMPORT_CONFIRM, obj=batch, before={"status": ImportStatus.CHECKED},
                 after={"status": batch.status})
    from .tasks import import_apply_task

    outbox.task_after_commit(import_apply_task, batch.pk)
    return batch


def import_apply(*, batch_id: int, path: str | None = None, claim: str | None = None,
                 on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    """Apply a queued import, block by block; each block's rows, counts and rejections commit together.

    Idempotent: a redelivered task (same `claim`) resumes after the last committed block; any other
    caller finds the batch taken or done and changes nothing.
    """
    claim = claim or uuid.uuid4().hex
    now = timezone.now()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.APPLYING, claimed_by=claim, started_at=now, updated_at=now,
        rows_read=0, new=0, updated=0, unchanged=0, rejected=0, creators_created=0, resume_after_line=0,
        progress_done=0,
    )
    if claimed:
        ImportRejection.objects.filter(batch_id=batch_id).delete()  # the check's; the apply writes its own
    else:
        claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.APPLYING, claimed_by=claim).update(
            updated_at=now)
    batch = ImportBatch.objects.get(pk=batch_id)
    if not claimed:
        return batch
    return _run_pass(batch, path=path, dry_run=False, on_progress=on_progress)


def _reset_counts(batch: ImportBatch) -> None:
    ImportRejection.objects.filter(batch=batch).delete()
    ImportBatch.objects.filter(pk=batch.pk).update(rows_read=0, new=0, updated=0, unchanged=0, rejected=0,
                                                   creators_created=0, resume_after_line=0, progress_done=0)
    batch.refresh_from_db()


# ---------------------------------------------------------------- one pass over the file


def _file_path(batch: ImportBatch, path: str | None) -> str:
    return path or batch.file.path


def _run_pass(batch: ImportBatch, *, path: str | None, dry_run: bool, on_progress) -> ImportBatch:
    with translation.override(batch.language):
        try:
            _pass(batch, _file_path(batch, path), dry_run=dry_run, on_progress=on_progress)
        except _Superseded:
            logger.info("import #%s: another delivery is ahead; this one stops", batch.pk)
            return ImportBatch.objects.get(pk=batch.pk)
        except IngestRefused as refused:
            _finish(batch, ImportStatus.REFUSED, error=str(refused))
        except Exception as error:
            logger.exception("import #%s failed", batch.pk)
            _finish(batch, ImportStatus.FAILED, error=f"{error.__class__.__name__}: {error}")
            raise
        else:
            _finish(batch, ImportStatus.CHECKED if dry_run else ImportStatus.APPLIED)
    batch.refresh_from_db()
    return batch


def _pass(batch: ImportBatch, path: str, *, dry_run: bool, on_progress) -> None:
    shape = inspect(path, size=batch.size, encoding=batch.encoding, sheet=batch.sheet)
    mapping = header_map(shape.header)
    ImportBatch.objects.filter(pk=batch.pk).update(
        progress_total=shape.total, report={**batch.report, "file": shape.describe(), "mapping": mapping.to_json()})
    state = {"done": 0, "resume": batch.resume_after_line}

    def progress(done: int, total: int) -> None:
        state["done"] = done

    def on_block(result: BlockResult) -> None:
        # In the block's transaction: its rows, counts and rejections commit together, and only if
        # this delivery is still the one the batch is waiting on.
        moved = ImportBatch.objects.filter(pk=batch.pk, claimed_by=batch.claimed_by,
                                           resume_after_line=state["resume"]).update(
            rows_read=F("rows_read") + result.rows, new=F("new") + result.new, updated=F("updated") + result.updated,
            unchanged=F("unchanged") + result.unchanged, rejected=F("rejected") + result.rejected,
            creators_created=F("creators_created") + result.creators_created,
            resume_after_line=max(result.last_line, state["resume"]), progress_done=state["done"],
            updated_at=timezone.now(),
        )
        if not moved:
            raise _Superseded
        state["resume"] = max(result.last_line, state["resume"])
        if result.rejections is not None:
            _store_rejections(batch.pk, result)
        if on_progress is not None:
            on_progress(ImportBatch.objects.get(pk=batch.pk))

    ingest = Ingest(
        mapping=mapping,
        missing=batch.unknown_creators,
        dry_run=dry_run,
        date_format=batch.date_format or None,
        batch_id=None if dry_run else batch.pk,
        resume_after_line=batch.resume_after_line,
        on_block=on_block,
    )
    for block in read_blocks(path, shape, on_progress=progress):
        ingest.block(block)
    ImportBatch.objects.filter(pk=batch.pk).update(progress_done=shape.total)
    batch.refresh_from_db()
    if batch.rows_read == 0:
        raise IngestRefused(str(NO_DATA_ROWS))


def _store_rejections(batch_id: int, result: BlockResult) -> None:
    rows = []
    for line, cells, extra, reason in result.rejections.select("line", "cells", "extra", "reason").iter_rows():
        cells = list(cells) + (extra.split("\x1f") if extra else [])
        rows.append((batch_id, line, json.dumps(cells, ensure_ascii=False), reason))
    bulk.insert_rows(ImportRejection, ["batch_id", "line", "cells", "reason"], rows)


def _finish(batch: ImportBatch, status: str, *, error: str = "") -> None:
    now = timezone.now()
    fields = {"status": status, "error": error[:5000], "finished_at": now, "updated_at": now}
    if status == ImportStatus.APPLIED:
        earliest = ImportChange.objects.filter(batch=batch).aggregate(day=Min("first_changed_on"))["day"]
        judged = import_latest_judged_day()
        fields["earliest_changed_on"] = earliest
        fields["replay_from"] = earliest if earliest and judged and earliest <= judged else None
    if status == ImportStatus.CHECKED:
        batch.refresh_from_db()
        fields["report"] = {**batch.report, "check": _counts(batch)}
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)
    if status in (ImportStatus.APPLIED, ImportStatus.REFUSED) and batch.file:
        # What it held is in the database now (or could never be).
        batch.file.delete(save=False)
        ImportBatch.objects.filter(pk=batch.pk).update(file="")


def _counts(batch: ImportBatch) -> dict:
    return {name: getattr(batch, name) for name in
            ("rows_read", "new", "updated", "unchanged", "rejected", "creators_created")}


# ---------------------------------------------------------------- after the apply


def refresh_after_import(*, batch: ImportBatch, by=None, trigger: str = RunTrigger.STAFF,
                         announce: bool = True) -> RefreshRun:
    """Bring the tiers of the creators an import changed up to date with it, in this process; the
    last run. `announce`: tell the listeners (coaching) in this process too.

    When it changed only days no refresh had judged yet, that is today's refresh of just those
    creators. When it changed days already judged (batch.replay_from), their tiers and ledger must
    end as if the corrected data had arrived on time: a replay of those creators from that day.
    """
    batch.refresh_from_db()
    if batch.status != ImportStatus.APPLIED:
        raise ImportStateError(str(IMPORT_NOT_APPLIED).format(batch_id=batch.pk, status=batch.get_status_display()))
    changed = import_changed_ids(batch=batch)
    if not changed:
        raise ImportStateError(str(IMPORT_CHANGED_NOTHING).format(batch_id=batch.pk))
    if batch.replay_from is not None:
        run = replay_run_sync(from_date=batch.replay_from, influencer_ids=changed, by=by, announce=announce)[-1]
    else:
        run = refresh_run_sync(trigger=trigger, by=by, influencer_ids=changed, announce=announce)
    ImportBatch.objects.filter(pk=batch.pk).update(refresh_run=run, updated_at=timezone.now())
    return run


def refresh_after_import_request(*, batch: ImportBatch, by) -> None:
    """Staff ask for the refresh after an import: refused now (ImportStateError, RefreshAlreadyRunning)
    when it could not run, else queued for a worker after commit."""
    batch.refresh_from_db()
    if batch.status != ImportStatus.APPLIED:
        raise ImportStateError(str(IMPORT_NOT_APPLIED).format(batch_id=batch.pk, status=batch.get_status_display()))
    if not ImportChange.objects.filter(batch=batch).exists():
        raise ImportStateError(str(IMPORT_CHANGED_NOTHING).format(batch_id=batch.pk))
    running = RefreshRun.objects.filter(active=True).values_list("pk", flat=True).first()
    if running is not None:
        raise RefreshAlreadyRunning(running)
    from .tasks import import_refresh_task

    outbox.task_after_commit(import_refresh_task, batch.pk, by.pk if by else None)


def import_changed_ids(*, batch: ImportBatch) -> list[int]:
    """The creators an import changed (for the replay)."""
    return list(ImportChange.objects.filter(batch=batch).values_list("influencer_id", flat=True))


# ---------------------------------------------------------------- the rejected rows, as a file to fix

def rejected_rows_csv(*, batch: ImportBatch) -> Iterator[str]:
    """The rejected rows as CSV text (core.spreadsheets: formula-neutralised, with a BOM): `line` and `reason`,
    then the file's own columns (cells beyond them last). The import strips the guard again when it comes back."""
    header = list(batch.report.get("mapping", {}).get("header", []))
    with translation.override(batch.language):
        heads = [_("line"), _("reason")]
    rejections = ImportRejection.objects.filter(batch=batch).order_by("line").values_list("line", "cells", "reason")
    rows = ([line, reason, *map(str, cells)] for line, cells, reason in rejections.iterator(chunk_size=2_000))
    return csv_rows([*heads, *header], rows)


# ---------------------------------------------------------------- a file on this machine (the command)


def import_file(*, path: str, file_name: str | None = None, dry_run: bool = False, by=None,
                unknown_creators: str = UnknownCreators.CREATE, encoding: str = "", sheet: str = "",
                date_format: str = "", on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    """Check (dry_run) or apply a file in this process, recorded as an ImportBatch like an upload.

    ImportAlreadyRunning when the same file is being applied by someone else.
    """
    sha256, size = file_digest(path)
    batch = import_batch_create(
        file_name=file_name or path.rsplit("/", 1)[-1], sha256=sha256, size=size, source=ImportSource.COMMAND, by=by,
        unknown_creators=unknown_creators, encoding=encoding, sheet=sheet, date_format=date_format,
        confirmed=not dry_run,
    )
    if dry_run:
        return import_check(batch_id=batch.pk, path=path, on_progress=on_progress)
    return import_apply(batch_id=batch.pk, path=path, on_progress=on_progress)
