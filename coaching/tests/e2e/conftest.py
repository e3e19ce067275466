"""Browser tests: Playwright drives Debian's chromium against pytest-django's live_server."""

import importlib
import os
import shutil

import pytest
from django.apps import apps

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe. Set here only, never for the app.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LADDER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`); "
                    "`make test` does this when it can.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS, "headless": True}


# The data migrations that ship defaults (policy, programmes, playbook), each with its forward function.
SHIPPED = [
    ("tiers.migrations.0003_default_policy", "create_default_policy"),
    ("coaching.migrations.0002_default_programmes", "create_programmes"),
    ("coaching.migrations.0003_default_playbook", "create_playbook"),
]


@pytest.fixture
def shipped_defaults(transactional_db):
    """Put back what the data migrations ship, after an earlier transactional test flushed it.

    Serialized rollback cannot do it here: Playwright runs an event loop in this thread, so
    Django hands these tests a fresh connection object that lacks the serialized data.
    """
    for module, function in SHIPPED:
        getattr(importlib.import_module(module), function)(apps, None)
