"""Releases imported without their tabular XML: chapters and sections borrowed from the nearest
release imported with one, never its notes, whatever order the releases come in."""

import datetime
import hashlib
import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from codes.importer.borrowed_structure import Placement, Range, nearest_source, place_categories
from codes.importer.run import import_release
from codes.importer.tabular_xml import parse_tabular_xml
from codes.models import Chapter, Code, CodeChange, Note, Release, Section
from tests.conftest import FY2025_XML, FY2025_ZIP, FY2026_XML, FY2026_ZIP, as_upload, shared_file
from tests.test_pages_code import text_of as tagless_text

pytestmark = pytest.mark.django_db

FY2024_ZIP = "fy2024/icd10cm-CodesDescriptions-2024.zip"
APRIL_2025_ZIP = "fy2025/Code-desciptions-April-2025.zip"


# Placement and choice of the source: pure --------------------------------------------------


@pytest.fixture(scope="module")
def fy2025_tabular():
    return parse_tabular_xml(FY2025_XML.read_bytes(), filename=FY2025_XML.name)


def ranges_of(tabular) -> dict:
    return {
        "chapters": [Range(str(c.number), c.number, c.first, c.last) for c in tabular.chapters],
        "sections": [Range(s.id, s.chapter, s.first, s.last) for s in tabular.sections],
    }


def test_ranges_alone_place_every_category_as_the_xml_does_but_those_with_a_letter_third(
    fy2025_tabular,
):
    categories = [code for code in fy2025_tabular.codes if len(code.code) == 3]
    placed = place_categories([c.code for c in categories], known={}, **ranges_of(fy2025_tabular))
    differing = {
        c.code: placed[c.code]
        for c in categories
        if placed[c.code] != Placement(c.chapter, c.section)
    }
    # Text order puts C4A after C49, yet CMS files it within C43-C44: the reason a category the
    # source has goes where the source's XML puts it.
    assert sorted(differing) == ["C4A", "M1A", "Z3A"]
    assert len(categories) - len(differing) == 1_914


def test_a_category_goes_where_the_source_puts_it_else_in_the_narrowest_range(fy2025_tabular):
    placed = place_categories(
        ["C4A", "V01", "C7A", "QA0"],
        known={"C4A": Placement(2, "C43-C44")},
        **ranges_of(fy2025_tabular),
    )
    assert placed["C4A"] == Placement(2, "C43-C44")
    assert placed["C7A"] == Placement(2, "C7A")  # not C76-C80, which spans it as text
    assert placed["V01"].section == "V00-V09"
    # QA0 (FY2026) is past Q99: no range of FY2025 holds it.
    assert placed["QA0"] == Placement(None, None)


def text_of(response) -> str:
    return html.unescape(tagless_text(response))


def release_on(day: datetime.date) -> Release:
    return Release(effective_date=day, label=str(day))


def test_the_nearest_source_is_earlier_or_later_and_a_tie_goes_to_the_earlier():
    fy2023 = release_on(datetime.date(2022, 10, 1))
    fy2025 = release_on(datetime.date(2024, 10, 1))
    sources = [fy2025, fy2023]
    assert nearest_source(datetime.date(2023, 10, 1), sources) is fy2023  # 365 days either way
    assert nearest_source(datetime.date(2023, 10, 2), sources) is fy2025
    assert nearest_source(datetime.date(2025, 4, 1), sources) is fy2025
    assert nearest_source(datetime.date(2025, 4, 1), []) is None


# In the database ---------------------------------------------------------------------------


def only_these_releases() -> None:
    """Start from an empty database (the test's transaction brings the bundled ones back)."""
    Release.objects.all().delete()


def fy2024_alone() -> Release:
    return import_release(as_upload(shared_file(FY2024_ZIP)), publish=True)


def fy2025_with_xml() -> Release:
    return import_release(as_upload(FY2025_ZIP, FY2025_XML), publish=True)


def april_2025_alone() -> Release:
    return import_release(as_upload(shared_file(APRIL_2025_ZIP)), publish=True)


def fy2026_with_xml() -> Release:
    return import_release(as_upload(FY2026_ZIP, FY2026_XML), publish=True)


def test_fy2024_imported_alone_then_fy2025_with_xml_gets_22_chapters_and_no_notes(client):
    only_these_releases()
    fy2024 = fy2024_alone()
    assert (fy2024.structure, fy2024.chapter_count, fy2024.section_count) == ("none", 0, 0)
    assert "no published release has one" in fy2024.report["structure"]
    text = text_of(client.get("/chapters/?release=FY2024"))
    assert "FY2024 was imported without its tabular XML, and no release imported" in text

    fy2025 = fy2025_with_xml()
    fy2024.refresh_from_db()
    assert fy2024.structure == Release.Structure.BORROWED
    assert fy2024.structure_from == fy2025
    assert fy2024.chapter_count == Chapter.objects.filter(release=fy2024).count() == 22
    assert fy2024.section_count == Section.objects.filter(release=fy2024).count() == 296
    assert fy2024.report["unplaced"] == []
    assert fy2024.note_count == Note.objects.filter(release=fy2024).count() == 0
    s72001 = Code.objects.select_related("chapter", "section").get(release=fy2024, code="S72001")
    assert (s72001.chapter.number, s72001.section.section_id) == (19, "S70-S79")
    # Every code of FY2024 sits in a chapter and a section, as FY2025's XML places its category.
    assert not Code.objects.filter(release=fy2024, section=None).exists()

    page = client.get("/codes/S72.001/?release=FY2024")
    text = text_of(page)
    assert "FY2024 was imported without its tabular XML: instructional notes unavailable." in text
    assert "See FY2025's notes for S72.001" in text
    assert 'href="/codes/S72.001/?release=FY2025"' in page.content.decode()
    assert "No instructional notes apply" not in text
    assert "22 chapters, 296 sections" in text_of(client.get("/chapters/?release=FY2024"))
    section = text_of(client.get("/sections/S70-S79/?release=FY2024"))
    assert "See FY2025's notes for the section" in section


