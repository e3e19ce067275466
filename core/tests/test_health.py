"""`/healthz` says ok or error for the database and the broker; ?deep=1 (staff or a token, cached) has a worker answer on its own queue."""

import logging
import uuid

import pytest
from django.core.cache import cache

from config.celery_app import app as celery_app
from config.celery_app import health_queue
from config.embedded_redis import free_port
from conftest import start_worker, stop_worker
from core.health import DEEP_CACHE_SECONDS, TOKEN_HEADER

TOKEN = "monitor-token-for-tests"


@pytest.fixture(autouse=True)
def _no_cached_deep_check():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def probes(monkeypatch):
    """The worker probes the deep check sends (none leaves the process); each answers ok."""
    sent = []
    monkeypatch.setattr("core.health._worker", lambda: sent.append("probe"))
    return sent


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_broker_answer(client, redis_url):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_head_as_load_balancers_ask(client, redis_url):
    assert client.head("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_broker_without_telling_where_it_is(client, redis_url, monkeypatch, caplog):
    # given a broker URL where nothing listens
    port = free_port()
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")

    with caplog.at_level(logging.ERROR, logger="core.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "error"}
    assert str(port) not in response.content.decode()
    # the detail is for the operators' log
    assert any("broker is down: ConnectionError" in r.getMessage() and str(port) in r.getMessage() for r in caplog.records)


def test_healthz_is_503_when_the_database_is_down_and_logs_why(client, redis_url, monkeypatch, caplog):
    def broken_cursor(*args, **kwargs):
        raise ConnectionRefusedError("database at db.internal:5432 refused the connection")

    monkeypatch.setattr("core.health.connection.cursor", broken_cursor)

    with caplog.at_level(logging.ERROR, logger="core.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert "db.internal" not in response.content.decode()
    assert any("db.internal:5432" in record.getMessage() for record in caplog.records)


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_deep_healthz_is_refused_to_anyone_without_staff_login_or_token(client, settings, probes, django_user_model):
    settings.LADDER_HEALTH_TOKEN = TOKEN
    client.force_login(django_user_model.objects.create_user("creator"))

    assert client.get("/healthz?deep=1").status_code == 403
    assert client.get("/healthz?deep=1", headers={TOKEN_HEADER: "a guess"}).status_code == 403
    assert probes == []  # nobody without the right made a worker do anything


@pytest.mark.django_db
def test_deep_healthz_answers_staff_and_the_token_and_keeps_its_answer_briefly(client, admin_client, settings, probes,
                                                                               redis_url):
    settings.LADDER_HEALTH_TOKEN = TOKEN

    by_token = client.get("/healthz?deep=1", headers={TOKEN_HEADER: TOKEN})
    by_staff = admin_client.get("/healthz?deep=1")

    assert by_token.json() == by_staff.json() == {"status": "ok", "database": "ok", "broker": "ok", "worker": "ok"}
    assert probes == ["probe"]  # the second was answered from the cache
    cache.clear()  # as DEEP_CACHE_SECONDS later
    assert DEEP_CACHE_SECONDS <= 60
    admin_client.get("/healthz?deep=1")
    assert probes == ["probe", "probe"]


@pytest.mark.django_db
def test_without_a_token_set_only_staff_may_ask_for_the_deep_check(client, settings, probes):
    settings.LADDER_HEALTH_TOKEN = ""

    assert client.get("/healthz?deep=1", headers={TOKEN_HEADER: ""}).status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_deep_healthz_is_answered_by_the_health_queues_worker_whatever_waits_on_the_main_queue(
        client, settings, redis_url, monkeypatch):
    # given a worker for the health queue only, and no worker at all on the site's queue (as if every
    # one were busy with refresh chunks)
    settings.LADDER_HEALTH_TOKEN = TOKEN
    monkeypatch.setitem(celery_app.conf, "task_default_queue", f"nobody-takes-{uuid.uuid4().hex[:8]}")
    queue = health_queue()
    worker, _ = start_worker(redis_url, queue=queue, concurrency=1)
    try:
        response = client.get("/healthz?deep=1", headers={TOKEN_HEADER: TOKEN})
    finally:
        stop_worker(worker, redis_url, queue)

    assert response.status_code == 200, response.json()
    assert response.json()["worker"] == "ok"
