"""Search a release: exact codes, code prefixes, ranked words (the in-memory word index)."""

import datetime

import pytest
from django.db import connection

from codes.models import Code, Release
from codes.search import (
    CORRECTED_WORDS,
    EXACT,
    PREFIX,
    WORDS,
    autocomplete,
    looks_like_code,
    search_codes,
)
from codes.word_index import word_index_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def fy2026():
    release = Release.objects.get(label="FY2026")
    word_index_for(release)  # built once per process, as in a worker
    return release


def dotted_codes(result, limit=None):
    return [c.dotted for c in result.codes[:limit]]


def test_an_exact_code_in_any_form_is_an_exact_match(fy2026):
    for text in ("z5301", "Z5301", "Z53.01", " z53.01 "):
        result = search_codes(fy2026, text)
        assert result.kind == EXACT
        assert dotted_codes(result) == ["Z53.01"]


def test_a_code_prefix_lists_its_codes_in_tabular_order(fy2026):
    result = search_codes(fy2026, "Z53.0")
    assert result.kind == EXACT  # Z53.0 is itself a code
    result = search_codes(fy2026, "Z53-")
    assert result.kind == PREFIX
    assert dotted_codes(result) == [
        "Z53", "Z53.0", "Z53.01", "Z53.09", "Z53.1", "Z53.2", "Z53.20", "Z53.21", "Z53.29",
        "Z53.3", "Z53.31", "Z53.32", "Z53.33", "Z53.39", "Z53.8", "Z53.9",
    ]  # fmt: skip
    short = search_codes(fy2026, "z5")
    assert short.kind == PREFIX
    assert all(c.code.startswith("Z5") for c in short.codes[:200])
    sequences = list(short.codes.values_list("sequence", flat=True))
    assert sequences == sorted(sequences)


def test_smoking_finds_the_z53_code_and_the_tobacco_use_codes(fy2026):
    result = search_codes(fy2026, "smoking")
    assert result.kind == WORDS
    assert result.also_searched == ["tobacco", "nicotine"]
    found = dotted_codes(result)
    for code in ("Z53.01", "Z72.0", "F17", "F17.210", "Z87.891"):
        assert code in found
    # The ones a coder is after come first.
    assert {"Z72.0", "F17", "Z53.01"} <= set(found[:25])


def test_words_match_titles_and_inclusion_terms_with_stemming(fy2026):
    # "Tobacco use NOS" is an inclusion term of Z72.0; "fractures" stems to "fracture".
    assert "Z72.0" in dotted_codes(search_codes(fy2026, "tobacco use nos"))
    femur = dotted_codes(search_codes(fy2026, "fractures femur"), 20)
    assert femur[0] == "S72"


def test_the_last_word_is_a_prefix_as_you_type(fy2026):
    found = dotted_codes(search_codes(fy2026, "procedure not carried out smok"))
    assert found[0] == "Z53.01"


def test_filters_keep_billable_codes_of_one_chapter(fy2026):
    result = search_codes(fy2026, "nicotine", billable=True, chapter=5)
    codes = list(result.codes)
    assert codes
    assert all(c.is_billable and c.chapter.number == 5 for c in codes)
    assert {c.dotted for c in codes} >= {"F17.210", "F17.200"}
    # A header asked for with billable only lists the billable codes under it instead.
    under = search_codes(fy2026, "Z53", billable=True)
    assert under.kind == PREFIX
    assert len(list(under.codes)) == 12


def test_a_misspelling_is_searched_as_the_closest_title_word(fy2026):
    result = search_codes(fy2026, "diabetis")
    assert result.fallback == CORRECTED_WORDS
    # "diabetic" is as close; "diabetes" is in more titles.
    assert result.corrected_query == "diabetes"
    found = list(result.codes[:50])
    assert found
    assert all("diabet" in c.long_title.lower() for c in found)
    assert search_codes(fy2026, "fractre femur").corrected_query == "fracture femur"
    assert search_codes(fy2026, "asthma").fallback == ""


def test_common_words_and_accents_do_not_get_in_the_way(fy2026):
    # "of the" are in no title of C34 between "cancer" and "lung": they are not required.
    assert dotted_codes(search_codes(fy2026, "cancer of the lung"))[0] == "C34"
    # Titles are ASCII ("Meniere's disease"); what people type may not be.
    assert dotted_codes(search_codes(fy2026, "Ménière"))[0] == "H81.0"


def test_titles_with_the_words_as_typed_come_before_stemmed_and_term_matches(fy2026):
    found = search_codes(fy2026, "smoking").codes
    titles = [c.long_title.lower() for c in found]
    as_typed = ["smoking" in t or "tobacco" in t or "nicotine" in t for t in titles]
    # Every title with the word (or a thesaurus word) as typed, then the others ("smoke").
    assert as_typed == sorted(as_typed, reverse=True)
    assert any(not typed for typed in as_typed)
    # Within a tier, a category before its subdivisions.
    depths = [c.depth for c, typed in zip(found, as_typed, strict=True) if typed]
    assert depths[0] == 0


def test_nothing_is_found_for_nonsense(fy2026):
    nonsense = search_codes(fy2026, "qwxzy vbnmk")
    assert list(nonsense.codes) == []
    assert nonsense.fallback == ""  # no title word is close: nothing was searched instead
    assert list(search_codes(fy2026, "  ").codes) == []


def test_what_looks_like_a_code():
    assert looks_like_code("z5301")
    assert looks_like_code("Z53.01")
    assert looks_like_code("QA0")
    assert looks_like_code("W19A")
    assert not looks_like_code("smoking")
    assert not looks_like_code("flu")
    assert not looks_like_code("Z5")


def test_autocomplete_offers_a_code_family_or_ranked_words(fy2026):
    assert [c.dotted for c in autocomplete(fy2026, "z53", limit=3)] == ["Z53", "Z53.0", "Z53.01"]
    smok = autocomplete(fy2026, "smok")
    assert 0 < len(smok) <= 10
    titles = " ".join(c.long_title.lower() for c in smok)
    # An unfinished word uses the thesaurus of the words it starts: smoking, smoker.
    assert "smoke" in titles and "tobacco" in titles and "nicotine" in titles


def test_a_words_search_reads_only_the_rows_it_shows(fy2026, django_assert_num_queries):
    with django_assert_num_queries(1):
        result = search_codes(fy2026, "type 2 diabetes mellitus")
        assert result.codes.count() > 100
        shown = list(result.codes[:50])
    assert shown[0].dotted == "E11"
    assert len(shown) == 50
    with django_assert_num_queries(1):
        assert len(autocomplete(fy2026, "diab")) == 10


def test_a_reimported_release_is_searched_as_it_is_now(fy2026):
    assert search_codes(fy2026, "zzyzxword").codes.count() == 0
    code = Code.objects.get(release=fy2026, code="Z5301")
    code.long_title = "Zzyzxword disease"
    code.save(update_fields=["long_title"])
    # The loader sets the import time; the index of the release as it was is not used again.
    fy2026.imported_at += datetime.timedelta(seconds=1)
    fy2026.save(update_fields=["imported_at"])
    assert dotted_codes(search_codes(fy2026, "zzyzxword")) == ["Z53.01"]


def test_the_database_keeps_no_word_index_of_its_own():
    """Migration 0005 dropped 0004's: an import no longer maintains them row by row."""
    tables = connection.introspection.table_names()
    assert "codes_code_words" not in tables
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "codes_code")
    assert not {"code_words_idx", "code_title_trgm_idx"} & set(indexes)
