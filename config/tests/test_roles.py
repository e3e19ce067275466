"""Roles in the admin: an analyst reads everything and changes nothing; ops do their work. The walk is generated from
the admin registry, so a new admin or action is walked without anyone listing it (staff pages, the ops desk and the
API: every URL as every role, in test_url_permissions)."""


import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from config.tests.admin_walk import declared_actions, registered, snapshot, url, walk
from demo.population import demo_logins_ensure
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Models no role but the superuser manages; analysts and ops do not see them (service tokens open the API).
ACCOUNTS = {"auth.User", "auth.Group", "api.ApiToken"}


@pytest.fixture
def analyst():
    user = UserFactory(username="analyst", is_staff=True)
    user.groups.add(Group.objects.get(name="analysts"))
    return user


@pytest.fixture
def ops():
    demo_logins_ensure(password="ladder-test-pass")
    return get_user_model().objects.get(username="ops")


@pytest.fixture(autouse=True)
def _nothing_leaves(monkeypatch):
    monkeypatch.setattr("core.runs.send_chunks", lambda **kwargs: None)
    monkeypatch.setattr("core.outbox.send_task", lambda **kwargs: None)


def test_the_analysts_group_holds_view_permissions_only():
    codenames = Group.objects.get(name="analysts").permissions.values_list("codename", flat=True)

    assert codenames and all(codename.startswith("view_") for codename in codenames)


def test_an_analyst_reads_every_admin_page_and_is_refused_every_write(client, admin_world, analyst):
    client.force_login(analyst)
    before = snapshot()

    reads, writes = walk(client)

    assert {label: codes for label, codes in reads.items() if label not in ACCOUNTS and codes != (200, 200)} == {}
    assert {key: code for key, code in writes.items() if code != 403} == {}
    assert snapshot() == before


def test_ops_may_run_every_admin_action_but_those_their_role_leaves_out(client, admin_world, ops):
    client.force_login(ops)
    refused = set()

    for model, model_admin in registered():
        obj = model._default_manager.first()
        for action in declared_actions(model_admin):
            code = client.post(url(model, "changelist"), {"action": action, "_selected_action": [obj.pk],
                                                          "index": 0}).status_code
            if code == 403:
                refused.add((model._meta.label, action))

    # Deleting is for the few models ops prune; accounts are the superuser's.
    assert {label for label, action in refused if action != "delete_selected"} <= ACCOUNTS
    assert ("coaching.Stage", "delete_selected") not in refused
    assert ("tiers.Influencer", "pin_selected") not in refused
