"""A <note> in a <sevenChrDef> after an <extension> belongs to that character ("2 — stable (Old
central retinal vein occlusion)"); one that does not word it further is CMS's slip, reported."""

import re

import pytest
from lxml import etree

from codes.codeset import codeset_for
from codes.importer.tabular_xml import (
    SEVENTH_CHARACTER,
    SEVENTH_CHARACTER_NOTE,
    TabularAnomaly,
    TabularNote,
    parse_tabular_xml,
)
from tests.conftest import FY2026_XML
from tests.test_pages_code import text_of
from tests.test_tabular_xml import parsed


@pytest.fixture(scope="module")
def tabular_2026():
    return parse_tabular_xml(FY2026_XML.read_bytes(), filename=FY2026_XML.name)


def codes_of(tabular):
    return {code.code: code for code in tabular.codes}


# --- the parser -------------------------------------------------------------------------------


def test_a_note_after_an_extension_is_bound_to_its_character(tabular_2026):
    h3481 = codes_of(tabular_2026)["H3481"]
    seventh = [n for n in h3481.notes if n.kind in (SEVENTH_CHARACTER, SEVENTH_CHARACTER_NOTE)]
    assert seventh == [
        TabularNote(
            SEVENTH_CHARACTER_NOTE,
            "One of the following 7th characters is to be assigned to codes in subcategory "
            "H34.81 to designate the severity of the occlusion:",
        ),
        TabularNote(SEVENTH_CHARACTER, "with macular edema", "0"),
        TabularNote(SEVENTH_CHARACTER, "with retinal neovascularization", "1"),
        TabularNote(SEVENTH_CHARACTER, "stable", "2"),
        TabularNote(SEVENTH_CHARACTER_NOTE, "Old central retinal vein occlusion", "2"),
    ]


def test_the_open_fracture_nos_note_belongs_to_character_b_of_s52_s72_s82(tabular_2026):
    bound = {
        (code.code, note.character, note.text)
        for code in tabular_2026.codes
        for note in code.notes
        if note.kind == SEVENTH_CHARACTER_NOTE and note.character
    }
    assert bound == {
        ("H3481", "2", "Old central retinal vein occlusion"),
        ("H3483", "2", "Old tributary (branch) retinal vein occlusion"),
        ("H3531", "3", "advanced dry stage"),
        ("H3532", "2", "with involuted or regressed neovascularization"),
        ("S52", "B", "initial encounter for open fracture NOS"),
        ("S72", "B", "initial encounter for open fracture NOS"),
        ("S82", "B", "initial encounter for open fracture NOS"),
    }


def test_the_fall_from_stool_slip_under_w08_is_an_anomaly_and_an_inclusion_term(tabular_2026):
    # Among the file's other slips (runs of spaces, unbalanced brackets: test_tabular_structure).
    [anomaly] = [a for a in tabular_2026.anomalies if "7th-character note" in a.what]
    assert (anomaly.element, anomaly.line) == ("diag W08", 222401)
    assert "'Fall from stool' follows character S ('sequela')" in anomaly.what
    w08 = codes_of(tabular_2026)["W08"]
    assert TabularNote("inclusion_term", "Fall from stool") in w08.notes
    assert not [n for n in w08.notes if n.character == "S" and n.kind != SEVENTH_CHARACTER]
    # The file's own line says so.
    line = FY2026_XML.read_bytes().split(b"\n")[anomaly.line - 1]
    assert b"<note>Fall from stool</note>" in line


def test_notes_before_the_first_extension_stay_general():
    tabular = parsed("""
      <diag><name>S12</name><desc>Fracture of neck</desc>
        <sevenChrDef>
          <note>Use one of these:</note>
          <extension char="A">initial encounter</extension>
          <note>initial encounter NOS</note>
        </sevenChrDef>
      </diag>""")
    notes = [n for n in tabular.codes[0].notes if n.kind == SEVENTH_CHARACTER_NOTE]
    assert notes == [
        TabularNote(SEVENTH_CHARACTER_NOTE, "Use one of these:", ""),
        TabularNote(SEVENTH_CHARACTER_NOTE, "initial encounter NOS", "A"),
    ]
    assert tabular.anomalies == ()


