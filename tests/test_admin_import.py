"""Importing a release in the admin: upload, checks, background import, preview, publish, audit.

The views are driven with the test client as a logged-in staff user, with the real CMS files of
../shared/cms. Background tasks run with django-tasks' immediate backend, inside the request.
"""

import datetime
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from codes.models import AuditEvent, Code, ImportInProgress, ImportRun, Release, ReleaseBusy
from codes.tasks import execute_import
from tests.conftest import (
    APRIL_2025_ZIP,
    FIXTURE_FOLDERS,
    FY2025_XML,
    FY2025_ZIP,
    FY2026_CONVERSION,
    FY2026_POA,
    FY2026_XML,
    FY2026_ZIP,
    REPO,
    release_tables_fingerprint,
)
from tests.serving import manage

IMPORT_URL = "/admin/codes/release/import/"


@pytest.fixture(autouse=True)
def background_tasks_run_inline(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"


@pytest.fixture
def importer(django_user_model):
    user = django_user_model.objects.create_user("ines", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_release"))
    return user


@pytest.fixture
def staff(client, importer):
    client.force_login(importer)
    return client


def upload(client, *paths: Path, **fields):
    files = [SimpleUploadedFile(path.name, path.read_bytes()) for path in paths]
    return client.post(IMPORT_URL, {"files": files, **fields})


def upload_bytes(client, *files: tuple[str, bytes], **fields):
    return client.post(
        IMPORT_URL, {"files": [SimpleUploadedFile(n, d) for n, d in files], **fields}
    )


def zipped(members: dict[str, bytes], name: str) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member_name, data in members.items():
            archive.writestr(member_name, data)
    return name, buffer.getvalue()


def release_tables() -> dict:
    """The release tables' fingerprint, without the import log and the audit."""
    fingerprint = release_tables_fingerprint()
    return {k: v for k, v in fingerprint.items() if k not in ("ImportRun", "AuditEvent")}


def form_errors(response) -> str:
    assert response.status_code == 200, response
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def finished_run(response) -> ImportRun:
    """The run an accepted upload redirected to, after following the redirect."""
    assert response.status_code == 302, form_errors(response)
    run = ImportRun.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[-1]))
    assert response.url == reverse("admin:codes_release_import_run", args=[run.pk])
    return run


def public_g35_billable(client) -> dict[str, bool]:
    """What the public API says of G35 in each release it shows."""
    history = client.get("/api/v1/codes/G35/history/").json()["history"]
    return {row["release"]["label"]: row["billable"] for row in history if row["present"]}


@pytest.fixture
def bundled_releases_reloaded_afterwards(django_db_setup, django_db_blocker):
    """For a transactional test, whose teardown empties every table: the other tests expect the
    session's FY2025 and FY2026. Requested before transactional_db, so it tears down after."""
    yield
    with django_db_blocker.unblock():
        call_command("load_bundled_releases", *FIXTURE_FOLDERS, stdout=io.StringIO())


