"""What every validator and service shares: their errors (RuleError, ServiceError), the messages, number parsing."""

import math
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

# A RuleError line reads "<path>: <message>", e.g. "head.keep_gmv: must be a number" or
# "conditions[1].op: must be one of <, <=, >, >=, ==, !=". Staff read them in admin form errors, in their language.
NOT_AN_OBJECT = _("must be an object")
NOT_A_LIST = _("must be a list")
UNKNOWN_FIELD = _("unknown field")
REQUIRED = _("is required")
NOT_A_NUMBER = _("must be a number")
NOT_A_WHOLE_NUMBER = _("must be a whole number")
NOT_TEXT = _("must be text")
NOT_A_SHARE = _("must be between 0 and 1 (0.2 for 20%)")

# Past 10^18 no database column holds a whole number, and int("1e999999999") would build a billion digits.
_LARGEST_WHOLE_EXPONENT = 18


class ServiceError(ValueError):
    """A request that breaks a rule; the message says which, and nothing was changed.

    `field` names the input at fault when there is one, so a form can show the message next to it.
    """

    def __init__(self, message, *, field: str | None = None):
        self.field = field
        super().__init__(str(message))


class RuleError(ValueError):
    """Every problem found in a document staff wrote, not just the first, each as "<path>: <message>"."""

    def __init__(self, errors):
        self.errors = tuple(errors)
        super().__init__("; ".join(self.errors))


def _plain(value) -> bool:
    # bool is an int to Python, but `true` is never a threshold anyone meant.
    return not isinstance(value, bool) and isinstance(value, (int, float, str, Decimal))


def number(value) -> float | None:
    """A finite float from a JSON number or numeric text, or None."""
    if not _plain(value):
        return None
    try:
        parsed = float(value)
    except (ValueError, OverflowError):
        return None
    return parsed if math.isfinite(parsed) else None


def decimal(value) -> Decimal | None:
    """A finite Decimal from a JSON number or numeric text, or None."""
    if not _plain(value):
        return None
    try:
        parsed = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


def whole_number(value) -> int | None:
    """An int from a JSON number or numeric text with nothing after the point (7, 7.0, "7"), or None."""
    parsed = decimal(value)
    if parsed is None or parsed != parsed.to_integral_value() or parsed.adjusted() > _LARGEST_WHOLE_EXPONENT:
        return None
    return int(parsed)
