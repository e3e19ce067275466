"""`/healthz` reports the database and the broker, and with ?deep=1 a worker round trip."""

import pytest

from config.celery_app import app as celery_app
from config.embedded_redis import free_port


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_broker_answer(client, redis_url):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_broker_when_it_is_down(client, redis_url, monkeypatch):
    # given a broker URL where nothing listens
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error: ConnectionError")


def test_healthz_is_503_when_the_database_is_down(client, redis_url, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise ConnectionRefusedError("database refused the connection")

    monkeypatch.setattr("config.health.connection.cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error: ConnectionRefusedError: database refused the connection"


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_deep_healthz_sends_a_task_that_a_real_worker_runs(client, celery_worker):
    response = client.get("/healthz?deep=1")

    assert response.status_code == 200
    assert response.json()["worker"] == "ok"
