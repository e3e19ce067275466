"""The one language test: every variant of a language reads the same, and it agrees with gettext."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from coaching.formatting import money
from coaching.models import Program
from core.language import is_chinese, pick, sentences, site_language, speaking

# requested language → whether it reads Chinese. A language the site does not offer reads as the
# site's default, Chinese: that is what gettext's fallback gives it.
LANGUAGES = [
    ("zh-hans", True),
    ("zh", True),
    ("zh-Hant", True),
    ("ZH-CN", True),
    ("en", False),
    ("en-us", False),
    ("EN-GB", False),
    ("de", True),
    ("fr-ca", True),
    ("", True),
]


@pytest.mark.parametrize(("language", "chinese"), LANGUAGES)
def test_is_chinese(language, chinese):
    assert is_chinese(language) is chinese
    assert site_language(language) == ("zh-hans" if chinese else "en")


@pytest.mark.parametrize(("language", "chinese"), LANGUAGES)
def test_the_language_test_agrees_with_gettext_numbers_and_staff_texts(language, chinese):
    # given the same request for a language, as a page activates it
    with translation.override(language or None), speaking():
        # then the catalogue's words, the numbers' units and staff-written text all follow one answer
        assert gettext("Head") == ("头部" if chinese else "Head")
        assert money(12000) == ("¥1.2万" if chinese else "¥12,000")
        assert Program(name_zh="达人新手村", name_en="Newcomer village").name == (
            "达人新手村" if chinese else "Newcomer village"
        )


def test_no_language_means_the_active_one():
    with translation.override("en"):
        assert not is_chinese() and money(12000) == "¥12,000"
    with translation.override("zh-hans"):
        assert is_chinese() and money(12000) == "¥1.2万"


def test_speaking_renders_in_the_given_language_and_restores_the_page_language():
    with translation.override("en"):
        with speaking("zh-CN"):
            assert gettext("Head") == "头部"
        assert translation.get_language() == "en"


def test_staff_text_falls_back_to_the_chinese_they_always_write():
    assert pick("腰部成长季", "Mid growth season", "en") == "Mid growth season"
    assert pick("腰部成长季", "", "en") == "腰部成长季"
    assert pick("腰部成长季", "Mid growth season", "zh-hans") == "腰部成长季"


def test_sentences_run_together_in_chinese_and_are_spaced_in_english():
    with speaking("zh-hans"):
        assert sentences(["第一句。", "第二句。"]) == "第一句。第二句。"
    with speaking("en"):
        assert sentences(["One.", "Two."]) == "One. Two."
