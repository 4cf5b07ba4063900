"""Importing the Alphabetic Index: with its release (the bundled FY2017 full set, the FY2025
tables), added later to a release already loaded (a draft Index until published), and refused
with the file and element named, nothing stored, when it is wrong."""

import io
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from codes.importer.errors import ImportFileError
from codes.importer.index_xml import DISEASES, DRUGS, EXTERNAL_CAUSES, NEOPLASMS, PARTS
from codes.importer.run import import_release
from codes.models import IndexCodeReference, IndexTerm, Release, ReleaseIndex
from tests.conftest import (
    APRIL_2025_ZIP,
    BUNDLED,
    as_upload,
    release_tables_fingerprint,
    shared_file,
)

pytestmark = pytest.mark.django_db

FY2017_ZIP = BUNDLED / "fy2017" / "ICD10CM_FY2017_Full_XML.zip"
FY2025_TABLES = {
    EXTERNAL_CAUSES: BUNDLED / "fy2025" / "icd-10-cm-eindex-2025.xml",
    DRUGS: BUNDLED / "fy2025" / "icd-10-cm-drug-2025.xml",
    NEOPLASMS: BUNDLED / "fy2025" / "icd-10-cm-neoplasm-2025.xml",
}
FY2017_MEMBERS = {
    DISEASES: "icd10cm_index_2017.xml",
    EXTERNAL_CAUSES: "icd10cm_eindex_2017.xml",
    DRUGS: "icd10cm_drug_2017.xml",
    NEOPLASMS: "icd10cm_neoplasm_2017.xml",
}


def terms_in_file(data: bytes) -> int:
    root = ElementTree.fromstring(data)
    return len(root.findall("letter/mainTerm")) + len(list(root.iter("term")))


def stored_terms(index: ReleaseIndex, part: str) -> int:
    return IndexTerm.objects.filter(index=index, part=part).count()


def test_the_fy2017_full_release_shows_all_four_parts_with_every_term_of_its_files():
    release = Release.objects.select_related("index").get(label="FY2017")
    assert release.index is not None
    assert release.index.parts == list(PARTS)
    with zipfile.ZipFile(FY2017_ZIP) as archive:
        for part, member in FY2017_MEMBERS.items():
            assert stored_terms(release.index, part) == terms_in_file(archive.read(member)), part
            report = release.index.report[part]
            assert report["file"] == f"{FY2017_ZIP.name}:{member}"
            assert report["version"] == "2017"
    diseases = release.index.report[DISEASES]
    assert (diseases["letters"], diseases["main_terms"], diseases["nested_terms"]) == (
        26,
        7_973,
        69_226,
    )
    assert IndexCodeReference.objects.filter(index=release.index).count() == sum(
        release.index.report[part]["code_references"] for part in PARTS
    )


def test_the_fy2025_tables_are_its_index_and_every_code_they_name_is_one_of_its_codes():
    release = Release.objects.select_related("index").get(label="FY2025")
    assert release.index.parts == [EXTERNAL_CAUSES, DRUGS, NEOPLASMS]
    for part, path in FY2025_TABLES.items():
        assert stored_terms(release.index, part) == terms_in_file(path.read_bytes()), part
    problems = IndexCodeReference.objects.filter(
        index=release.index, status__in=["missing", "malformed"]
    )
    # The one exception, in the Neoplasm Table as CMS published it: a site printed in the
    # manifestation element ("tongue, ventral surface" names no code).
    assert [(r.part, r.status, r.column) for r in problems] == [(NEOPLASMS, "malformed", 1)]
    assert not IndexCodeReference.objects.filter(index=release.index, status="missing").exists()


def test_a_release_without_its_index_files_has_no_index():
    assert Release.objects.get(label="FY2026").index is None


def test_an_index_added_to_a_published_release_waits_as_a_draft_until_published():
    fy2026 = Release.objects.get(label="FY2026")
    release = import_release(
        as_upload(FY2025_TABLES[DRUGS]), label="FY2026", index_of_another_year=True
    )
    assert release.pk == fy2026.pk
    assert release.index is None  # the public pages still show no Index
    draft = ReleaseIndex.objects.get(release=fy2026)
    assert draft.parts == [DRUGS]
    assert stored_terms(draft, DRUGS) == terms_in_file(FY2025_TABLES[DRUGS].read_bytes())

    assert draft.publish() is None
    fy2026.refresh_from_db()
    assert fy2026.index_id == draft.pk

    # Replacing it replaces every part: the new Index has two parts, the old one is gone.
    import_release(
        as_upload(FY2025_TABLES[DRUGS], FY2025_TABLES[NEOPLASMS]),
        label="fy2026",
        index_of_another_year=True,
    )
    second = ReleaseIndex.objects.exclude(pk=draft.pk).get(release=fy2026)
    assert second.publish().imported_at == draft.imported_at  # the one it replaced
    fy2026.refresh_from_db()
    assert fy2026.index.parts == [DRUGS, NEOPLASMS]
    assert not ReleaseIndex.objects.filter(pk=draft.pk).exists()
    assert not IndexTerm.objects.filter(index_id=draft.pk).exists()


