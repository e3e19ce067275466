"""The listeners named in settings are checked at start-up, and called as the announcement contract says."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from tiers.refresh import check_listeners

ANNOUNCED = []


def listens(*, run_id, in_process):
    ANNOUNCED.append((run_id, in_process))


def listens_the_old_way(*, run_id):
    """Before the contract had `in_process`."""


def test_the_shipped_listeners_import_and_accept_the_announcement():
    assert check_listeners() == []


@override_settings(
    LADDER_AFTER_REFRESH=["tiers.tests.test_listeners.listens", "tiers.tests.nowhere.listens",
                          "tiers.tests.test_listeners.ANNOUNCED", "tiers.tests.test_listeners.listens_the_old_way"],
    LADDER_AFTER_DECISION="coaching.services.assignment_after_decision",
)
def test_a_listener_that_cannot_be_imported_or_called_is_an_error_at_start_up():
    errors = check_listeners()

    assert [(error.id, error.msg.split(":")[0]) for error in errors] == [
        ("tiers.E002", "LADDER_AFTER_REFRESH"),  # no such module
        ("tiers.E003", "LADDER_AFTER_REFRESH"),  # a list, not a function
        ("tiers.E004", "LADDER_AFTER_REFRESH"),  # no in_process keyword
        ("tiers.E001", "LADDER_AFTER_DECISION must be a list of dotted paths, not 'coaching.services.assignment_after_decision'."),
    ]
    assert "'tiers.tests.nowhere.listens'" in errors[0].msg
    assert "run_id=…, in_process=…" in errors[2].msg


@override_settings(LADDER_AFTER_REFRESH=["tiers.tests.nowhere.listens"])
def test_manage_py_check_fails_on_a_missing_listener():
    from django.core.management.base import SystemCheckError

    with pytest.raises(SystemCheckError, match="tiers.E002"):
        call_command("check")


@pytest.mark.django_db
@override_settings(LADDER_AFTER_REFRESH=["tiers.tests.test_listeners.listens"])
def test_the_command_announces_in_process_and_the_celery_task_not(monkeypatch):
    from tiers.tasks import after_refresh
    from tiers.tests.factories import InfluencerFactory

    InfluencerFactory()
    ANNOUNCED.clear()
    call_command("refresh_tiers", "--no-progress")
    run_id = ANNOUNCED[0][0]
    after_refresh(run_id)  # the task's body, as a worker runs it

    assert ANNOUNCED == [(run_id, True), (run_id, False)]
