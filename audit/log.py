"""Writing the audit log: `record` inside the action's transaction, `snapshot` for before/after."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

OUTSIDE_TRANSACTION = "audit.record must run inside the action's transaction, so both commit or neither does."
REPR_LENGTH = 200


def _plain(value):
    """`value` as JSON the database stores (dates, decimals and UUIDs as text)."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(obj: models.Model, fields=None) -> dict:
    """The object's stored columns (or only `fields`) as JSON: what `before` and `after` hold."""
    data = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = field.value_from_object(obj)
        if isinstance(value, (bytes, memoryview)):
            continue
        if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
            value = value.name
        data[field.attname] = value
    return _plain(data)


def record(*, actor, action: str, obj: models.Model | None = None, object_type: str = "", object_id="",
           object_repr: str = "", before=None, after=None, reason: str = ""):
    """Append one entry: `actor` (a user, or None for a job) did `action` to `obj` (or the object named by
    `object_type`/`object_id`). Raises when called outside a transaction: an entry commits with its action."""
    from .models import AuditEntry

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(OUTSIDE_TRANSACTION)
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor, actor_name=actor.get_username() if actor else "", action=action, object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id), object_repr=str(object_repr)[:REPR_LENGTH],
        before=_plain(before), after=_plain(after), reason=reason or "",
    )
