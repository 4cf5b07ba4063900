"""Search a release: exact codes, code prefixes, ranked words (per database), autocomplete."""

import time

import pytest
from django.db import connection

from codes.codeset import codeset_for
from codes.models import Code, Release
from codes.search import (
    CORRECTED_WORDS,
    EXACT,
    FTS_TABLE,
    PREFIX,
    SIMILAR_TITLES,
    WORDS,
    autocomplete,
    looks_like_code,
    search_codes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fy2026():
    release = Release.objects.get(label="FY2026")
    codeset_for(release)  # warm: the vocabulary of the SQLite fallback reads it
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


def test_a_misspelling_still_finds_codes(fy2026):
    result = search_codes(fy2026, "diabetis")
    assert result.fallback in {SIMILAR_TITLES, CORRECTED_WORDS}
    found = list(result.codes[:50])
    assert found
    assert any("diabet" in c.long_title.lower() for c in found)


def test_nothing_is_found_for_nonsense(fy2026):
    assert list(search_codes(fy2026, "qwxzy vbnmk").codes) == []
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


def test_a_words_search_is_fast(fy2026, django_assert_max_num_queries):
    search_codes(fy2026, "smoking").codes.count()  # warm
    started = time.perf_counter()
    with django_assert_max_num_queries(3):
        result = search_codes(fy2026, "type 2 diabetes mellitus")
        list(result.codes[:50])
        result.codes.count()
    assert time.perf_counter() - started < 1.0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 table is SQLite's")
def test_the_sqlite_word_index_follows_the_codes_table(fy2026):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH 'zzyzxword'")
        assert cursor.fetchone()[0] == 0
        code = Code.objects.filter(release=fy2026).first()
        code.long_title = "Zzyzxword disease"
        code.save(update_fields=["long_title"])
        cursor.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH 'zzyzxword'")
        assert cursor.fetchall() == [(code.pk,)]
        code.delete()
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH 'zzyzxword'")
        assert cursor.fetchone()[0] == 0
        # Every code is indexed: the triggers survived every migration of codes_code.
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}_docsize")
        assert cursor.fetchone()[0] == Code.objects.count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
def test_postgresql_serves_words_and_similar_titles_from_indexes(fy2026):
    def plan(queryset) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "code_words_idx" in plan(search_codes(fy2026, "smoking").codes)
    assert "code_title_trgm_idx" in plan(search_codes(fy2026, "diabetis").codes)
