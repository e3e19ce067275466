"""Forms of the staff pages: validation only; writes go through services."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from .cells import date_format_from_option
from .choices import UnknownCreators
from .metric_files import FILE_EMPTY, FILE_TOO_BIG

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
