"""JSON that reports a key given twice in one object, instead of silently keeping the last.

NaN and Infinity, which pipelines written in Python emit, are read as numbers so that the cell rules
refuse them with the row and field named, as they refuse any other value that is no figure."""

import json

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError, UnsupportedMediaType
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


def loads(raw: bytes, encoding: str = "utf-8"):
    try:
        return json.loads(raw.decode(encoding), object_pairs_hook=_object)
    except (ValueError, UnicodeDecodeError) as error:
        raise ParseError(str(NOT_JSON).format(error=error)) from None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return loads(stream.read(), (parser_context or {}).get("encoding", "utf-8"))


def large_json_body(request):
    """The JSON body of a request allowed to be larger than DATA_UPLOAD_MAX_MEMORY_SIZE (the caller has
    checked its length against its own limit): read from the stream, which that setting does not guard."""
    if not (request.content_type or "").startswith("application/json"):
        raise UnsupportedMediaType(request.content_type)
    return loads(request._request.read())
