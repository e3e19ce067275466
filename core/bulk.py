"""Set-based loading of many rows at once: COPY on PostgreSQL, executemany elsewhere."""

import json
from collections.abc import Iterable, Sequence

from django.db import connection, models
from django.utils import timezone


def table_name(table: str | type[models.Model]) -> str:
    """The quoted name of a model's table, or of a table given by name (a staging table)."""
    name = table if isinstance(table, str) else table._meta.db_table
    return connection.ops.quote_name(name)


def insert_sql(table: str | type[models.Model], columns: Sequence[str]) -> str:
    """A parameterised INSERT of one row, for executemany."""
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {table_name(table)} ({', '.join(map(quote, columns))}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


def copy_text(table: str | type[models.Model], columns: Sequence[str], text: str | bytes, *, csv: bool = False) -> None:
    """PostgreSQL only: COPY rows already rendered as COPY text (tab-separated, \\N for null) or as CSV
    (empty unquoted for null)."""
    options = " WITH (FORMAT csv)" if csv else ""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table_name(table)} ({', '.join(map(quote, columns))}) FROM STDIN{options}") as copy:
            copy.write(text)


def insert_rows(table: str | type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Append rows of Python values: COPY on PostgreSQL, one executemany elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quote = connection.ops.quote_name
            with cursor.copy(f"COPY {table_name(table)} ({', '.join(map(quote, columns))}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(insert_sql(table, columns), list(rows))


def insert_objects(model: type[models.Model], objects: Sequence[models.Model], *, batch_size: int = 2_000) -> None:
    """Save new model instances in bulk, each given its primary key (as bulk_create would).

    PostgreSQL: ids drawn from the sequence, then one COPY, in which psycopg adapts the values itself (Django's
    bulk_create spends most of its time preparing every value of every row). Elsewhere: bulk_create. auto_now and
    auto_now_add fields are set to now, as save() would, and foreign keys to objects saved since are filled in.
    """
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=batch_size)
        return
    fields = model._meta.concrete_fields
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj, pk in zip(objects, reserve_ids(model, len(objects))):
        # As bulk_create does: a related object saved since this one was built lends it its id.
        obj._prepare_related_fields_for_save(operation_name="insert_objects")
        obj.pk = pk
        for attname in stamped:
            setattr(obj, attname, now)
        obj._state.adding, obj._state.db = False, connection.alias
    attnames = [f.attname for f in fields]
    encode = json_encoders(model, attnames)
    insert_rows(model, [f.column for f in fields],
                ([e(getattr(obj, a)) if e else getattr(obj, a) for e, a in zip(encode, attnames)] for obj in objects))


def json_encoders(model: type[models.Model], attnames: Sequence[str]) -> list:
    """Per column, json.dumps for the model's JSON fields (COPY takes their text) and None for the rest."""
    json_fields = {f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}
    return [json.dumps if attname in json_fields else None for attname in attnames]


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` primary keys for rows about to be loaded with their ids given, ascending.

    PostgreSQL draws them from the table's sequence, so concurrent writers never collide.
    Elsewhere (SQLite: one writer at a time) they follow the highest id in use.
    """
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table_name(model)}")
        first = cursor.fetchone()[0] + 1
    return list(range(first, first + count))


def foreign_keys_drop(child: type[models.Model], parent: type[models.Model]) -> list[tuple[str, str]]:
    """PostgreSQL: drop the foreign keys from `child` to `parent` for a big load; returns what
    `foreign_keys_restore` needs to add them back exactly as they were. Elsewhere: nothing.

    A deferred foreign key queues one check per loaded row and runs them at commit, which costs
    more than the load itself. As pg_restore does, constrain after loading: ADD CONSTRAINT checks
    every row in one join, and a failure rolls the whole transaction (drop included) back.
    """
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = %s::regclass AND confrelid = %s::regclass",
            [child._meta.db_table, parent._meta.db_table],
        )
        dropped = cursor.fetchall()
        for name, _definition in dropped:
            cursor.execute(f"ALTER TABLE {table_name(child)} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    return dropped


def foreign_keys_restore(child: type[models.Model], dropped: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        for name, definition in dropped:
            cursor.execute(f"ALTER TABLE {table_name(child)} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
