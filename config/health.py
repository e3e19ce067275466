"""`/healthz`: is the database reachable, is the broker reachable, (with ?deep=1) do workers answer."""

import redis
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app as celery_app

PROBE_TIMEOUT_SECONDS = 2
WORKER_TIMEOUT_SECONDS = 10


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the message says which
        return f"error: {exc.__class__.__name__}: {exc}"
    return "ok"


def broker_state() -> str:
    # Read the URL from the live Celery config, which is what tasks are actually sent to.
    client = redis.Redis.from_url(
        celery_app.conf.broker_url,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {exc.__class__.__name__}: {exc}"
    finally:
        client.close()
    return "ok"


def worker_state() -> str:
    """Send a real task and wait for a worker to run it against the database."""
    from tiers.tasks import count_influencers

    try:
        count_influencers.delay().get(timeout=WORKER_TIMEOUT_SECONDS)
    except Exception as exc:  # timeout or broker error: either way no worker answered
        return f"error: {exc.__class__.__name__}: {exc}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_state(), "broker": broker_state()}
    if request.GET.get("deep") == "1" and checks["broker"] == "ok":
        checks["worker"] = worker_state()
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
