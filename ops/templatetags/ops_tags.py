"""Template filters of the ops desk pages."""

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def get(mapping, key):
    """mapping[key] in a template (labels by value)."""
    return mapping.get(key, "") if mapping else ""


@register.filter
def rate(pair) -> str:
    """(part, whole) as a percentage with one decimal; "—" for no whole."""
    part, whole = pair
    return f"{number_format(100 * part / whole, 1)}%" if whole else "—"


@register.filter
def percent(share) -> str:
    """A share 0–1 as a percentage with one decimal."""
    return f"{number_format(100 * share, 1)}%"
