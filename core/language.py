"""The one test of which language a reader gets, and rendering in it: every page, sentence and number asks here."""

from contextlib import contextmanager

from django.conf import settings
from django.utils import translation


def site_language(language: str | None = None) -> str:
    """The site's language (settings.LANGUAGES) that `language` reads as; None asks for the active one.

    A Chinese variant (zh, zh-CN, zh-Hant) reads as Chinese and an English one (en-us, en-GB) as
    English, the way Django maps a browser's language; any other reads as the site's default,
    Chinese, which is also what gettext falls back to for it.
    """
    requested = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    try:
        return translation.get_supported_language_variant(requested)
    except LookupError:
        return settings.LANGUAGE_CODE


def is_chinese(language: str | None = None) -> bool:
    """Whether `language` (the active one when None) reads Chinese: 万 and 亿, no space between sentences."""
    return site_language(language).startswith("zh")


@contextmanager
def speaking(language: str | None = None):
    """gettext, labels and numbers in `language` (the active one when None), as site_language maps it."""
    with translation.override(site_language(language)):
        yield


def pick(zh: str, en: str, language: str | None = None) -> str:
    """Staff-written text (a programme's name, a playbook rule) in the reader's language.

    Staff write Chinese first and English when they have it, so an English reader falls back to the Chinese.
    """
    return zh if is_chinese(language) or not en else en


def sentences(parts) -> str:
    """Sentences of one paragraph in the active language: Chinese runs them together, English spaces them."""
    return ("" if is_chinese() else " ").join(parts)


def in_sentence(label) -> str:
    """A choice's label inside a sentence: "Mid" → "mid" ("your tier went up to mid"); Chinese is unchanged."""
    return str(label).lower()
