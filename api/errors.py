"""One error body for every API failure ({detail, code, errors}), and the responses each operation documents."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .serializers import ErrorSerializer

INVALID_INPUT = _("The request has invalid input: see errors.")


def _problems(detail, path: str = "", index: int | None = None) -> list[dict]:
    """DRF's nested validation errors as a flat list of {index, field, message}."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                found += _problems(value, path, int(key))
            else:
                name = "" if key == "non_field_errors" else str(key)
                found += _problems(value, f"{path}.{name}".strip(".") if name else path, index)
        return found
    if isinstance(detail, list):
        found = []
        for position, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                found += _problems(value, path, position)
            else:
                found += _problems(value, path, index)
        return found
    return [{"index": index, "field": path, "message": str(detail)}]


def error_body(detail, code: str, errors: list[dict] | None = None) -> dict:
    body = {"detail": str(detail), "code": code}
    if errors is not None:
        body["errors"] = errors
    return body


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(INVALID_INPUT, "invalid", _problems(exc.detail))
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(exc.detail if isinstance(exc, exceptions.APIException) else exc,
                                   codes if isinstance(codes, str) else "error")
    return response


def error_response(detail, code: str, http_status: int, errors: list[dict] | None = None, headers=None) -> Response:
    return Response(error_body(detail, code, errors), status=http_status, headers=headers)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


E400 = {400: _error("Invalid input: `errors` names each item (by index) and field.")}
E401 = {401: _error("No credentials, or an invalid or revoked token.")}
E403 = {403: _error("Authenticated, but without the scope or permission this needs.")}
E404 = {404: _error("No such object among those the caller may reach (another creator's id included), "
                    "or an invalid cursor.")}
E409 = {409: _error("Conflicts with the current state; the message says what to do.")}
E413 = {413: _error("More rows (or bytes) than one request may carry; the message names the limit.")}
E415 = {415: _error("The body is not JSON (send Content-Type: application/json).")}
E429 = {429: _error("Too many requests; retry after the number of seconds in the Retry-After header.")}
COMMON = {**E401, **E403, **E429}


def responses(ok: dict, *extra: dict) -> dict:
    """An operation's documented responses: its success, the errors every operation can give, and `extra`."""
    merged = dict(ok)
    for more in (COMMON, *extra):
        merged.update(more)
    return merged


__all__ = ["COMMON", "E400", "E404", "E409", "E413", "E415", "api_exception_handler", "error_response", "responses",
           "status"]
