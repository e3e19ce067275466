"""Fixtures every app's tests share: the day a test runs on, the shipped defaults, the broker, a real Celery worker."""

import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.utils import timezone, translation
from hypothesis import settings as hypothesis_settings

from config.celery_app import app as celery_app
from config.embedded_redis import EmbeddedRedis, reachable
from config.processes import die_with_parent
from tiers.tests.factories import days_before

BASE_DIR = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"
WORKER_START_TIMEOUT_SECONDS = 60
WORKER_IDLE_TIMEOUT_SECONDS = 60

# Properties are judged on their results, not their speed: a loaded CI machine must not fail them
# on a deadline. CI explores the same examples on every run, so a red CI is reproducible.
hypothesis_settings.register_profile("ladder", deadline=None, print_blob=True, derandomize=IN_CI)
hypothesis_settings.load_profile("ladder")


def pytest_sessionstart(session):
    # CI exists to exercise the production engines; running it on SQLite would prove nothing.
    engine = settings.DATABASES["default"]["ENGINE"]
    if IN_CI and engine != "django.db.backends.postgresql":
        raise pytest.UsageError(f"CI=true but the database engine is {engine}; set DATABASE_URL to PostgreSQL.")


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's default language (Chinese); a request that switched it
    (Accept-Language, the language switcher) must not leak into the next test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def today() -> datetime.date:
    """The local date the test runs on, read once, so a test crossing midnight stays on one day."""
    return timezone.localdate()


@pytest.fixture
def days_ago(today):
    """days_ago(n): the date n days before `today`."""
    return days_before(today)


# The data migrations that ship defaults (policy, programmes, playbook) or convert them, each with
# its forward function, in the order migrating runs them.
SHIPPED = [
    ("tiers.migrations.0003_default_policy", "create_default_policy"),
    ("tiers.migrations.0010_default_policy_words", "reword"),
    ("coaching.migrations.0002_default_programmes", "create_programmes"),
    ("coaching.migrations.0003_default_playbook", "create_playbook"),
    ("coaching.migrations.0005_one_condition_language", "forwards"),
    ("coaching.migrations.0008_staff_groups", "create_staff_groups"),
    ("coaching.migrations.0010_analyst_role", "create_groups"),
]


@pytest.fixture
def shipped_defaults(transactional_db):
    """What migrating ships (content types, the default policy, programmes, playbook and staff groups), for a
    transactional test (a worker or browser test), which starts from a flushed database.

    Such tests do not use serialized rollback: after the browser tests it cannot be relied on
    (Playwright runs an event loop in the test thread, so Django hands later tests a fresh
    connection object without the serialized data), and a serialized test that follows a
    non-serialized one fails to restore content types the flush already recreated. Each step
    skips what already exists.
    """
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)  # content types, permissions
    for module, function in SHIPPED:
        getattr(importlib.import_module(module), function)(apps, None)


def _use_broker(url: str) -> None:
    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = url
    celery_app.conf.update(broker_url=url, result_backend=url)


@pytest.fixture(scope="session", autouse=True)
def redis_url():
    """The broker the tests talk to: REDIS_URL if set (required in CI), else an embedded server.

    Every session has one: starting a refresh, on any path, takes a lock in Redis.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        if not reachable(url):
            pytest.fail(f"REDIS_URL={url} is not reachable; start Redis (see the README).")
        _use_broker(url)
        yield url
        return
    if IN_CI:
        pytest.fail("CI=true but REDIS_URL is not set: CI must run against a real Redis.")
    with EmbeddedRedis() as server:
        _use_broker(server.url)
        yield server.url


def worker_queues(queue: str) -> tuple[str, str]:
    """A site's two queues: the default one and its batch queue (config.celery_app.batch_queue)."""
    return queue, f"{queue}.batch"


def waiting(redis_url: str, queue: str) -> int:
    """How many tasks wait in `queue` and its batch queue."""
    broker = redis.Redis.from_url(redis_url)
    return sum(broker.llen(name) for name in worker_queues(queue))


