"""The metrics/bulk bench: rows posted to the API on gunicorn, 10,000 a request, timed against COPY of the same rows."""

import datetime
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
ROWS_PER_REQUEST = 10_000
DAYS = 30  # as the import bench: rows / 30 new creators ('imp-…', so the import's COPY floor and reset apply)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request_rows(start: int, count: int, yesterday: datetime.date) -> list[dict]:
    """Rows start … start+count-1 of the bench's data set, as a pipeline sends them: JSON numbers, a category word."""
    rng = np.random.default_rng(start)
    index = np.arange(start, start + count)
    creator, day = index // DAYS, index % DAYS
    live, video, store = (np.round(rng.random(count) * scale, 2) for scale in (50_000, 20_000, 20_000))
    followers, orders = rng.integers(0, 5_000_000, count), rng.integers(0, 1_000, count)
    reputation, refund = np.round(3 + rng.random(count) * 2, 2), np.round(rng.random(count) * 0.2, 4)
    days = [(yesterday - datetime.timedelta(days=DAYS - 1 - k)).isoformat() for k in range(DAYS)]
    return [
        {"platform_id": f"imp-{c:07d}", "handle": f"导入达人{c}", "date": days[d], "main_category": "美妆",
         "followers": int(f), "gmv": round(float(lv + vi + st), 2), "live_gmv": float(lv), "video_gmv": float(vi),
         "storefront_gmv": float(st), "orders": int(o), "reputation_score": float(r), "refund_rate": float(rf)}
        for c, d, f, lv, vi, st, o, r, rf in zip(creator.tolist(), day.tolist(), followers, live, video, store, orders,
                                                 reputation, refund)
    ]


class Gunicorn:
    """gunicorn serving the site on a free loopback port, for the duration of a `with`."""

    def __init__(self, env: dict, workers: int = 2):
        self.env, self.workers, self.port = env, workers, free_port()

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(self.workers), "--timeout", "600", "--log-level", "warning"], cwd=BASE_DIR, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited at start") from None
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start within 60 s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def post_all(port: int, token: str, rows: int) -> dict:
    """POST every row, 10,000 a request, one request at a time; only the requests are timed."""
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    totals = {"new": 0, "updated": 0, "unchanged": 0, "creators_created": 0}
    seconds = 0.0
    for start in range(0, rows, ROWS_PER_REQUEST):
        body = json.dumps({"rows": request_rows(start, min(ROWS_PER_REQUEST, rows - start), yesterday)},
                          ensure_ascii=False).encode()
        started = time.perf_counter()
        connection.request("POST", "/api/v1/metrics/bulk/", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        seconds += time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"metrics/bulk answered {response.status}: {answer[:500]!r}")
        result = json.loads(answer)
        for name in totals:
            totals[name] += result[name]
    connection.close()
    return {"seconds": seconds, **totals}


def api_bulk(env: dict, rows: int, stage) -> None:
    """Post `rows` rows through metrics/bulk to gunicorn, COPY the same rows, post them again (all unchanged)."""
    stage("import_reset", env)
    token = stage("api_token", env)["token"]
    server_env = {**env, "LADDER_API_RATE_TOKEN": "1000000/min", "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    with Gunicorn(server_env) as server:
        first = post_all(server.port, token, rows)
        floor = stage("import_copy_floor", env)
        again = post_all(server.port, token, rows)
    stage("import_reset", env)
    copy_seconds = floor["copy_seconds"]
    print(f"\nmetrics/bulk on gunicorn (2 workers, one client): {rows:,} rows, {ROWS_PER_REQUEST:,} a request, "
          f"{first['creators_created']:,} new creators")
    print(f"{'step':40} {'seconds':>9} {'rows/s':>10} {'× COPY':>8}")
    print(f"{'COPY of the same rows, same table':40} {copy_seconds:9.2f} {rows / copy_seconds:10,.0f} {1.0:8.2f}")
    for name, result in (("metrics/bulk (all new)", first), ("metrics/bulk again (all unchanged)", again)):
        print(f"{name:40} {result['seconds']:9.2f} {rows / result['seconds']:10,.0f} "
              f"{result['seconds'] / copy_seconds:8.2f}")
    print(f"first pass: {first['new']:,} new; second: {again['unchanged']:,} unchanged, "
          f"{again['new'] + again['updated']:,} written")


