"""Fixtures of the site-wide tests: a world with a row of every model the admin shows."""

import pytest

from config.tests.admin_walk import make_admin_world


@pytest.fixture
def admin_world(db, admin_user):
    return make_admin_world(admin_user)
