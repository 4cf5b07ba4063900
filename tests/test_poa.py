"""Present-on-admission (POA) exemption per release (issue #18 point 6): CMS's lists parsed by
content, cross-checked against the release, imported with it or added later, and shown on the
code page, in the API, in validate/, in FHIR $lookup and on the release page."""

import io
import random
import re
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from codes.importer.errors import ImportFileError
from codes.importer.poa import parse_poa_files
from codes.importer.run import import_release
from codes.management.commands.load_bundled_releases import BUNDLED_DIR, effective_date_of
from codes.models import ImportRun, PoaList, Release
from codes.release_data import release_data_for
from tests.conftest import FY2024_POA, FY2025_POA, FY2026_POA, release_tables_fingerprint


@pytest.fixture(autouse=True)
def release_data_read_anew():
    """These tests delete FY2026's list inside their transaction (a list is never deleted alone
    otherwise): what the process held of the release is read anew before and after each."""
    release_data_for.clear()
    yield
    release_data_for.clear()


def poa_members(path=FY2026_POA) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(members: dict[str, bytes], name: str = "POAexemptCodesFY26.zip") -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return name, buffer.getvalue()


def text_files(members: dict[str, bytes]) -> list[tuple[str, bytes]]:
    return [(name, data) for name, data in members.items() if name.endswith(".txt")]


def replace_line(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


# --- the parser


def test_the_files_are_told_apart_by_content_whatever_their_names_and_order():
    files = text_files(poa_members())
    random.Random(18).shuffle(files)
    renamed = [(f"file{number}.txt", data) for number, (_, data) in enumerate(files)]
    parsed = parse_poa_files(renamed)
    assert parsed.fiscal_year == 2026
    assert (len(parsed.codes), len(parsed.added), len(parsed.deleted), len(parsed.revised)) == (
        38_349,
        209,
        14,
        25,
    )
    assert {part: count.count for part, count in parsed.readme_counts.items()} == {
        "list": 38_349,
        "added": 209,
        "deleted": 14,
        "revised": 25,
    }
    assert parsed.revised[0].code == "Q75001"
    assert parsed.revised[0].old_title == "Craniosynostosis unspecified, unilateral"
    assert parsed.revised[0].new_title == "Craniosynostosis, unspecified type, unilateral"


@pytest.mark.parametrize("year", [2024, 2025])
def test_the_earlier_years_lists_parse_with_the_counts_their_readme_states(year):

    path = FY2025_POA if year == 2025 else FY2024_POA
    parsed = parse_poa_files(text_files(poa_members(path)))
    assert parsed.fiscal_year == year
    # The ReadMe of FY2024 spells one count out ("six codes"): it is read as a number.
    assert len(parsed.revised) == {2024: 6, 2025: 2}[year]
    assert len(parsed.codes) == {2024: 38_110, 2025: 38_154}[year]


def test_a_list_whose_count_differs_from_the_readme_is_refused_naming_file_and_line():
    members = poa_members()
    listed = members["POAexemptCodesFY26.txt"]
    members["POAexemptCodesFY26.txt"] = replace_line(
        listed, b"98181\tZ99.89\tDependence on other enabling machines and devices\r\n", b""
    )
    with pytest.raises(ImportFileError) as refused:
        parse_poa_files(text_files(members))
    message = str(refused.value)
    assert message.startswith("POAexemptCodesFY26.txt, line 38349: ")
    assert "has 38,348 codes, but the ReadMe (ReadMePOAexemptFY26.txt, line 3) says 38,349" in (
        message
    )


def test_a_malformed_line_is_refused_naming_file_and_line():
    members = poa_members()
    members["POAexemptDeleteCodesFY26.txt"] = replace_line(
        members["POAexemptDeleteCodesFY26.txt"], b"Q89.8\t", b"Q89-8\t"
    )
    with pytest.raises(ImportFileError, match=r"^POAexemptDeleteCodesFY26.txt, line 2: 'Q89-8'"):
        parse_poa_files(text_files(members))


def test_a_list_without_its_readme_is_refused():
    members = poa_members()
    del members["ReadMePOAexemptFY26.txt"]
    with pytest.raises(ImportFileError, match="came without its ReadMe"):
        parse_poa_files(text_files(members))


# --- shown with the release


@pytest.mark.django_db
def test_z37_0_is_poa_exempt_in_fy2026_and_i10_is_not(api, client):
    exempt = api.get("/api/v1/codes/Z37.0/", {"release": "FY2026"}).json()
    assert (exempt["poa_exempt"], exempt["poa_exempt_status"]) == (True, "exempt")
    required = api.get("/api/v1/codes/I10/", {"release": "FY2026"}).json()
    assert (required["poa_exempt"], required["poa_exempt_status"]) == (False, "not exempt")

    page = client.get("/codes/Z37.0/", {"release": "FY2026"}).content.decode()
    assert '<span class="badge poa-exempt">POA exempt</span>' in page
    page = client.get("/codes/I10/", {"release": "FY2026"}).content.decode()
    assert "Not POA exempt" in page and "badge poa-exempt" not in page


@pytest.mark.django_db
def test_a_release_without_a_list_says_not_imported_never_not_exempt(api, client):
    answer = api.get("/api/v1/codes/I10/", {"release": "FY2017"}).json()
    assert (answer["poa_exempt"], answer["poa_exempt_status"]) == (None, "not imported")
    page = client.get("/codes/Z37.0/", {"release": "FY2017"}).content.decode()
    assert "POA exemption: not imported for FY2017" in page
    assert "Not POA exempt" not in page and "badge poa-exempt" not in page
    release_page = client.get("/releases/FY2017/").content.decode()
    assert "Not imported: CMS's POA-exempt list was not loaded with FY2017" in release_page


@pytest.mark.django_db
def test_validate_answers_poa_exemption_per_release(api):
    fy2026 = api.post(
        "/api/v1/validate/", {"codes": ["Z37.0", "I10", "Z53"], "release": "FY2026"}, format="json"
    ).json()["results"]
    assert [(r["code"], r["poa_exempt"]) for r in fy2026] == [
        ("Z37.0", True),
        ("I10", False),
        ("Z53", False),
    ]
    fy2017 = api.post(
        "/api/v1/validate/", {"codes": ["Z37.0"], "release": "FY2017"}, format="json"
    ).json()["results"]
    assert (fy2017[0]["poa_exempt"], fy2017[0]["poa_exempt_status"]) == (None, "not imported")


@pytest.mark.django_db
def test_fhir_lookup_has_the_poa_exempt_property_only_where_a_list_is_imported(api):
    def properties(code: str, version: str) -> dict:
        answer = api.get(
            "/fhir/CodeSystem/$lookup",
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "version": version},
        ).json()
        return {
            parts["code"]["valueCode"]: parts["value"]
            for parameter in answer["parameter"]
            if parameter["name"] == "property"
            for parts in [{part["name"]: part for part in parameter["part"]}]
        }

    assert properties("Z37.0", "2026")["poaExempt"] == {"name": "value", "valueBoolean": True}
    assert properties("I10", "2026")["poaExempt"] == {"name": "value", "valueBoolean": False}
    assert "poaExempt" not in properties("I10", "2017")


