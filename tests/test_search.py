"""Search a release: exact codes, code prefixes, ranked words (the in-memory word index)."""

import datetime

import pytest
from django.db import connection

from codes.codeset import codeset_for
from codes.models import Code, Release
from codes.ranked_search import default_of
from codes.search import (
    EXACT,
    PREFIX,
    WORDS,
    autocomplete,
    looks_like_code,
    search_codes,
)
from codes.word_index import stem, word_index_for

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


def test_smoking_finds_tobacco_use_and_nicotine_dependence_first(fy2026):
    result = search_codes(fy2026, "smoking")
    assert result.kind == WORDS
    found = dotted_codes(result, 25)
    assert {"Z72.0", "F17.210", "Z87.891"} <= set(found)
    assert "Z53.01" in dotted_codes(result)  # "... not carried out ... due to patient smoking"


def test_words_match_titles_and_inclusion_terms_with_stemming(fy2026):
    # "Tobacco use NOS" is an inclusion term of Z72.0; "fractures" stems to "fracture".
    assert "Z72.0" in dotted_codes(search_codes(fy2026, "tobacco use nos"), 10)
    femur = dotted_codes(search_codes(fy2026, "fractures femur"), 5)
    assert "S72.90XA" in femur


def test_the_last_word_is_a_prefix_when_nothing_has_it_whole(fy2026):
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


def test_a_misspelling_is_read_as_the_closest_word_and_says_so(fy2026):
    result = search_codes(fy2026, "diabetis")
    assert dotted_codes(result)[0] == "E11.9"
    assert result.reason("E119").startswith("spelling corrected: diabetis → diabetes")
    assert "Spelling corrected: diabetis → diabetes." in result.notes
    assert dotted_codes(search_codes(fy2026, "pnuemonia"))[0] == "J18.9"
    assert not search_codes(fy2026, "asthma").found.corrected


def test_common_words_and_accents_do_not_get_in_the_way(fy2026):
    assert dotted_codes(search_codes(fy2026, "cancer of the lung"))[0] == "C34.90"
    # Titles are ASCII ("Meniere's disease"); what people type may not be.
    assert "H81.09" in dotted_codes(search_codes(fy2026, "Ménière"), 3)


def test_nothing_is_found_for_nonsense(fy2026):
    nonsense = search_codes(fy2026, "qwxzy vbnmk")
    assert list(nonsense.codes) == []
    assert nonsense.notes == []
    assert list(search_codes(fy2026, "  ").codes) == []


# --- the Index as the thesaurus (FY2026 has no Index: it reads FY2017's, mapped to it) ----------


def test_a_bare_condition_gives_the_code_the_index_gives_it_first(fy2026):
    result = search_codes(fy2026, "pneumonia")
    assert dotted_codes(result, 1) == ["J18.9"]
    assert result.reason("J189") == "Index (FY2017, mapped to FY2026): Pneumonia"
    assert dotted_codes(search_codes(fy2026, "hypertension"), 1) == ["I10"]
    # The header that is the default's family comes right after it.
    sunburn = dotted_codes(search_codes(fy2026, "sunburn"), 2)
    assert sunburn == ["L55.9", "L55"]


def test_the_answer_says_whose_index_terms_were_read(fy2026):
    notes = search_codes(fy2026, "pneumonia").notes
    assert any(
        "index terms from FY2017, mapped to FY2026" in note and "Index to Diseases" in note
        for note in notes
    )
    fy2017 = Release.objects.get(label="FY2017")
    assert search_codes(fy2017, "pneumonia").notes == []  # its own Index


def test_a_see_reference_is_followed_to_its_code(fy2026):
    result = search_codes(fy2026, "heart attack")
    first = dotted_codes(result, 1)[0]
    assert first.startswith("I21")
    assert "Attack, attacks, heart → see Infarct, infarction, myocardium" in result.reason(
        first.replace(".", "")
    )


def test_a_reference_to_a_main_term_is_followed_with_the_rest_of_the_words(fy2026):
    # "Varicose, vein, see Varix": the rest of the query is found under Varix ("Varix, leg"),
    # and the side beside its code.
    result = search_codes(fy2026, "varicose veins left leg")
    assert dotted_codes(result, 1) == ["I83.92"]
    assert "Varicose, vein → see Varix, leg (left: I83.92" in result.reason("I8392")
    result = search_codes(fy2026, "inflammation bladder chronic")
    assert dotted_codes(result, 1) == ["N30.20"]
    assert "bladder → see Cystitis, chronic" in result.reason("N3020")
    # All the words said by the reference: its own code, as before.
    assert dotted_codes(search_codes(fy2026, "varicose veins"), 1) == ["I83.90"]


def test_a_nested_path_is_found_by_its_words_in_any_order(fy2026):
    result = search_codes(fy2026, "type 2 diabetes with chronic kidney disease")
    assert dotted_codes(result, 1) == ["E11.22"]
    assert "Diabetes, diabetic, type 2, with, chronic kidney disease" in result.reason("E1122")


