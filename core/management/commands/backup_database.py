"""`manage.py backup_database FILE` and `--restore FILE --into DATABASE_URL`: the database's backup and its restore."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backups import BackupError, database_backup, database_restore


class Command(BaseCommand):
    help = ("Write a consistent backup of the database to FILE while the site runs (pg_dump's custom format on "
            "PostgreSQL, SQLite's backup API on SQLite); with --restore, restore FILE into the database --into names.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--restore", action="store_true", help="restore FILE instead of writing it")
        parser.add_argument("--into", default="", help="the database URL to restore into (required with --restore)")

    def handle(self, *args, file, restore, into, **options):
        try:
            if restore:
                if not into:
                    raise CommandError("--restore needs --into DATABASE_URL: the database to replace, named on purpose")
                database_restore(path=Path(file), database_url=into)
                self.stdout.write(f"restored {file} into {into.split('@')[-1]}")
            else:
                database_backup(path=Path(file))
                self.stdout.write(f"backed up to {file}")
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
