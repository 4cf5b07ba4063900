"""Fixtures that test modules ask for by name (none is autouse), registered for every module by
`pytest_plugins` in tests/conftest.py. A module that wants one for all its tests says so:
`pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]`.
"""

import pytest


@pytest.fixture
def no_rate_limits(settings):
    """The API without its throttles, for tests that call it more often than a client may."""
    settings.API_ANON_RATE = settings.API_USER_RATE = ""


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def warm_code_sets():
    """Build what a running server holds of each published release (code sets, release data,
    word indexes, Index terms: a few queries per release and process, once; query budgets
    count a warm server)."""
    from codes.warm import hold_published_releases

    hold_published_releases()