def test_non_essential_modifiers_are_optional_words(fy2026):
    # "Infection, urinary (tract)": with "tract" or without, N39.0, before the neonatal P39.3.
    for query in ("urinary tract infection", "urinary infection"):
        found = dotted_codes(search_codes(fy2026, query), 5)
        assert found[0] == "N39.0", query
    assert dotted_codes(search_codes(fy2026, "urinary tract infection")).index("P39.3") > 0


def test_the_side_and_the_encounter_choose_among_the_codes_of_an_index_term(fy2026):
    # The Index does not say "left" or "initial"; the titles of the codes of its term do.
    cases = {
        "left hip fracture": ("S72.002A", "under S72.00"),
        "fracture of right radius initial": ("S52.91XA", "under S52.9"),
        "right otitis media": ("H66.91", "under H66.9"),
        # S61.419- of "Laceration, hand" is the unspecified hand: the right one is beside it.
        "laceration right hand subsequent encounter": ("S61.411D", "beside S61.419"),
    }
    for query, (code, where) in cases.items():
        result = search_codes(fy2026, query)
        assert dotted_codes(result, 1) == [code], query
        assert result.reason(code.replace(".", "")).endswith(f"{code}, {where})"), query


def test_a_side_that_no_code_of_the_term_has_leaves_the_terms_own_code(fy2026):
    # M86.9 Osteomyelitis, unspecified has no side; beside H10.9 Unspecified conjunctivitis,
    # H10.012 Acute follicular conjunctivitis, left eye is another condition.
    assert dotted_codes(search_codes(fy2026, "osteomyelitis right"), 1) == ["M86.9"]
    result = search_codes(fy2026, "conjunctivitis left")
    assert dotted_codes(result, 1) == ["H10.9"]
    assert result.reason("H109").endswith("(no code of it says left)")
    # A side the Index itself says is read there first.
    assert dotted_codes(search_codes(fy2026, "left heart failure"), 1) == ["I50.1"]


def test_the_organ_a_side_is_of_chooses_with_the_side(fy2026):
    # "Cataract" (H26.9) has no side and no eye in its path: "right eye" is said by the
    # titles of codes ("..., right eye"), not by "Cataract, in, eye disease".
    for query, code in {
        "cataract right eye": "H26.9",
        "conjunctivitis right eye": "H10.9",
        "left eye glaucoma": "H40.9",
    }.items():
        result = search_codes(fy2026, query)
        assert dotted_codes(result, 1) == [code], query
        assert result.reason(code.replace(".", "")).endswith("eye)"), query
    result = search_codes(fy2026, "otitis externa left ear")
    assert dotted_codes(result, 1) == ["H60.92"]
    assert result.reason("H6092").endswith("(left ear: H60.92, under H60.9)")


def test_a_residual_category_comes_after_the_one_that_says_the_words_as_well(fy2026):
    # S72 Fracture of femur and S72.8 Other fracture of femur both say every word; S72.8 is
    # what is left when the named fractures are taken out, not what "fracture femur" means.
    assert dotted_codes(search_codes(fy2026, "fracture femur"), 2) == ["S72.90XA", "S72.8X9A"]
    assert dotted_codes(search_codes(fy2026, "left femur fracture"), 1) == ["S72.92XA"]
    assert dotted_codes(search_codes(fy2026, "thrombocytosis"), 1) == ["D75.839"]
    # Said, "other" is what the query means.
    assert dotted_codes(search_codes(fy2026, "other thrombocytosis"), 1) == ["D75.838"]


def test_a_header_the_index_prints_gives_the_code_under_it_that_says_the_term(fy2026):
    # FY2017's Index prints A41.5 for "Sepsis, Escherichia coli": A41.51 says E. coli, its
    # default A41.50 Gram-negative sepsis, unspecified does not.
    result = search_codes(fy2026, "sepsis due to e coli")
    assert dotted_codes(result, 1) == ["A41.51"]
    assert result.reason("A4151").endswith("(says escherichia coli: A41.51, under A41.5)")
    # Under D72.1: D72.119 Hypereosinophilic syndrome [HES], unspecified, not D72.110
    # Idiopathic... (a word the term does not say) or D72.118 Other... (a residual).
    assert dotted_codes(search_codes(fy2026, "hypereosinophilic syndrome"), 1) == ["D72.119"]
    # No code under E87.2 says only "metabolic acidosis": its default, E87.20, which holds
    # metabolic acidosis NOS, not E87.21 Acute metabolic acidosis.
    assert dotted_codes(search_codes(fy2026, "metabolic acidosis"), 1) == ["E87.20"]
    # "Ulcer, pressure, stage 2, sacral region" prints L89.15-: the stage is said above it.
    result = search_codes(fy2026, "pressure ulcer sacrum stage 2")
    assert dotted_codes(result, 1) == ["L89.152"]
    assert result.reason("L89152").endswith("(says stage 2: L89.152, under L89.15)")
    # A main term's name in two words: "Xanthinuria, hereditary" (E79.8) is E79.82.
    assert dotted_codes(search_codes(fy2026, "xanthinuria"), 1) == ["E79.82"]


