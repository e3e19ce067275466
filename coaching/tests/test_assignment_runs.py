"""Assignment runs in chunks: applied once, announced once, waiting their turn, and never wedged by a lost worker."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coaching import tasks
from coaching.choices import AssignmentStatus, NotificationKind
from coaching.models import AssignmentChunk, AssignmentRun, Enrollment, EnrollmentEvent, Notification
from coaching.services import (
    assignment_after_refresh,
    assignment_chunk_apply,
    assignment_finish,
    assignment_proceed,
    assignment_run,
)
from coaching.tests.factories import ProgramFactory
from core.runs import RESENDS, RUN_STALE, STALE_AFTER
from tiers.models import Influencer, RefreshRun
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db

def population(days_ago):
    """Eight creators: tail, mid and head, some promoted since yesterday, with a limited tail campaign."""
    ProgramFactory(code="tail-campaign", eligible_tiers=["tail"], capacity=2)
    for i, gmv in enumerate(["1000", "1000", "1000", "5000", "5000", "150000", "1000", "5000"]):
        creator = InfluencerFactory(onboarded_on=days_ago(400), handle=f"p{i}")
        metric_days(creator, days=30, end=days_ago(31), gmv="1000")
        metric_days(creator, days=31, end=days_ago(0), gmv=gmv)
    refresh_run_sync(today=days_ago(31))
    assignment_run(today=days_ago(31))
    return refresh_run_sync(today=days_ago(0))


def outcome():
    """What an assignment leaves, without ids of its own making."""
    places = set(Enrollment.objects.values_list("influencer_id", "program_id", "stage_id", "status", "reason"))
    events = sorted(EnrollmentEvent.objects.values_list("enrollment__influencer_id", "enrollment__program_id", "reason",
                                                        "from_stage_id", "to_stage_id"))
    told = sorted((n.influencer_id, n.kind, sorted(n.data.items())) for n in Notification.objects.all())
    return places, events, told


def announce_to_workers(refresh: RefreshRun, capture) -> AssignmentRun:
    """The Celery path's announcement; the chunk tasks it would send are held, not run."""
    with capture(execute=False) as sent:
        assignment_after_refresh(run_id=refresh.pk, in_process=False)
    assert len(sent) == 1  # one group of chunk tasks, sent once the chunks are committed
    return AssignmentRun.objects.get(refresh_run=refresh)


