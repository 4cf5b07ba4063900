"""Release labels: one documented character set and length, unique whatever the case, refused
with a clear message at the command line and in the admin; every page, API answer and download
built from a label survives any label that passes."""

import re
from urllib.parse import quote, unquote

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from codes.fiscal import LABEL_RULE, label_problem
from codes.models import Release
from tests.conftest import (
    FY2025_XML,
    FY2025_ZIP,
    FY2026_XML,
    FY2026_ZIP,
    release_tables_fingerprint,
)

pytestmark = pytest.mark.django_db

# Every character the rule allows, in one label.
UNUSUAL = "FY2017 (rev. 2) draft_b-c"


@pytest.mark.parametrize(
    "label", ["FY2026", "FY2025 April 1 update", "fy2027 (draft)", "FY2027-28_v1.2", UNUSUAL]
)
def test_labels_of_the_rule_pass(label):
    assert label_problem(label) is None


@pytest.mark.parametrize(
    "label",
    [
        "FY2027/28 draft",
        "FY2026?x",
        'FY"2026',
        "FY2026#a",
        "FY%2026",
        " FY2026",
        "FY2026 ",
        "FY  2026",
        "..",
        "FY2026\x00",
        "FY2026\n",
        "FY2026é",
        "ＦＹ2026",
        "x" * 61,
    ],
)
def test_labels_outside_the_rule_are_refused_with_the_rule(label):
    problem = label_problem(label)
    assert problem and LABEL_RULE in problem


def test_the_command_refuses_a_label_outside_the_rule_before_reading_further():
    before = release_tables_fingerprint()
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_release", str(FY2026_ZIP), str(FY2026_XML), "--label", "FY2027/28 draft"
        )
    assert "Import refused, nothing was changed" in str(refused.value)
    assert "'FY2027/28 draft' is not allowed" in str(refused.value)
    assert release_tables_fingerprint() == before


def test_a_label_is_unique_whatever_the_case():
    with pytest.raises(CommandError) as refused:
        call_command("import_release", str(FY2025_ZIP), str(FY2025_XML), "--label", "fy2026")
    assert 'the label "fy2026" is already used by FY2026' in str(refused.value)
    fy2026 = Release.objects.get(label="FY2026")
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(
            label="Fy2026",
            fiscal_year=2026,
            effective_date=fy2026.effective_date.replace(year=2030),
        )


def test_the_admin_refuses_a_label_outside_the_rule(client, django_user_model):
    user = django_user_model.objects.create_user("ines", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_release"))
    client.force_login(user)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in (FY2026_ZIP, FY2026_XML)]
    response = client.post(
        reverse("admin:codes_release_import"), {"files": files, "label": "FY2027/28 draft"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["label"]
    assert errors == [f"Refused: the release label 'FY2027/28 draft' is not allowed: {LABEL_RULE}."]
    assert not Release.objects.filter(label__startswith="FY2027").exists()


def links(page: str) -> list[str]:
    return re.findall(r'href="(/[^"]*)"', page)


def test_every_page_and_answer_built_from_a_label_survives_any_label_of_the_rule(client):
    Release.objects.filter(label="FY2017").update(label=UNUSUAL)
    quoted = quote(UNUSUAL)
    pages = [
        "/",
        "/releases/",
        f"/releases/{quoted}/",
        f"/codes/A00.0/?release={quoted}",
        f"/index/?release={quoted}",
        f"/search/?q=cholera&release={quoted}",
    ]
    release_links = set()
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        release_links |= {u for u in links(page) if UNUSUAL in unquote(u.replace("+", " "))}
    assert any(u.startswith("/releases/") for u in release_links)
    for url in release_links:
        assert client.get(url.replace("&amp;", "&")).status_code in (200, 302), url

    api = [
        "/api/v1/releases/",
        f"/api/v1/releases/{quoted}/",
        f"/api/v1/releases/{quoted}/changes/",
        f"/api/v1/codes/A00.0/?release={quoted}",
    ]
    for url in api:
        assert client.get(url).status_code == 200, url
    listed = client.get("/api/v1/releases/").json()
    mine = next(r for r in listed["results"] if r["label"] == UNUSUAL)
    for key, value in mine.items():
        if isinstance(value, str) and value.startswith("http"):
            assert client.get(value).status_code == 200, (key, value)

    download = client.get(f"/api/v1/releases/{quoted}/changes.csv")
    assert download["Content-Disposition"] == (
        'attachment; filename="icd10cm-FY2017-rev.-2-draft_b-c-changes.csv"; '
        "filename*=UTF-8''icd10cm-FY2017-%28rev.-2%29-draft_b-c-changes.csv"
    )