def test_a_substance_disorder_is_uncomplicated_unless_said(fy2026):
    # F17.21 Nicotine dependence, cigarettes: F17.210 ..., uncomplicated, as the Index gives
    # for alcohol dependence (F10.20), not F17.219 ... with unspecified nicotine-induced
    # disorders.
    assert dotted_codes(search_codes(fy2026, "nicotine dependence cigarettes"), 1) == ["F17.210"]
    codeset = codeset_for(fy2026)
    assert [default_of(h, codeset) for h in ("F102", "F112", "F1721", "F19")] == [
        "F1020",
        "F1120",
        "F17210",
        "F1990",
    ]
    # "without" alone does not outweigh an unspecified condition: S06.0X Concussion is still
    # S06.0X9A (loss of consciousness of unspecified duration), as the Index gives it.
    assert default_of("S060X", codeset) == "S060X9A"


def test_a_code_that_became_a_header_is_carried_to_its_default(fy2026):
    # FY2017's Index gives Q87.1 for Aarskog's syndrome; Q87.1 is a header since FY2020.
    result = search_codes(fy2026, "aarskog syndrome")
    assert dotted_codes(result, 2) == ["Q87.19", "Q87.1"]
    assert "(the default of Q87.1)" in result.reason("Q8719")
    # G35 (multiple sclerosis) became a header in FY2026.
    assert dotted_codes(search_codes(fy2026, "multiple sclerosis"), 1) == ["G35.D"]


def test_a_deleted_code_is_carried_to_its_successors(fy2026):
    # FY2017's Index names S63.13- for "Dislocation, interphalangeal, thumb, proximal
    # joint"; FY2026 has no S63.13: the codes that took its place are given instead.
    result = search_codes(fy2026, "dislocation interphalangeal thumb proximal joint")
    first = dotted_codes(result, 1)[0]
    assert first.startswith("S63.1")
    assert "S63.13 is not in the release" in result.reason(first.replace(".", ""))
    codeset = codeset_for(fy2026)
    assert all(code.replace(".", "") in codeset for code in dotted_codes(result))


def test_an_index_code_stands_for_what_it_is_in_each_release_that_reads_it(fy2026):
    # FY2017's Index prints S63.13- for "Dislocation, interphalangeal, thumb, proximal joint":
    # a header of FY2017 (its default first), not in FY2026 (its successors). What a printed
    # code stands for is held per release: whichever release asks first, each gets its own.
    fy2017 = Release.objects.get(label="FY2017")
    query = "dislocation interphalangeal thumb proximal joint"
    for release, first, note in [
        (fy2026, "S63.1", "(S63.13 is not in the release: its successor)"),
        (fy2017, "S63.13", "(the default of S63.13)"),
        (fy2026, "S63.1", "(S63.13 is not in the release: its successor)"),
    ]:
        result = search_codes(release, query)
        code = result.codes[0]
        assert code.dotted.startswith(first), release
        assert result.reason(code.code).endswith(note), release


def test_what_a_printed_code_stands_for_is_held_no_longer_than_its_code_set(fy2026):
    # A code set dropped from a worker's memory (more releases served than it holds) is not
    # kept alive by what the Index's codes stood for in it.
    import gc

    from codes.codeset import _build
    from codes.importer.index_xml import DISEASES
    from codes.ranked_search import _add_printed, _Ranking, index_parts
    from codes.selection import published_releases

    terms = index_parts(fy2026, published_releases())[DISEASES][0]
    # "Sepsis, Escherichia coli" prints A41.5, a header: its code under it is worked out.
    term = next(t for t in range(1, len(terms.codes)) if terms.codes[t].rstrip("-") == "A41.5")
    held_before = len(terms.printed_in)
    codeset = _build(fy2026)  # as a worker builds it again after dropping it
    ranking = _Ranking(codeset)
    _add_printed(ranking, terms.codes[term], 0.0, "Index", printed_at=(terms, term))
    assert ranking.found and len(terms.printed_in) == held_before + 1
    del codeset, ranking
    gc.collect()
    assert len(terms.printed_in) == held_before


def test_a_one_word_match_held_is_the_match_worked_out(fy2026):
    from codes.importer.index_xml import DISEASES
    from codes.ranked_search import _stems, index_parts
    from codes.selection import published_releases

    terms = index_parts(fy2026, published_releases())[DISEASES][0]
    asked = [(60, True), (5, True), (60, False)]  # (limit, coded)
    for word in ("fracture", "pneumonia", "ulcer"):
        words = [_stems(word)]
        worked_out = {}
        for limit, coded in asked:
            terms.one_word.clear()
            worked_out[limit, coded] = terms.match(words, limit, coded=coded)
        assert worked_out[5, True] == worked_out[60, True][:5]
        terms.one_word.clear()
        for limit, coded in asked:
            terms.match(words, limit, coded=coded)
        assert len(terms.one_word) == len(asked)
        for limit, coded in asked:  # each as held, beside the others
            assert terms.match(words, limit, coded=coded) == worked_out[limit, coded], word