def test_many_small_chunks_leave_what_one_chunk_leaves(settings, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 100
    with transaction.atomic():  # then rolled back, for the same day in small chunks
        assignment_after_refresh(run_id=refresh.pk)
        one_chunk = AssignmentRun.objects.get(refresh_run=refresh)
        expected = outcome()
        transaction.set_rollback(True)

    settings.LADDER_CHUNK_SIZE = 1
    assignment_after_refresh(run_id=refresh.pk)

    run = AssignmentRun.objects.get(refresh_run=refresh)
    assert (one_chunk.chunk_count, run.chunk_count, run.chunks_done) == (1, 8, 8)
    assert run.status == AssignmentStatus.SUCCEEDED
    assert outcome() == expected
    assert (run.enrolled, run.notified) == (one_chunk.enrolled, one_chunk.notified)
    assert Notification.objects.filter(kind=NotificationKind.TIER_CHANGED).count() == 4  # the refresh's news too


def test_the_workers_announcement_makes_chunks_and_returns_at_once(
    settings, django_capture_on_commit_callbacks, days_ago
):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    before = outcome()

    run = announce_to_workers(refresh, django_capture_on_commit_callbacks)

    assert (run.status, run.chunk_count, run.chunks_done) == (AssignmentStatus.RUNNING, 3, 0)
    ids = list(Influencer.objects.order_by("id").values_list("id", flat=True))
    bounds = AssignmentChunk.objects.filter(run=run).order_by("index").values_list("first_id", "last_id")
    assert [i for first, last in bounds for i in ids if first <= i <= last] == ids  # every creator, once
    assert outcome() == before  # nothing assigned in the announcing process


def test_an_announcement_delivered_twice_assigns_once(settings, django_capture_on_commit_callbacks, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    run = announce_to_workers(refresh, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=False) as sent_again:
        assignment_after_refresh(run_id=refresh.pk, in_process=False)
    assignment_after_refresh(run_id=refresh.pk)  # and once more, by the command

    assert sent_again == []
    assert list(AssignmentRun.objects.filter(refresh_run=refresh)) == [run]


def test_a_chunk_delivered_twice_changes_nothing_the_second_time(
    settings, django_capture_on_commit_callbacks, days_ago
):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    run = announce_to_workers(refresh, django_capture_on_commit_callbacks)

    assert assignment_chunk_apply(run_id=run.pk, index=1) is True  # p3–p5, promoted
    after_first = outcome()
    counts = AssignmentRun.objects.values_list("chunks_done", "enrolled", "notified").get(pk=run.pk)
    assert assignment_chunk_apply(run_id=run.pk, index=1) is False

    assert outcome() == after_first
    assert AssignmentRun.objects.values_list("chunks_done", "enrolled", "notified").get(pk=run.pk) == counts
    assert counts[0] == 1 and counts[1] > 0 and counts[2] > 0


def test_the_task_that_applies_the_last_chunk_finishes_the_run(settings, django_capture_on_commit_callbacks, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    run = announce_to_workers(refresh, django_capture_on_commit_callbacks)

    for index in range(run.chunk_count):
        tasks.assignment_chunk.run(run.pk, index)  # the task's body, as a worker runs it
    tasks.assignment_chunk.run(run.pk, 0)  # a late duplicate

    run.refresh_from_db()
    assert (run.status, run.active, run.chunks_done) == (AssignmentStatus.SUCCEEDED, None, 3)
    assert run.finished_at is not None


def test_a_refresh_finished_during_an_assignment_waits_for_it_then_runs(
    settings, django_capture_on_commit_callbacks, days_ago
):
    first = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    running = announce_to_workers(first, django_capture_on_commit_callbacks)
    second = refresh_run_sync(today=days_ago(0))

    assignment_after_refresh(run_id=second.pk, in_process=True)  # the command, while the workers still assign
    waiting = AssignmentRun.objects.get(refresh_run=second)
    assert (waiting.status, waiting.active, waiting.chunk_count) == (AssignmentStatus.WAITING, None, 0)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        for index in range(running.chunk_count):
            tasks.assignment_chunk.run(running.pk, index)

    waiting.refresh_from_db()
    assert AssignmentRun.objects.get(pk=running.pk).status == AssignmentStatus.SUCCEEDED
    assert (waiting.status, waiting.chunk_count) == (AssignmentStatus.RUNNING, 3)
    assert len(sent) == 1  # its chunks went to the workers when the first run finished


def test_a_stuck_run_is_sent_again_then_failed_and_the_waiting_one_starts(
    settings, django_capture_on_commit_callbacks, days_ago
):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    stuck = announce_to_workers(refresh, django_capture_on_commit_callbacks)
    assignment_chunk_apply(run_id=stuck.pk, index=0)  # then its worker was killed
    waiting = AssignmentRun.objects.create(refresh_run=refresh_run_sync(today=days_ago(0)), run_date=days_ago(0),
                                           status=AssignmentStatus.WAITING, active=None)
    now = timezone.now()

    def watch(at):
        with django_capture_on_commit_callbacks(execute=False) as sent:
            assignment_proceed(in_process=False, now=at)
        return len(sent)

    # a run that moved recently is left alone
    assert watch(now + STALE_AFTER - datetime.timedelta(minutes=1)) == 0
    # one that stopped moving has its unfinished chunks sent again, RESENDS times
    at = now
    for attempt in range(1, RESENDS + 1):
        at += STALE_AFTER + datetime.timedelta(seconds=1)
        assert watch(at) == 1
        stuck.refresh_from_db()
        assert (stuck.status, stuck.resent) == (AssignmentStatus.RUNNING, attempt)
    # and then it is failed, so the next assignment starts
    assert watch(at + STALE_AFTER + datetime.timedelta(seconds=1)) == 1  # the waiting run's chunks

    stuck.refresh_from_db()
    waiting.refresh_from_db()
    assert (stuck.status, stuck.active) == (AssignmentStatus.FAILED, None)
    assert stuck.error == str(RUN_STALE).format(minutes=15, times=RESENDS)
    assert (waiting.status, waiting.active) == (AssignmentStatus.RUNNING, True)


def test_the_command_finishes_a_stuck_run_itself_before_its_own(settings, django_capture_on_commit_callbacks, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    stuck = announce_to_workers(refresh, django_capture_on_commit_callbacks)
    assignment_chunk_apply(run_id=stuck.pk, index=1)
    later = refresh_run_sync(today=days_ago(0))
    assignment_after_refresh(run_id=later.pk)  # waits: the stuck run is not stale yet
    mine = AssignmentRun.objects.get(refresh_run=later)
    assert mine.status == AssignmentStatus.WAITING

    assignment_proceed(in_process=True, now=timezone.now() + STALE_AFTER + datetime.timedelta(seconds=1))

    stuck.refresh_from_db()
    mine.refresh_from_db()
    assert (stuck.status, stuck.chunks_done, stuck.resent) == (AssignmentStatus.SUCCEEDED, 3, 1)
    assert mine.status == AssignmentStatus.SUCCEEDED


def test_a_run_whose_chunks_were_all_done_but_not_finished_is_finished_by_the_watch(
    settings, django_capture_on_commit_callbacks, days_ago
):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    run = announce_to_workers(refresh, django_capture_on_commit_callbacks)
    for index in range(run.chunk_count):
        assignment_chunk_apply(run_id=run.pk, index=index)  # the worker died before the finish

    assignment_proceed(in_process=False, now=timezone.now() + STALE_AFTER + datetime.timedelta(seconds=1))

    assert AssignmentRun.objects.get(pk=run.pk).status == AssignmentStatus.SUCCEEDED


def test_assignment_with_no_creators_succeeds_at_once():
    run = assignment_run()

    assert (run.status, run.chunk_count, run.active) == (AssignmentStatus.SUCCEEDED, 0, None)
    assert assignment_finish(run_id=run.pk) is False


def test_places_are_counted_across_chunks(settings, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 1

    assignment_after_refresh(run_id=refresh.pk)

    assert Enrollment.objects.active().filter(program__code="tail-campaign").count() == 2


# ---------------------------------------------------------------- next to the refresh, for staff


def test_staff_see_each_refresh_runs_assignment_and_why_it_failed(admin_client, settings,
                                                                  django_capture_on_commit_callbacks, days_ago):
    refresh = population(days_ago)
    settings.LADDER_CHUNK_SIZE = 3
    stuck = announce_to_workers(refresh, django_capture_on_commit_callbacks)
    for _ in range(RESENDS + 1):
        AssignmentRun.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - STALE_AFTER * 2)
        with django_capture_on_commit_callbacks(execute=False):
            assignment_proceed(in_process=False)
    url = reverse("admin:tiers_refreshrun_changelist")

    with CaptureQueriesContext(connection) as few:
        body = admin_client.get(url).content.decode()
    for date in range(1, 4):
        refresh_run_sync(today=days_ago(0) + datetime.timedelta(days=date))
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)

    failed = AssignmentStatus.FAILED.label
    assert f'href="{reverse("admin:coaching_assignmentrun_change", args=[stuck.pk])}">#{stuck.pk} {failed}: ' in body
    stuck.refresh_from_db()
    assert stuck.error == str(RUN_STALE).format(minutes=15, times=RESENDS) and stuck.error in body
    assert len(many.captured_queries) == len(few.captured_queries)
