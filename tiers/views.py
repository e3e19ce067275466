"""Staff pages of the tier engine: importing metric files, with their check, progress and rejected rows."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.permissions import staff_may
from core.progress import progress_response

from .choices import IMPORT_RUNNING
from .forms import ImportUploadForm
from .imports import (
    ImportAlreadyRunning,
    ImportStateError,
    import_confirm,
    import_upload,
    refresh_after_import_request,
    rejected_rows_csv,
)
from .ingest import IngestRefused
from .metric_files import shape_text
from .models import ImportBatch
from .refresh import RefreshAlreadyRunning, RefreshError

IMPORT_PERMISSION = "tiers.import_metrics"
RECENT_IMPORTS = 20
SHOWN_REJECTIONS = 20  # on the page; all of them in the CSV


importer_required = staff_may(IMPORT_PERMISSION,
                              message=gettext_lazy("Importing metric files needs the permission to import them."))


@importer_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    """The upload form and the latest imports."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = import_upload(upload=data["file"], by=request.user, unknown_creators=data["unknown_creators"],
                                  encoding=data["encoding"].strip(), sheet=data["sheet"].strip(),
                                  date_format=data["date_format"])
        except IngestRefused as refused:
            form.add_error("file", str(refused))
        else:
            messages.success(request, _("Uploaded. Import #%(id)s is being checked; nothing is imported until you "
                                        "confirm.") % {"id": batch.pk})
            return redirect("tiers:import_detail", batch_id=batch.pk)
    batches = ImportBatch.objects.select_related("requested_by")[:RECENT_IMPORTS]
    return render(request, "tiers/imports.html", {"form": form, "batches": batches})


@importer_required
@require_GET
def import_detail(request, batch_id: int):
    """One import: its check report, then its progress, counts and rejected rows. htmx polls the
    batch fragment while a worker is on it and stops when it is done."""
    batch = get_object_or_404(ImportBatch.objects.select_related("requested_by", "refresh_run"), pk=batch_id)
    running = batch.status in IMPORT_RUNNING
    context = {"batch": batch, "running": running, "shape": shape_text(batch.report.get("file")),
               "rejections": [] if running else list(batch.rejections.order_by("line")[:SHOWN_REJECTIONS])}
    return progress_response(request, "tiers/import_detail.html", "batch", context, running=running)


@importer_required
@require_POST
def import_apply(request, batch_id: int):
    """Staff confirm a checked import: a worker applies it."""
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    try:
        import_confirm(batch=batch, by=request.user)
    except ImportAlreadyRunning as running:
        messages.error(request, _("Import #%(id)s of the same file is already running.") % {"id": running.batch_id})
    except ImportStateError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Queued: import #%(id)s is applied by a worker now.") % {"id": batch.pk})
    return redirect("tiers:import_detail", batch_id=batch.pk)


@importer_required
@require_POST
def import_refresh(request, batch_id: int):
    """Staff ask to bring the tiers of the creators an import changed up to date."""
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    try:
        refresh_after_import_request(batch=batch, by=request.user)
    except RefreshAlreadyRunning as running:
        messages.error(request, _("Refresh #%(id)s is still running; try again when it has finished.")
                       % {"id": running.run_id})
    except (ImportStateError, RefreshError) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Queued: the creators import #%(id)s changed are refreshed by a worker now.")
                         % {"id": batch.pk})
    return redirect("tiers:import_detail", batch_id=batch.pk)


@importer_required
@require_GET
def import_rejected(request, batch_id: int):
    """The rejected rows as a CSV to fix and upload again."""
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    response = StreamingHttpResponse(rejected_rows_csv(batch=batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-rejected.csv"'
    return response
