"""Browser tests of the site as a whole: the same browser setup as every other app's browser tests."""

from coaching.tests.e2e.conftest import browser_type_launch_args, no_csp_violations  # noqa: F401 (the fixtures, shared)
