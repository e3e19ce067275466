"""Walking the admin as staff would: one row of every model it shows, every URL it serves, the forms as a browser sends them."""

import datetime
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from api.services import token_create, token_revoke
from coaching.choices import ReviewSubject
from coaching.models import Program
from coaching.reviews import review_reply, review_request_create
from coaching.services import (
    assignment_run,
    coaching_note_create,
    product_select,
    traffic_reward_grant,
)
from coaching.tests.factories import ProgramFactory, pool_with_products
from config.security import login_attempt_failed
from tiers.choices import OverrideField, Tier
from tiers.imports import import_file
from tiers.models import TierPolicy
from tiers.refresh import refresh_run_sync
from tiers.services import override_create, override_end, policy_clone
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def make_admin_world(staff) -> dict:
    """At least one row of every model registered in the admin, each made the way the product makes it."""
    mid = InfluencerFactory(handle="walk_mid", user=UserFactory(username="walk_mid"))
    metric_days(mid, days=30, gmv="5000")
    tail = InfluencerFactory(handle="walk_tail")
    metric_days(tail, days=30, gmv="1000")
    pool = Program.objects.get(code="mid-product-pool")
    products = pool_with_products(pool, 2)
    ProgramFactory(code="walk-campaign", eligible_tiers=["mid"])
    refresh_run_sync()
    assignment_run()
    product_select(influencer=mid, pool=pool, product_id=products[0].pk)
    traffic_reward_grant(influencer=mid, program=Program.objects.get(code="chuanliu"), merchant="商家A",
                         impressions=1000, period_start=timezone.localdate() - datetime.timedelta(days=7),
                         period_end=timezone.localdate())
    ended = override_create(influencer=tail, field=OverrideField.CREATOR_TYPE, value="seeding", reason="trial", by=staff)
    override_end(override=ended, by=staff)
    override_create(influencer=mid, field=OverrideField.TIER, value=Tier.HEAD, reason="key account", by=staff)
    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=staff)
    coaching_note_create(influencer=mid, author=staff, body="three small lives a week")
    review = review_request_create(influencer=tail, subject=ReviewSubject.TIER, message="Please look again.")
    review_reply(review=review, reply="Checked.", by=staff)  # also notifies the creator
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=31.23, longitude=121.47)
    ClockedSchedule.objects.create(clocked_time=timezone.now() + datetime.timedelta(days=1))
    PeriodicTask.objects.create(name="walk", task="tiers.refresh_all", interval=interval)
    Group.objects.get_or_create(name="walk")
    wrong_password = RequestFactory().post("/accounts/login/", HTTP_USER_AGENT="walk")
    login_attempt_failed(wrong_password, credentials={"username": "walk_stranger"})  # a failed login, as axes counts it
    with tempfile.TemporaryDirectory() as folder:  # a metric import, made as the command makes it
        path = Path(folder) / "walk.csv"
        path.write_text(f"platform_id,date,followers\n{mid.platform_id},{timezone.localdate().isoformat()},1234\n",
                        encoding="utf-8")
        import_file(path=str(path), by=staff)
    token_create(name="walk pipeline", scopes="read,write-metrics", by=staff)
    token_revoke(token=token_create(name="walk old pipeline", scopes="read", by=staff)[0], by=staff)
    return {"mid": mid, "tail": tail, "draft": draft, "review": review}


def registered():
    """(model, model admin) for every model the admin shows, in a stable order."""
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def custom_url_names(model_admin) -> list[str]:
    """The admin's own URLs beyond Django's standard five (e.g. "refresh now")."""
    opts = model_admin.opts
    standard = {f"{opts.app_label}_{opts.model_name}_{view}" for view in STANDARD_VIEWS}
    return [p.name for p in model_admin.get_urls() if p.name and p.name not in standard]


def declared_actions(model_admin) -> list[str]:
    """Every action the admin declares, whoever may run it."""
    return [name for _func, name, _description in model_admin._get_base_actions()]


class _FormReader(HTMLParser):
    """What a browser would send for the page's main form: inputs, checked boxes, selected options, textareas."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data, self.fields = form_id, False, {}, {}
        self._select = self._textarea = None
        self._select_first = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        if tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self.data[self._select] = value
            return
        if "name" not in attrs:
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            self.fields[name] = kind
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            else:
                self.data[name] = attrs.get("value", "")
        elif tag == "textarea":
            self.fields[name], self._textarea = "textarea", name
            self.data[name] = ""
        elif tag == "select":
            self.fields[name], self._select, self._select_first = "select", name, None

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            self.data.setdefault(self._select, self._select_first or "")
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def browser_form(response, model) -> tuple[dict, dict]:
    """The main form of an admin add/change page as (data a browser would post, {field name: input kind})."""
    reader = _FormReader(f"{model._meta.model_name}_form")
    reader.feed(response.content.decode())
    data = {name: value.removeprefix("\n") for name, value in reader.data.items()}
    return data, reader.fields


def custom_url(name, obj):
    """An admin's own URL by name: with the object's id where the URL takes one."""
    try:
        return reverse(f"admin:{name}")
    except NoReverseMatch:
        return reverse(f"admin:{name}", args=[obj.pk])


def walk(client) -> tuple[dict, dict]:
    """Every admin as `client`: (reads, writes). reads: {model label: (changelist, change page) status codes};
    writes: {(model label, what): status code} for add (GET and POST), change (POST), delete (GET and POST), every
    declared action and every custom URL, on the first row of each model."""
    reads, writes = {}, {}
    for model, model_admin in registered():
        obj = model._default_manager.first()
        assert obj is not None, f"make_admin_world makes no {model._meta.label}: add one, so its admin is walked"
        label = model._meta.label
        reads[label] = (client.get(url(model, "changelist")).status_code,
                        client.get(url(model, "change", obj.pk)).status_code)
        writes[(label, "GET add")] = client.get(url(model, "add")).status_code
        writes[(label, "POST add")] = client.post(url(model, "add"), {}).status_code
        writes[(label, "POST change")] = client.post(url(model, "change", obj.pk), {}).status_code
        writes[(label, "GET delete")] = client.get(url(model, "delete", obj.pk)).status_code
        writes[(label, "POST delete")] = client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code
        for action in declared_actions(model_admin):
            writes[(label, f"action {action}")] = client.post(
                url(model, "changelist"), {"action": action, "_selected_action": [obj.pk], "index": 0}).status_code
        for name in custom_url_names(model_admin):
            writes[(label, f"POST {name}")] = client.post(custom_url(name, obj), {}).status_code
    return reads, writes


def snapshot():
    """Every row of every registered model, to show that a refused request changed nothing."""
    return {model._meta.label: sorted(map(repr, model._default_manager.values())) for model, _ in registered()}
