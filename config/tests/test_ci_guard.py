"""In CI a missing PostgreSQL or Redis fails the run; it never skips."""

import os
import subprocess
import sys
from pathlib import Path

from config.embedded_redis import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
A_TEST_NEEDING_BOTH = "core/tests/test_health.py::test_healthz_is_ok_when_database_and_broker_answer"


def _pytest_in_ci(**env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(CI="true", **env)
    return subprocess.run([sys.executable, "-m", "pytest", A_TEST_NEEDING_BOTH, "-p", "no:cacheprovider"],
                          cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=180)


def test_ci_fails_when_redis_is_unreachable():
    result = _pytest_in_ci(DATABASE_URL="postgres://postgres@127.0.0.1:5432/ladder",
                           REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")

    assert result.returncode != 0
    assert "is not reachable" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_ci_fails_when_postgresql_is_unreachable():
    result = _pytest_in_ci(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/ladder",
                           REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")

    assert result.returncode != 0
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_ci_refuses_to_run_on_sqlite():
    result = _pytest_in_ci(DATABASE_URL="sqlite:////tmp/ladder-ci-guard.sqlite3")

    assert result.returncode != 0
    assert "set DATABASE_URL to PostgreSQL" in result.stdout + result.stderr