# Transactional: on SQLite, importing after deleting the releases in the same transaction is
# very slow (the FTS5 index of the code titles flushes on every re-used rowid).
def test_staff_import_fy2025_publish_it_then_import_fy2026_preview_its_changes_and_publish(
    bundled_releases_reloaded_afterwards, transactional_db, client, importer, settings
):
    client.force_login(importer)
    staff = client
    Release.objects.all().delete()  # start with no release at all

    run = finished_run(
        upload(
            staff,
            FY2025_ZIP,
            FY2025_XML,
        )
    )
    page = staff.get(reverse("admin:codes_release_import_run", args=[run.pk]))
    assert run.status == ImportRun.Status.SUCCEEDED, run.messages
    assert b"Succeeded" in page.content and b"Preview the changes of FY2025" in page.content
    fy2025 = run.release
    assert (fy2025.label, fy2025.status) == ("FY2025", Release.Status.DRAFT)
    assert not Release.objects.published().exists()  # a draft is not public
    # Names with spaces are kept as the operator gave them, and the stored uploads are gone.
    assert "ICD10-CM Code Descriptions 2025.zip" in {f.name for f in fy2025.source_files.all()}
    assert not any(Path(settings.IMPORT_UPLOAD_DIR).rglob("*"))

    preview = staff.get(reverse("admin:codes_release_preview", args=[fy2025.pk]))
    assert preview.status_code == 200
    assert b"no earlier release is loaded" in preview.content
    assert staff.get(reverse("admin:codes_release_publish", args=[fy2025.pk])).status_code == 200
    staff.post(reverse("admin:codes_release_publish", args=[fy2025.pk]))
    fy2025.refresh_from_db()
    assert fy2025.is_published and fy2025.published_at is not None

    run = finished_run(
        upload(
            staff,
            FY2026_ZIP,
            FY2026_XML,
        )
    )
    assert run.status == ImportRun.Status.SUCCEEDED, run.messages
    fy2026 = run.release
    assert fy2026.status == Release.Status.DRAFT
    assert [r.label for r in Release.objects.published()] == ["FY2025"]
    assert public_g35_billable(staff) == {"FY2025": True}  # the draft is not public

    preview = staff.get(reverse("admin:codes_release_preview", args=[fy2026.pk]))
    computed = {
        (row["tally"], row["change"]): (row["computed"], row["addenda"])
        for row in preview.context["summary_rows"]
    }
    assert computed[("billable codes", "added")] == (487, 487)
    assert computed[("billable codes", "deleted")] == (28, 28)
    assert computed[("billable codes", "revised")] == (38, 38)
    assert computed[("headers", "added")] == (143, 143)
    assert preview.context["agrees"] is True
    text = preview.content.decode()
    assert "agree with the addenda summary" in text
    assert "order file vs tabular XML: agrees" in text
    assert "codes file vs order file: agrees" in text
    assert [row["value"] for row in preview.context["counts"][:3]] == [98_186, 74_719, 23_467]
    # The added billable codes are listed first, 50 a page; every list can be searched.
    assert preview.context["page"].paginator.count == 487
    deleted = staff.get(
        reverse("admin:codes_release_preview", args=[fy2026.pk]),
        {"change": "deleted", "tally": "codes", "q": "g35"},
    )
    assert [row["code"] for row in deleted.context["rows"]] == ["G35"]
    flipped = staff.get(
        reverse("admin:codes_release_preview", args=[fy2026.pk]),
        {"change": "added", "tally": "headers", "q": "multiple sclerosis"},
    )
    assert "G35" in [row["code"] for row in flipped.context["rows"]]

    response = staff.post(reverse("admin:codes_release_publish", args=[fy2026.pk]))
    assert response.status_code == 302
    public = Code.objects.filter(release__in=Release.objects.published(), code="G35")
    assert {c.release.label: c.is_billable for c in public.select_related("release")} == {
        "FY2025": True,
        "FY2026": False,
    }
    assert public_g35_billable(staff) == {"FY2025": True, "FY2026": False}
    assert [(e.action, e.release_label, e.outcome) for e in AuditEvent.objects.order_by("pk")] == [
        ("upload", "FY2025", "ok"),
        ("import", "FY2025", "ok"),
        ("publish", "FY2025", "ok"),
        ("upload", "FY2026", "ok"),
        ("import", "FY2026", "ok"),
        ("publish", "FY2026", "ok"),
    ]
    event = AuditEvent.objects.filter(action="upload", release_label="FY2026").get()
    assert event.actor == "ines"
    assert {f["name"] for f in event.files} == {
        "icd10cm-Code Descriptions-2026.zip",
        "icd10cm-tabular-April-1-2026.xml",
    }
    assert all(len(f["sha256"]) == 64 for f in event.files)
    assert staff.get(reverse("admin:codes_auditevent_changelist")).status_code == 200
    assert staff.get(reverse("admin:codes_importrun_changelist")).status_code == 200


@pytest.mark.django_db
def test_the_same_files_again_are_recognised_and_point_at_the_existing_release(staff):
    response = upload(staff, FY2026_ZIP, FY2026_XML, FY2026_CONVERSION, FY2026_POA)  # as bundled
    fy2026 = Release.objects.get(label="FY2026")
    assert "already imported as" in form_errors(response)
    assert reverse("admin:codes_release_preview", args=[fy2026.pk]) in response.content.decode()
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_a_published_release_is_not_replaced_by_an_upload(staff):
    response = upload(staff, FY2026_ZIP)
    assert "FY2026</a> (effective 2025-10-01) is published: unpublish it first" in form_errors(
        response
    )


