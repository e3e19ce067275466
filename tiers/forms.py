"""Forms of the staff pages: validation only; writes go through services."""

import tempfile
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.utils import timezone
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from . import metric_files
from .cells import date_format_from_option
from .choices import OVERRIDE_VALUE_CHOICES, OverrideField, UnknownCreators
from .ingest import IngestRefused
from .metric_files import FILE_EMPTY, FILE_TOO_BIG
from .models import Influencer
from .services import BULK_OVERRIDE_NONE, override_problems

DATE_FORMAT_INVALID = _("Name the year, month and day, for example MM/DD/YYYY or %m/%d/%Y.")


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("Metric file (CSV or XLSX)"), allow_empty_file=True)
    unknown_creators = forms.ChoiceField(label=_("Creators Ladder does not know yet"), choices=UnknownCreators.choices,
                                         initial=UnknownCreators.CREATE, widget=forms.RadioSelect)
    encoding = forms.CharField(label=_("Text encoding"), required=False, max_length=32,
                               help_text=_("Leave blank to detect it (UTF-8, GBK/GB18030, …)."))
    sheet = forms.CharField(label=_("Sheet (XLSX)"), required=False, max_length=128,
                            help_text=_("Leave blank for the first sheet."))
    date_format = forms.CharField(label=_("Date format"), required=False, max_length=32,
                                  help_text=_("Only for dates like 11/24/2026: MM/DD/YYYY or DD/MM/YYYY."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError(FILE_EMPTY)
        if upload.size > settings.LADDER_IMPORT_MAX_BYTES:
            raise forms.ValidationError(str(FILE_TOO_BIG).format(
                size=filesizeformat(upload.size), limit=filesizeformat(settings.LADDER_IMPORT_MAX_BYTES)))
        return upload

    def clean_date_format(self):
        value = self.cleaned_data["date_format"].strip()
        if value:
            try:
                date_format_from_option(value)
            except ValueError:
                raise forms.ValidationError(DATE_FORMAT_INVALID) from None
        return value


BULK_IDS_INVALID = _("The selection is not a list of creator numbers.")
EXPIRY_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class OverrideProblemsForm:
    """Mixin: override_create's own checks run in clean(), each on its field, so a mistake is a form error."""

    def clean(self):
        cleaned = super().clean()
        problems = override_problems(field=cleaned.get("field"), value=cleaned.get("value"),
                                     reason=cleaned.get("reason") or "", expires_at=cleaned.get("expires_at"),
                                     now=timezone.now())
        for name, problem in problems.items():
            if name not in self.errors:  # a field's own error (not a choice, required) says it already
                self.add_error(name, problem)
        return cleaned


class OverrideForm(OverrideProblemsForm, forms.Form):
    """Pin a tier or type with a reason and an expiry; override_create's own checks run here, on their field."""

    field = forms.ChoiceField(label=_("Pin"), choices=OverrideField.choices)
    value = forms.ChoiceField(label=_("to"), choices=OVERRIDE_VALUE_CHOICES)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    expires_at = forms.DateTimeField(label=_("Expires at"), required=False, input_formats=EXPIRY_FORMATS,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format="%Y-%m-%dT%H:%M"),
                                     help_text=_("Empty: until someone ends it."))


class BulkOverrideForm(OverrideForm):
    """Pin the tier or type of many creators: chosen in the creator list (`ids`) or listed in a file."""

    unknown: list[str] = []

    file = forms.FileField(label=_("Or a list of creators (CSV or XLSX with a 达人ID / platform_id column)"),
                           required=False)
    ids = forms.CharField(widget=forms.HiddenInput, required=False)
    token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def clean_ids(self):
        text = self.cleaned_data["ids"].strip()
        if not text:
            return []
        try:
            return sorted({int(part) for part in text.split(",")})
        except ValueError:
            raise forms.ValidationError(BULK_IDS_INVALID) from None

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload and "file" not in self.errors:
            try:
                cleaned["ids"], self.unknown = _creators_in_file(upload)
            except IngestRefused as refused:
                self.add_error("file", str(refused))
        if not self.errors and not cleaned.get("ids"):
            self.add_error("file" if upload else None, BULK_OVERRIDE_NONE)
        return cleaned


def _creators_in_file(upload) -> tuple[list[int], list[str]]:
    """(creator pks, ids naming no creator) of an uploaded list, read by the metric files' reader."""
    with tempfile.NamedTemporaryFile(suffix=PurePath(upload.name).suffix[:8]) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        platform_ids = metric_files.platform_ids(copy.name, size=upload.size)
    found = {}
    for start in range(0, len(platform_ids), 10_000):  # under every engine's limit of query parameters
        part = platform_ids[start:start + 10_000]
        found.update(Influencer.objects.filter(platform_id__in=part).values_list("platform_id", "pk"))
    return sorted(found.values()), [pid for pid in platform_ids if pid not in found]
