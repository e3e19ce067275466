"""Chinese first, English too: the catalogue is complete and the pages follow the chosen language."""

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.translation.template import templatize

from coaching.choices import NotificationKind, TaskKind
from coaching.conditions import conditions_from_json
from coaching.models import Notification, Program, Task
from coaching.playbook import rule_from_json
from coaching.services import assignment_run
from coaching.tests.factories import pool_with_products
from core.validation import RuleError
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.rules import PolicyRules
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# English UI strings of the plan page (headings, buttons, legend, navigation) that the Chinese page must not show.
PLAN_ENGLISH = [
    "My growth plan", "What to do next", "My programmes", "Ask for a review", "Log out", "Notifications",
    "Campaigns you can join", "How you got here", "Send request", "Stage progress", "Short video", "Storefront",
    "Followers", "Switch", "Skip to content", "Open lesson", "Mark done", "What should we review?", "Your message",
    "Newcomer village", "Enrolled: you meet this programme", "Tail", "Last 30 days",
]


# --- the catalogue ---------------------------------------------------------------------------------

def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as {"msgid", "msgid_plural", "msgstr": [..], "flags": set, "obsolete"}; header included."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            keyword, index, text = match.groups()
            field = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else keyword
            value = ast.literal_eval(text)
        else:
            assert line.startswith('"'), f"unexpected line in {path}: {raw!r}"
            value = ast.literal_eval(line)
        if isinstance(field, tuple):
            entry["msgstr"][field[1]] = entry["msgstr"].get(field[1], "") + value
        else:
            entry[field] = entry.get(field, "") + value
    return entries


@pytest.fixture(scope="module")
def catalogue():
    entries = parse_po(PO_FILE)
    return entries[0], [e for e in entries[1:] if not e["obsolete"]]


# --- what the code asks gettext for --------------------------------------------------------------

# gettext function → the positions of (context, msgid, plural) among its arguments.
GETTEXT_CALLS = {
    **dict.fromkeys(("_", "gettext", "gettext_lazy", "gettext_noop"), (None, 0, None)),
    **dict.fromkeys(("ngettext", "ngettext_lazy"), (None, 0, 1)),
    **dict.fromkeys(("pgettext", "pgettext_lazy"), (0, 1, None)),
    **dict.fromkeys(("npgettext", "npgettext_lazy"), (0, 1, 2)),
}
SOURCE_APPS = ("core", "coaching", "tiers", "config", "demo", "api", "audit", "ops")


def python_sources() -> list[Path]:
    """The site's Python modules: tests and migrations speak to no one."""
    return sorted(
        path for app in SOURCE_APPS for path in (BASE_DIR / app).rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(BASE_DIR).parts)
    )


def _message(call: ast.Call):
    """(context, msgid, plural) of a gettext call with literal arguments, else None."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    if name not in GETTEXT_CALLS:
        return None
    positions = GETTEXT_CALLS[name]
    if len(call.args) <= max(p for p in positions if p is not None):
        return None
    values = [None if p is None else call.args[p] for p in positions]
    if not all(v is None or (isinstance(v, ast.Constant) and isinstance(v.value, str)) for v in values):
        return None
    return tuple(None if v is None else v.value for v in values)


def python_messages(path: Path) -> set[tuple]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {m for node in ast.walk(tree) if isinstance(node, ast.Call) and (m := _message(node)) is not None}


def template_messages(path: Path) -> set[tuple]:
    """The messages of a template, read through the same templatize() that makemessages uses."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    found = set()
    for start in re.finditer(r"\b(?:n?p?gettext)\(", code):
        # The call ends at the first ")" after which it parses as Python.
        for end in (m.end() for m in re.finditer(r"\)", code[start.start():])):
            try:
                call = ast.parse(code[start.start():start.start() + end], mode="eval").body
            except SyntaxError:
                continue
            if (message := _message(call)) is not None:
                found.add(message)
            break
    return found


def code_messages() -> dict[tuple, str]:
    """Every (context, msgid, plural) the site asks gettext for → one file that asks."""
    found = {}
    for path in python_sources():
        found.update(dict.fromkeys(python_messages(path), str(path.relative_to(BASE_DIR))))
    for path in sorted((BASE_DIR / "templates").rglob("*.html")):
        found.update(dict.fromkeys(template_messages(path), str(path.relative_to(BASE_DIR))))
    return found


def test_every_message_the_code_uses_is_translated(catalogue):
    _, entries = catalogue
    translated = {(e.get("msgctxt"), e["msgid"], e.get("msgid_plural")) for e in entries
                  if "fuzzy" not in e["flags"] and e["msgstr"] and all(e["msgstr"].values())}
    used = code_messages()

    assert len(used) > 300  # the extraction sees the code: templates, choices, sentences, admin
    assert ("a date in a sentence", "j F Y", None) in used and (None, "My growth plan", None) in used
    missing = sorted(f"{where}: {message}" for message, where in used.items() if message not in translated)
    assert missing == [], "add them to locale/zh_Hans/LC_MESSAGES/django.po"