@pytest.mark.django_db
def test_the_release_page_and_api_show_the_lists_changes(api, client):
    page = client.get("/releases/FY2026/").content.decode()
    assert "CMS's POA-exempt list for FY2026: 38,349 codes" in page
    assert "209 added, 14 deleted, 25 revised" in page
    assert re.search(r"Q87\.87</a></td>\s*<td[^>]*><span class=\"change added\">Now exempt", page)
    detail = api.get("/api/v1/releases/FY2026/").json()
    assert detail["poa_exempt_list"] == {
        "fiscal_year": 2026,
        "codes": 38_349,
        "changes": {"added": 209, "deleted": 14, "revised": 25},
    }
    assert api.get("/api/v1/releases/FY2017/").json()["poa_exempt_list"] is None


# --- imported later, or refused


@pytest.mark.django_db
def test_a_list_is_added_later_to_a_loaded_release_checked_against_the_previous_years(fy2026):
    PoaList.objects.filter(release=fy2026).delete()
    imported_at = fy2026.imported_at
    assert release_data_for(Release.objects.get(pk=fy2026.pk)).is_poa_exempt("Z370") is None

    release = import_release([zipped(poa_members())], imported_by="test")

    assert release.pk == fy2026.pk
    assert release.imported_at > imported_at  # what every cache of its answers is keyed by
    assert release_data_for(release).is_poa_exempt("Z370") is True
    assert release.poa.report["compared_with"] == "FY2025"


@pytest.mark.django_db
def test_a_list_naming_a_code_not_in_the_release_is_refused_and_nothing_changes(fy2026):
    members = poa_members()
    members["POAexemptCodesFY26.txt"] = replace_line(
        members["POAexemptCodesFY26.txt"],
        b"98181\tZ99.89\tDependence on other enabling machines and devices\r\n",
        b"98181\tZ99.8A\tDependence on other enabling machines and devices\r\n",
    )
    PoaList.objects.filter(release=fy2026).delete()
    before = release_tables_fingerprint()
    with pytest.raises(ImportFileError) as refused:
        import_release([zipped(members)], label="FY2026")
    assert str(refused.value) == (
        "POAexemptCodesFY26.zip:POAexemptCodesFY26.txt, line 38350: Z99.8A is POA-exempt in "
        "this list but is not a code of FY2026"
    )
    assert release_tables_fingerprint() == before


