"""The broker down, or answering nothing: pages work, staff writes keep their follow-up work, and it runs when Redis is back."""

import socket
import threading
import time
import uuid

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from coaching.choices import NotificationKind
from coaching.models import Notification
from config.celery_app import app as celery_app
from config.embedded_redis import EmbeddedRedis, reachable
from conftest import _use_broker, start_worker, stop_worker, wait_for
from core import outbox
from core.models import OutboxMessage
from core.outbox import JOBS_UNAVAILABLE
from tiers.choices import RunStatus, RunTrigger
from tiers.models import RefreshRun, TierDecision, TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.rules import PolicyRules
from tiers.services import policy_clone, policy_update_draft
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days
from tiers.tests.test_refresh_faults import _wait_idle

# A broker that never answers costs a request its short socket timeouts (2 s a try: the start lock,
# the send), not the 30 s after which gunicorn kills a worker. Generous for a loaded CI machine.
NO_HANG_SECONDS = 15


def _switch_broker(url: str) -> None:
    """Point this process's Celery app and the start lock at `url`. Its pools of connections are
    kombu's, one per broker URL, and stay open for the next test that uses that URL."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    _use_broker(url)


@pytest.fixture
def broker_at(redis_url):
    """broker_at(url): this process talks to that broker until the test ends."""
    yield _switch_broker
    _switch_broker(redis_url)


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _world():
    """Creators judged once, one with a login, a draft that lowers the mid line."""
    creators = [InfluencerFactory(handle=f"b{i}", user=UserFactory(username=f"b{i}") if i == 0 else None)
                for i in range(6)]
    for i, creator in enumerate(creators):
        metric_days(creator, days=30, gmv=("1000", "5000", "150000")[i % 3])
    refresh_run_sync()
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=None)
    rules = PolicyRules.default().to_json()
    rules["mid"].update(promote_gmv="25000", promote_followers_gmv="10000", keep_gmv="20000")
    policy_update_draft(policy=draft, rules=rules, by=None)
    return creators, draft


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_pages_work_staff_writes_keep_their_work_and_it_runs_when_redis_returns(
        shipped_defaults, broker_at, redis_url, settings, monkeypatch, admin_client, client):
    # given our own Redis, a worker with beat running the outbox flush every second, creators and a draft
    server = EmbeddedRedis().start()
    broker_at(server.url)
    # and the cache on the same Redis, as in production (the API's throttle counts there)
    settings.CACHES = {"default": {"BACKEND": "config.cache.ForgivingRedisCache", "LOCATION": server.url}}
    settings.LADDER_CHUNK_SIZE = 3
    queue = f"ladder-down-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    creators, draft = _world()
    tail = creators[0]
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="outbox flush", task="tiers.outbox_flush", interval=every_second)
    worker, hostname = start_worker(server.url, queue=queue, args=("-B",))
    try:
        # when Redis stops
        server.stop()

        # then pages and the admin keep working, and /healthz names the broker
        client.force_login(tail.user)
        assert client.get("/plan/").status_code == 200
        for page in ("admin:index", "admin:tiers_refreshrun_changelist", "admin:tiers_tierpolicy_changelist"):
            assert admin_client.get(reverse(page)).status_code == 200, page
        health = client.get("/healthz")
        assert (health.status_code, health.json()["broker"], health.json()["database"]) == (503, "error", "ok")
        deep = admin_client.get("/healthz?deep=1")
        assert (deep.status_code, deep.json()["broker"], deep.json()["worker"]) == (503, "error", "error")
        # and the API answers though its throttle cannot count
        assert admin_client.get(reverse("api:influencers")).status_code == 200

        # and staff writes answer (no 500), keep what they decided, and say plainly that jobs wait
        published = admin_client.post(reverse("admin:tiers_tierpolicy_changelist"),
                                      {"action": "publish", "_selected_action": [draft.pk]})
        refresh_now = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))
        pinned = admin_client.post(reverse("admin:tiers_tieroverride_add"),
                                   {"influencer": tail.pk, "field": "tier", "value": "mid", "reason": "pilot"})
        for response in (published, refresh_now, pinned):
            assert response.status_code == 302
            assert str(JOBS_UNAVAILABLE) in told(response)
        policy_run = RefreshRun.objects.get(trigger=RunTrigger.POLICY_PUBLISH)
        staff_run = RefreshRun.objects.get(trigger=RunTrigger.STAFF)
        assert TierPolicy.objects.get(pk=draft.pk).status == "published"
        assert (policy_run.status, staff_run.status) == (RunStatus.RUNNING, RunStatus.PENDING)
        pin = TierDecision.objects.get(influencer=tail, cause="override")
        waiting = sorted(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("sender", flat=True))
        assert waiting == ["core.outbox.send_task", "core.runs.dispatch"]

        # when Redis comes back (same address), with nothing restarted
        server = EmbeddedRedis(port=server.port).start()

        # then beat's flush sends what waited, the worker runs it, and the queued refresh follows
        wait_for(lambda: RefreshRun.objects.filter(pk=staff_run.pk, status=RunStatus.SUCCEEDED).exists(),
                 "both refreshes", timeout=120)
        assert RefreshRun.objects.get(pk=policy_run.pk).status == RunStatus.SUCCEEDED
        wait_for(lambda: Notification.objects.filter(influencer=tail, kind=NotificationKind.TIER_CHANGED,
                                                     decision=pin).exists(), "the creator to be told of the pin")
        wait_for(lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists(), "the outbox to empty")
        _wait_idle(server.url, queue, hostname)
    finally:
        if reachable(server.url):
            stop_worker(worker, server.url, queue)
        else:
            worker.terminate()
            worker.wait(timeout=20)
        server.stop()


class SilentBroker:
    """A socket server that accepts connections and never answers: a broker lost behind a firewall."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_never_answers_does_not_hang_staff_and_their_work_waits(shipped_defaults, broker_at, admin_client,
                                                                               client):
    # given a broker that accepts connections and never replies
    silent = SilentBroker()
    broker_at(f"redis://127.0.0.1:{silent.port}/0")
    metric_days(InfluencerFactory(), days=30, gmv="1000")
    try:
        # when staff ask for a refresh
        started = time.monotonic()
        response = admin_client.post(reverse("admin:tiers_refreshrun_refresh_now"))
        took = time.monotonic() - started

        # then they get an answer within the broker's timeouts, the run is kept, and they are told why it waits
        assert response.status_code == 302
        assert took < NO_HANG_SECONDS, f"the request took {took:.1f} s"
        run = RefreshRun.objects.get()
        assert run.status == RunStatus.RUNNING
        assert str(JOBS_UNAVAILABLE) in told(response)
        assert OutboxMessage.objects.get(sent_at__isnull=True).kwargs == {"kind": "refresh", "run_id": run.pk}
        # and /healthz says the broker is down, in time
        started = time.monotonic()
        health = client.get("/healthz")
        assert time.monotonic() - started < NO_HANG_SECONDS
        assert (health.status_code, health.json()["broker"]) == (503, "error")
    finally:
        silent.close()



@pytest.mark.django_db
def test_a_staff_write_outside_the_admin_whose_work_waits_for_the_broker_says_so(
        shipped_defaults, admin_client, monkeypatch):
    # given a broker that takes nothing (what the writes queue stays in the outbox)
    monkeypatch.setattr(outbox, "deliver", lambda **kwargs: 0)
    creator = InfluencerFactory(user=UserFactory(username="creator-down"))
    metric_days(creator, days=30)

    # when staff look at the runs, then start a refresh from the ops desk (no code of its own tells of the broker)
    looked = admin_client.get(reverse("ops:refresh"))
    started = admin_client.post(reverse("ops:refresh_start"))

    # then looking queued nothing and said nothing, and the write tells them its work waits, as every staff write does
    assert str(JOBS_UNAVAILABLE) not in told(looked)
    assert str(JOBS_UNAVAILABLE) in told(started)
