"""Template filters that format numbers the way the page's language writes them (1.2万 in Chinese)."""

from django import template
from django.utils.translation import get_language

from coaching import formatting

register = template.Library()


@register.filter
def money(value):
    return formatting.money(value, get_language())


@register.filter
def count(value):
    return formatting.count(value, get_language())


@register.filter
def percent(value):
    return formatting.percent(value, get_language())


@register.filter
def score(value):
    return formatting.score(value, get_language())


@register.filter
def progress(gap):
    """How far along a gap is, 0–100, for a progress bar."""
    if not gap.target:
        return 100
    return max(0, min(100, int(100 * gap.current / gap.target)))
