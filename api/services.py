"""Writes of the API: service tokens, and the metrics bulk upsert through the file import's ingestion core."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.validation import ServiceError
from tiers.cells import Problem, problem_text
from tiers.choices import Category
from tiers.ingest import CELL_PROBLEM_EMPTY, FIELDS, MISSING_CREATE, IngestRefused, IngestTotals, ingest_rows

from .models import ApiToken, IdempotentResponse, Scope

TOKEN_PREFIX = "ldr_"
BULK_MAX_ROWS = 10_000

TOKEN_NAME_REQUIRED = _("A token needs a name.")
TOKEN_SCOPES_REQUIRED = _("A token needs at least one scope: {choices}.")
TOKEN_SCOPE_UNKNOWN = _("Unknown scope {scope!r}; choose from: {choices}.")
TOKEN_ALREADY_REVOKED = _("This token was already revoked.")
ROW_NOT_AN_OBJECT = _("each row must be a JSON object of field names and values")
ROW_UNKNOWN_FIELD = _("unknown field; the fields are: {fields}")
ROW_REPEATED_FIELD = _("this field is given more than once in the row")
ROWS_NOT_A_LIST = _("rows must be a list of rows")
ROWS_EMPTY = _("rows is empty: send at least one row")
ROWS_TOO_MANY = _("{count} rows were sent; at most {limit} rows are accepted in one request. Split the batch.")
BULK_REFUSED = _("Nothing was written: {count} row(s) have problems.")
IDEMPOTENCY_KEY_REUSED = _("Idempotency-Key {key!r} was already used with a different request; use a new key.")


def _scope_choices() -> str:
    return ", ".join(Scope.values)


def token_scopes(scopes) -> str:
    """The stored form of a list (or comma-separated text) of scopes; ServiceError naming an unknown one."""
    if isinstance(scopes, str):
        scopes = scopes.split(",")
    wanted = [scope.strip() for scope in scopes if scope and scope.strip()]
    for scope in wanted:
        if scope not in Scope.values:
            raise ServiceError(str(TOKEN_SCOPE_UNKNOWN).format(scope=scope, choices=_scope_choices()), field="scopes")
    if not wanted:
        raise ServiceError(str(TOKEN_SCOPES_REQUIRED).format(choices=_scope_choices()), field="scopes")
    return ",".join(scope for scope in Scope.values if scope in wanted)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, name: str, scopes, by=None) -> tuple[ApiToken, str]:
    """A new service token and its secret, which is returned here once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(str(TOKEN_NAME_REQUIRED), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name[:120], scopes=token_scopes(scopes), key_hash=token_hash(secret),
                                    prefix=secret[:12], created_by=by)
    return token, secret


@transaction.atomic
def token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    """Revoke a token: the next request with it is refused (tokens are looked up on every request)."""
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by,
                                                                                updated_at=now):
        raise ServiceError(str(TOKEN_ALREADY_REVOKED))
    token.refresh_from_db()
    return token


def token_for_secret(secret: str) -> ApiToken | None:
    """The usable token with this secret, marked used (at most once a minute, so reads stay cheap)."""
    token = ApiToken.objects.usable().filter(key_hash=token_hash(secret)).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token


# ---------------------------------------------------------------- metrics, in bulk


def bulk_fields() -> list[str]:
    """The field names a bulk row may carry: the import's own field names, per-category GMV as <category>_gmv."""
    return [*FIELDS, *(f"{code}_gmv" for code in Category.values)]