@pytest.mark.parametrize("write", [
    lambda: PolicyRules.from_json({"window_days": 0, "head": {"keep_gmv": "lots", "colour": 1},
                                   "mid": {"reputation_floor": 9}, "anti_flap": {"max_steps_down": 0}}),
    lambda: conditions_from_json([{"feature": "gvm", "op": "=>", "value": 1},
                                  {"feature": "tier", "op": "<", "value": 2},
                                  {"feature": "live_share", "op": "<", "value": 60}], "entry_criteria"),
    lambda: rule_from_json({"code": "Bad!", "priority": 1.5, "tiers": ["star"], "text_zh": "{gvm}", "text_en": " ",
                            "targets": {"9x": "many"}}),
], ids=["policy", "conditions", "playbook"])
def test_staff_read_the_validators_messages_in_their_language(write):
    """What staff wrote wrong comes back in admin form errors: every message in Chinese, the paths as written."""
    with pytest.raises(RuleError) as refused:
        write()

    messages = [error.split(": ", 1)[1] for error in refused.value.errors]
    assert len(messages) >= 3
    assert all(re.search(r"[\u4e00-\u9fff]", message) for message in messages), messages


def test_the_catalogue_is_complete_and_nothing_is_fuzzy(catalogue):
    header, entries = catalogue

    assert len(entries) > 100
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in entries if not all(e["msgstr"].values()) or not e["msgstr"]] == []
    assert [e["msgid"] for e in entries if "msgid_plural" in e and sorted(e["msgstr"]) != [0]] == []


def test_every_translation_keeps_the_placeholders_and_is_chinese(catalogue):
    _, entries = catalogue
    wrong = [e["msgid"] for e in entries for s in e["msgstr"].values()
             if sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(e["msgid"]))]
    assert wrong == []
    # Everything but a few abbreviations (GMV) is written in Chinese.
    untranslated = [e["msgid"] for e in entries if e["msgstr"][0] == e["msgid"] and e["msgid"] not in {"GMV"}]
    assert untranslated == []
    assert all(re.search(r"[\u4e00-\u9fff]", e["msgstr"][0]) for e in entries if e["msgid"] not in {"GMV"})


def test_the_committed_mo_matches_the_po(catalogue):
    """A machine without gettext serves the .mo as committed: it must hold every current translation."""
    _, entries = catalogue
    with MO_FILE.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)

    stale = []
    for e in entries:
        if "msgid_plural" in e:
            got = compiled.ngettext(e["msgid"], e["msgid_plural"], 1)
        elif "msgctxt" in e:
            got = compiled.pgettext(e["msgctxt"], e["msgid"])
        else:
            got = compiled.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert stale == [], "run: manage.py compilemessages -l zh_Hans --ignore=.venv"


def test_glossary_terms(catalogue):
    _, entries = catalogue
    zh = {e["msgid"]: e["msgstr"][0] for e in entries}
    expected = {
        "Head": "头部", "Mid": "腰部", "Tail": "尾部", "Persona": "人设型", "Vertical": "垂直型", "Seeding": "种草型",
        "Entertainment": "娱乐型", "Storefront": "橱窗", "Short video": "短视频", "Live": "直播",
        "Newcomer village": "达人新手村", "Distribution product pool": "快分销货盘", "Marketing campaign": "营销活动",
        "Product score": "商品分", "Shop experience": "店铺体验分", "Reputation score": "带货口碑分",
    }
    assert {k: zh.get(k) for k in expected} == expected
    assert "新手" in zh["Newcomer"]
    assert "川流计划" in zh["Chuanliu traffic rewards"]


# --- the pages ---------------------------------------------------------------------------------------

@pytest.fixture
def tail_creator(db):
    """A tail creator, in the newcomer village, with a plan and 30 days of sales."""
    user = UserFactory(username="i18ncreator")
    influencer = InfluencerFactory(handle="i18ncreator", display_name="i18n-达人", user=user)
    metric_days(influencer, days=30, gmv="1000")
    refresh_run_sync()
    assignment_run()
    return Influencer.objects.get(pk=influencer.pk)


def page(client, url, language=None):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-CN", "zh-Hans", "zh"])
def test_the_login_page_is_chinese_for_a_chinese_browser(client, language):
    body = page(client, "/accounts/login/", language)

    assert 'lang="zh-hans"' in body
    assert "登录" in body and "用户名" in body and "密码" in body
    assert "Log in" not in body and "Username" not in body and "Password" not in body


@pytest.mark.django_db
def test_the_login_page_is_english_for_an_english_browser(client):
    body = page(client, "/accounts/login/", "en-US,en;q=0.9")

    assert 'lang="en"' in body
    assert "Log in" in body and "Username" in body
    assert "登录" not in body


