"""Shared fixtures of the browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium,
installed by .ci/run) against a live server. Marked `browser`, they run on their own
(`make test-browser`) and skip cleanly where Chromium or Playwright is missing.

Two servers, for two kinds of test:
- `site_server` (read-only tests of the public site): a live server over the releases the
  session loaded. It needs no transactional_db, so nothing is flushed.
- pytest-django's `live_server` (tests that write, e.g. an admin import): it needs
  transactional_db, which empties every table after the test. `bundled_releases` loads the
  bundled releases again for any later test that finds them gone.

Screenshots go to artifacts/screenshots/ (gitignored): keep them as test artifacts.
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import FIXTURE_FOLDERS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A file, not memory, for the SQLite test database of a browser run: a worker process
    (the admin import) must reach it, whichever browser test runs first."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test = database.setdefault("TEST", {})
        test["NAME"] = str(tmp_path_factory.mktemp("browser-db") / "test.sqlite3")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in the test's thread; Django refuses the ORM in
    # such a thread unless told it is safe (it is: the loop is Playwright's).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    """A fresh page at desktop size (`page.set_viewport_size` for a phone)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") keeps artifacts/screenshots/name.png of the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def bundled_releases(django_db_setup, django_db_blocker) -> None:
    """The bundled FY2025 and FY2026 releases are in the database, published: loaded again
    when a transactional test (live_server) emptied the tables before."""
    from codes.models import Release

    with django_db_blocker.unblock():
        if Release.objects.published().count() < 2:
            Release.objects.all().delete()
            call_command("load_bundled_releases", *FIXTURE_FOLDERS, stdout=io.StringIO())


@pytest.fixture(scope="session")
def _site_server(django_db_setup, django_db_blocker):
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
    yield server
    with django_db_blocker.unblock():
        server._live_server_modified_settings.disable()
        server.stop()


@pytest.fixture
def site_server(_site_server, bundled_releases, db) -> str:
    """The base URL of a live server reading the committed releases (for read-only tests).

    `db` is what tells pytest-django to create the test database when these tests run without a
    test that writes: without it they read the database DATABASE_URL names, and
    `bundled_releases` rewrote it. It comes after `bundled_releases`, so that its transaction
    opens after any reload, which stays committed for the server's threads to read."""
    return _site_server.url
