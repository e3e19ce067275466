"""Template filters that format numbers the way the page's language writes them (1.2万 in Chinese)."""

from django import template

from coaching import formatting

register = template.Library()

# The page's language is the active one, which is what the formatters write in when given none.
register.filter("money", formatting.money)
register.filter("count", formatting.count)
register.filter("percent", formatting.percent)
register.filter("score", formatting.score)


@register.filter
def progress(gap):
    """How far along a gap is, 0–100, for a progress bar."""
    if not gap.target:
        return 100
    return max(0, min(100, int(100 * gap.current / gap.target)))