@pytest.mark.django_db
def test_without_a_preference_the_site_is_chinese(client):
    assert "登录" in page(client, "/accounts/login/")


def test_the_plan_is_chinese_for_a_chinese_browser(client, tail_creator):
    client.force_login(tail_creator.user)

    body = page(client, "/plan/", "zh-CN,zh;q=0.9,en;q=0.8")

    for chinese in ("我的成长计划", "下一步怎么做", "我的扶持项目", "申请复核", "退出登录", "成长轨迹", "达人新手村", "尾部",
                    "短视频", "橱窗"):
        assert chinese in body, chinese
    found = [english for english in PLAN_ENGLISH if english in body]
    assert found == []


def test_the_plan_is_english_for_an_english_browser(client, tail_creator):
    client.force_login(tail_creator.user)

    body = page(client, "/plan/", "en")

    assert 'lang="en"' in body
    missing = [english for english in PLAN_ENGLISH if english not in body]
    assert missing == []  # the list above really is on the page, so its absence in Chinese means something
    assert "我的成长计划" not in body and "下一步怎么做" not in body


def test_switching_the_language_sticks_for_the_next_pages(client, tail_creator):
    client.force_login(tail_creator.user)
    assert "我的成长计划" in page(client, "/plan/", "zh-CN")

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/plan/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.status_code == 302 and response["Location"] == "/plan/"
    body = page(client, "/plan/", "zh-CN")  # the choice wins over the browser's language
    assert "My growth plan" in body and "What to do next" in body and "我的成长计划" not in body

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/plan/"})
    assert "我的成长计划" in page(client, "/plan/", "en")


# --- no hand-built bilingual sentence ------------------------------------------------------------

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Chinese that is no sentence of ours: the demo's made-up shop and product names; the headers,
# number units and date forms that metric files arrive with (the import reads them, never shows
# them); the units Chinese numbers are written in (chosen by the one language test), and the
# language's name for itself.
CHINESE_DATA = {"demo/population.py", "demo/programmes.py", "tiers/ingest.py", "tiers/cells.py", "tiers/metric_files.py"}
CHINESE_WORDS = {("coaching/formatting.py", "亿"), ("coaching/formatting.py", "万"), ("config/settings/base.py", "简体中文")}
# Where the language is read and tested: nowhere else.
LANGUAGE_MODULE = "core/language.py"
LANGUAGE_TESTS = re.compile(r"get_language\(|startswith\(\s*[\"'](?:zh|en)|[=!]=\s*[\"'](?:zh|en)|\bif (?:zh|chinese)\b|"
                            r"\b(?:zh|chinese) else\b|_zh if\b")


def _docstrings(tree) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def test_no_chinese_is_written_in_the_code_outside_the_catalogue():
    """Every Chinese word a page shows comes from the .po (or from data staff wrote), so none is built by hand."""
    found = []
    for path in python_sources():
        name = str(path.relative_to(BASE_DIR))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A msgid may name a Chinese term ("reputation floor (带货口碑分)"): the catalogue still translates it.
        skip = _docstrings(tree) | {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call) and _message(node)
                                    for arg in node.args}
        found += [f"{name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)
                  and id(node) not in skip and name not in CHINESE_DATA and (name, node.value) not in CHINESE_WORDS]
    for path in sorted((BASE_DIR / "templates").rglob("*.html")):
        found += [f"{path.relative_to(BASE_DIR)}: {line.strip()}" for line in path.read_text(encoding="utf-8").splitlines()
                  if CJK.search(line)]
    assert found == []


def test_only_the_language_module_decides_which_language_a_reader_gets():
    readers = [f"{path.relative_to(BASE_DIR)}: {match.group()}" for path in python_sources()
               if str(path.relative_to(BASE_DIR)) != LANGUAGE_MODULE
               for match in LANGUAGE_TESTS.finditer(path.read_text(encoding="utf-8"))]
    assert readers == []
    # and the one test, beside gettext, only picks the units numbers are written in
    callers = {str(path.relative_to(BASE_DIR)) for path in python_sources() if "is_chinese(" in path.read_text("utf-8")}
    assert callers == {LANGUAGE_MODULE, "coaching/formatting.py"}


# --- every page, in each language ----------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The words a reader sees or hears: text outside scripts and styles, and attributes shown or read aloud."""

    SHOWN = ("aria-label", "title", "alt", "placeholder")

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")
        self.parts += [value for name, value in attrs if name in self.SHOWN and value]

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(body: str) -> str:
    parser = VisibleText()
    parser.feed(body)
    return " ".join(parser.parts)