def test_the_drug_table_answers_poisonings_adverse_effects_and_underdosing(fy2026):
    def first(query):
        return dotted_codes(search_codes(fy2026, query), 1)[0]

    # Intent not stated: accidental, the guidelines' default; the 7th character "A".
    assert first("aspirin overdose") == "T39.011A"
    assert first("poisoning by acetaminophen") == "T39.1X1A"
    assert first("adverse effect of warfarin") == "T45.515A"
    assert first("underdosing of insulin") == "T38.3X6A"
    assert first("intentional overdose of acetaminophen") == "T39.1X2A"
    reason = search_codes(fy2026, "aspirin overdose").reason("T39011A")
    assert "(poisoning, accidental)" in reason and "FY2025, mapped to FY2026" in reason


def test_the_neoplasm_table_answers_by_site_and_behaviour(fy2026):
    def first(query):
        return dotted_codes(search_codes(fy2026, query), 1)[0]

    assert first("secondary cancer of liver") == "C78.7"
    assert first("benign tumor of colon") == "D12.6"
    assert first("lung cancer") == "C34.90"
    assert first("carcinoma in situ of cervix") == "D06.9"


def test_an_abbreviation_with_two_meanings_offers_each(fy2026):
    result = search_codes(fy2026, "ms")
    top = dotted_codes(result, 3)
    assert "G35.D" in top and "I05.0" in top
    assert result.reason("G35D").startswith("abbreviation: MS = multiple sclerosis")
    assert result.reason("I050").startswith("abbreviation: MS = mitral stenosis")


def test_lay_words_and_abbreviations_find_what_coders_mean(fy2026):
    expected = {
        "uti": "N39.0",
        "gerd": "K21.9",
        "chf": "I50.9",
        "high blood pressure": "I10",
        "high bp": "I10",
        "hbp": "I10",
        "afib": "I48.91",
        "shingles": "B02.9",
        "strep throat": "J02.0",
        "head lice": "B85.0",
        "long covid": "U09.9",
        "former smoker": "Z87.891",
        "tetanus shot": "Z23",
        "medication refill": "Z76.0",
        "annual exam": "Z00.00",
        "swollen glands": "R59.9",
        "fluid on the knee": "M25.469",
        "slipped disc lower back": "M51.26",
    }
    for query, code in expected.items():
        assert dotted_codes(search_codes(fy2026, query), 1) == [code], query


def test_charting_shorthand_reads_as_the_words_it_stands_for(fy2026):
    # "w/o" is "without", not two stray letters: type 2 diabetes without complications, not
    # "with complications" found by dropping them.
    expected = {
        "dm2 w/o complications": "E11.9",
        "migraine w/ aura": "G43.109",
        "migraine w/o aura": "G43.009",
        "h/o stroke": "Z86.73",
        "fx left wrist": "S62.102A",
        "s/p colostomy": "Z93.3",
    }
    for query, code in expected.items():
        result = search_codes(fy2026, query)
        assert dotted_codes(result, 1) == [code], query
        assert "without the word" not in result.reason(code.replace(".", "")), query


def test_adult_codes_come_before_maternal_perinatal_and_congenital_ones(fy2026):
    found = dotted_codes(search_codes(fy2026, "urinary tract infection"), 10)
    first_scoped = min(i for i, c in enumerate(found) if c[0] in "OPQ")
    assert all(c[0] not in "OPQ" for c in found[:first_scoped])
    assert found[0] == "N39.0"
    # Said in the query, they are not put back.
    assert dotted_codes(search_codes(fy2026, "newborn jaundice"), 1)[0].startswith("P59")


def test_a_query_with_a_word_no_code_has_finds_what_has_the_others(fy2026):
    result = search_codes(fy2026, "obesity in children")
    assert dotted_codes(result, 1) == ["E66.9"]
    assert result.reason("E669").startswith("without the word “children”: Index")
    two = search_codes(fy2026, "obesity in children zzqq")
    assert dotted_codes(two, 1) == ["E66.9"]
    assert "without the words “children” and “zzqq”" in two.reason("E669")


def test_of_the_words_left_out_the_one_whose_rest_is_found_best_goes_first(fy2026):
    # Nothing has all three: "left weakness" is the Index's "Weakness" (R53.1, no side), "left
    # leg" only an abscess of the left lower limb, a term that leaves its condition unsaid.
    result = search_codes(fy2026, "left leg weakness")
    assert dotted_codes(result, 1) == ["R53.1"]
    assert result.reason("R531").startswith("without the word “leg”: Index")
    assert dotted_codes(search_codes(fy2026, "arm numbness"), 1) == ["R20.0"]


