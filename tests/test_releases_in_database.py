"""The bundled FY2025 and FY2026 releases as stored: counts, hierarchy, notes, changes, dates."""

import datetime

import pytest

from codes.models import Chapter, Code, CodeChange, Note, Release, Section

pytestmark = pytest.mark.django_db


def test_fy2026_holds_every_entry_of_its_order_file(fy2026):
    codes = Code.objects.in_release(fy2026)
    assert codes.count() == fy2026.entry_count == 98_186
    assert codes.billable().count() == fy2026.billable_count == 74_719
    assert codes.filter(is_billable=False).count() == fy2026.header_count == 23_467
    assert Chapter.objects.filter(release=fy2026).count() == 22
    assert Section.objects.filter(release=fy2026).count() == 297
    assert codes.filter(kind=Code.Kind.CATEGORY).count() == 1_918
    assert codes.filter(kind=Code.Kind.CATEGORY, is_billable=True).count() == 214
    assert fy2026.is_published
    assert fy2026.structure == Release.Structure.TABULAR


def test_fy2025_holds_every_entry_of_its_order_file(fy2025):
    assert (fy2025.entry_count, fy2025.billable_count, fy2025.header_count) == (
        97_584,
        74_260,
        23_324,
    )
    assert fy2025.source_files.count() == 6
    assert {f.name for f in fy2025.source_files.all()} == {
        "ICD10-CM Code Descriptions 2025.zip",
        "POAexemptCodesFY25.zip",
        "icd10cm-tabular-April-2025.xml",
        "icd-10-cm-drug-2025.xml",
        "icd-10-cm-eindex-2025.xml",
        "icd-10-cm-neoplasm-2025.xml",
    }


def test_z53_is_a_header_with_six_sub_codes_and_twelve_billable_codes_below(fy2026):
    z53 = Code.objects.select_related("chapter", "section").get(release=fy2026, code="Z53")
    assert z53.is_billable is False
    assert z53.kind == Code.Kind.CATEGORY
    assert z53.chapter.number == 21
    assert z53.chapter.code_range == "Z00-Z99"
    assert z53.section.section_id == "Z40-Z53"
    assert z53.section.title == "Encounters for other specific health care"
    children = Code.objects.filter(release=fy2026, parent_code="Z53").order_by("sequence")
    assert [c.dotted for c in children] == ["Z53.0", "Z53.1", "Z53.2", "Z53.3", "Z53.8", "Z53.9"]
    family = Code.objects.in_release(fy2026).with_prefix("Z53")
    assert family.count() == 16
    assert family.billable().count() == 12
    z5301 = family.get(code="Z5301")
    assert (z5301.parent_code, z5301.depth, z5301.kind) == ("Z530", 2, Code.Kind.CODE)


def test_status_is_per_release(fy2025, fy2026):
    assert Code.objects.get(release=fy2025, code="G35").is_billable is True
    assert Code.objects.get(release=fy2026, code="G35").is_billable is False
    for code in ("D71", "R102", "Z408", "Z841"):
        assert Code.objects.get(release=fy2025, code=code).is_billable
        assert not Code.objects.get(release=fy2026, code=code).is_billable


def test_seventh_character_codes_hang_under_their_leaf(fy2026):
    t07 = Code.objects.filter(release=fy2026, parent_code="T07").order_by("sequence")
    assert [c.code for c in t07] == ["T07XXXA", "T07XXXD", "T07XXXS"]
    assert Code.objects.get(release=fy2026, code="W2189XA").parent_code == "W2189"
    assert not Code.objects.filter(release=fy2026, code="W2189A").exists()
    s061x7 = Code.objects.filter(release=fy2026, parent_code="S061X7")
    assert [c.code for c in s061x7] == ["S061X7A"]


def test_notes_are_attached_in_order_to_chapters_sections_and_codes(fy2026):
    notes = Note.objects.filter(release=fy2026)
    chapter21 = notes.filter(chapter__number=21)
    assert chapter21.first().text.startswith("Z codes represent reasons for encounters.")
    section = notes.filter(section__section_id="Z00-Z13")
    assert [n.kind for n in section[:2]] == [Note.Kind.NOTE, Note.Kind.EXCLUDES2]
    t07 = notes.filter(code="T07")
    assert [(n.kind, n.character) for n in t07 if n.kind == Note.Kind.SEVENTH_CHARACTER] == [
        (Note.Kind.SEVENTH_CHARACTER, "A"),
        (Note.Kind.SEVENTH_CHARACTER, "D"),
        (Note.Kind.SEVENTH_CHARACTER, "S"),
    ]
    assert t07.filter(kind=Note.Kind.EXCLUDES1).get().text == "injury NOS (T14.90)"
    assert fy2026.note_count == notes.count()


def test_the_stored_fy2026_changes_agree_with_the_cms_addenda(fy2025, fy2026):
    assert fy2026.compared_to == fy2025
    apart = {"short_title_only": 0, "spacing_only": 0}
    assert fy2026.change_summary() == {
        "codes": {"added": 487, "deleted": 28, "revised": 38, **apart},
        # CMS's 7, W44.G's (a double space made single) among them.
        "headers": {"added": 143, "deleted": 0, "revised": 7, **apart},
    }
    assert fy2026.addenda_agrees() is True
    assert fy2026.addenda_comparison().listed_apart == []
    g35 = CodeChange.objects.filter(release=fy2026, code="G35")
    assert sorted(g35.values_list("change", "is_billable")) == [
        ("added", False),
        ("deleted", True),
    ]


def test_the_release_in_force_on_a_date_is_one_query(django_assert_num_queries, fy2025, fy2026):
    with django_assert_num_queries(1):
        assert Release.objects.in_force_on(datetime.date(2025, 11, 1)) == fy2026
    assert Release.objects.in_force_on(datetime.date(2025, 9, 30)) == fy2025
    assert Release.objects.in_force_on(datetime.date(2024, 10, 1)) == fy2025
    assert Release.objects.in_force_on(datetime.date(2024, 9, 30)) is None


def test_an_april_update_is_in_force_from_april_within_its_fiscal_year(fy2025, fy2026):
    april = Release.objects.create(
        fiscal_year=2025,
        effective_date=datetime.date(2025, 4, 1),
        label="FY2025 April 1 update",
        status=Release.Status.PUBLISHED,
        structure=Release.Structure.NONE,
        imported_at=fy2025.imported_at,
    )
    assert Release.objects.in_force_on(datetime.date(2025, 3, 31)) == fy2025
    assert Release.objects.in_force_on(datetime.date(2025, 4, 1)) == april
    assert Release.objects.in_force_on(datetime.date(2025, 10, 1)) == fy2026
    april.status = Release.Status.DRAFT
    april.save()
    assert Release.objects.in_force_on(datetime.date(2025, 4, 1)) == fy2025


def test_a_code_prefix_is_a_range_that_stays_inside_the_prefix(fy2026):
    codes = Code.objects.in_release(fy2026)
    assert set(codes.with_prefix("C4").values_list("code", flat=True)) == {
        c for c in codes.values_list("code", flat=True) if c.startswith("C4")
    }
    assert "C4A" in set(codes.with_prefix("C4").values_list("code", flat=True))
    assert codes.with_prefix("Z99").count() == codes.filter(code__startswith="Z99").count()
