"""The audit log of staff actions; `audit.record(...)` is the one way to write it."""

from .log import record, snapshot  # noqa: F401