def test_without_excludes_what_it_names(fy2026):
    # A title that says it: the code "without" names.
    assert dotted_codes(search_codes(fy2026, "zoster without complication"), 1) == ["B02.9"]
    # No title or Index term says "shingles without complication": the bare condition, less
    # the codes that name complications (B02.8 Zoster with other complications).
    result = search_codes(fy2026, "shingles without complication")
    found = dotted_codes(result)
    assert found[0] == "B02.9"
    assert "B02.8" not in found
    assert result.reason("B029").startswith("not complication: ")
    found = dotted_codes(search_codes(fy2026, "copd without exacerbation"))
    assert found[0] == "J44.9"
    assert "J44.1" not in found


def test_what_a_title_or_term_names_as_absent_is_not_what_the_word_finds(fy2026):
    # "with aura" is not "Migraine, without aura" (an Index term), nor are complications
    # "Acute mastoiditis without complications" (a title), unless the query says "without".
    assert dotted_codes(search_codes(fy2026, "migraine with aura"), 1) == ["G43.109"]
    assert dotted_codes(search_codes(fy2026, "migraine without aura"), 1) == ["G43.009"]
    assert dotted_codes(search_codes(fy2026, "mastitis abscess"), 1) == ["N61.1"]
    titles = {
        c.dotted: c.long_title for c in search_codes(fy2026, "mastoiditis complications").codes[:10]
    }
    assert titles and not any("without complications" in title for title in titles.values())
    found = dotted_codes(search_codes(fy2026, "acute mastoiditis without complications"), 1)
    assert found == ["H70.009"]
    first = search_codes(fy2026, "acute appendicitis with perforation").codes[0]
    assert "without perforation" not in first.long_title
    # And left unsaid, what a term names as absent costs nothing: a history of stroke is the
    # personal one "without residual deficits", not the family one.
    assert dotted_codes(search_codes(fy2026, "history of stroke"), 1) == ["Z86.73"]


def test_the_words_a_title_names_as_absent():
    from codes.word_index import named_absent

    def absent(title):
        return named_absent([w for piece in title.split(",") for w in [*piece.split(), ","]])

    assert absent("migraine without aura , intractable , with status migrainosus") == {"aura"}
    assert absent("hepatitis without delta agent with hepatic coma") == {"delta", "agent"}
    assert absent("diverticulitis without perforation or abscess with bleeding") == {
        "perforation",
        "abscess",
    }
    # Named elsewhere too, it is not absent: "without" of one ulcer, "with" of the other.
    assert absent("ulcer without perforation , perforation of other site") == set()
    assert absent("fracture with routine healing") == set()


def test_what_looks_like_a_code():
    assert looks_like_code("z5301")
    assert looks_like_code("Z53.01")
    assert looks_like_code("QA0")
    assert looks_like_code("W19A")
    assert not looks_like_code("smoking")
    assert not looks_like_code("flu")
    assert not looks_like_code("Z5")


def suggested(release, text, limit=10):
    return [c.dotted for c in autocomplete(release, text, limit=limit).codes]


def test_the_words_of_the_index_path_choose_with_the_side(fy2026):
    # "Cellulitis, leg" sends to "Cellulitis, lower limb" (L03.11-): of its left codes, the
    # lower limb's (L03.116), not the first left one (L03.112, left axilla).
    result = search_codes(fy2026, "cellulitis left leg")
    assert dotted_codes(result, 1) == ["L03.116"]
    assert result.reason("L03116").endswith("(left: L03.116, under L03.11)")
    # A leg is a lower extremity in the titles of I82.4-: "dvt left leg" is I82.402, not the
    # upper leg's I82.4Y2 (the Index's "Thrombosis, vein, deep, upper leg").
    result = search_codes(fy2026, "dvt left leg")
    assert dotted_codes(result, 1) == ["I82.402"]
    assert "lay: leg = lower extremity" in result.reason("I82402")
    # And an arm an upper one: I82.621, not the right lower extremity's I82.401 "without the
    # word arm".
    assert dotted_codes(search_codes(fy2026, "dvt right arm"), 1) == ["I82.621"]


def test_a_lay_term_split_by_a_side_is_still_read(fy2026):
    # "fluid on the knee" is a lay term; "right" inside it is the side of its code.
    result = search_codes(fy2026, "fluid on the right knee")
    assert dotted_codes(result, 1) == ["M25.461"]
    assert result.reason("M25461").startswith("lay: fluid knee = effusion of knee")


def test_a_lay_term_is_read_in_another_order(fy2026):
    # The curated terms are phrases ("fluid on the knee", "sore throat"): the same words in
    # another order mean the same; without it "left knee fluid" was M21.062 (knock knee)
    # "without the word fluid".
    result = search_codes(fy2026, "left knee fluid")
    assert dotted_codes(result, 1) == ["M25.462"]
    assert result.reason("M25462").startswith("lay: fluid knee = effusion of knee")
    assert dotted_codes(search_codes(fy2026, "throat sore"), 1) == ["J02.9"]


