"""The admin speaks Chinese: every label staff read on every list and form comes from the catalogue."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.admin.utils import label_for_field
from django.test import RequestFactory
from django.utils import translation

from coaching.models import PlaybookRule
from config.tests.admin_walk import registered, url
from tiers.models import TierPolicy

pytestmark = pytest.mark.django_db

CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Written the same in Chinese: an abbreviation, and symbols.
SAME_IN_CHINESE = {"GMV", "ID", "—", "+", "#"}
OURS = ("tiers", "coaching")
PAGES = [pytest.param(model, id=model._meta.label) for model, _ in registered() if model._meta.app_label in OURS]


def english(texts) -> list[str]:
    """The texts with no Chinese in them (and not written the same in Chinese)."""
    return sorted({t for t in texts if t and t not in SAME_IN_CHINESE and not CHINESE.search(t)})


class _Labels(HTMLParser):
    """The words the admin itself writes on a page: headings, column heads, field labels, help,
    filter titles, actions. Data (names, values) is left out."""

    LABEL_TAGS = {"h1", "h2", "h3", "label", "caption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self._open, self._in_action = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "select" and attrs.get("name") == "action":
            self._in_action = True
        wanted = (tag in self.LABEL_TAGS or (tag == "th" and attrs.get("scope") == "col")
                  or "help" in classes or (tag == "option" and self._in_action))
        if "sortoptions" in classes:
            wanted = None  # a column's sort priority, a number: not a word
        self._open.append([tag, wanted, ""])

    def handle_endtag(self, tag):
        if tag == "select":
            self._in_action = False
        while self._open:
            open_tag, wanted, text = self._open.pop()
            if wanted:
                self.texts.append(" ".join(text.split()).strip(" :："))
            if self._open and wanted is not None:
                self._open[-1][2] += text  # a label's words may sit in an inner tag
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][2] += data


def page_labels(client, path) -> list[str]:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200, path
    parser = _Labels()
    parser.feed(response.content.decode())
    return [t for t in parser.texts if t.strip("-")]  # the action picker's empty choice is dashes


@pytest.mark.parametrize("model", PAGES)
def test_every_list_and_form_of_the_admin_is_labelled_in_chinese(admin_client, admin_world, model):
    obj = admin_world["draft"] if model is TierPolicy else model._default_manager.first()
    labels = page_labels(admin_client, url(model, "changelist")) + page_labels(admin_client, url(model, "change", obj.pk))
    if admin_client.get(url(model, "add")).status_code == 200:
        labels += page_labels(admin_client, url(model, "add"))
    # The row's own name heads its page; only a code staff chose (a playbook rule's) may be Latin.
    own_names = {obj.code} if isinstance(obj, PlaybookRule) else set()

    assert len(labels) > 5  # the parser found the page's labels
    assert english(set(labels) - own_names) == []


def _declared_words(model, model_admin, request):
    """Every word the admin and the model declare for staff, whether or not a page shows it today."""
    opts = model._meta
    yield from (opts.verbose_name, opts.verbose_name_plural, opts.app_config.verbose_name)
    for field in opts.get_fields():
        if not hasattr(field, "verbose_name") or field.auto_created:
            continue
        yield from (field.verbose_name, field.help_text)
        for _value, label in field.flatchoices or ():
            yield label
    for _codename, name in opts.permissions:
        yield name
    for name in model_admin.get_list_display(request):
        if name != "__str__":
            yield label_for_field(name, model, model_admin)
    for name in model_admin.get_readonly_fields(request, model._default_manager.first()):
        yield label_for_field(name, model, model_admin)
    for _func, _name, description in model_admin._get_base_actions():
        yield description
    for inline in model_admin.get_inline_instances(request):
        yield inline.verbose_name_plural


def test_every_model_field_choice_and_action_has_its_chinese(admin_world, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    with translation.override("zh-hans"):
        words = [str(word) for model, model_admin in registered() if model._meta.app_label in OURS
                 for word in _declared_words(model, model_admin, request)]

    assert english(words) == []


def test_the_default_policy_speaks_of_the_platform(admin_world):
    published = TierPolicy.objects.get(version=1)

    assert "BRIEF" not in published.notes and "平台默认" in published.notes and "platform's default" in published.notes


def test_the_chinese_admin_says_ladder_and_its_breadcrumbs_start_at_home_not_at_a_product_category(admin_client):
    """The product category Home (家居) has a context of its own, so Django's breadcrumb "Home" reads 首页."""
    body = admin_client.get("/admin/tiers/influencer/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', body, re.S).group(1)
    assert "首页" in breadcrumbs and "家居" not in breadcrumbs
    assert "家居" in body  # the category, in the list's filter, keeps its own word
    site_name = re.search(r'<div id="site-name"><a[^>]*>(.*?)</a>', body, re.S).group(1)
    title = re.search(r"<title>(.*?)</title>", body, re.S).group(1)
    assert "Ladder" in site_name and "Ladder" in title
    assert "Django" not in site_name + title