HOSTILE_OR_WRONG = {
    "traversal zip": (
        [zipped({"../../icd10cm_order_2026.txt": b"x"}, "icd10cm-Code Descriptions-2026.zip")],
        {},
        "icd10cm-Code Descriptions-2026.zip:../../icd10cm_order_2026.txt: has a path that "
        "climbs out of the zip",
    ),
    "absolute path in a zip": (
        [zipped({"/etc/icd10cm_order_2026.txt": b"x"}, "evil.zip")],
        {},
        "has an absolute path inside the zip",
    ),
    "zip bomb": (
        [zipped({"icd10cm_order_2026.txt": bytes(60 * 1024 * 1024)}, "bomb.zip")],
        {},
        "bomb.zip:icd10cm_order_2026.txt: is compressed more than 200:1",
    ),
    "too many members": (
        [zipped({f"f{i}.txt": b"" for i in range(201)}, "many.zip")],
        {},
        "hold 201 members, more than the 200",
    ),
    "nested zip": (
        [zipped({"inner.zip": b"PK\x05\x06" + bytes(18)}, "outer.zip")],
        {},
        "outer.zip:inner.zip: is a nested zip",
    ),
    "PCS file": (
        [("icd10pcs_order_2026.txt", b"00001 0016070 1 Bypass\r\n")],
        {},
        "is an ICD-10-PCS (procedure code) file, not ICD-10-CM",
    ),
    "binary under a text name": (
        [("icd10cm_order_2026.txt", b"\x89PNG\r\n\x1a\n\x00\x00binary")],
        {},
        "icd10cm_order_2026.txt, line 3: is a binary file, not text",
    ),
    "not a zip": (
        [("release.zip", b"this is not a zip")],
        {},
        "has a .zip name but is not a zip file",
    ),
    "wrong fiscal year given": (
        [(FY2026_ZIP.name, FY2026_ZIP.read_bytes())],
        {"fiscal_year": "2025"},
        "the files are for FY2026, not FY2025",
    ),
}


@pytest.mark.django_db
def test_hostile_or_wrong_uploads_are_refused_in_plain_words_and_change_nothing(staff, settings):
    before = release_tables()
    for case, (files, fields, expected) in HOSTILE_OR_WRONG.items():
        errors = form_errors(upload_bytes(staff, *files, **fields))
        assert expected in errors, case
        assert errors.startswith("Refused, nothing was stored: "), case
        event = AuditEvent.objects.latest("pk")
        assert (event.action, event.outcome, event.actor) == ("upload", "refused", "ines"), case
        assert expected in event.message, case
        assert [f["name"] for f in event.files] == [name for name, _ in files], case
    assert release_tables() == before
    assert not ImportRun.objects.exists()
    assert not Path(settings.IMPORT_UPLOAD_DIR).exists()
    assert AuditEvent.objects.count() == len(HOSTILE_OR_WRONG)


@pytest.mark.django_db
def test_the_wrong_real_files_are_refused_naming_them(staff):
    # A POA-exempt list alone is added to its loaded release, unless that has one already.
    poa = FY2026_POA
    assert "FY2026 already has a POA-exempt list" in form_errors(upload(staff, poa))
    conversion = FY2026_CONVERSION
    assert "neither an order file" in form_errors(upload(staff, conversion))
    mixed = upload(
        staff,
        FY2025_ZIP,
        FY2026_XML,
    )
    assert "files of two fiscal years" in form_errors(mixed)
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_size_cap_is_refused(staff, settings):
    settings.IMPORT_MAX_FILE_SIZE = 1024 * 1024
    assert "icd10cm-tabular-April-1-2026.xml is 9.3 MB, more than the 1.0 MB allowed" in (
        form_errors(upload(staff, FY2026_XML))
    )


