"""Backups round-trip on the engine the suite runs on; the tier history rebuilt from the ledger names what was tampered with."""

import json
import os
import uuid
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from tiers.history_check import Decision, StateRow, StoredState, history_mismatches, tier_history_check
from tiers.models import Influencer, TierDecision, TierStateChange
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

TABLES = ("tiers_influencer", "tiers_tierdecision", "tiers_tierstatechange", "tiers_dailymetric")


@pytest.fixture
def judged(shipped_defaults, days_ago):
    """Creators judged by two refreshes: a ledger and a state history."""
    creators = [InfluencerFactory(handle=f"backup{i}") for i in range(4)]
    for index, creator in enumerate(creators):
        metric_days(creator, days=40, gmv=str(1000 * 10 ** index))
    refresh_run_sync(today=days_ago(15))
    refresh_run_sync()
    return creators


def _comparable(value) -> str:
    """A column's value as text, JSON the same whichever driver parsed it."""
    if isinstance(value, str) and value[:1] in "{[":
        value = json.loads(value)
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def _rows(cursor) -> dict:
    rows = {}
    for table in TABLES:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (our table names)
        rows[table] = [tuple(map(_comparable, row)) for row in cursor.fetchall()]
    return rows


@pytest.fixture
def scratch_database():
    """An empty database to restore into, of the suite's engine, dropped afterwards; its URL."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        path = f"{settings_dict['NAME']}.restore-{uuid.uuid4().hex[:8]}"
        yield f"sqlite:///{os.path.abspath(path)}", None
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = {"host": settings_dict["HOST"], "port": settings_dict["PORT"] or 5432, "user": settings_dict["USER"],
              "password": settings_dict["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    yield (f"postgres://{settings_dict['USER']}{password}@{settings_dict['HOST']}:{server['port']}/{name}",
           {**server, "dbname": name})
    with psycopg.connect(**server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_an_empty_database_with_every_row(judged, scratch_database, tmp_path):
    url, postgres = scratch_database
    backup = tmp_path / "ladder.backup"
    with connection.cursor() as cursor:
        before = _rows(cursor)

    call_command("backup_database", str(backup), stdout=StringIO())
    call_command("backup_database", str(backup), restore=True, into=url, stdout=StringIO())

    if postgres:
        with psycopg.connect(**postgres) as restored:
            after = _rows(restored.cursor())
    else:
        import sqlite3

        restored = sqlite3.connect(url.removeprefix("sqlite:///"))
        after = _rows(restored.cursor())
        restored.close()
    assert before["tiers_tierdecision"] and before["tiers_tierstatechange"]  # there was history to keep
    assert after == before


def test_restoring_needs_a_target_named_on_purpose_and_a_backup_that_exists(tmp_path):
    with pytest.raises(CommandError, match="--into"):
        call_command("backup_database", str(tmp_path / "x"), restore=True)
    with pytest.raises(CommandError, match="no backup at"):
        call_command("backup_database", str(tmp_path / "missing"), restore=True, into="sqlite:////tmp/nowhere.db")


# ---------------------------------------------------------------- the tier history from the ledger


@pytest.mark.django_db
def test_consistent_history_checks_ok(judged):
    call_command("check_tier_history", stdout=StringIO())  # raises on a mismatch

    assert tier_history_check() == (4, [])
    assert TierDecision.objects.count() >= 4


@pytest.mark.django_db
def test_a_tampered_stored_tier_is_named(judged):
    victim = Influencer.objects.get(pk=judged[0].pk)
    forged = "head" if victim.tier != "head" else "tail"
    Influencer.objects.filter(pk=victim.pk).update(tier=forged)
    err = StringIO()

    with pytest.raises(CommandError, match="2 mismatches in the tier history of 4 creators"), translation.override("en"):
        call_command("check_tier_history", stdout=StringIO(), stderr=err)

    assert f"{victim.platform_id} (#{victim.pk})" in err.getvalue() and forged in err.getvalue()
    assert "(#" in err.getvalue() and err.getvalue().count(victim.platform_id) == 2  # against the ledger and the history
    assert all(c.platform_id not in err.getvalue() for c in judged[1:])


@pytest.mark.django_db
def test_tampered_anti_flap_dates_are_named_from_the_state_history(judged):
    victim = judged[1]
    TierStateChange.objects.filter(influencer=victim).update(tier_since="2001-01-01")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("check_tier_history", creators=victim.platform_id, stdout=StringIO(), stderr=err)

    assert "tier_since" in err.getvalue() and "2001-01-01" in err.getvalue() and victim.platform_id in err.getvalue()


@pytest.mark.django_db
def test_show_prints_the_rebuilt_ledger_and_unknown_creators_are_refused(judged):
    out = StringIO()
    call_command("check_tier_history", creators=str(judged[2].pk), show=True, stdout=out)

    assert f"#{judged[2].pk}  decision #" in out.getvalue()
    with pytest.raises(CommandError, match="No such creator: nobody"), translation.override("en"):
        call_command("check_tier_history", creators="nobody", stdout=StringIO())


def test_a_ledger_whose_decisions_do_not_follow_one_another_is_named():
    state = StoredState("ks-1 (#1)", "mid", "seeding", None, None)
    decisions = [Decision(1, None, "newcomer", None, "seeding"), Decision(2, "tail", "mid", "seeding", "seeding")]

    with translation.override("en"):
        problems = history_mismatches(state, decisions, StateRow(9, "mid", "seeding", None, None))

    assert problems == ["creator ks-1 (#1): decision #2 starts from tier tail, but the decision before it (#1) "
                        "ended at newcomer"]
