"""`make run`: migrate, load demo data, then web + Celery worker + beat in the foreground."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.embedded_redis import EmbeddedRedis, reachable
from config.processes import die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 10


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


def _spawn(name: str, argv: list[str]) -> tuple[str, subprocess.Popen]:
    # Each child leads its own process group, so stopping it also stops what it forked
    # (Celery's pool) and Ctrl-C reaches them only through us; die_with_parent covers our being killed.
    return name, subprocess.Popen(argv, cwd=BASE_DIR, start_new_session=True, preexec_fn=die_with_parent)


def _stop(children: list[tuple[str, subprocess.Popen]]) -> None:
    """SIGTERM to each child's process group, then wait for all of them (SIGKILL past the grace period).

    The caller stops the broker only after this returns: a worker or beat whose Redis went first logs a
    traceback for every connection it loses."""
    for _, proc in children:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for _, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    demo_size = os.environ.get("DEMO_INFLUENCERS", "5000")

    redis_server = None
    if os.environ.get("REDIS_URL"):
        if not reachable(os.environ["REDIS_URL"]):
            print(f"REDIS_URL={os.environ['REDIS_URL']} is not reachable.", file=sys.stderr)
            return 1
    else:
        redis_server = EmbeddedRedis().start()
        os.environ["REDIS_URL"] = redis_server.url

    children: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        _manage("migrate", "--noinput")
        _manage("ensure_schedules")
        _manage("seed_demo", "--influencers", demo_size, "--days", "90", "--if-empty")
        _manage("refresh_tiers", "--no-progress", "--history", "60")
        # The queues as the site derives them (the settings read the environment set above).
        from config.celery_app import app as celery_app
        from config.celery_app import batch_queue, health_queue

        default_queue = celery_app.conf.task_default_queue
        children = [
            _spawn("web", [PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"]),
            # Batch work (refresh, assignment, import and what-if chunks) has workers of its own; what people wait
            # for (notifications, the outbox, /healthz?deep=1's probe) has another, so it never waits behind chunks.
            _spawn("batch worker", [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "info", "-c", "2",
                                    "-n", "batch@%h", "-Q", batch_queue()]),
            _spawn("worker", [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "info", "-c", "1",
                              "-n", "interactive@%h", "-Q", f"{default_queue},{health_queue()}"]),
            _spawn("beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "-l", "info"]),
        ]
        site = f"http://{host}:{port}"
        print(
            f"\nLadder is running at {site}/\n"
            f"  ops desk: {site}/ops/   admin: {site}/admin/   plan: {site}/plan/   API: {site}/api/schema/swagger-ui/\n"
            f"  staff login:    ops / ladder-demo        (creator-ops: changes policies, pins, imports)\n"
            f"  analyst login:  analyst / ladder-demo    (reads everything ops read, changes nothing)\n"
            f"  creator logins: creator1 … creator20 / ladder-demo   (their growth plan at /plan/)\n"
            f"  broker: {os.environ['REDIS_URL']}{' (embedded)' if redis_server else ''}   health: {site}/healthz\n"
            f"Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while not stopping:
            exited = [name for name, proc in children if proc.poll() is not None]
            if exited:
                print(f"{', '.join(exited)} stopped; stopping the rest.", file=sys.stderr)
                break
            time.sleep(0.5)
    except subprocess.CalledProcessError as exc:
        print(f"setup step failed: {' '.join(map(str, exc.cmd))}", file=sys.stderr)
        return exc.returncode or 1
    finally:
        _stop(children)  # web, workers and beat first: the broker they talk to stops last
        if redis_server:
            redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
