"""A staff member imports FY2026 in the admin with a real browser and a real worker process:
log in, upload the CMS files, watch the import run and finish, preview the changes, publish.

Screenshots of each step are kept in artifacts/screenshots/admin-import-*.png. Run with
`make test-browser`; fixtures (Chromium, pages, screenshots, the file-based SQLite test database
the worker process reaches) in tests/browser/conftest.py.
"""

import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from playwright.sync_api import expect

from codes.models import Code, ImportRun, Release
from tests.conftest import FY2026_XML, FY2026_ZIP, REPO

pytestmark = pytest.mark.browser


def database_url() -> str:
    """The test database as a DATABASE_URL, for the worker process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, settings, tmp_path):
    """`manage.py db_worker` on the test database, as `make run` starts it beside the site."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "IMPORT_UPLOAD_DIR": str(settings.IMPORT_UPLOAD_DIR),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def test_a_staff_member_uploads_fy2026_watches_the_import_previews_and_publishes(
    bundled_releases, worker, live_server, page, screenshot, django_user_model
):
    Release.objects.filter(label="FY2026").delete()  # FY2025 stays: the changes are against it
    user = django_user_model.objects.create_user("ines", password="s3cret-pass", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_release"))

    page.goto(f"{live_server.url}/admin/codes/release/import/")
    page.fill("#id_username", "ines")
    page.fill("#id_password", "s3cret-pass")
    screenshot("admin-import-01-login")
    page.click("input[type=submit]")
    page.wait_for_selector("#import-form")

    page.set_input_files("#id_files", [str(FY2026_ZIP), str(FY2026_XML)])
    screenshot("admin-import-02-upload-form")
    page.click("input[name=_import]")

    # The status page updates itself while the worker runs, then shows the outcome.
    page.wait_for_selector("#import-status")
    # expect() polls from Playwright's own isolated world: the page's CSP (no eval) allows it.
    expect(page.locator("#import-status-text")).to_have_text("Running", timeout=60_000)
    expect(page.locator("#import-progress")).not_to_have_attribute("value", "0", timeout=60_000)
    screenshot("admin-import-03-import-running")
    page.wait_for_selector("#preview-link", timeout=180_000)
    assert page.inner_text("#import-status-text") == "Succeeded"
    screenshot("admin-import-04-import-finished")

    page.click("#preview-link")
    page.wait_for_selector("#change-summary")
    summary = page.inner_text("#change-summary")
    assert "487" in summary and "28" in summary and "38" in summary
    assert "agree with the addenda summary" in page.inner_text("#cross-checks")
    assert page.inner_text("#release-status") == "Draft"
    screenshot("admin-import-05-preview")
    page.fill("#change-search input[name=q]", "Z3A")
    page.click("#change-search input[type=submit]")
    page.wait_for_selector("#change-list")
    screenshot("admin-import-06-preview-search")

    page.click("#publish-link")
    page.wait_for_selector("#confirm-publish")
    screenshot("admin-import-07-confirm-publish")
    page.click("#confirm-publish")
    page.wait_for_selector(".messagelist")
    assert "FY2026 is published" in page.inner_text(".messagelist")
    assert page.inner_text("#release-status") == "Published"
    screenshot("admin-import-08-published")

    fy2026 = Release.objects.get(label="FY2026")
    assert fy2026.is_published
    assert ImportRun.objects.get().release == fy2026
    assert Code.objects.get(release=fy2026, code="G35").is_billable is False
