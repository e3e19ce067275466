"""Who may open what: every URL the URL conf serves, walked as every role, from the URL conf itself, so no new URL escapes."""

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coaching.models import (
    Enrollment,
    PoolProduct,
    ProductSelection,
    Program,
    ReviewRequest,
    Task,
)
from ops.models import WhatIf
from tiers.choices import RunStatus
from tiers.models import ImportBatch, RefreshRun, TierPolicy
from tiers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE_LOGIN, ADMIN_LOGIN = "/accounts/login/", "/admin/login/"
API = ""  # the API has no login page: anonymous callers get 401
# Staff roles are groups made by migrations; a new role is one more line here.
GROUP_ROLES = {"ops": "ops", "analyst": "analysts"}
ADMIN_VIEWS = {"changelist": ("view", "change"), "change": ("view", "change"), "history": ("view", "change"),
               "add": ("add",), "delete": ("delete",)}


@dataclass(frozen=True)
class Page:
    """How to open a URL and who may: `public`; `login` (anyone logged in); `staff` (any staff);
    `perm` (staff holding one of `needs`); `creator` (the creator who owns `owner`'s objects);
    `nobody` (there is nothing to see there, whoever asks)."""

    who: str
    method: str = "GET"
    needs: tuple[str, ...] = ()
    owner: str = ""
    login: str = ADMIN_LOGIN
    args: tuple = ()
    also: tuple[str, ...] = ()  # permissions needed as well as one of `needs`


def _p(who, **kwargs):
    return Page(who, **kwargs)


