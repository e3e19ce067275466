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
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def launcher(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "PORT": str(port), "DEMO_INFLUENCERS": "300",
                "LADDER_HEALTH_TOKEN": HEALTH_TOKEN})
    proc = subprocess.Popen([sys.executable, "-m", "config.launcher"], cwd=BASE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
        proc.kill()
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

    # Ctrl-C stops every process the launcher started
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "ops / ladder-demo" in output
    still_running = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert still_running == []
