"""CHECK conditions over JSON columns that read the same on SQLite and PostgreSQL."""

from django.db.models import CharField, Func, Q, Value
from django.db.models.functions import Replace
from django.db.models.lookups import Exact


class JSONType(Func):
    """The JSON type of a value; both engines name "object" and "array" alike (SQLite: json_type,
    PostgreSQL: jsonb_typeof)."""

    function = "json_type"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="jsonb_typeof", **extra_context)


class JSONText(Func):
    """A JSON value as compact text: SQLite's json() minifies it; PostgreSQL's jsonb text has one
    space after each separator, which `is_list_of` strips anyway."""

    function = "json"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)::text", **extra_context)


def is_json(field: str, json_type: str) -> Exact:
    """The column holds a JSON `json_type` ("object" or "array")."""
    return Exact(JSONType(field), json_type)


def is_list_of(field: str, values) -> Q:
    """The column holds a JSON list whose items are all among `values` (strings).

    Neither engine allows a subquery in a CHECK, so the list is not expanded: each known value,
    quoted, is deleted from the list's text, then the separators; only a list of known values
    leaves exactly "[]". Anything else (a number, an unknown or padded string, a nested list)
    leaves a character behind.
    """
    text = JSONText(field)
    for value in values:
        text = Replace(text, Value(f'"{value}"'), Value(""))
    for separator in (",", " "):
        text = Replace(text, Value(separator), Value(""))
    return Q(is_json(field, "array"), Exact(text, "[]"))