# Every URL that is not one of a model admin's standard views, by name (or by route where it has none).
# A URL missing here fails the walk: say who may open it.
SITE = {
    "home": _p("login", login=SITE_LOGIN),
    "healthz": _p("public"),
    "login": _p("public"),
    "logout": _p("public", method="POST"),
    "set_language": _p("public", method="POST"),
    "admin:index": _p("staff"),
    "admin:login": _p("public"),
    "admin:logout": _p("public", method="POST"),
    "admin:password_change": _p("staff"),
    "admin:password_change_done": _p("staff"),
    "admin:jsi18n": _p("staff"),
    "admin:autocomplete": _p("nobody"),  # with no field named, it refuses everyone
    "admin:view_on_site": _p("nobody", args=("content_type", "influencer")),  # no model has a public page
    "admin:app_list": _p("perm", needs=("tiers.view_influencer",), args=("tiers",)),
    "admin/(?P<url>.*)$": _p("nobody", args=("no-such-page/",)),
    "admin:tiers_refreshrun_refresh_now": _p("perm", method="POST", needs=("tiers.start_refreshrun",)),
    "admin:auth_user_password_change": _p("perm", needs=("auth.change_user",), args=("user",)),
    "tiers:imports": _p("perm", needs=("tiers.import_metrics",), login=SITE_LOGIN),
    "tiers:import_detail": _p("perm", needs=("tiers.import_metrics",), login=SITE_LOGIN, args=("batch",)),
    "tiers:import_apply": _p("perm", method="POST", needs=("tiers.import_metrics",), login=SITE_LOGIN,
                             args=("batch",)),
    "tiers:import_refresh": _p("perm", method="POST", needs=("tiers.import_metrics",), login=SITE_LOGIN,
                               args=("batch",)),
    "tiers:import_rejected": _p("perm", needs=("tiers.import_metrics",), login=SITE_LOGIN, args=("batch",)),
    "coaching:plan": _p("creator", owner="any", login=SITE_LOGIN),
    "coaching:review": _p("creator", owner="any", method="POST", login=SITE_LOGIN),
    "coaching:notifications": _p("creator", owner="any", login=SITE_LOGIN),
    "coaching:notifications_read": _p("creator", owner="any", method="POST", login=SITE_LOGIN),
    "coaching:lesson": _p("creator", owner="tail", login=SITE_LOGIN, args=("task",)),
    "coaching:task_done": _p("creator", owner="tail", method="POST", login=SITE_LOGIN, args=("task",)),
    "coaching:task_undo": _p("creator", owner="tail", method="POST", login=SITE_LOGIN, args=("task",)),
    "coaching:pool": _p("creator", owner="mid", login=SITE_LOGIN, args=("pool",)),
    "coaching:pick": _p("creator", owner="mid", method="POST", login=SITE_LOGIN, args=("pool", "product")),
    "coaching:unpick": _p("creator", owner="mid", method="POST", login=SITE_LOGIN, args=("pool", "product")),
    # Joining names no one's object: another creator asking is refused by the service, with a message.
    "coaching:join": _p("creator", owner="any", method="POST", login=SITE_LOGIN, args=("campaign",)),
    "coaching:leave": _p("creator", owner="mid", method="POST", login=SITE_LOGIN, args=("campaign",)),
    "coaching:staff_plan": _p("perm", needs=("coaching.view_growth_plan",), args=("mid_creator",), login=SITE_LOGIN),
    "coaching:reviews": _p("perm", needs=("coaching.view_reviewrequest",), login=SITE_LOGIN),
    "coaching:review_detail": _p("perm", needs=("coaching.view_reviewrequest",), args=("review",), login=SITE_LOGIN),
    "coaching:review_uphold": _p("perm", method="POST", needs=("coaching.change_reviewrequest",), args=("review",),
                                 login=SITE_LOGIN),
    "coaching:review_override": _p("perm", method="POST", needs=("coaching.change_reviewrequest",),
                                   also=("tiers.add_tieroverride",), args=("review",), login=SITE_LOGIN),
    "admin:tiers_influencer_pin": _p("perm", needs=("tiers.add_tieroverride",)),
    "ops:dashboard": _p("perm", needs=("tiers.view_influencer",), login=SITE_LOGIN),
    "ops:policy_whatif": _p("perm", needs=("tiers.view_tierpolicy",), login=SITE_LOGIN, args=("policy",)),
    "ops:whatif_start": _p("perm", method="POST", needs=("tiers.change_tierpolicy",), login=SITE_LOGIN,
                           args=("policy",)),
    "ops:policy_publish": _p("perm", method="POST", needs=("tiers.publish_tierpolicy",), login=SITE_LOGIN,
                             args=("policy",)),
    "ops:whatif_detail": _p("perm", needs=("tiers.view_tierpolicy",), login=SITE_LOGIN, args=("whatif",)),
    "ops:whatif_export": _p("perm", needs=("tiers.view_tierpolicy",), login=SITE_LOGIN, args=("whatif", "csv")),
    "ops:refresh": _p("perm", needs=("tiers.view_refreshrun",), login=SITE_LOGIN),
    "ops:refresh_start": _p("perm", method="POST", needs=("tiers.start_refreshrun",), login=SITE_LOGIN),
    "ops:run_detail": _p("perm", needs=("tiers.view_refreshrun",), login=SITE_LOGIN, args=("run",)),
    "ops:creators_export": _p("perm", needs=("tiers.view_influencer",), login=SITE_LOGIN, args=("csv",)),
    "ops:ledger_export": _p("perm", needs=("tiers.view_tierdecision",), login=SITE_LOGIN, args=("xlsx",)),
    # The API: staff holding the permission with a session (tokens are walked in api/tests), creators on /me/.
    "api:influencers": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:influencer": _p("perm", needs=("tiers.view_influencer",), login=API, args=("influencer",)),
    "api:metrics_bulk": _p("perm", method="POST", needs=("tiers.import_metrics",), login=API),
    "api:decisions": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:refresh_runs": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:refresh_run": _p("perm", needs=("tiers.view_influencer",), login=API, args=("run",)),
    "api:policies": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:policy_current": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:policy_rules": _p("perm", needs=("tiers.view_influencer",), login=API, args=("policy",)),
    "api:programmes": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:enrolments": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:product_pools": _p("perm", needs=("tiers.view_influencer",), login=API),
    "api:product_pool_products": _p("perm", needs=("tiers.view_influencer",), login=API, args=("pool",)),
    "api:my_plan": _p("creator", owner="any", login=API),
    "api:task_complete": _p("creator", owner="tail", method="POST", login=API, args=("task",)),
    "api:task_undo": _p("creator", owner="tail", method="POST", login=API, args=("task",)),
    "api:my_pool_products": _p("creator", owner="mid", login=API, args=("pool",)),
    "api:pick": _p("creator", owner="mid", method="POST", login=API, args=("pool", "product")),
    "api:unpick": _p("creator", owner="mid", method="POST", login=API, args=("pool", "product")),
    "api:join": _p("creator", owner="any", method="POST", login=API, args=("campaign",)),
    "api:leave": _p("creator", owner="mid", method="POST", login=API, args=("campaign",)),
    "api:review_create": _p("creator", owner="any", method="POST", login=API),
    "api:schema": _p("public"),
    "api:swagger_ui": _p("public"),
    "api:redoc": _p("public"),
    "api:not_found": _p("nobody", login=API),
}