def test_autocomplete_reads_a_lay_term_while_its_last_word_is_typed(fy2026):
    # As the whole term reads: "sore thr" was M04.8 ("Sore, throat, see also PFAPA").
    assert suggested(fy2026, "sore thr")[0] == suggested(fy2026, "sore throat")[0] == "J02.9"
    assert suggested(fy2026, "high blood p")[0] == "I10"  # a letter after two words
    assert suggested(fy2026, "fluid on the right kn")[0] == "M25.461"
    # A lay term of one word, from its first four letters.
    result = autocomplete(fy2026, "bleeding pile")
    assert [entry.code for entry in result.codes[:1]] == ["K649"]
    assert result.reason("K649").startswith("lay: piles = hemorrhoids")
    # One letter after one word starts too many terms to be read as one.
    sore_t = autocomplete(fy2026, "sore t")
    assert sore_t.codes
    assert not any(sore_t.reason(entry.code).startswith("lay:") for entry in sore_t.codes)


def test_autocomplete_reads_the_tables_while_a_word_is_typed(fy2026):
    # The intent or the behaviour being typed chooses the column; the drug or the site being
    # typed, the row: "aspirin pois" was T39.013A (assault, from "Aspirin" by its title words).
    assert suggested(fy2026, "aspirin pois")[0] == "T39.011A"
    assert suggested(fy2026, "overdose of oxyc")[0] == "T40.2X1A"
    assert suggested(fy2026, "secondary cancer of liv")[0] == "C78.7"
    assert suggested(fy2026, "benign tumor of colo")[0] == "D12.6"
    # Without a word of poisoning, a half-typed word is no drug's: "mell" is not Mellaril.
    assert suggested(fy2026, "mell")[0] == "E11.9"


def test_the_encounter_beside_a_term_need_not_be_said_and_may_be_half_typed(fy2026):
    # S61.419- "Laceration, hand" is the unspecified hand; beside it S61.411D says the side
    # and the encounter ("subsequent encounter": "subsequent" says it).
    for query in ("laceration right hand subsequent", "laceration right hand subsequent encounter"):
        assert dotted_codes(search_codes(fy2026, query), 1) == ["S61.411D"], query
    # No encounter said: the initial one, as for any code of the term.
    assert dotted_codes(search_codes(fy2026, "laceration right hand"), 1) == ["S61.411A"]
    # As it is typed, "subs" can only be "subsequent" of the choice words.
    assert suggested(fy2026, "laceration right hand subs", limit=1) == ["S61.411D"]
    assert suggested(fy2026, "fracture femur lef", limit=1) == ["S72.92XA"]


def test_autocomplete_offers_a_code_family_or_ranked_words(fy2026):
    assert suggested(fy2026, "z53", limit=3) == ["Z53", "Z53.0", "Z53.01"]
    smok = autocomplete(fy2026, "smok")
    assert 0 < len(smok.codes) <= 10
    titles = " ".join(c.long_title.lower() for c in smok.codes)
    assert "smok" in titles and "nicotine" in titles


def test_autocomplete_reads_an_unfinished_word_and_a_slip_in_it(fy2026):
    assert suggested(fy2026, "pneu")[0] == "J18.9"
    assert suggested(fy2026, "pnue")[0] == "J18.9"  # two letters swapped
    assert autocomplete(fy2026, "pnue").found.corrected == [("pnue", "pneu…")]
    assert suggested(fy2026, "heart att")[0].startswith("I21")
    assert suggested(fy2026, "type 2 diab")[0] == "E11.9"


def test_autocomplete_reads_an_abbreviation_as_typed_not_as_a_slip(fy2026):
    # None of these starts a word of the titles or the Index: each was "corrected" to the
    # start of another word (htn: hanging, chf: chorioretinitis).
    typed = {"htn": "I10", "chf": "I50.9", "ibs": "K58.9", "bph": "N40.0", "osa": "G47.33"}
    for text, first in typed.items():
        assert suggested(fy2026, text)[0] == first, text
        assert autocomplete(fy2026, text).found.corrected == [], text


def test_autocomplete_corrects_a_whole_word_that_starts_no_word(fy2026):
    # No start of a word is one slip away from "athsma" (two letters moved): read as a whole
    # word, as the search page reads it.
    assert suggested(fy2026, "athsma")[0] == "J45.909"
    assert autocomplete(fy2026, "athsma").found.corrected == [("athsma", "asthma")]
    assert suggested(fy2026, "hemmorhoids")[0] == "K64.9"
    # Of the starts one slip away that start as many words, the one whose words the titles
    # use most: migraine (dozens of titles), not migrans (three).
    assert suggested(fy2026, "migrane")[0] == "G43.909"


def test_autocomplete_finds_nothing_for_nonsense(fy2026):
    assert list(autocomplete(fy2026, "qqqzz").codes) == []


def test_a_words_search_reads_no_row(fy2026, django_assert_num_queries):
    search_codes(fy2026, "type 2 diabetes mellitus")  # the Index terms, built once a process
    # The published releases (read on every request in tests); the rows shown are made from
    # what the process holds of the release (codes.release_data).
    with django_assert_num_queries(1):
        result = search_codes(fy2026, "type 2 diabetes mellitus")
        assert result.codes.count() > 100
        shown = list(result.codes[:50])
    assert shown[0].dotted == "E11.9"
    assert len(shown) == 50
    # Suggestions are entries of the code set: the published releases only.
    with django_assert_num_queries(1):
        assert len(list(autocomplete(fy2026, "diab").codes)) == 10


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


