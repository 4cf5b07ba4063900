"""Importing releases into the database (on top of the bundled FY2025 and FY2026)."""

import datetime
import io
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command

from codes.importer.errors import ImportFileError
from codes.importer.order_file import parse_order_file
from codes.importer.release_data import ChapterRow, CodeRow, NoteRow, ReleaseData, SectionRow
from codes.importer.run import import_release
from codes.models import Code, Note, Release
from tests.conftest import (
    APRIL_2025_ZIP,
    FY2024_ZIP,
    FY2026_XML,
    FY2026_ZIP,
    REPO,
    as_upload,
    member,
    release_tables_fingerprint,
)

pytestmark = pytest.mark.django_db


def zipped(members: dict[str, bytes], name: str = "icd10cm-Code Descriptions-2026.zip"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member_name, data in members.items():
            archive.writestr(member_name, data)
    return name, buffer.getvalue()


def fy2026_members() -> dict[str, bytes]:
    with zipfile.ZipFile(FY2026_ZIP) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_april_2025_update_imports_with_no_changes_and_fy2026_is_compared_to_it():
    april_zip = APRIL_2025_ZIP
    draft = import_release(as_upload(april_zip))
    # A draft is compared to the published release before it and disturbs nothing public.
    assert draft.compared_to.label == "FY2025"
    assert Release.objects.get(label="FY2026").compared_to.label == "FY2025"
    april = import_release(as_upload(april_zip), publish=True)
    assert (april.label, april.fiscal_year, april.effective_date) == (
        "FY2025 April 1 update",
        2025,
        datetime.date(2025, 4, 1),
    )
    assert (april.entry_count, april.billable_count, april.header_count) == (
        97_584,
        74_260,
        23_324,
    )
    zero = {"added": 0, "deleted": 0, "revised": 0, "short_title_only": 0, "spacing_only": 0}
    assert april.change_summary() == {"codes": zero, "headers": zero}
    assert april.addenda_agrees() is True
    # No XML: chapters and sections are FY2025's (182 days before it; FY2026 is 183 after),
    # every category was there already; notes are FY2025's own, not borrowed.
    assert april.structure == Release.Structure.BORROWED
    assert april.structure_from.label == "FY2025"
    assert april.report["unplaced"] == []
    z53 = Code.objects.select_related("section").get(release=april, code="Z53")
    assert z53.section.section_id == "Z40-Z53"
    assert Note.objects.filter(release=april).count() == april.note_count == 0
    # The release after it in the line is now compared to it, and still agrees with CMS.
    fy2026 = Release.objects.get(label="FY2026")
    assert fy2026.compared_to == april
    assert fy2026.addenda_agrees() is True


def test_fy2024_imports_from_its_code_descriptions_zip_alone():
    fy2024 = import_release(as_upload(FY2024_ZIP), publish=True)
    assert (fy2024.entry_count, fy2024.billable_count, fy2024.header_count) == (
        97_296,
        74_044,
        23_252,
    )
    # The changes are computed against the nearest earlier release loaded, the bundled FY2017;
    # chapters and sections come from the nearest release with XML, the later FY2025.
    fy2017 = Release.objects.get(label="FY2017")
    assert fy2024.structure == Release.Structure.BORROWED
    assert fy2024.structure_from.label == "FY2025"
    assert fy2024.compared_to == fy2017
    assert Code.objects.get(release=fy2024, code="E0837X1").parent_code == "E0837"
    # FY2025 is now compared to FY2024, and that diff is the one CMS published with FY2025.
    fy2025 = Release.objects.get(label="FY2025")
    assert fy2025.compared_to == fy2024
    apart = {"short_title_only": 0, "spacing_only": 0}
    assert fy2025.change_summary() == {
        "codes": {"added": 252, "deleted": 36, "revised": 13, **apart},
        "headers": {"added": 72, "deleted": 0, "revised": 1, **apart},
    }
    assert fy2025.addenda_agrees() is True


def test_the_code_descriptions_zip_alone_borrows_the_nearest_structure_and_reports_the_rest():
    fy2026 = import_release(as_upload(FY2026_ZIP), replace=True)
    assert fy2026.structure == Release.Structure.BORROWED
    assert fy2026.structure_from.label == "FY2025"
    assert fy2026.entry_count == 98_186
    # QA0 (chapter 17) is new in FY2026: no range of FY2025 holds it.
    assert fy2026.report["unplaced"] == ["QA0"]
    assert "from FY2025" in fy2026.report["structure"]
    assert Code.objects.get(release=fy2026, code="QA0").section is None
    z53 = Code.objects.select_related("chapter").get(release=fy2026, code="Z53")
    assert z53.chapter.number == 21
    assert fy2026.addenda_agrees() is True


def test_the_tabular_xml_alone_derives_the_order_files_codes_and_flags():
    order_name, order_bytes = member(FY2026_ZIP, "order")
    order = parse_order_file(order_bytes, filename=order_name)
    release = import_release(as_upload(FY2026_XML), label="FY2026 from XML")
    assert release.effective_date == datetime.date(2026, 4, 1)  # the XML's own printing date
    stored = Code.objects.filter(release=release).order_by("sequence")
    assert [(c.code, c.is_billable) for c in stored] == [(e.code, e.is_billable) for e in order]
    assert stored.get(code="Z53").section.section_id == "Z40-Z53"
    assert "no order file" in release.report["warnings"][0]


def test_re_importing_a_draft_replaces_it():
    first = import_release(as_upload(FY2026_XML), label="draft")
    second = import_release(as_upload(FY2026_XML), label="draft")
    assert not Release.objects.filter(pk=first.pk).exists()
    assert Code.objects.filter(release=second).count() == 98_186


def test_a_published_release_is_replaced_only_when_asked(django_capture_on_commit_callbacks):
    before = release_tables_fingerprint()
    with pytest.raises(ImportFileError, match="FY2026 .* is published; .*replace"):
        import_release(as_upload(FY2026_ZIP, FY2026_XML))
    assert release_tables_fingerprint() == before
    again = import_release(as_upload(FY2026_ZIP, FY2026_XML), replace=True, publish=True)
    assert again.is_published
    assert again.change_summary()["codes"] == {
        "added": 487,
        "deleted": 28,
        "revised": 38,
        "short_title_only": 0,
        "spacing_only": 0,
    }


def test_a_database_failure_mid_import_rolls_everything_back():
    """A duplicate code reaching the database breaks its unique constraint after thousands of
    rows are written; the transaction takes them all back."""
    from codes.importer.errors import ReleaseNotStored
    from codes.importer.loader import load_release

    data = read_release_data(Release.objects.get(label="FY2026"))
    data.codes.append(data.codes[-1])
    before = release_tables_fingerprint()
    with pytest.raises(ReleaseNotStored, match=r"IntegrityError: .*nothing was stored"):
        load_release(
            data,
            fiscal_year=2026,
            effective_date=datetime.date(2026, 4, 1),
            label="FY2026 April 1 update",
        )
    assert release_tables_fingerprint() == before


def test_the_command_imports_and_prints_a_summary(tmp_path):
    out = io.StringIO()
    err = io.StringIO()
    call_command(
        "import_release",
        str(FY2026_XML),
        "--label",
        "FY2026 April 1 update",
        "--publish",
        stdout=out,
        stderr=err,
    )
    assert "Writing 98,186 codes" in err.getvalue()
    summary = out.getvalue()
    assert "FY2026 April 1 update (FY2026, effective 2026-04-01), Published" in summary
    assert "98,186 entries: 74,719 billable, 23,467 headers" in summary
    assert "changes against FY2026:" in summary
    assert Release.objects.in_force_on(datetime.date(2026, 4, 1)).label == "FY2026 April 1 update"


def test_the_command_fails_with_the_file_and_line(tmp_path):
    bad = tmp_path / "icd10cm-order-2026.txt"
    bad.write_bytes(member(FY2026_ZIP, "order")[1][:20_000])
    before = release_tables_fingerprint()
    with pytest.raises(CommandError, match=r"nothing was changed\. icd10cm-order-2026.txt, line"):
        call_command("import_release", str(bad), "--replace", stderr=io.StringIO())
    assert release_tables_fingerprint() == before


def test_the_command_refuses_a_fiscal_year_the_files_contradict():
    with pytest.raises(CommandError, match="the files are for FY2026, not FY2025"):
        call_command(
            "import_release", str(FY2026_XML), "--fiscal-year", "2025", stderr=io.StringIO()
        )


def test_the_command_refuses_an_effective_date_outside_the_fiscal_year():
    with pytest.raises(CommandError, match=r"effective date 2026-10-01 is not in FY2026"):
        call_command(
            "import_release",
            str(FY2026_XML),
            "--effective-date",
            "2026-10-01",
            stderr=io.StringIO(),
        )


def test_publishing_unpublishing_and_deleting_keep_the_line_compared():
    fy2025 = Release.objects.get(label="FY2025")
    fy2026 = Release.objects.get(label="FY2026")
    april = import_release(as_upload(APRIL_2025_ZIP))
    fy2026.refresh_from_db()
    assert fy2026.compared_to == fy2025
    april.publish()
    fy2026.refresh_from_db()
    assert fy2026.compared_to == april
    assert fy2026.addenda_agrees() is True  # April changed nothing, so the numbers hold
    april.unpublish()
    fy2026.refresh_from_db()
    assert fy2026.compared_to == fy2025
    fy2025.remove()
    fy2026.refresh_from_db()
    # The April update is a draft again, so the published release before FY2026 is FY2017.
    assert fy2026.compared_to == Release.objects.get(label="FY2017")
    assert fy2026.changes.filter(code="QA0", change="added").exists()


def test_a_published_release_is_refused_before_its_files_are_parsed():
    said = []
    with pytest.raises(ImportFileError, match=r"FY2026 .* is published; .*\(--replace\)"):
        import_release(as_upload(FY2026_ZIP, FY2026_XML), progress=said.append)
    assert said == ["Reading 2 file(s)"]  # not "Parsing the tabular XML" (seconds)


def test_a_date_that_is_none_gets_its_message_and_no_traceback():
    with pytest.raises(CommandError, match="--effective-date: '2025-13-01' is not a date"):
        call_command("import_release", str(FY2026_ZIP), "--effective-date", "2025-13-01")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_release", str(FY2026_ZIP)]
        + ["--effective-date", "2025-13-01"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "error: argument --effective-date: '2025-13-01' is not a date (YYYY-MM-DD)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def read_release_data(release: Release) -> ReleaseData:
    """A stored release as release data, as the importer hands it to the loader."""
    chapters = {chapter.pk: chapter for chapter in release.chapters.all()}
    sections = {section.pk: section for section in release.sections.all()}
    codes = [
        CodeRow(
            code=code.code,
            short_title=code.short_title,
            long_title=code.long_title,
            is_billable=code.is_billable,
            kind=code.kind,
            parent_code=code.parent_code,
            depth=code.depth,
            chapter=chapters[code.chapter_id].number if code.chapter_id else None,
            section=sections[code.section_id].section_id if code.section_id else None,
            sequence=code.sequence,
        )
        for code in Code.objects.filter(release=release).order_by("sequence")
    ]
    notes = []
    for note in Note.objects.filter(release=release).order_by("sequence"):
        if note.chapter_id:
            owner = ("chapter", str(chapters[note.chapter_id].number))
        elif note.section_id:
            owner = ("section", sections[note.section_id].section_id)
        else:
            owner = ("code", note.code)
        notes.append(NoteRow(*owner, note.kind, note.text, note.character))
    return ReleaseData(
        chapters=[
            ChapterRow(c.number, c.title, c.first_code, c.last_code) for c in chapters.values()
        ],
        sections=[
            SectionRow(
                s.section_id,
                chapters[s.chapter_id].number,
                s.title,
                s.first_code,
                s.last_code,
                sections[s.parent_id].section_id if s.parent_id else None,
            )
            for s in sections.values()
        ],
        codes=codes,
        notes=notes,
        structure=release.structure,
    )