# Latin words a Chinese page may show: the figure's name and the brand, and the switcher's "English".
LATIN_IN_CHINESE = {"GMV", "Ladder", "English"}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
EVERY_NOTIFICATION = [
    (NotificationKind.TIER_CHANGED, {"tier_before": "tail", "tier_after": "mid", "cause": "override"}),
    (NotificationKind.TIER_CHANGED, {"tier_before": "mid", "tier_after": "tail"}),
    (NotificationKind.TIER_CHANGED, {"tier_before": "newcomer", "tier_after": "tail"}),
    (NotificationKind.TYPE_CHANGED, {"type_before": "seeding", "type_after": None}),
    (NotificationKind.ENROLLED, {"reason": "enrolled", "program_name_zh": "达人新手村", "program_name_en": "Newcomer village",
                                 "stage_name_zh": "入门：认识平台", "stage_name_en": "Getting started"}),
    (NotificationKind.STAGE_ADVANCED, {"reason": "stage_advanced", "program_name_zh": "达人新手村",
                                       "program_name_en": "Newcomer village", "stage_name_zh": "开张：第一笔成交",
                                       "stage_name_en": "First sales"}),
    (NotificationKind.GRADUATED, {"reason": "graduated_promoted", "program_name_zh": "达人新手村",
                                  "program_name_en": "Newcomer village"}),
    (NotificationKind.EXITED, {"reason": "exited_demoted", "program_name_zh": "川流计划", "program_name_en": "Chuanliu plan"}),
    (NotificationKind.DEMOTION_WARNING, {"tier": "mid", "keep_gmv": "80000", "window_days": 30, "demote_on": "2026-03-08"}),
    (NotificationKind.REVIEW_ANSWERED, {"subject": "creator_type", "status": "closed", "reply": "…"}),
]


@pytest.fixture
def readers(db, days_ago):
    """Creators whose pages say the most: a tail creator in the village with coaching and every kind of
    notification, a mid creator below the keep line in the product pool, and a newcomer."""
    made = {}
    for handle, onboarded, days, gmv in (("tailreader", 400, 30, "1000"), ("midreader", 400, 30, "2500"),
                                         ("newreader", 10, 5, "300")):
        made[handle] = InfluencerFactory(handle=handle, display_name=handle.title(), onboarded_on=days_ago(onboarded),
                                         user=UserFactory(username=handle))
        metric_days(made[handle], days=days, gmv=gmv, live_share="0.9", video_share="0.05")
    metric_days(made["midreader"], days=30, end=days_ago(30), gmv="5000")  # mid a month ago, under the line now
    refresh_run_sync(today=days_ago(30))
    refresh_run_sync()
    assignment_run()
    Notification.objects.bulk_create(Notification(influencer=made["tailreader"], kind=kind, data=data)
                                     for kind, data in EVERY_NOTIFICATION)
    pool = Program.objects.get(code="mid-product-pool")
    pool_with_products(pool, 3, title="Vitamin C serum", merchant="Glow Lab")
    lesson = Task.objects.filter(stage__program__code="newcomer-village", kind=TaskKind.LESSON).first()
    pages = [
        (made["tailreader"], "/plan/"),
        (made["tailreader"], "/plan/notifications/"),
        (made["tailreader"], f"/plan/lessons/{lesson.pk}/"),
        (made["midreader"], "/plan/"),
        (made["midreader"], f"/plan/pools/{pool.pk}/"),
        (made["newreader"], "/plan/"),
    ]
    # What the pages show as written, in whatever language it was written.
    data = {"Vitamin C serum", "Glow Lab", *(c.handle for c in made.values()), *(c.display_name for c in made.values())}
    return pages, data


def without(text: str, data) -> str:
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "")
    return text


def test_every_page_is_all_chinese_for_a_chinese_reader(client, readers):
    pages, data = readers
    for creator, url in pages:
        client.force_login(creator.user)

        text = without(visible_text(page(client, url, "zh-CN")), data)

        english = set(LATIN_WORD.findall(text)) - LATIN_IN_CHINESE
        assert english == set(), f"{creator.handle} {url}: {text}"


def test_every_page_is_all_english_for_an_english_reader(client, readers):
    pages, data = readers
    shown = ""
    for creator, url in pages:
        client.force_login(creator.user)

        text = visible_text(page(client, url, "en"))

        assert CJK.findall(without(text, {*data, "简体中文"})) == [], f"{creator.handle} {url}: {text}"
        shown += text
    # The pages say what the test means them to: a reason, a warning, coaching, each notification.
    for sentence in ("GMV of", "the mid line is", "to stay above the keep line", "Raise the share of your sales",
                     "Day 10 since your first sale", "Congratulations: your tier went up from tail to mid (set by",
                     "Your creator type changed from seeding to not yet determined.", "You left Chuanliu plan",
                     "below the mid keep line of ¥80,000", "by 8 March 2026", "Glow Lab"):
        assert sentence in shown, sentence
