"""`/healthz`: is the database reachable, is the broker reachable, (?deep=1, staff or a token) do workers answer."""

import logging

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.celery_app import app as celery_app
from config.celery_app import health_queue

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2
WORKER_TIMEOUT_SECONDS = 5
# The deep check sends a task and waits for it: its answer is kept this long, so a monitor (or
# someone reloading) never fills the workers with probes nor ties up web workers waiting on them.
DEEP_CACHE_SECONDS = 15
DEEP_CACHE_KEY = "ladder:healthz:deep"
TOKEN_HEADER = "X-Health-Token"
OK, ERROR = "ok", "error"


def _state(name: str, probe) -> str:
    # The answer says only ok or error (anyone may read it); the detail, with hosts and ports, goes to the log.
    try:
        probe()
    except Exception as exc:
        logger.error("healthz: %s is down: %s: %s", name, exc.__class__.__name__, exc)
        return ERROR
    return OK


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    # The URL from the live Celery config, which is what tasks are actually sent to.
    client = redis.Redis.from_url(celery_app.conf.broker_url, socket_timeout=PROBE_TIMEOUT_SECONDS,
                                  socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()


def _worker() -> None:
    """Send a real task on the health queue and wait for a worker to run it against the database."""
    from .tasks import health_probe

    health_probe.apply_async(queue=health_queue(), retry=False).get(timeout=WORKER_TIMEOUT_SECONDS)


def database_state() -> str:
    return _state("database", _database)


def broker_state() -> str:
    return _state("broker", _broker)


def worker_state() -> str:
    return _state("worker", _worker)


def deep_allowed(request) -> bool:
    """Staff, or a caller (a monitor) that sends the token set in LADDER_HEALTH_TOKEN."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.LADDER_HEALTH_TOKEN
    return bool(token) and constant_time_compare(request.headers.get(TOKEN_HEADER, ""), token)


def _checks(deep: bool) -> dict[str, str]:
    checks = {"database": database_state(), "broker": broker_state()}
    if deep:
        checks["worker"] = worker_state() if checks["broker"] == OK else ERROR
    return checks


@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request):
    deep = request.GET.get("deep") == "1"
    if deep and not deep_allowed(request):
        return JsonResponse({"status": ERROR, "detail": "deep checks need a staff login or the health token"},
                            status=403)
    checks = cache.get(DEEP_CACHE_KEY) if deep else None
    if checks is None:
        checks = _checks(deep)
        if deep:
            cache.set(DEEP_CACHE_KEY, checks, DEEP_CACHE_SECONDS)
    healthy = all(state == OK for state in checks.values())
    return JsonResponse({"status": OK if healthy else ERROR, **checks}, status=200 if healthy else 503)