@dataclass
class BulkProblem:
    index: int | None
    field: str
    message: str

    def to_json(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class BulkRefused(ServiceError):
    """Nothing was written; `problems` name each refused item and field."""

    def __init__(self, message: str, problems: list[BulkProblem], *, too_large: bool = False):
        super().__init__(message)
        self.problems = problems
        self.too_large = too_large


class IdempotencyConflict(ServiceError):
    pass


class _Rejected(Exception):
    """Raised inside the upsert's transaction so that a refused row rolls every row back."""


def _shape(rows) -> tuple[list[str], list[list]]:
    """The rows as the import core reads a file: a header (platform_id and date first, then every
    other field any row names) and each row's cells under it. Structural mistakes raise BulkRefused."""
    if not isinstance(rows, list):
        raise BulkRefused(str(ROWS_NOT_A_LIST), [BulkProblem(None, "rows", str(ROWS_NOT_A_LIST))])
    if not rows:
        raise BulkRefused(str(ROWS_EMPTY), [BulkProblem(None, "rows", str(ROWS_EMPTY))])
    if len(rows) > BULK_MAX_ROWS:
        message = str(ROWS_TOO_MANY).format(count=len(rows), limit=BULK_MAX_ROWS)
        raise BulkRefused(message, [BulkProblem(None, "rows", message)], too_large=True)
    known = bulk_fields()
    allowed = set(known)
    unknown = str(ROW_UNKNOWN_FIELD).format(fields=", ".join(known))
    seen: set[str] = set()
    problems = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(BulkProblem(index, "", str(ROW_NOT_AN_OBJECT)))
            continue
        for name in getattr(row, "repeated", ()):
            problems.append(BulkProblem(index, str(name)[:200], str(ROW_REPEATED_FIELD)))
        if all(value is None for value in row.values()):
            # The core skips blank lines of a file; a blank row sent on purpose is a missing id.
            problems.append(BulkProblem(index, "platform_id", str(CELL_PROBLEM_EMPTY).format(
                column="platform_id", reason=problem_text(Problem.REQUIRED))))
        for name in row:
            if name not in allowed:
                problems.append(BulkProblem(index, str(name)[:200], unknown))
            else:
                seen.add(name)
    if problems:
        raise BulkRefused(str(BULK_REFUSED).format(count=len({p.index for p in problems})), problems)
    header = ["platform_id", "date", *(name for name in known if name in seen and name not in ("platform_id", "date"))]
    return header, [[row.get(name) for name in header] for row in rows]


def metrics_bulk_upsert(*, rows, missing: str = MISSING_CREATE) -> IngestTotals:
    """Upsert daily metrics given as JSON rows, all or nothing, through the file import's core, so
    cells are read and refused with the same rules and words. Idempotent on (creator, day): the
    same rows again change nothing. BulkRefused names each refused row (its index) and field."""
    header, cells = _shape(rows)
    refused: list[BulkProblem] = []

    def on_block(result) -> None:
        if result.rejections is not None:
            for line, problems in result.rejections.select("line", "problems").iter_rows():
                refused.extend(BulkProblem(line, problem["column"], problem["message"]) for problem in problems)

    try:
        with transaction.atomic():
            totals = ingest_rows(header=header, rows=cells, first_line=0, missing=missing, on_block=on_block)
            if refused:
                raise _Rejected
    except _Rejected:
        raise BulkRefused(str(BULK_REFUSED).format(count=len({p.index for p in refused})), refused) from None
    except IngestRefused as error:
        raise BulkRefused(str(error), [BulkProblem(None, "rows", str(error))]) from None
    return totals


# ---------------------------------------------------------------- Idempotency-Key


def request_fingerprint(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(*, principal: str, key: str | None, payload, apply) -> tuple[int, dict, bool]:
    """Run `apply()` -> (status, body) once per (principal, key): a retry with the same key and body gets
    the first answer back (replayed=True) without applying again; the same key with another body is an
    IdempotencyConflict. Without a key, `apply` simply runs. Only successes are remembered: a refused
    request wrote nothing, so a retry is judged afresh."""
    if not key:
        status, body = apply()
        return status, body, False
    fingerprint = request_fingerprint(payload)

    def stored() -> tuple[int, dict, bool] | None:
        earlier = IdempotentResponse.objects.filter(principal=principal, key=key).first()
        if earlier is None:
            return None
        if earlier.request_hash != fingerprint:
            raise IdempotencyConflict(str(IDEMPOTENCY_KEY_REUSED).format(key=key))
        return earlier.status_code, earlier.body, True

    if (found := stored()) is not None:
        return found
    try:
        with transaction.atomic():
            status, body = apply()
            if status < 400:
                # In the same transaction as the writes: either both stay or neither does. A racing
                # retry with the same key waits on the unique index, then fails here and replays.
                IdempotentResponse.objects.create(principal=principal, key=key, request_hash=fingerprint,
                                                  status_code=status, body=body)
    except IntegrityError:
        if (found := stored()) is not None:
            return found
        raise
    return status, body, False