@pytest.mark.django_db
def test_files_over_the_upload_cap_together_are_refused(staff, settings):
    settings.IMPORT_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
    errors = form_errors(upload(staff, FY2026_ZIP, FY2026_XML))
    assert "These files are 11.4 MB together, more than the 10.0 MB allowed" in errors
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_an_import_that_fails_in_the_background_says_why_and_changes_nothing(staff, settings):
    with zipfile.ZipFile(FY2026_ZIP) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    order = next(n for n in members if n.lower().endswith("order-2026.txt"))
    members[order] = members[order][:500_000] + b"\r\n00001 short\r\n"
    before = release_tables()
    run = finished_run(
        upload_bytes(
            staff,
            zipped(members, "icd10cm-Code Descriptions-2026.zip"),
            effective_date="2026-04-01",  # as an April update: nothing in the way
        )
    )
    assert run.status == ImportRun.Status.FAILED
    assert run.messages[-1].startswith("Import refused, nothing was stored: ")
    assert f"icd10cm-Code Descriptions-2026.zip:{order}, line" in run.messages[-1]
    assert release_tables() == before
    assert not any(Path(settings.IMPORT_UPLOAD_DIR).rglob("*"))  # the upload is removed
    page = staff.get(reverse("admin:codes_release_import_run", args=[run.pk]))
    assert b"Failed" in page.content and b"Retry this import" not in page.content
    event = AuditEvent.objects.get(action="import")
    assert (event.outcome, event.release_label) == ("failed", "FY2026 April 1 update")


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_marked_failed_and_its_retry_imports_the_release(
    staff, importer, settings
):
    april = APRIL_2025_ZIP
    run = ImportRun.objects.start(
        uploads=[(april.name, april.read_bytes())],
        fiscal_year=2025,
        effective_date=datetime.date(2025, 4, 1),
        label="FY2025 April 1 update",
        user=importer,
    )
    # A worker took it, reported, and was killed: its heartbeat stops.
    assert run.claim()
    run.report("Parsing the order file", 40)
    ImportRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_AFTER + 1)
    )
    before = release_tables()
    status = staff.get(reverse("admin:codes_release_import_run_status", args=[run.pk])).json()
    assert (status["status"], status["finished"], status["can_retry"]) == ("failed", True, True)
    assert 'The worker stopped while "Parsing the order file"' in status["messages"][-1]
    assert "killed or crashed" in status["messages"][-1]
    assert release_tables() == before
    page = staff.get(reverse("admin:codes_release_import_run", args=[run.pk]))
    assert b"Retry this import" in page.content

    # The retry queues a new run that takes the files over (a real worker runs one to the end
    # in test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_a_retry_works).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    response = staff.post(reverse("admin:codes_release_import_run_retry", args=[run.pk]))
    retry = ImportRun.objects.get(retry_of=run)
    assert response.url == reverse("admin:codes_release_import_run", args=[retry.pk])
    assert (retry.status, retry.label, retry.active_key) == ("queued", run.label, "2025-04-01")
    assert retry.can_retry is False and retry.read_files() == [(april.name, april.read_bytes())]
    run.refresh_from_db()
    assert not run.can_retry and [f["name"] for f in run.files] == [april.name]
    assert list(AuditEvent.objects.values_list("action", "outcome")) == [("retry", "ok")]
    assert b"Retry this import" not in staff.get(response.url).content


@pytest.mark.django_db
def test_two_imports_of_the_same_release_cannot_run_at_once(staff, importer):
    running = ImportRun.objects.start(
        uploads=[("icd10cm-tabular-April-1-2026.xml", b"<x/>")],
        fiscal_year=2026,
        effective_date=datetime.date(2026, 4, 1),
        label="FY2026 April 1 update",
        user=importer,
    )
    running.claim()
    with pytest.raises(ImportInProgress):
        ImportRun.objects.start(
            uploads=[],
            fiscal_year=2026,
            effective_date=datetime.date(2026, 4, 1),
            label="FY2026 April 1 update",
            user=importer,
        )
    response = upload(staff, FY2026_ZIP, effective_date="2026-04-01")
    assert (
        f"an import of FY2026 April 1 update (effective 2026-04-01) is already running "
        f"(import #{running.pk}, started by ines): wait for it to finish" in form_errors(response)
    )
    assert ImportRun.objects.count() == 1


