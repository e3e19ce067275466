"""What every admin page shares: actions refused with 403, JSON without NaN, read-only models, service refusals shown."""

import json
import math

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from .services import ServiceError

JSON_NOT_FINITE = _("NaN and Infinity are not numbers JSON can hold; write a number.")
JSON_TOO_DEEP = _("This JSON is nested too deeply.")
LIST_PARAMETERS_INVALID = _("That filter, sort or page does not exist; the whole list is shown instead.")


def _finite(value) -> bool:
    """No float in the parsed JSON is NaN or infinite (Python's json reads both; PostgreSQL refuses them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


class StrictJSONField(forms.JSONField):
    """A JSON form field that accepts only what every database stores and reads back: no NaN or
    Infinity (nor 1e999, which parses as infinity), no nesting deep enough to break the parser."""

    default_error_messages = {"not_finite": JSON_NOT_FINITE, "too_deep": JSON_TOO_DEEP}

    def to_python(self, value):
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(self.error_messages["too_deep"], code="too_deep") from None
        if not _finite(converted):
            raise forms.ValidationError(self.error_messages["not_finite"], code="not_finite")
        return converted

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)  # shown back as typed, with the error


JSON_FORM_FIELD = {models.JSONField: {"form_class": StrictJSONField}}


class StaffAdminMixin:
    """The rules every model admin follows (the permission test walks the registry to hold them to it).

    - An action the user may not run answers 403. (Django's own answer is to re-show the list as
      if no action had been chosen, which tells staff nothing.)
    - JSON fields refuse NaN and Infinity with a form error.
    - A service that refuses a save the form had already passed (another request got there first)
      is shown as an error message; the transaction rolled back, so nothing changed.
    - A filter, sort or page that does not exist shows the whole list with a message.
    """

    formfield_overrides = JSON_FORM_FIELD

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        # _get_base_actions: every action the admin declares, before the permission filter.
        declared = {name for _func, name, _description in self._get_base_actions()}
        if action in declared and action not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, LIST_PARAMETERS_INVALID, messages.ERROR)
            raise  # Django answers with the plain list

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class StaffAdmin(StaffAdminMixin, admin.ModelAdmin):
    """The base of Ladder's model admins."""


class ReadOnlyAdmin(StaffAdmin):
    """Rows written only by jobs, imports and services: staff read them; nobody adds, edits or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StaffInlineMixin:
    """What inlines share with StaffAdmin: JSON without NaN."""

    formfield_overrides = JSON_FORM_FIELD


class ReadOnlyInline(StaffInlineMixin, admin.TabularInline):
    """Rows shown on a parent's page, never added, edited or deleted there; `related` are joined."""

    extra = 0
    can_delete = False
    show_change_link = True
    related: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.related)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StaffTabularInline(StaffInlineMixin, admin.TabularInline):
    """An editable table of rows on a parent's page."""


class StaffStackedInline(StaffInlineMixin, admin.StackedInline):
    """Editable rows on a parent's page, one block each."""