def test_the_api_says_notes_are_unavailable_rather_than_listing_none(api):
    only_these_releases()
    fy2024_alone()
    fy2025_with_xml()
    answer = api.get("/api/v1/codes/S72.001/", {"release": "FY2024"}).json()
    assert answer["notes_available"] is False
    assert answer["notes"] is None
    assert answer["structure_from"]["label"] == "FY2025"
    assert answer["chapter"]["number"] == 19
    own = api.get("/api/v1/codes/S72.001/", {"release": "FY2025"}).json()
    assert own["notes_available"] is True and own["structure_from"] is None
    assert own["notes"]
    release = api.get("/api/v1/releases/FY2024/").json()
    assert (release["structure"], release["structure_from"]["label"]) == ("borrowed", "FY2025")
    # FHIR $lookup says so too, and names the version whose notes to read.
    system = "http://hl7.org/fhir/sid/icd-10-cm"
    lookup = api.get(
        "/fhir/CodeSystem/$lookup", {"system": system, "code": "S72.001", "version": "2024"}
    )
    properties = {
        {part["name"]: part for part in p["part"]}["code"]["valueCode"]: p["part"][1]
        for p in lookup.json()["parameter"]
        if p["name"] == "property"
    }
    assert properties["notesUnavailable"]["valueString"] == (
        "imported without its tabular XML: instructional notes unavailable; see version 2025 "
        "(FY2025)"
    )
    lookup = api.get(
        "/fhir/CodeSystem/$lookup", {"system": system, "code": "S72.001", "version": "2025"}
    )
    assert "notesUnavailable" not in lookup.content.decode()


def placements(release: Release) -> dict[str, tuple[int | None, str | None]]:
    """Each category of the release: the number of its chapter and the id of its section."""
    return {
        code: (chapter, section)
        for code, chapter, section in Code.objects.filter(release=release, depth=0).values_list(
            "code", "chapter__number", "section__section_id"
        )
    }


def test_a_nearer_source_takes_over_and_a_deleted_one_hands_over_to_the_next():
    only_these_releases()
    fy2026 = fy2026_with_xml()
    april = april_2025_alone()
    assert april.structure_from == fy2026
    assert april.report["unplaced"] == []
    placed_by_fy2026 = placements(april)
    with CaptureQueriesContext(connection) as queries:
        fy2025 = fy2025_with_xml()
    april.refresh_from_db()
    # 182 days after FY2025, 183 before FY2026.
    assert april.structure_from == fy2025
    assert Section.objects.filter(release=april).count() == 296
    # The chapters and sections are rewritten in place: only the codes of the categories that
    # moved are written again, by one UPDATE a run of them, not every code of the release.
    moved = {
        category
        for category, placement in placements(april).items()
        if placement != placed_by_fy2026[category]
    }
    code_writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('UPDATE "codes_code"')
        and f'"codes_code"."release_id" = {april.pk}' in query["sql"]
    ]
    assert len(code_writes) <= len(moved) < 20, (moved, code_writes)
    fy2025.unpublish()
    april.refresh_from_db()
    assert april.structure_from == fy2026
    assert Section.objects.filter(release=april).count() == 297
    fy2026.remove()
    april.refresh_from_db()
    assert (april.structure, april.structure_from) == ("none", None)
    assert not Chapter.objects.filter(release=april).exists()
    assert not Code.objects.filter(release=april, chapter__isnull=False).exists()


def test_a_category_no_range_holds_is_reported_in_the_release_the_preview_and_its_page(
    client, django_user_model
):
    only_these_releases()
    fy2025_with_xml()
    fy2026 = import_release(as_upload(FY2026_ZIP), publish=True)
    # QA0 (chapter 17 in FY2026's XML) is new: past Q99, no range of FY2025 holds it.
    assert fy2026.report["unplaced"] == ["QA0"]
    assert Code.objects.filter(release=fy2026, code__startswith="QA0", chapter=None).count() > 1
    page = text_of(client.get("/codes/QA0/?release=FY2026"))
    assert (
        "FY2026 was imported without its tabular XML: no section of FY2025 holds QA0, so it "
        "is shown in no chapter." in page
    )
    staff = django_user_model.objects.create_superuser("ines", password="x")
    client.force_login(staff)
    preview = text_of(client.get(reverse("admin:codes_release_preview", args=[fy2026.pk])))
    assert "chapters and sections from FY2025 (the nearest published release with one)" in preview
    assert "1 category that no section of FY2025 holds: QA0" in preview