@pytest.mark.django_db
def test_a_queued_import_can_be_cancelled(staff, importer, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    run = finished_run(upload(staff, FY2026_ZIP, effective_date="2026-04-01"))
    assert run.status == ImportRun.Status.QUEUED
    page = staff.get(reverse("admin:codes_release_import_run", args=[run.pk]))
    assert b'http-equiv="refresh"' in page.content  # the fallback without JavaScript
    assert b"data-status-url" in page.content
    staff.post(reverse("admin:codes_release_import_run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.active_key is None
    assert "Cancelled by ines" in run.messages[-1]
    assert not any(Path(settings.IMPORT_UPLOAD_DIR).rglob("*"))


@pytest.mark.django_db
def test_unpublish_takes_a_release_back_without_deleting_it_and_delete_asks_first(staff):
    fy2026 = Release.objects.get(label="FY2026")
    entries = Code.objects.filter(release=fy2026).count()
    confirm = staff.get(reverse("admin:codes_release_unpublish", args=[fy2026.pk]))
    assert b"Nothing is deleted" in confirm.content
    staff.post(reverse("admin:codes_release_unpublish", args=[fy2026.pk]))
    fy2026.refresh_from_db()
    assert (fy2026.status, fy2026.published_at) == ("draft", None)
    assert Code.objects.filter(release=fy2026).count() == entries
    assert [r.label for r in Release.objects.published()] == ["FY2025", "FY2017"]

    delete_url = reverse("admin:codes_release_delete", args=[fy2026.pk])
    confirm = staff.get(delete_url)
    assert confirm.status_code == 200
    assert b"Are you sure" in confirm.content and b"98,186 entries" in confirm.content
    staff.post(delete_url, {"post": "yes"})
    assert not Release.objects.filter(label="FY2026").exists()
    assert list(AuditEvent.objects.values_list("action", "release_label")) == [
        ("delete", "FY2026"),
        ("unpublish", "FY2026"),
    ]


@pytest.mark.django_db
def test_a_worker_declared_dead_that_still_runs_leaves_the_retry_alone(importer, settings):
    """A worker stalled past IMPORT_STALE_AFTER (a slow file) is declared dead and its run
    retried; when it wakes it stops at its next report, or records nothing when it finishes,
    and never deletes the files the retry now holds."""
    april = APRIL_2025_ZIP
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

    def declared_dead_and_retried():
        run = ImportRun.objects.start(
            uploads=[(april.name, april.read_bytes())],
            fiscal_year=2025,
            effective_date=datetime.date(2025, 4, 1),
            label="FY2025 April 1 update",
            user=importer,
        )
        assert run.claim()
        stalled = ImportRun.objects.get(pk=run.pk)  # the worker's own copy, files and all
        ImportRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now()
            - datetime.timedelta(seconds=settings.IMPORT_STALE_AFTER + 1)
        )
        assert ImportRun.objects.fail_stale() == 1
        retry = ImportRun.objects.get(pk=run.pk).retry(user=importer)
        return stalled, retry

    before = release_tables()
    # It wakes before storing anything: its first report stops it.
    stalled, retry = declared_dead_and_retried()
    execute_import(stalled)
    assert ImportRun.objects.get(pk=stalled.pk).status == "failed"
    assert retry.read_files() == [(april.name, april.read_bytes())]
    assert release_tables() == before
    assert not AuditEvent.objects.filter(action="import").exists()

    # It fails after it was declared dead (a file of its own is gone): nothing recorded either.
    ImportRun.objects.filter(pk=retry.pk).update(status="failed", active_key=None)
    stalled, retry = declared_dead_and_retried()
    stalled.files = [{**f, "path": "gone/0"} for f in stalled.files]
    execute_import(stalled)
    last = ImportRun.objects.get(pk=stalled.pk).messages[-1]
    assert "The worker stopped while" in last  # the verdict that declared it dead, untouched
    assert retry.read_files() == [(april.name, april.read_bytes())]
    assert not AuditEvent.objects.filter(action="import").exists()


@pytest.mark.django_db
def test_a_file_gone_from_the_server_is_named_as_uploaded_never_by_its_path(importer, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    april = APRIL_2025_ZIP
    run = ImportRun.objects.start(
        uploads=[(april.name, april.read_bytes())],
        fiscal_year=2025,
        effective_date=datetime.date(2025, 4, 1),
        label="FY2025 April 1 update",
        user=importer,
    )
    assert run.claim()
    (Path(settings.IMPORT_UPLOAD_DIR) / run.files[0]["path"]).unlink()
    execute_import(run)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.messages[-1] == (
        f"Import refused, nothing was stored: {april.name}: the uploaded file is no longer on "
        "the server (No such file or directory); upload it again"
    )
    assert str(settings.IMPORT_UPLOAD_DIR) not in " ".join(run.messages)
    event = AuditEvent.objects.get(action="import")
    assert str(settings.IMPORT_UPLOAD_DIR) not in event.message


@pytest.mark.django_db
def test_a_release_being_imported_again_is_not_published_unpublished_or_deleted(staff):
    """An import queued or running replaces the release's rows when it runs: acting on the
    release meanwhile is refused in plain words, audited, and changes nothing."""
    fy2026 = Release.objects.get(label="FY2026")
    Release.objects.filter(label="FY2017").update(status=Release.Status.DRAFT, published_at=None)
    fy2017 = Release.objects.get(label="FY2017")
    runs = [
        ImportRun.objects.start(
            uploads=[("icd10cm-order-2026.txt", b"x")],
            fiscal_year=release.fiscal_year,
            effective_date=release.effective_date,
            label=release.label,
            user=None,
        )
        for release in (fy2026, fy2017)
    ]
    before = release_tables()
    attempts = [
        (reverse("admin:codes_release_unpublish", args=[fy2026.pk]), {}, "unpublish", runs[0]),
        (
            reverse("admin:codes_release_delete", args=[fy2026.pk]),
            {"post": "yes"},
            "delete",
            runs[0],
        ),
        (reverse("admin:codes_release_publish", args=[fy2017.pk]), {}, "publish", runs[1]),
    ]
    for url, data, action, run in attempts:
        response = staff.post(url, data, follow=True)
        said = [str(m) for m in response.context["messages"]]
        label = run.label
        assert said == [
            f"{label} is being imported again (import #{run.pk}, queued): try again once that "
            "import has finished. Nothing was changed."
        ], action
        event = AuditEvent.objects.first()
        assert (event.action, event.outcome, event.release_label) == (action, "refused", label)
    assert release_tables() == before
    assert Release.objects.get(label="FY2026").is_published
    assert not Release.objects.get(label="FY2017").is_published


@pytest.mark.django_db
def test_a_release_replaced_since_it_was_read_is_not_published():
    gone = Release(
        pk=987_654, label="FY2099", fiscal_year=2099, effective_date=datetime.date(2098, 10, 1)
    )
    with pytest.raises(ReleaseBusy, match="FY2099 was replaced by an import meanwhile"):
        gone.publish()


def flow_urls() -> list[str]:
    fy2026 = Release.objects.get(label="FY2026")
    return [
        IMPORT_URL,
        reverse("admin:codes_release_import_run", args=[1]),
        reverse("admin:codes_release_import_run_status", args=[1]),
        reverse("admin:codes_release_preview", args=[fy2026.pk]),
        reverse("admin:codes_release_publish", args=[fy2026.pk]),
        reverse("admin:codes_release_unpublish", args=[fy2026.pk]),
        reverse("admin:codes_release_delete", args=[fy2026.pk]),
        reverse("admin:codes_release_changelist"),
        reverse("admin:codes_importrun_changelist"),
        reverse("admin:codes_auditevent_changelist"),
    ]


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client):
    for url in flow_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/admin/login/?next="), url
    assert (
        client.post(IMPORT_URL, {"files": [SimpleUploadedFile("a.txt", b"x")]}).status_code == 302
    )
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_reach_any_of_it(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(clerk)
    for url in flow_urls():
        assert client.get(url).status_code == 403, url
    fy2026 = Release.objects.get(label="FY2026")
    assert (
        client.post(reverse("admin:codes_release_unpublish", args=[fy2026.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("admin:codes_release_delete", args=[fy2026.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        client.post(IMPORT_URL, {"files": [SimpleUploadedFile("a.txt", b"x")]}).status_code == 403
    )
    fy2026.refresh_from_db()
    assert fy2026.is_published


@pytest.mark.django_db
def test_a_user_who_is_not_staff_is_sent_to_login_even_with_the_permission(client, importer):
    importer.is_staff = False
    importer.save()
    client.force_login(importer)
    assert client.get(IMPORT_URL).status_code == 302


@pytest.mark.django_db
def test_the_code_list_searches_by_code_filters_and_never_counts_the_whole_table(staff):
    fy2026 = Release.objects.get(label="FY2026")
    url = reverse("admin:codes_code_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(url, {"q": "z53.0", "release__id__exact": fy2026.pk})
    assert [c.dotted for c in response.context["cl"].result_list] == ["Z53.0", "Z53.01", "Z53.09"]
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert len(queries.captured_queries) < 15

    response = staff.get(url, {"release__id__exact": fy2026.pk, "is_billable__exact": "0"})
    assert b"more than 10000 codes" in response.content
    assert all(not c.is_billable for c in response.context["cl"].result_list)

    response = staff.get(url, {"q": "multiple sclerosis", "release__id__exact": fy2026.pk})
    assert "G35" in [c.dotted for c in response.context["cl"].result_list]
    assert (
        staff.get(reverse("admin:codes_code_change", args=[Code.objects.first().pk])).status_code
        == 200
    )


# A worker killed for real: a db_worker process on a file-based SQLite database of its own
# (pytest's test database is in memory or inside a transaction, invisible to another process).

QUEUE = """
import json
from pathlib import Path
from codes.models import ImportRun
from codes.tasks import run_import
paths = [Path(p) for p in {paths!r}]
run = ImportRun.objects.start(
    uploads=[(p.name, p.read_bytes()) for p in paths], fiscal_year=2026,
    effective_date=__import__("datetime").date(2025, 10, 1), label="FY2026", user=None,
)
run_import.enqueue(run.pk)
print(json.dumps(run.pk))
"""

STATE = """
import json
from codes.models import ImportRun, Release, Code
ImportRun.objects.fail_stale()
runs = [
    {{"id": r.pk, "status": r.status, "messages": r.messages, "can_retry": r.can_retry,
      "release": r.release.label if r.release else None}}
    for r in ImportRun.objects.order_by("pk")
]
counts = {{"releases": Release.objects.count(), "codes": Code.objects.count()}}
print(json.dumps({{"runs": runs, **counts}}))
"""

RETRY = """
from codes.models import ImportRun
from codes.tasks import run_import
run_import.enqueue(ImportRun.objects.get(pk={run_id}).retry(user=None).pk)
"""


def state(env: dict) -> dict:
    return json.loads(manage(env, "shell", "-v", "0", "-c", STATE.format()).stdout.splitlines()[-1])


def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_a_retry_works(tmp_path):
    database = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "IMPORT_UPLOAD_DIR": str(tmp_path / "imports"),
        "IMPORT_STALE_AFTER": "1",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--no-input", "-v", "0")
    code = QUEUE.format(paths=[str(FY2026_ZIP), str(FY2026_XML)])
    run_id = json.loads(manage(env, "shell", "-v", "0", "-c", code).stdout.splitlines()[-1])

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Wait until the loader is writing: past the last stage reported before its
        # transaction, with the write-ahead log growing.
        deadline = time.monotonic() + 120
        wal = Path(f"{database}-wal")
        reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        stage = ""
        while time.monotonic() < deadline:
            stage = reader.execute("SELECT stage FROM codes_importrun").fetchone()[0]
            if stage.startswith("Cross-checking") and wal.stat().st_size > 8 * 1024 * 1024:
                break
            time.sleep(0.05)
        reader.close()
        assert stage.startswith("Cross-checking"), stage
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    killed = state(env)  # one second later the heartbeat is stale
    if killed["runs"][0]["status"] == "running":
        time.sleep(1.5)
        killed = state(env)
    assert (killed["releases"], killed["codes"]) == (0, 0)  # nothing half-visible
    [run] = killed["runs"]
    assert (run["id"], run["status"], run["can_retry"]) == (run_id, "failed", True)
    assert 'The worker stopped while "Cross-checking"' in run["messages"][-1]

    manage(env, "shell", "-v", "0", "-c", RETRY.format(run_id=run_id))
    manage(env, "db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v", "0")
    retried = state(env)
    assert [(r["status"], r["release"]) for r in retried["runs"]] == [
        ("failed", None),
        ("succeeded", "FY2026"),
    ]
    assert (retried["releases"], retried["codes"]) == (1, 98_186)
    assert not any((tmp_path / "imports").rglob("*"))