def test_every_header_default_worked_out_up_front_is_the_one_worked_out_when_asked(fy2026):
    from codes.ranked_search import hold_defaults

    codeset = codeset_for(fy2026)
    headers = [code for code, entry in codeset.entries.items() if not entry.is_billable]
    codeset.defaults.clear()
    asked = {code: default_of(code, codeset) for code in headers[::7]}
    codeset.defaults.clear()
    hold_defaults(codeset)
    assert set(codeset.defaults) == set(headers)
    assert {code: codeset.defaults[code] for code in asked} == asked
    assert codeset.defaults["S72001"] == "S72001A"


def test_a_title_weight_less_the_words_said_is_what_a_split_of_the_title_gives(fy2026):
    # The title matches' cost reads each title's weight and the postings of the words said,
    # not the title: the same as splitting it, connectors ("type", a stem of "types") too.
    # A word said that the title names as absent (after "without", up to a "with" or a
    # comma) is denied: it stays unsaid and costs DENIED_WEIGHT more, unless "without" is said.
    from codes.word_index import CONNECTORS, DENIED_WEIGHT, stem, tokens, weight

    titles = word_index_for(fy2026)
    codeset = codeset_for(fy2026)
    saids = [
        frozenset({stem("fracture"), stem("femur")}),
        frozenset({stem("types"), stem("diabetes")}),
        frozenset({stem("site"), stem("congenital"), stem("pneumonia")}),
        frozenset({stem("unspecified")}),
        frozenset({stem("complications"), stem("perforation"), stem("abscess")}),
        frozenset({stem("without"), stem("complications"), stem("perforation")}),
    ]
    checked = denied = 0
    naming_absent = {
        p for p, code in enumerate(titles.codes) if "without" in codeset.get(code).title
    }
    for position in sorted(set(range(0, len(titles.codes), 37)) | naming_absent):
        title = codeset.entries[titles.codes[position]].title
        named = {stem(w) for w in tokens(title) if w not in CONNECTORS}
        absent, elsewhere = set(), set()
        for piece in title.lower().split(","):
            inside = False
            for word in tokens(piece):
                if word in ("with", "without"):
                    inside = word == "without"
                elif word not in CONNECTORS:
                    (absent if inside else elsewhere).add(stem(word))
        absent -= elsewhere
        for said in saids:
            refused = set() if "without" in said else said & absent
            expected = weight(named - (said - refused)) + DENIED_WEIGHT * len(refused)
            assert titles.unsaid_weight(position, said) == expected, title
            checked += 1
            denied += bool(refused)
    assert checked > 10_000
    assert denied > 100
    assert titles.named_connector_stems  # titles where another word has a connector's stem


def whole_tiers(titles, query, count):
    """first(count) worked out the long way: each tier gathered whole (a title with every word
    as typed; with every word's stem; with every word's stem in its title or inclusion
    terms), less the tiers before it, and its smallest positions taken while places are left."""
    import heapq

    def positions(sources, keys):
        return {p for source in sources for key in keys for p in source.get(key, ())}

    forms = [titles._forms(word) for word in query]
    stems = [{stem(form) for form in word_forms} for word_forms in forms]
    typed = set.intersection(*(positions([titles.title_words], f) for f in forms))
    stemmed = set.intersection(*(positions([titles.title_stems], s) for s in stems))
    anywhere = set.intersection(
        *(positions([titles.title_stems, titles.term_stems], s) for s in stems)
    )
    assert typed <= stemmed <= anywhere
    chosen, left = [], count
    for tier in (typed, stemmed - typed, anywhere - stemmed):
        chosen.append(heapq.nsmallest(left, tier))
        left -= len(chosen[-1])
        if not left:
            break
    return chosen


def test_the_first_title_matches_of_one_word_are_those_of_the_whole_tiers(fy2026):
    # One word's first positions are read from the first positions of each postings: the
    # same as taking them from the whole tiers.
    from codes.word_index import Word

    titles = word_index_for(fy2026)
    for text, prefix in [
        ("fracture", False),
        ("fra", True),
        ("pneumonia", False),
        ("typ", True),
        ("meniere", False),
        ("zygomycosis", False),
        ("pa", True),
    ]:
        whole = whole_tiers(titles, [Word(text, prefix)], 150)
        assert list(titles.match([Word(text, prefix)]).first(150)) == whole, text
        assert sum(map(len, whole)) > 0