@pytest.mark.parametrize(
    ("note", "bound"),
    [
        ("healed", False),  # shares no word with "sequela" and does not restate the title
        ("Fracture of axis", False),  # a kind of fracture, not of sequela (W08's slip)
        ("Old fracture of neck", True),  # the code's title with the state the character means
        ("late sequela", True),  # shares a word with the character's meaning
    ],
)
def test_a_note_is_bound_when_it_words_the_character_further(note, bound):
    tabular = parsed(f"""
      <diag><name>S12</name><desc>Fracture of neck</desc>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="S">sequela</extension>
          <note>{note}</note>
        </sevenChrDef>
      </diag>""")
    s12 = tabular.codes[0]
    if bound:
        assert TabularNote(SEVENTH_CHARACTER_NOTE, note, "S") in s12.notes
        assert tabular.anomalies == ()
    else:
        assert TabularNote("inclusion_term", note) in s12.notes
        assert [(a.element, a.line) for a in tabular.anomalies] == [("diag S12", 14)]
        assert isinstance(tabular.anomalies[0], TabularAnomaly)
    # The expansion uses the extension's own text, never the note.
    assert [c.title for c in tabular.codes if c.is_expanded] == [
        "Fracture of neck, initial encounter",
        "Fracture of neck, sequela",
    ]


# --- what is shown and answered ------------------------------------------------------------


@pytest.mark.django_db
def test_the_h34_811_page_shows_stable_with_its_note(client):
    response = client.get("/codes/H34.811/?release=FY2026")
    html = response.content.decode()
    assert re.search(
        r'<td class="code">2</td><td>stable \(Old central retinal vein occlusion\)</td>', html
    )
    text = text_of(response)
    assert "2 stable (Old central retinal vein occlusion)" in text
    # Not also a general note of the 7th-character section.
    assert "<p>Old central retinal vein occlusion</p>" not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("no_rate_limits")
def test_the_api_code_detail_gives_each_character_its_notes(api):
    body = api.get("/api/v1/codes/H34.811/?release=FY2026").json()
    seventh = body["seventh_characters"]
    assert seventh["defined_at"] == "H34.81"
    assert seventh["characters"][2] == {
        "character": "2",
        "meaning": "stable",
        "notes": ["Old central retinal vein occlusion"],
    }
    assert seventh["notes"] == [
        "One of the following 7th characters is to be assigned to codes in subcategory H34.81 "
        "to designate the severity of the occlusion:"
    ]
    s72 = api.get("/api/v1/codes/S72.001/?release=FY2026").json()["seventh_characters"]
    assert s72["characters"][1]["notes"] == ["initial encounter for open fracture NOS"]
    assert "initial encounter for open fracture NOS" not in s72["notes"]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_rate_limits")
def test_the_validation_answer_lists_the_characters_with_their_notes(api):
    body = {"codes": ["H34.811"], "release": "FY2026"}
    [verdict] = api.post("/api/v1/validate/", body, format="json").json()["results"]
    assert verdict["reason"] == "missing_seventh_character"
    assert verdict["seventh_characters"][2]["notes"] == ["Old central retinal vein occlusion"]


@pytest.mark.django_db
def test_the_w08_page_shows_fall_from_stool_as_an_inclusion_term_not_as_sequela(client):
    html = client.get("/codes/W08/?release=FY2026").content.decode()
    assert '<td class="code">S</td><td>sequela</td>' in html
    assert "Fall from stool" in text_of(client.get("/codes/W08/?release=FY2026"))
    assert "sequela (Fall from stool)" not in html


@pytest.mark.django_db
def test_every_header_under_a_definition_with_a_bound_note_shows_it(fy2026):
    """Counted from the XML on its own (every diag whose nearest <sevenChrDef> has a <note>
    after an <extension>, but W08's slip) and from the stored release: the same headers."""
    root = etree.parse(str(FY2026_XML)).getroot()
    expected = set()

    def walk(diag, bound: bool) -> None:
        definition = diag.find("sevenChrDef")
        if definition is not None:
            tags = [child.tag for child in definition]
            bound = "note" in tags[tags.index("extension") :] and diag.findtext("name") != "W08"
        if bound:
            expected.add(diag.findtext("name").replace(".", ""))
        for child in diag.iterchildren("diag"):
            walk(child, bound)

    for category in root.iterfind("chapter/section/diag"):
        walk(category, False)
    codeset = codeset_for(fy2026)
    shown = {
        code
        for code, entry in codeset.entries.items()
        if len(code) < 7
        and (defined := codeset.seventh_characters_for(code))
        and any(character.notes for character in defined[1])
    }
    assert shown == expected
    assert len(shown) == 658  # 659 codes showed a misplaced note, W08 among them
