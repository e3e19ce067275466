"""What every admin page shares: actions refused with 403, JSON without NaN, read-only models, service refusals shown, counts estimated."""

import json
import math

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, connections, models
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .validation import ServiceError

# Words of Django's own admin pages (the column heads of its model lists, for screen readers) that
# Django's Chinese catalogue lacks: listed here so our catalogue keeps their Chinese.
DJANGO_ADMIN_WORDS = (gettext_noop("Model name"), gettext_noop("Add link"), gettext_noop("Change or view list link"))

JSON_NOT_FINITE = _("NaN and Infinity are not numbers JSON can hold; write a number.")
JSON_NUL = _("Text in JSON cannot contain the NUL character (\\u0000).")
JSON_TOO_DEEP = _("This JSON is nested too deeply.")
LIST_PARAMETERS_INVALID = _("That filter, sort or page does not exist; the whole list is shown instead.")
SELECTION_INVALID = _("The selection names rows that cannot exist; nothing was changed.")


def _json_problem(value) -> str | None:
    """What in parsed JSON a database would refuse: NaN or infinity (Python's json reads both) or a
    NUL in text (PostgreSQL's jsonb cannot hold it); None when there is nothing."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "not_finite"
        if isinstance(item, str) and "\x00" in item:
            return "nul"
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def could_be_pk(field, value) -> bool:
    """`value` is a valid value of the primary-key `field` that the database can compare (SQLite
    fails outright on an integer beyond 64 bits)."""
    try:
        value = field.to_python(value)
    except ValidationError:
        return False
    if isinstance(value, int):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        return (low is None or value >= low) and (high is None or value <= high)
    return True


class StrictJSONField(forms.JSONField):
    """A JSON form field that accepts only what every database stores and reads back: no NaN or
    Infinity (nor 1e999, which parses as infinity), no NUL in text, no nesting deep enough to break
    the parser."""

    default_error_messages = {"not_finite": JSON_NOT_FINITE, "nul": JSON_NUL, "too_deep": JSON_TOO_DEEP}

    def to_python(self, value):
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(self.error_messages["too_deep"], code="too_deep") from None
        if problem := _json_problem(converted):
            raise forms.ValidationError(self.error_messages[problem], code=problem)
        return converted

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)  # shown back as typed, with the error


class StrictModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows that refuses ids no row can have before it asks the database."""

    def _check_values(self, value):
        model = self.queryset.model
        field = model._meta.get_field(self.to_field_name) if self.to_field_name else model._meta.pk
        for item in value:
            if not could_be_pk(field, item):
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": item})
        return super()._check_values(value)


FORM_FIELDS = {
    models.JSONField: {"form_class": StrictJSONField},
    models.ManyToManyField: {"form_class": StrictModelMultipleChoiceField},
}


class StaffAdminMixin:
    """The rules every model admin follows (the permission test walks the registry to hold them to it).

    - An action the user may not run answers 403. (Django's own answer is to re-show the list as
      if no action had been chosen, which tells staff nothing.) A selection of ids that cannot
      exist answers 400 (Django would fail on it with a 500).
    - JSON fields refuse NaN and Infinity with a form error; a multiple choice refuses impossible ids.
    - A service that refuses a save the form had already passed (another request got there first)
      is shown as an error message; the transaction rolled back, so nothing changed.
    - A filter, sort or page that does not exist shows the whole list with a message.
    """

    formfield_overrides = FORM_FIELDS

    def changelist_view(self, request, extra_context=None):
        actions = request.POST.getlist("action") if request.method == "POST" else []
        if actions:
            # _get_base_actions: every action the admin declares, before the permission filter.
            declared = {name for _func, name, _description in self._get_base_actions()}
            allowed = self.get_actions(request)
            if any(action in declared and action not in allowed for action in actions):
                raise PermissionDenied
            if not all(could_be_pk(self.opts.pk, value) for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
                return HttpResponseBadRequest(SELECTION_INVALID)
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request):
        try:
            # No database stores a NUL in text (PostgreSQL refuses the query), and no link has one.
            if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
                raise IncorrectLookupParameters("NUL in the query string")
            # OverflowError: a date-hierarchy year beyond any date, which Django does not catch.
            return super().get_changelist_instance(request)
        except (IncorrectLookupParameters, OverflowError) as exc:
            self.message_user(request, LIST_PARAMETERS_INVALID, messages.ERROR)
            raise IncorrectLookupParameters(exc) from exc  # Django answers with the plain list

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
    """What inlines share with StaffAdmin: JSON without NaN, multiple choices without impossible ids."""

    formfield_overrides = FORM_FIELDS


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


# Below this many estimated rows an exact COUNT(*) is cheap, so we do it.
EXACT_COUNT_BELOW = 20_000


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, read the planner's row estimate; count exactly only when it is small."""

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:
            return 0  # a filter nothing can match, e.g. an id beyond the column's range
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        return super().count if estimate < EXACT_COUNT_BELOW else estimate
