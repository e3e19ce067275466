"""Browser tests of the ops desk: the same browser setup as every other app's browser tests."""

from coaching.tests.e2e.conftest import browser_type_launch_args  # noqa: F401 (the fixture, shared)
