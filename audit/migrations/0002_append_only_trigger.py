"""On PostgreSQL the database itself refuses to change or delete an audit entry (a trigger), whoever asks."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only: entry % cannot be changed or deleted.', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no parameters: the % in RAISE is plpgsql's own

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_log")]

    # SQLite keeps the model's own refusals (save, delete, queryset update and delete); TRUNCATE, which
    # test databases are flushed with, fires no row trigger.
    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