def wait_for(condition, what: str, timeout: float = 90):
    """Poll `condition` until it is truthy (returned) or `timeout` seconds pass (the test fails naming `what`)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.1)
    return result


def forget_queue(redis_url: str, queue: str) -> None:
    """Drop what a killed worker left unacknowledged for `queue` and its batch queue, so nobody restores it later."""
    client = redis.Redis.from_url(redis_url)
    for tag, payload in client.hscan_iter("unacked"):
        if json.loads(payload)[2] in worker_queues(queue):
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def start_worker(redis_url: str, *, queue: str, app: str = "config", concurrency: int = 2,
                 env: dict | None = None, args: tuple[str, ...] = (), batch: bool = True) -> tuple[subprocess.Popen, str]:
    """A real `celery worker` subprocess on the test database and broker, consuming `queue` and, with `batch`, its
    batch queue (`<queue>.batch`, as the worker's settings derive it); returns it and its hostname once it answers a
    ping. It runs in a process group of its own (so a test can kill the whole worker) and dies with the test process.
    `args`: more worker options (`-B`: with beat)."""
    name = f"ladder-test-{uuid.uuid4().hex[:8]}"
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "LADDER_TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
        **(env or {}),
    }
    if connection.vendor != "sqlite":
        worker_env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "-l", "warning", "-c", str(concurrency),
         "-n", f"{name}@%h", "-Q", ",".join(worker_queues(queue) if batch else (queue,)), "--without-gossip", "--without-mingle", *args],
        cwd=BASE_DIR,
        env=worker_env,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    while not (hostnames := [host for reply in celery_app.control.ping(timeout=0.5) for host in reply if name in host]):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Celery worker did not start (exit code {proc.poll()})")
    return proc, hostnames[0]


def stop_worker(proc: subprocess.Popen, redis_url: str, queue: str) -> None:
    """Stop a worker from start_worker and remove its queue, leaving a shared Redis as we found it."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    drop_queues(redis_url, queue)


def drop_queues(redis_url: str, queue: str) -> None:
    """Remove `queue`, its batch queue and their bindings, leaving a shared Redis as we found it."""
    redis.Redis.from_url(redis_url).delete(*(key for name in worker_queues(queue) for key in (
        name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")))


@pytest.fixture(autouse=True)
def _tasks_stay_with_their_test(request, monkeypatch, redis_url):
    """A test without the session's worker sends its tasks to a queue of its own that nobody consumes (dropped
    afterwards): the session worker, left running by an earlier test, must never run them while this test's
    database is flushed (the flush and a task's writes deadlock on PostgreSQL)."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    queue = f"ladder-unread-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    yield
    drop_queues(redis_url, queue)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url):
    """A real `celery worker` subprocess (prefork, 2 processes) on the test database and broker.

    Tests use it through `celery_worker`.
    """
    queue = settings.CELERY_TASK_DEFAULT_QUEUE  # this run's own queue (config/settings/test.py)
    # many small chunks, so both worker processes take some
    proc, hostname = start_worker(redis_url, queue=queue, env={"LADDER_CHUNK_SIZE": "3"})
    yield hostname
    stop_worker(proc, redis_url, queue)


def _worker_busy(hostname: str, broker: redis.Redis) -> bool:
    inspect = celery_app.control.inspect(destination=[hostname], timeout=1)
    running = [task for tasks in (inspect.active() or {}).values() for task in tasks]
    running += [task for tasks in (inspect.reserved() or {}).values() for task in tasks]
    # Looked at after the running tasks: a task sends what follows it before it counts as done.
    return bool(running or sum(broker.llen(name) for name in worker_queues(settings.CELERY_TASK_DEFAULT_QUEUE)))


@pytest.fixture
def celery_worker(celery_worker_process, redis_url):
    """The session's real worker, for one test; returns its hostname.

    Tests that use it must be `django_db(transaction=True)` so their rows are committed and
    visible to the worker; those that need the shipped policy or programmes add `shipped_defaults`.
    Afterwards it waits until the worker has finished the test's tasks, so the flush that ends
    the test never races a task still writing (on PostgreSQL that fails the flush).
    """
    yield celery_worker_process
    broker = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + WORKER_IDLE_TIMEOUT_SECONDS
    idle_checks = 0
    while idle_checks < 2:  # twice in a row: a task may be between the broker and the worker
        idle_checks = 0 if _worker_busy(celery_worker_process, broker) else idle_checks + 1
        if time.monotonic() > deadline:
            pytest.fail(f"the Celery worker was still busy {WORKER_IDLE_TIMEOUT_SECONDS} s after the test")
        time.sleep(0.2)
