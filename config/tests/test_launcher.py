"""`make run`'s launcher on embedded defaults: serves, runs tasks, and Ctrl-C leaves nothing behind."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from config.embedded_redis import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT_SECONDS = 180


HEALTH_TOKEN = "launcher-test-token"


def _get(url, timeout=15, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def launcher(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "PORT": str(port), "DEMO_INFLUENCERS": "300",
                "LADDER_HEALTH_TOKEN": HEALTH_TOKEN})
    # In a process group of its own, as `make run` is in a terminal, so Ctrl-C can be sent to the whole group.
    proc = subprocess.Popen([sys.executable, "-m", "config.launcher"], cwd=BASE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            if _get(f"{base_url}/healthz", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"make run did not come up:\n{proc.stdout.read()}")
        time.sleep(0.5)
    yield proc, base_url
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_make_run_serves_health_admin_and_a_worker_on_embedded_defaults(launcher):
    proc, base_url = launcher
    # The site answers before every process is up (the workers start their pools on their own time).
    deadline = time.monotonic() + 60
    while len(descendants := psutil.Process(proc.pid).children(recursive=True)) < 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(descendants) >= 5  # redis-server, web, batch worker (+ its pool), the interactive worker, beat

    # the deep check's probe is answered by the health queue's own worker
    status, body = _get(f"{base_url}/healthz?deep=1", timeout=30, headers={"X-Health-Token": HEALTH_TOKEN})
    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "database": "ok", "broker": "ok", "worker": "ok"}

    status, body = _get(f"{base_url}/admin/login/")
    assert status == 200
    assert 'name="username"' in body
    status, _ = _get(f"{base_url}/favicon.ico")
    assert status == 200

    # Ctrl-C in a terminal reaches the whole foreground process group: every process the launcher started stops,
    # the workers and beat before the broker they talk to, so a clean stop prints no traceback
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    for login in ("ops / ladder-demo", "analyst / ladder-demo", "creator1 … creator20 / ladder-demo"):
        assert login in output
    assert f"{base_url}/ops/" in output
    still_running = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert still_running == []
