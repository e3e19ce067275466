"""Dump and restore the whole database: pg_dump/pg_restore on PostgreSQL, SQLite's online backup API on a SQLite file."""

import os
import sqlite3
import subprocess
from pathlib import Path

import environ
from django.db import connections
from django.db.backends.postgresql.client import DatabaseClient

RESTORE_TIMEOUT_SECONDS = 6 * 60 * 60


class BackupError(Exception):
    pass


def _postgres_env(settings_dict: dict) -> tuple[list[str], dict]:
    """libpq connection flags and environment, as Django's own dbshell builds them: the password in PGPASSWORD
    (never on the command line), and the OPTIONS a DATABASE_URL may carry (sslmode, service, certificates)."""
    settings_dict = {"OPTIONS": {}, **settings_dict}
    args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    # args: the client's name, its -U/-h/-p flags, then the database name (which the callers pass themselves)
    flags = args[1:-1] if settings_dict.get("NAME") else args[1:]
    return flags, {**os.environ, **(env or {})}


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RESTORE_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def _sqlite_copy(source_path: str, target_path: str) -> None:
    # The backup API copies pages under SQLite's own locking: a plain file copy of a live WAL database can tear.
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def database_backup(*, path: Path, alias: str = "default") -> None:
    """A consistent copy of the live database, taken while the site runs."""
    connection = connections[alias]
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        flags, env = _postgres_env(settings_dict)
        # custom format: compressed, and pg_restore can restore it table by table or in parallel (--jobs)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), *flags, settings_dict["NAME"]], env)
    elif connection.vendor == "sqlite":
        _sqlite_copy(settings_dict["NAME"], str(path))
    else:
        raise BackupError(f"no backup for a {connection.vendor} database")


def database_restore(*, path: Path, database_url: str) -> None:
    """Restore a backup into the database `database_url` names (for PostgreSQL, an existing database: create
    it first), replacing what it holds."""
    if not Path(path).is_file():
        raise BackupError(f"no backup at {path}")
    target = environ.Env.db_url_config(database_url)
    if target["ENGINE"] == "django.db.backends.postgresql":
        flags, env = _postgres_env(target)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *flags,
              "--dbname", target["NAME"], str(path)], env)
    elif target["ENGINE"] == "django.db.backends.sqlite3":
        _sqlite_copy(str(path), target["NAME"])
    else:
        raise BackupError(f"cannot restore into {target['ENGINE']}")