def test_the_sections_hierarchy_is_copied_with_the_structure():
    only_these_releases()
    fy2025 = fy2025_with_xml()
    # Whatever parent links the source has (the tabular import fills them), the copy has the
    # same ones; here they are made up on the source to see them copied.
    heading = Section.objects.get(release=fy2025, section_id="V00-V99")
    Section.objects.filter(release=fy2025, section_id__in=["V00-V09", "V10-V19"]).update(
        parent=heading
    )
    fy2024 = fy2024_alone()
    copied = {
        s.section_id: s.parent.section_id if s.parent else None
        for s in Section.objects.filter(release=fy2024).select_related("parent")
    }
    source = {
        s.section_id: s.parent.section_id if s.parent else None
        for s in Section.objects.filter(release=fy2025).select_related("parent")
    }
    assert copied == source
    assert copied["V00-V09"] == "V00-V99"
    assert Section.objects.get(release=fy2024, section_id="V00-V09").parent.release == fy2024


def canonical_dump() -> dict:
    """Everything stored of each release, by natural keys (no ids, no import times), hashed per
    table so that a difference names the release and the table."""

    def digest(rows) -> str:
        return hashlib.sha256(repr(list(rows)).encode()).hexdigest()

    dump = {}
    for release in Release.objects.order_by("effective_date"):
        dump[release.label] = {
            "release": (
                release.fiscal_year,
                release.effective_date,
                release.status,
                release.structure,
                release.structure_from.label if release.structure_from else None,
                release.compared_to.label if release.compared_to else None,
                release.entry_count,
                release.billable_count,
                release.header_count,
                release.chapter_count,
                release.section_count,
                release.note_count,
            ),
            "report": release.report,
            "chapters": digest(
                Chapter.objects.filter(release=release)
                .order_by("sequence")
                .values_list("number", "title", "first_code", "last_code", "sequence")
            ),
            "sections": digest(
                Section.objects.filter(release=release)
                .order_by("sequence")
                .values_list(
                    "section_id",
                    "chapter__number",
                    "parent__section_id",
                    "title",
                    "first_code",
                    "last_code",
                    "sequence",
                )
            ),
            "codes": digest(
                Code.objects.filter(release=release)
                .order_by("code")
                .values_list(
                    "code",
                    "short_title",
                    "long_title",
                    "is_billable",
                    "kind",
                    "parent_code",
                    "depth",
                    "chapter__number",
                    "section__section_id",
                    "sequence",
                    "inclusion_terms",
                )
            ),
            "notes": digest(
                Note.objects.filter(release=release)
                .order_by("sequence")
                .values_list(
                    "chapter__number",
                    "section__section_id",
                    "code",
                    "kind",
                    "text",
                    "character",
                    "sequence",
                )
            ),
            "changes": digest(
                CodeChange.objects.filter(release=release)
                .order_by("code", "change", "is_billable")
                .values_list(
                    "code",
                    "change",
                    "is_billable",
                    "old_short_title",
                    "old_long_title",
                    "new_short_title",
                    "new_long_title",
                )
            ),
        }
    return dump


def test_any_import_order_stores_the_same_data():
    """FY2024 and the April 2025 update without XML, FY2025 and FY2026 with it. The orders:
    by date; reversed (each XML release arrives after the order-file-only ones that borrow from
    it, and every release lands before the ones already compared); the order-file-only ones
    first, borrowing nothing, then FY2026 (both borrow from it) then FY2025 (nearer to both, it
    takes over, and lands between two releases already compared); and the XML ones first, so
    that each order-file-only one borrows once. Every release is at some point inserted before
    one already loaded, and each borrower meets no source, a farther one and its final one."""
    imports = {
        "FY2024": fy2024_alone,
        "FY2025": fy2025_with_xml,
        "April 2025": april_2025_alone,
        "FY2026": fy2026_with_xml,
    }
    orders = [
        ["FY2024", "FY2025", "April 2025", "FY2026"],
        ["FY2026", "April 2025", "FY2025", "FY2024"],
        ["FY2024", "April 2025", "FY2026", "FY2025"],
        ["FY2025", "FY2026", "April 2025", "FY2024"],
    ]
    dumps = []
    for order in orders:
        only_these_releases()
        for name in order:
            imports[name]()
        dumps.append(canonical_dump())
    first = dumps[0]
    assert first["FY2024"]["release"][3:6] == ("borrowed", "FY2025", None)
    assert first["FY2025 April 1 update"]["release"][3:6] == ("borrowed", "FY2025", "FY2025")
    assert first["FY2026"]["release"][3:6] == ("tabular", None, "FY2025 April 1 update")
    for order, dump in zip(orders[1:], dumps[1:], strict=True):
        for label in first:
            assert dump[label] == first[label], f"{label} differs when imported as {order}"
