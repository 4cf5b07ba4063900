"""Adding an Index to a published release through the admin: upload (Index files alone), the
background import, the preview that shows the draft Index beside the one the public sees,
publish or discard, and the audit. Background tasks run inline (django-tasks' immediate
backend)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from codes.models import AuditEvent, ImportRun, Release, ReleaseIndex
from tests.conftest import BUNDLED

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/codes/release/import/"
DRUGS_2025 = BUNDLED / "fy2025" / "icd-10-cm-drug-2025.xml"
NEOPLASMS_2025 = BUNDLED / "fy2025" / "icd-10-cm-neoplasm-2025.xml"


@pytest.fixture(autouse=True)
def background_tasks_run_inline(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("ines", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_release"))
    client.force_login(user)
    return client


def upload(client, *paths: Path, **fields):
    files = [SimpleUploadedFile(path.name, path.read_bytes()) for path in paths]
    return client.post(IMPORT_URL, {"files": files, **fields})


def form_errors(response) -> str:
    assert response.status_code == 200, response
    return " ".join(str(e) for errors in response.context["form"].errors.values() for e in errors)


def test_staff_add_an_index_to_a_published_release_preview_it_and_publish_it(staff, client):
    fy2026 = Release.objects.get(label="FY2026")
    response = upload(staff, DRUGS_2025, label="FY2026", index_of_another_year="on")
    assert response.status_code == 302, form_errors(response)
    run = ImportRun.objects.latest("pk")
    assert (run.status, run.index_only, run.release_id) == ("succeeded", True, fy2026.pk)
    assert "as a draft Index" in run.messages[-1]
    fy2026.refresh_from_db()
    assert fy2026.index is None  # nothing public changed yet
    assert client.get("/index/drugs/").content.count(b"No Table of Drugs and Chemicals") == 1

    preview = staff.get(reverse("admin:codes_release_preview", args=[fy2026.pk]))
    text = preview.content.decode()
    assert "Draft Index, not shown yet" in text
    assert "Table of Drugs and Chemicals" in text and "icd-10-cm-drug-2025.xml (2025)" in text
    assert "Files of another fiscal year: 2025 (accepted explicitly)" in text
    draft = ReleaseIndex.objects.get(release=fy2026)
    publish_url = reverse("admin:codes_release_publish_index", args=[fy2026.pk, draft.pk])
    assert publish_url in text

    confirm = staff.get(publish_url)
    assert b"Yes, publish this Index" in confirm.content
    staff.post(publish_url)
    fy2026.refresh_from_db()
    assert fy2026.index_id == draft.pk
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.actor, event.release_id) == ("publish_index", "ines", fy2026.pk)
    assert event.files[0]["name"] == "icd-10-cm-drug-2025.xml"
    # The public pages show it at once.
    page = client.get("/index/drugs/?q=acetaminophen")
    assert b"T39.1X1" in page.content


def test_a_draft_index_can_be_discarded_and_the_public_one_stays(staff):
    fy2025 = Release.objects.get(label="FY2025")
    shown = fy2025.index_id
    assert upload(staff, NEOPLASMS_2025, label="FY2025").status_code == 302
    draft = ReleaseIndex.objects.exclude(pk=shown).get(release=fy2025)
    discard_url = reverse("admin:codes_release_discard_index", args=[fy2025.pk, draft.pk])
    staff.post(discard_url)
    assert not ReleaseIndex.objects.filter(pk=draft.pk).exists()
    fy2025.refresh_from_db()
    assert fy2025.index_id == shown
    assert AuditEvent.objects.latest("pk").action == "discard_index"
    # The Index the release shows cannot be discarded.
    response = staff.post(
        reverse("admin:codes_release_discard_index", args=[fy2025.pk, shown]), follow=True
    )
    assert b"is the one the release shows" in response.content
    assert ReleaseIndex.objects.filter(pk=shown).exists()


def test_an_index_of_another_year_is_refused_in_the_form_unless_ticked(staff):
    errors = form_errors(upload(staff, DRUGS_2025, label="FY2026"))
    assert errors.startswith("Refused, nothing was stored: icd-10-cm-drug-2025.xml")
    assert "version 2025, but the release is FY2026" in errors
    assert not ImportRun.objects.exists()
    assert AuditEvent.objects.latest("pk").outcome == "refused"


def test_an_index_for_a_release_not_loaded_is_refused_in_the_form(staff):
    errors = form_errors(upload(staff, DRUGS_2025, label="FY2030"))
    assert 'no release labelled "FY2030" is loaded' in errors
    assert not ImportRun.objects.exists()
