"""Chinese first, English too: the catalogue is complete and the pages follow the chosen language."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from coaching.services import assignment_run
from tiers.models import Influencer
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, UserFactory, metric_days

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
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