def test_the_command_line_publishes_an_index_into_a_published_release_when_told():
    out = io.StringIO()
    call_command(
        "import_release",
        str(FY2025_TABLES[NEOPLASMS]),
        "--label",
        "FY2026",
        "--index-of-another-year",
        "--publish",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert Release.objects.get(label="FY2026").index.parts == [NEOPLASMS]
    assert "Neoplasm Table (FY2025): 1 main terms, 1,938 nested" in out.getvalue()


def test_an_index_imported_into_a_draft_release_is_its_index_at_once():
    fy2026 = Release.objects.get(label="FY2026")
    fy2026.unpublish()
    import_release(as_upload(FY2025_TABLES[DRUGS]), label="FY2026", index_of_another_year=True)
    fy2026.refresh_from_db()
    assert fy2026.index.parts == [DRUGS]


def refused_import(files, **options) -> ImportFileError:
    before = release_tables_fingerprint()
    with pytest.raises(ImportFileError) as caught:
        import_release(files, **options)
    assert release_tables_fingerprint() == before
    return caught.value


def test_an_index_of_another_year_is_refused_unless_the_operator_says_so():
    error = refused_import(as_upload(FY2025_TABLES[DRUGS]), label="FY2026")
    assert error.file == "icd-10-cm-drug-2025.xml"
    assert error.element == "<version>"
    assert "version 2025, but the release is FY2026" in error.message
    assert "--index-of-another-year" in error.message


def test_an_index_for_a_release_that_is_not_loaded_is_refused():
    error = refused_import(as_upload(shared_file("fy2019/icd10cm_drug_2019.xml")))
    assert "no FY2019 release is loaded" in error.message
    assert "icd10cm_drug_2019.xml" in error.message
    error = refused_import(as_upload(FY2025_TABLES[DRUGS]), label="FY2099")
    assert 'no release labelled "FY2099" is loaded' in error.message


def test_a_part_given_twice_is_refused_naming_both_files(tmp_path: Path):
    copy = tmp_path / "drugs-again.xml"
    copy.write_bytes(FY2025_TABLES[DRUGS].read_bytes())
    error = refused_import(as_upload(FY2025_TABLES[DRUGS], copy), label="FY2025")
    assert "two Table of Drugs and Chemicals XMLs were given" in error.message
    assert "icd-10-cm-drug-2025.xml" in error.message and "drugs-again.xml" in error.message


def test_an_index_whose_year_has_two_releases_must_name_one():
    release = Release.objects.get(label="FY2025")
    Release.objects.filter(pk=release.pk).update(label="FY2025 October")
    import_release(
        as_upload(
            APRIL_2025_ZIP,
            BUNDLED / "fy2025" / "icd10cm-tabular-April-2025.xml",
        ),
        label="FY2025 April 1 update",
    )
    error = refused_import(as_upload(FY2025_TABLES[DRUGS]))
    assert "FY2025 has 2 releases loaded" in error.message


def test_a_broken_index_file_is_refused_with_its_element_and_nothing_changes(tmp_path: Path):
    data = FY2025_TABLES[NEOPLASMS].read_bytes().replace(b'level="2"', b'level="7"', 1)
    broken = tmp_path / "icd-10-cm-neoplasm-2025.xml"
    broken.write_bytes(data)
    error = refused_import(as_upload(broken), label="FY2025")
    assert error.file == "icd-10-cm-neoplasm-2025.xml"
    assert error.line is not None
    assert error.element.startswith('letter N / mainTerm "Neoplasm, neoplastic" / term[')
    assert "level='7' but the term is nested 2 deep" in error.message


def test_a_hostile_index_is_refused_before_anything_is_stored(tmp_path: Path):
    bomb = tmp_path / "Index.xml"
    bomb.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><ICD10CM.index>'
        b"<version>2025</version><title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>"
        b"&a;</ICD10CM.index>"
    )
    error = refused_import(as_upload(bomb), label="FY2025")
    assert error.file == "Index.xml"
    assert "DTDs and entities are refused" in error.message


def test_the_command_line_names_the_file_of_a_refused_index():
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_release",
            str(FY2025_TABLES[DRUGS]),
            "--label",
            "FY2026",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert "Import refused, nothing was changed. icd-10-cm-drug-2025.xml" in str(caught.value)
