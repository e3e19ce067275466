"""JSON that reports a key given twice in one object, instead of silently keeping the last.

NaN and Infinity, which pipelines written in Python emit, are read as numbers so that the cell rules
refuse them with the row and field named, as they refuse any other value that is no figure."""

import json

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NOT_JSON = _("The body is not valid JSON: {error}")


class RepeatedKeys(dict):
    """An object in which some keys were given more than once: `repeated` names them, for the caller to report."""

    repeated: tuple = ()


def _object(pairs):
    result = RepeatedKeys(pairs)
    if len(result) != len(pairs):
        seen, repeated = set(), []
        for key, _value in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        result.repeated = tuple(repeated)
    return result


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.loads(stream.read().decode(encoding), object_pairs_hook=_object)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(str(NOT_JSON).format(error=error)) from None
