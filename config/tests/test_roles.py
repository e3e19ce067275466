"""Roles: an analyst reads everything and changes nothing; ops do their work. The walks are generated from the
admin registry and the URL conf, so a new admin, action or staff URL is walked without anyone listing it."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from coaching.models import ReviewRequest
from config.tests.admin_walk import custom_url_names, declared_actions, registered, url
from demo.population import demo_logins_ensure
from tiers.models import ImportBatch, Influencer
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_PREFIXES = ("staff/", "ops/")
# The object a staff URL's argument names; a URL with an argument not listed here fails the walk.
URL_ARGUMENTS = {"batch_id": ImportBatch, "review_id": ReviewRequest, "influencer_id": Influencer}
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
    monkeypatch.setattr("tiers.tasks.send_chunks", lambda **kwargs: None)
    monkeypatch.setattr("tiers.tasks.after_decision.delay", lambda *args, **kwargs: None)


def staff_urls() -> list[tuple[str, dict]]:
    """(route, its arguments) of every URL under the staff prefixes, from the URL conf."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith(STAFF_PREFIXES):
                found.append((route, pattern.pattern.converters))

    walk(get_resolver().url_patterns, "")
    return found


def _staff_url(route, converters) -> str:
    path = route
    for name in converters:
        assert name in URL_ARGUMENTS, f"{route}: say in URL_ARGUMENTS which object <{name}> names, so it is walked"
        obj = URL_ARGUMENTS[name]._default_manager.first()
        path = re.sub(rf"<\w+:{name}>", str(obj.pk), path)
    return "/" + path


def _custom_url(name, obj):
    try:
        return reverse(f"admin:{name}")
    except NoReverseMatch:
        return reverse(f"admin:{name}", args=[obj.pk])


def _snapshot():
    return {model._meta.label: sorted(map(repr, model._default_manager.values())) for model, _ in registered()}


def test_the_analysts_group_holds_view_permissions_only():
    codenames = Group.objects.get(name="analysts").permissions.values_list("codename", flat=True)

    assert codenames and all(codename.startswith("view_") for codename in codenames)


def test_an_analyst_reads_every_admin_page_and_is_refused_every_write(client, admin_world, analyst):
    client.force_login(analyst)
    before = _snapshot()
    reads, writes = {}, {}

    for model, model_admin in registered():
        obj = model._default_manager.first()
        label = model._meta.label
        reads[label] = (client.get(url(model, "changelist")).status_code,
                        client.get(url(model, "change", obj.pk)).status_code)
        writes[(label, "GET add")] = client.get(url(model, "add")).status_code
        writes[(label, "POST add")] = client.post(url(model, "add"), {}).status_code
        writes[(label, "POST change")] = client.post(url(model, "change", obj.pk), {}).status_code
        writes[(label, "POST delete")] = client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code
        for action in declared_actions(model_admin):
            writes[(label, f"action {action}")] = client.post(
                url(model, "changelist"), {"action": action, "_selected_action": [obj.pk], "index": 0}).status_code
        for name in custom_url_names(model_admin):
            writes[(label, f"POST {name}")] = client.post(_custom_url(name, obj), {}).status_code

    assert {label: codes for label, codes in reads.items() if label not in ACCOUNTS and codes != (200, 200)} == {}
    assert {key: code for key, code in writes.items() if code != 403} == {}
    assert _snapshot() == before


def test_every_staff_url_refuses_an_analysts_post_and_lets_ops_work(client, admin_world, analyst, ops):
    urls = [_staff_url(route, converters) for route, converters in staff_urls()]
    assert len(urls) >= 9  # imports (5), a creator's plan, the review queue (4)
    client.force_login(analyst)
    before = _snapshot()  # after the login, which stamps the analyst's last login
    as_analyst = {path: client.post(path, {}).status_code for path in urls}
    after = _snapshot()
    changed = {label for label in after if after[label] != before[label]}
    client.force_login(ops)
    as_ops = {path: client.post(path, {}).status_code for path in urls}

    # 405: a page that only reads (it answers GET, to anyone who may read it, analysts included)
    assert {path: code for path, code in as_analyst.items() if code not in (403, 405)} == {}
    assert {path for path, code in as_analyst.items() if code == 405} <= {p for p, c in as_ops.items() if c == 405}
    assert changed == set()
    assert {path: code for path, code in as_ops.items() if code == 403} == {}


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