def test_the_first_title_matches_of_more_words_are_those_of_the_whole_tiers(fy2026):
    # More words are read window by window from the first position, each word looked up or
    # intersected: the same as intersecting whole tiers, whether the matches are among the
    # first positions or the last, fill one tier or several, are few or thousands.
    from codes.word_index import Word

    titles = word_index_for(fy2026)
    filled = set()
    for query in [
        [Word("fracture", False), Word("femur", False)],
        [Word("left", False), Word("fracture", False), Word("shaft", False)],
        [Word("fracture", False), Word("subseq", True)],  # thousands, all far down
        [Word("initial", False), Word("encounter", False)],
        [Word("diabetes", False), Word("kid", True)],
        [Word("smok", True), Word("tobacco", False)],
        [Word("acute", False), Word("pyelonephritis", False)],
        [Word("pyelonephritis", False), Word("with", False)],
        [Word("dependence", False), Word("remission", False)],
        [Word("fracture", False), Word("zzyzx", False)],
    ]:
        for count in (1, 10, 150, 3000):
            whole = whole_tiers(titles, query, count)
            assert list(titles.match(query).first(count)) == whole, (query, count)
            filled.add(len(whole))
    assert {1, 3} <= filled  # first positions all in the first tier, or spanning all three


def test_a_release_with_the_same_titles_and_terms_shares_its_word_index_until_one_changes(fy2026):
    from codes.importer.run import import_release
    from tests.conftest import APRIL_2025_ZIP, as_upload

    fy2025 = Release.objects.get(label="FY2025")
    april = import_release(as_upload(APRIL_2025_ZIP))  # FY2025's codes and titles
    # Imported without its tabular XML, it has no inclusion terms: an index of its own.
    assert word_index_for(april) is not word_index_for(fy2025)
    assert stem("sabre") not in word_index_for(april).term_stems
    assert stem("sabre") in word_index_for(fy2025).term_stems  # L94.1: En coup de sabre lesion

    def reimported(release: Release) -> None:
        release.imported_at += datetime.timedelta(seconds=1)
        release.save(update_fields=["imported_at"])

    terms = dict(Code.objects.filter(release=fy2025).values_list("code", "inclusion_terms"))
    rows = list(Code.objects.filter(release=april))
    for row in rows:
        row.inclusion_terms = terms[row.code]
    Code.objects.bulk_update(rows, ["inclusion_terms"], batch_size=5_000)
    reimported(april)
    assert word_index_for(april) is word_index_for(fy2025)
    assert word_index_for(fy2026) is not word_index_for(fy2025)

    code = Code.objects.get(release=april, code="Z5301")
    code.long_title = "Zzyzxword disease"
    code.save(update_fields=["long_title"])
    reimported(april)
    changed = word_index_for(april)
    assert changed is not word_index_for(fy2025)
    assert [changed.codes[p] for p in changed.title_words["zzyzxword"]] == ["Z5301"]
    assert "zzyzxword" not in word_index_for(fy2025).title_words


def test_an_index_term_leaves_unsaid_what_its_path_leaves_unsaid_worked_out_the_long_way(
    fy2026,
):
    # match() reads what a term that has none of the words leaves unsaid from what it worked
    # out once (PartTerms.unsaid), and works it out for the others: the same, hit by hit, as
    # weighing every term of the path against the words said (a table's implied word too).
    from codes.importer.index_xml import DISEASES, EXTERNAL_CAUSES, NEOPLASMS
    from codes.index_search import _unsaid
    from codes.ranked_search import NEOPLASM_IMPLIED, _stems, index_parts
    from codes.selection import published_releases

    parts = index_parts(fy2026, published_releases())
    checked = 0
    for part, text, implied in [
        (DISEASES, "fracture femur", frozenset()),
        (DISEASES, "diabetes kidney", frozenset()),
        (DISEASES, "pneumonia", frozenset()),
        (DISEASES, "infection urinary", frozenset()),
        (EXTERNAL_CAUSES, "fall stairs", frozenset()),
        (NEOPLASMS, "liver", NEOPLASM_IMPLIED),
        (NEOPLASMS, "colon", NEOPLASM_IMPLIED),
    ]:
        terms = parts[part][0]
        words = [_stems(word) for word in text.split()]
        said = frozenset().union(*words) | implied
        hits = terms.match(words, 60, coded=part != NEOPLASMS, implied=implied)
        assert hits, text
        for hit in hits:
            path = terms.path(hit.term)
            assert hit.extra == sum(_unsaid(terms.forms[t], said) for t in path), (text, hit)
            checked += 1
        assert [(h.extra, h.level) for h in hits] == sorted((h.extra, h.level) for h in hits)
    assert checked > 100


def test_the_first_codes_asked_for_are_the_first_of_all_with_the_same_reasons(fy2026):
    from codes.ranked_search import find
    from codes.selection import published_releases

    published = published_releases()
    for text, typing in [
        ("heart attack", False),
        ("fract fem", True),
        ("pnue", True),
        ("aspirin overdose", False),
        ("secondary cancer of liver", False),
        ("shingles without complication", False),
        ("diabetes type 2 with ckd", False),
        ("zzyzx", True),
    ]:
        whole = find(fy2026, text, published, typing=typing)
        first = find(fy2026, text, published, typing=typing, limit=10)
        assert first.codes == whole.codes[:10], text
        assert first.reasons == {code: whole.reasons[code] for code in first.codes}, text
        assert first.corrected == whole.corrected, text