def url_patterns(patterns=None, prefix="", namespace=""):
    """(key, route, pattern) of every URL the site serves: its namespaced name, or its route when it has none."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name or route, route, pattern


def _admin_page(key, route):
    """A model admin's standard view: (model, model admin, view) when `key`/`route` is one."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}_"
        if key.startswith(prefix) and key.removeprefix(prefix) in ADMIN_VIEWS:
            return model, model_admin, key.removeprefix(prefix)
        if route == f"admin/{opts.app_label}/{opts.model_name}/<path:object_id>/":
            return model, model_admin, "redirect"  # the old change URL, sent on to the change view
    return None


class _InlineCode(HTMLParser):
    """What the CSP would refuse in a page: inline scripts, style attributes, inline handlers, hx-on, js: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs.items():
            if name == "style" or name.startswith(("on", "hx-on")):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "hx-get", "hx-post", "hx-vals") and value and \
                    value.strip().lower().startswith(("javascript:", "js:")):
                self.found.append(f"{tag} {name}={value[:20]}")


@pytest.fixture
def matrix_world(admin_world, admin_user):
    """admin_world with both its creators able to log in, and the ids each URL is filled with."""
    mid, tail = admin_world["mid"], admin_world["tail"]
    tail.user = UserFactory(username="walk_tail")
    tail.save(update_fields=["user"])
    village_task = Task.objects.filter(stage__program__code="newcomer-village", stage__order=1).order_by("pk").first()
    assert Enrollment.objects.active().filter(influencer=tail, program=village_task.stage.program).exists()
    pool = Program.objects.get(code="mid-product-pool")
    campaign = Program.objects.get(code="walk-campaign")
    assert Enrollment.objects.active().filter(influencer=mid, program__in=[pool, campaign]).count() == 2
    staff = UserFactory(username="staff_no_perms", is_staff=True)
    published = TierPolicy.objects.published().get()
    users = {"anonymous": None, "superuser": admin_user, "staff": staff, "mid": mid.user, "tail": tail.user}
    for role, group in GROUP_ROLES.items():
        users[role] = UserFactory(username=f"role_{role}", is_staff=True)
        users[role].groups.add(Group.objects.get(name=group))
    ids = {
        "task": village_task.pk, "pool": pool.pk, # a product the walk's own selection is not of: picking and unpicking it leaves that selection
        "product": PoolProduct.objects.filter(pool=pool).exclude(product__in=ProductSelection.objects.filter(influencer=mid).values("product"))
        .order_by("product_id").first().product_id,
        "campaign": campaign.pk, "batch": ImportBatch.objects.first().pk, "mid_creator": mid.pk,
        "user": admin_user.pk, "content_type": ContentType.objects.get_for_model(mid).pk, "influencer": mid.pk,
        "review": ReviewRequest.objects.order_by("pk").first().pk, "run": RefreshRun.objects.order_by("pk").first().pk,
        # the published policy: previewing or publishing it is refused on its merits, after the permission check
        "policy": published.pk,
        "whatif": WhatIf.objects.create(policy=published, status=RunStatus.FAILED, rules=published.rules,
                                        data_date=published.created_at.date()).pk,
    }
    return {"users": users, "ids": ids, "mid": mid, "tail": tail, "campaign": campaign}


def _fill(page: Page, ids: dict) -> list:
    return [ids.get(arg, arg) for arg in page.args]


def _concrete(key, route, pattern, world) -> tuple[str, Page, object]:
    """The URL to open and how, or a failure naming the URL the walk does not know."""
    found = _admin_page(key, route)
    if found:
        model, model_admin, view = found
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"no {model._meta.label} row to open {route} with: add one to make_admin_world"
        if view == "redirect":
            return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}/", Page("staff"), None
        args = [obj.pk] if view in ("change", "history", "delete") else []
        opts = model._meta
        needs = tuple(f"{opts.app_label}.{action}_{opts.model_name}" for action in ADMIN_VIEWS[view])
        return reverse(key, args=args), Page("perm", needs=needs), (model_admin, view, obj)
    assert key in SITE, f"the permission walk does not know {route!r} ({key}): add it to SITE with who may open it"
    page = SITE[key]
    args = _fill(page, world["ids"])
    if key != route:
        return reverse(key, args=args), page, None
    return "/" + route.split("(?P")[0] + "".join(map(str, args)), page, None


def _admin_allows_anyone(model_admin, view, obj, superuser) -> bool:
    """What the model admin itself allows at all (a read-only admin lets nobody add, not even a superuser)."""
    request = RequestFactory().get("/")
    request.user = superuser
    if view in ("changelist", "change", "history"):
        return model_admin.has_view_or_change_permission(request, obj if view != "changelist" else None)
    if view == "add":
        return model_admin.has_add_permission(request)
    return model_admin.has_delete_permission(request, obj)


def _expected(role, page: Page, admin_view, world) -> str:
    """allowed, login (a redirect to the login page), refused (403/404/redirect away), or not-found (404)."""
    users = world["users"]
    user = users[role]
    creator = role in ("mid", "tail")
    if page.who == "public":
        return "allowed"
    if user is None:
        return "login" if page.login else "refused"
    if page.who == "login":
        return "allowed"
    if page.who == "creator":
        if not creator:
            return "refused"  # staff are sent to the admin
        if page.owner in ("any", role):
            return "allowed"
        return "not-found"
    if page.who == "nobody":
        return "login" if creator and page.login else "refused"
    if creator:
        return "login" if page.login == ADMIN_LOGIN else "refused"
    if page.who == "staff":
        return "allowed"
    feasible = admin_view is None or _admin_allows_anyone(*admin_view, users["superuser"])
    holds = user.is_superuser or (any(user.has_perm(perm) for perm in page.needs)
                                  and all(user.has_perm(perm) for perm in page.also))
    return "allowed" if feasible and holds else "refused"


def _answer(response, page: Page) -> str:
    status, location = response.status_code, response.get("Location", "")
    if page.who == "public" and status in (200, 302, 503):  # 503: /healthz with a service down
        return "allowed"
    if status == 302 and location.startswith((SITE_LOGIN, ADMIN_LOGIN)):
        return "login"
    if status == 404:
        return "not-found"
    if status in (401, 403) or (status == 302 and page.who == "creator" and location.rstrip("/").endswith("/admin")):
        return "refused"
    if status in (200, 201, 202, 302):
        return "allowed"
    if page.method == "POST" and status in (400, 409, 415):
        return "allowed"  # let in, then refused on what was sent (an empty form, a policy already published)
    return f"status {status}"


ROLES = ["anonymous", "mid", "tail", "staff", "superuser", *GROUP_ROLES]


def test_every_url_answers_each_role_as_its_permissions_say(matrix_world, monkeypatch):
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: None)
    pages = [_concrete(key, route, pattern, matrix_world) for key, route, pattern in url_patterns()]
    # the creator's leaving comes last, so the pages before it see them enrolled
    pages.sort(key=lambda page: page[0].rstrip("/").endswith("/leave"))
    wrong, inline_code = [], set()
    campaign_place = Enrollment.objects.active().filter(
        influencer=matrix_world["mid"], program=matrix_world["campaign"]).values().get()
    for role in ROLES:
        client = Client()
        if matrix_world["users"][role] is not None:
            client.force_login(matrix_world["users"][role])
        for address, page, admin_view in pages:
            response = client.post(address) if page.method == "POST" else client.get(address)
            expected, got = _expected(role, page, admin_view, matrix_world), _answer(response, page)
            if got != expected and not (expected == "refused" and got == "not-found"):
                wrong.append((role, page.method, address, expected, got))
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                reader = _InlineCode()
                reader.feed(response.content.decode())
                inline_code |= {(address, found) for found in reader.found}
            if got == "allowed" and address.rstrip("/").endswith("/leave"):  # enrolled again for the next leave
                Enrollment.objects.filter(pk=campaign_place["id"]).update(**campaign_place)
            if matrix_world["users"][role] is not None and page.method == "POST":
                client.force_login(matrix_world["users"][role])  # the POSTs to log out end the session

    assert not wrong, "\n".join(map(str, wrong))
    assert sorted(inline_code) == []  # the CSP allows no inline code: every page must work under it
    # another creator asking to join is refused by the service, not enrolled
    assert not Enrollment.objects.filter(influencer=matrix_world["tail"], program=matrix_world["campaign"]).exists()


def test_the_walk_fails_on_a_url_it_does_not_know(matrix_world, monkeypatch):
    unknown = URLPattern(pattern=get_resolver().url_patterns[0].pattern, callback=lambda request: None, name="new_page")
    monkeypatch.setattr(get_resolver(), "url_patterns", [*get_resolver().url_patterns, unknown])

    with pytest.raises(AssertionError, match="does not know"):
        [_concrete(key, route, pattern, matrix_world) for key, route, pattern in url_patterns()]


# ---------------------------------------------------------------- junk in ids, query strings and forms

JUNK_QUERY = {"page": ["abc", "-1", "0", "99999999999999999999", "1e9", ""], "days": ["abc", "-30", "99999999999"],
              "category": ["nope", "\x00"], "price_max": ["NaN", "-1", "1e400", "abc"],
              "commission_min": ["Infinity", "101", "abc"], "q": ["\x00", "%", "'"], "o": ["abc", "999"],
              "status": ["zz"], "deep": ["x"], "next": ["https://evil.example"]}
JUNK_FORM = {"subject": ["nope", ""], "message": ["x" * 5000, "\x00"], "file": ["not-a-file"],
             "unknown_creators": ["bogus"], "encoding": ["no-such-codec", "\x00"], "date_format": ["%Q"],
             "language": ["xx", "\x00"], "username": ["\x00", "a" * 300], "password": ["\x00"]}
HUGE_ID = 99999999999999999999  # no database holds it: a URL may still carry it
PLACEHOLDER_ID = 123456789012345678


def test_junk_in_any_id_query_or_form_answers_with_a_message_or_4xx_never_a_500(matrix_world, monkeypatch, settings):
    """Every URL the walk knows, as the roles that may open it: each int id replaced by one no database holds,
    each query parameter and form field the site reads given junk."""
    # Hundreds of calls from one login: the API's throttle (tested in api/tests) would answer them 429.
    settings.LADDER_API_THROTTLE_RATES = {}
    monkeypatch.setattr("tiers.tasks.refresh_all.delay", lambda **kwargs: None)
    users = matrix_world["users"]
    failures = []
    for key, route, pattern in url_patterns():
        address, page, _admin_view = _concrete(key, route, pattern, matrix_world)
        if _admin_page(key, route):
            continue  # the admin's own walk (test_admin_bad_input) feeds its lists and forms junk
        role = {"creator": page.owner if page.owner in ("mid", "tail") else "mid"}.get(page.who, "superuser")
        client = Client(raise_request_exception=False)
        client.force_login(users[role])
        tries = []
        if "<id:" in route or "<int:" in route:
            huge = list(_fill(page, matrix_world["ids"]))
            for position in range(len(huge)):
                args = [*huge[:position], PLACEHOLDER_ID, *huge[position + 1:]]
                tries.append(("id", reverse(key, args=args).replace(str(PLACEHOLDER_ID), str(HUGE_ID)), {}))
        for name, values in (JUNK_FORM if page.method == "POST" else JUNK_QUERY).items():
            tries += [(name, address, {name: value}) for value in values]
        for what, target, data in tries:
            response = client.post(target, data) if page.method == "POST" else client.get(target, data)
            if response.status_code >= 500 or (what == "id" and response.status_code not in (302, 403, 404, 405)):
                failures.append((role, page.method, target, what, data, response.status_code))
            if page.method == "POST":
                client.force_login(users[role])

    assert "\n".join(map(str, failures)) == ""
