"""Production settings refuse to start without secrets and pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "ladder.example.com",
    "DATABASE_URL": "postgres://ladder@db.internal:5432/ladder",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def _manage(*args, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_check_deploy_is_clean_when_required_variables_are_set():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


_ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.mark.skipif(not _ON_POSTGRESQL, reason="the pool is PostgreSQL's (CI runs it)")
def test_database_pool_max_size_gives_every_process_a_connection_pool_of_that_size():
    # given the site's database with a pool of three connections per process
    code = ("from django.db import connection\n"
            "answers = 0\n"
            "for _ in range(20):\n"
            "    with connection.cursor() as cursor:\n"
            "        cursor.execute('SELECT 1')\n"
            "        answers += cursor.fetchone()[0]\n"
            "    connection.close()\n"
            "pool = connection.pool\n"
            "print(type(pool).__name__, pool.max_size, answers, pool.get_stats().get('connections_num', 0))\n")

    # when a process asks twenty times, closing its connection after each (as a request does)
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"  # the suite's server; any database answers
    result = _manage("shell", "-c", code, env={"DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": server,
                                               "DATABASE_POOL_MAX_SIZE": "3"})

    # then the answers came through a pool of at most three connections, which closing returned to the pool
    assert result.returncode == 0, result.stderr
    kind, max_size, answered, opened = result.stdout.strip().splitlines()[-1].split()
    assert (kind, max_size, answered) == ("ConnectionPool", "3", "20")
    assert 1 <= int(opened) <= 3
