"""The steps measured at scale beside the tier steps: the Celery refresh on 1 and 2 worker processes, and pages under
load (wrk against gunicorn)."""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid

import psutil
import redis

from .api import BASE_DIR, Gunicorn

LOAD_SECONDS = 20
LOAD_CONNECTIONS = 8


class Worker:
    """A `celery worker` with `processes` pool processes on the bench database, consuming a fresh queue and its batch
    queue, for the duration of a `with`; samples the peak RSS of the worker and its pool."""

    def __init__(self, env: dict, processes: int):
        self.queue = f"ladder-bench-{uuid.uuid4().hex[:8]}"
        self.env = {**env, "CELERY_QUEUE": self.queue}
        self.processes = processes
        self.peak_mb = 0.0

    def __enter__(self):
        # The worker's own output goes to bench-results/, so the bench prints only its figures.
        log = BASE_DIR / "bench-results" / f"worker-{self.processes}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", str(self.processes),
                 "-n", f"{self.queue}@%h", "-Q", f"{self.queue},{self.queue}.batch", "--without-gossip",
                 "--without-mingle"], cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self):
        parent = psutil.Process(self.process.pid)
        while not self._stop.wait(0.5):
            try:
                for proc in (parent, *parent.children(recursive=True)):
                    self.peak_mb = max(self.peak_mb, proc.memory_info().rss / 2**20)
            except psutil.Error:
                pass

    def __exit__(self, *exc):
        self._stop.set()
        self.process.terminate()
        self.process.wait(timeout=60)
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        client.delete(*(key for name in (self.queue, f"{self.queue}.batch")
                        for key in (name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")))


def celery_refresh(env: dict, stage, processes: int) -> dict:
    """A refresh with nothing changed, run by a worker with `processes` processes (chunks in parallel)."""
    with Worker(env, processes) as worker:
        time.sleep(3)  # the worker's pool up before the clock starts
        result = stage("refresh_celery", env, worker.queue)
        return {**result, "worker_peak_mb": worker.peak_mb}


def _wrk() -> str | None:
    """Debian's wrk, installed with apt when missing and we may (as `make test` installs chromium)."""
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    return shutil.which("wrk")


_P50 = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _load(wrk: str, url: str, cookie: str | None) -> dict:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run([wrk, "-t", "2", "-c", str(LOAD_CONNECTIONS), "-d", f"{LOAD_SECONDS}s", "--latency", *headers,
                          url], check=True, capture_output=True, text=True).stdout
    value, unit = _P50.search(out).groups()
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors under load:\n{out}")
    return {"p50_ms": float(value) * _UNIT[unit], "rps": float(_RPS.search(out).group(1))}


def web_load(env: dict, stage) -> dict | None:
    """/healthz and a creator's /plan/ under concurrent load against gunicorn (2 workers): p50 of each."""
    wrk = _wrk()
    if wrk is None:
        print("wrk is not installed (apt-get install wrk): the load test is left out")
        return None
    cookie = stage("creator_session", env)["cookie"]
    with Gunicorn({**env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}, workers=2) as server:
        base = f"http://127.0.0.1:{server.port}"
        _load(wrk, f"{base}/plan/", cookie)  # warm: each gunicorn worker's first requests
        health = _load(wrk, f"{base}/healthz", None)
        plan = _load(wrk, f"{base}/plan/", cookie)
    return {"health": health, "plan": plan}