@pytest.mark.django_db
def test_a_list_whose_count_differs_from_the_readme_is_refused_on_import(fy2026):
    members = poa_members()
    members["ReadMePOAexemptFY26.txt"] = replace_line(
        members["ReadMePOAexemptFY26.txt"], b"(38,349 codes)", b"(38,350 codes)"
    )
    PoaList.objects.filter(release=fy2026).delete()
    with pytest.raises(ImportFileError, match=r"^POAexemptCodesFY26.zip:POAexemptCodesFY26.txt, "):
        import_release([zipped(members)], label="FY2026")
    assert not PoaList.objects.filter(release=fy2026).exists()


@pytest.mark.django_db
def test_a_deletion_still_in_the_list_is_refused_against_the_previous_years_list(fy2026):
    members = poa_members()
    members["POAexemptDeleteCodesFY26.txt"] = replace_line(
        members["POAexemptDeleteCodesFY26.txt"],
        b"Q89.8\tOther specified congenital malformations\r\n",
        b"Z37.0\tSingle live birth\r\n",
    )
    PoaList.objects.filter(release=fy2026).delete()
    with pytest.raises(ImportFileError) as refused:
        import_release([zipped(members)], label="FY2026")
    assert str(refused.value) == (
        "POAexemptCodesFY26.zip:POAexemptDeleteCodesFY26.txt, line 2: Z37.0 is listed as "
        "deleted, but is still in this year's list"
    )


@pytest.mark.django_db
def test_another_years_list_is_refused_by_its_content(fy2026):
    files = text_files(poa_members(FY2025_POA))
    members = {f"list{number}.txt": data for number, (_, data) in enumerate(files)}
    PoaList.objects.filter(release=fy2026).delete()
    with pytest.raises(ImportFileError, match="POA-exempt list of FY2025, but FY2026 is FY2026"):
        import_release([zipped(members, "list.zip")], label="FY2026")


@pytest.mark.django_db
def test_a_release_that_has_a_list_keeps_it_unless_replaced(fy2026):
    with pytest.raises(ImportFileError, match="FY2026 already has a POA-exempt list"):
        import_release([zipped(poa_members())])


# --- the demo's history (issue #18 point 8)


def test_the_bundle_holds_every_release_from_fy2024_in_date_order():
    folders = sorted(
        (p for p in BUNDLED_DIR.iterdir() if p.is_dir()), key=lambda p: effective_date_of(p)
    )
    assert [(p.name, str(effective_date_of(p))) for p in folders] == [
        ("fy2017", "2016-10-01"),
        ("fy2024", "2023-10-01"),
        ("fy2025", "2024-10-01"),
        ("fy2025-april", "2025-04-01"),
        ("fy2026", "2025-10-01"),
    ]


@pytest.mark.django_db
def test_changes_against_a_release_that_is_not_the_one_before_say_so_in_the_api(api):
    detail = api.get("/api/v1/releases/FY2025/").json()
    assert detail["compared_to"]["label"] == "FY2017"
    assert detail["comparison_note"] == "compared with FY2017; FY2018–FY2024 are not loaded"
    changes = api.get("/api/v1/releases/FY2025/changes/").json()
    assert changes["comparison_note"] == "compared with FY2017; FY2018–FY2024 are not loaded"
    assert api.get("/api/v1/releases/FY2026/").json()["comparison_note"] == ""


@pytest.mark.django_db
def test_staff_add_a_poa_list_to_a_loaded_release_in_the_admin(
    client, django_user_model, settings, tmp_path, fy2026
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    user = django_user_model.objects.create_user("ines", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_release"))
    client.force_login(user)
    PoaList.objects.filter(release=fy2026).delete()
    name, data = zipped(poa_members(), "POA lists.zip")

    response = client.post(
        "/admin/codes/release/import/", {"files": [SimpleUploadedFile(name, data)]}
    )

    assert response.status_code == 302
    run = ImportRun.objects.latest("pk")
    assert (run.status, run.poa_only, run.release_id) == ("succeeded", True, fy2026.pk)
    assert "Added the POA-exempt list to FY2026." in str(run.messages[-1])
    assert release_data_for(Release.objects.get(pk=fy2026.pk)).is_poa_exempt("Z370") is True
