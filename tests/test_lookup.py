"""What a code page or API answer knows about one code: path, family, notes, history."""

import datetime

import pytest
from django.db import models
from django.db.models import signals

from codes.lookup import BECAME_HEADER, DELETED, code_detail, code_history, find_code
from codes.models import Code, Release
from codes.release_data import release_data_for
from codes.selection import ReleaseSelectionError, select_release

pytestmark = pytest.mark.django_db


def test_z53_has_its_family_and_inherits_section_and_chapter_notes(fy2026):
    detail = code_detail(find_code(fy2026, "z53"))
    assert detail.is_header
    assert detail.ancestors == []
    assert [c.dotted for c in detail.children] == [
        "Z53.0",
        "Z53.1",
        "Z53.2",
        "Z53.3",
        "Z53.8",
        "Z53.9",
    ]
    assert (detail.descendant_count, detail.billable_descendant_count) == (15, 12)
    assert len(detail.billable_below) == 12
    origins = [(n.origin, n.origin_code) for n in detail.notes]
    assert ("section", "Z40-Z53") in origins
    assert ("chapter", "21") in origins
    assert origins.index(("section", "Z40-Z53")) < origins.index(("chapter", "21"))
    assert all(n.inherited for n in detail.notes)


def test_a_subcode_has_its_ancestors_in_order_and_its_own_notes_first(fy2026):
    detail = code_detail(find_code(fy2026, "E08.3211"))
    assert [a.dotted for a in detail.ancestors] == ["E08", "E08.3", "E08.32", "E08.321"]
    own = [n for n in detail.notes if not n.inherited]
    assert all(n.origin_code == "E083211" for n in own)
    assert detail.notes[: len(own)] == own


def test_the_seventh_character_table_comes_from_the_nearest_definition(fy2026):
    detail = code_detail(find_code(fy2026, "S72.001"))
    assert detail.seventh_characters_from == "S72"
    characters = [seventh.character for seventh in detail.seventh_characters]
    assert characters[:3] == ["A", "B", "C"]
    assert code_detail(find_code(fy2026, "T07")).seventh_characters_from == "T07"


def test_a_code_page_needs_no_query_once_its_releases_are_held(
    fy2026, settings, django_assert_num_queries
):
    # What a worker builds before serving (codes.warm): every published release's code set and
    # data (its code rows, chapters, sections, notes, changes, POA list); and, as a worker does,
    # the published releases read at most once a second (the tests read them on every use).
    settings.PUBLISHED_RELEASES_SECONDS = 60
    code_detail(find_code(fy2026, "Z53"))
    code_history("Z53")
    with django_assert_num_queries(0):
        code = find_code(fy2026, "S72.001")
        detail = code_detail(code)
        history = code_history(code.code)
        assert find_code(fy2026, "S72.0019") is None
    assert code.section.section_id == "S70-S79" and code.chapter.number == 19
    assert [a.dotted for a in detail.ancestors] == ["S72", "S72.0", "S72.00"]
    assert detail.notes and detail.seventh_characters_from == "S72"
    assert [row.present for row in history] == [True] * len(history)


def test_a_held_code_row_is_the_database_row():
    # Every field a row has, for codes of each kind and depth, in each bundled release (FY2017
    # has no short titles; FY2025's April update borrows nothing but is a second import).
    fields = [f.attname for f in Code._meta.concrete_fields if f.attname != "inclusion_terms"]
    for release in Release.objects.all():
        stored = Code.objects.filter(release=release)
        sample = [*stored.filter(depth=0)[:3], *stored.filter(is_billable=False, depth=2)[:3]]
        sample += [*stored.order_by("-sequence")[:3], *stored.filter(code__startswith="S72")[:40]]
        assert sample
        for row in sample:
            held = find_code(release, row.code)
            assert [getattr(held, f) for f in fields] == [getattr(row, f) for f in fields]
            assert held.pk == row.pk and held.release == release
            # Loaded, from the same database, and saved as an update if ever saved.
            assert (held._state.adding, held._state.db) == (False, row._state.db)
            assert held.get_deferred_fields() == {"inclusion_terms"}
            assert (held.chapter, held.section) == (row.chapter, row.section)
            # The one field not held is read from the database when asked for.
            assert held.inclusion_terms == row.inclusion_terms


def test_held_code_rows_may_skip_model_init():
    # codes.release_data makes held rows without Model.__init__: nothing may rely on it.
    assert Code.__init__ is models.Model.__init__
    assert not signals.pre_init.has_listeners(Code)
    assert not signals.post_init.has_listeners(Code)


def test_history_tells_when_a_code_became_a_header_or_was_deleted():
    g35 = code_history("G35")
    assert [(r.release.label, r.is_billable, r.events) for r in g35] == [
        ("FY2017", True, []),
        ("FY2025", True, []),
        ("FY2026", False, [BECAME_HEADER]),
    ]
    t78 = code_history("T7807XA")
    assert [(r.present, r.events) for r in t78] == [(True, []), (True, []), (False, [DELETED])]


def test_history_shows_a_revised_title_old_and_new():
    revised = (
        Release.objects.get(label="FY2026").changes.filter(change="revised", is_billable=True)
    ).first()
    fy2026 = code_history(revised.code)[-1]
    assert "revised" in fy2026.events
    assert fy2026.old_title == revised.old_long_title != fy2026.title


def test_release_selection_reads_fy_date_and_label():
    assert select_release({}).release.label == "FY2026"
    assert select_release({"fy": "2025"}).release.label == "FY2025"
    assert select_release({"fy": "FY25"}).release.label == "FY2025"
    assert select_release({"date": "2025-11-01"}).release.label == "FY2026"
    assert select_release({"release": "fy2025"}).release.label == "FY2025"
    assert Release.objects.in_force_on(datetime.date(2025, 9, 30)).label == "FY2025"


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"fy": "20x6"}, "fy", "invalid_parameter"),
        ({"fy": "2030"}, "fy", "release_not_found"),
        ({"date": "2025-13-01"}, "date", "invalid_parameter"),
        ({"date": "2020-01-01"}, "date", "release_not_found"),
        ({"release": "FY1999"}, "release", "release_not_found"),
    ],
)
def test_release_selection_names_the_wrong_field(params, field, code):
    with pytest.raises(ReleaseSelectionError) as error:
        select_release(params)
    assert (error.value.field, error.value.code) == (field, code)


def test_drafts_are_never_selected():
    Release.objects.filter(label="FY2026").update(status=Release.Status.DRAFT)
    assert select_release({}).release.label == "FY2025"
    with pytest.raises(ReleaseSelectionError):
        select_release({"release": "FY2026"})


def test_a_release_whose_codes_are_not_numbered_1_to_n_is_refused_clearly(fy2026):
    # The importer numbers every release's codes 1 to N (codes.importer.order_file checks the
    # order file); what a process holds of a release is read by those numbers.
    release_data_for.clear()
    Code.objects.filter(release=fy2026, sequence=10).update(sequence=10**6)
    try:
        with pytest.raises(ValueError, match="FY2026: code number 10 in tabular order"):
            find_code(fy2026, "A00.0")
    finally:
        release_data_for.clear()
