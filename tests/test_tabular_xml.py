"""The tabular XML parser: the real FY2025 and FY2026 files against their order files, and
small synthetic documents for the rules and for hostile or broken input. No database."""

import unicodedata
import zipfile
from pathlib import Path

import pytest

from codes.importer.errors import ImportFileError
from codes.importer.tabular_xml import (
    SEVENTH_CHARACTER,
    Tabular,
    TabularCode,
    TabularNote,
    parse_tabular_xml,
)

CMS = Path(__file__).resolve().parent.parent / "data" / "cms"
FY2026_XML = CMS / "fy2026" / "icd10cm-tabular-April-1-2026.xml"
FY2026_ORDER = (CMS / "fy2026" / "icd10cm-Code Descriptions-2026.zip", "icd10cm-order-2026.txt")
FY2025_XML = CMS / "fy2025" / "icd10cm-tabular-April-2025.xml"
FY2025_ORDER = (CMS / "fy2025" / "ICD10-CM Code Descriptions 2025.zip", "icd10cm-order-2025.txt")


def read_order_file(zip_path: Path, member: str) -> list[tuple[str, bool, str]]:
    """(code, is_billable, long title) per line, by the fixed columns of the order file."""
    with zipfile.ZipFile(zip_path) as archive:
        name = next(name for name in archive.namelist() if name.endswith(member))
        text = archive.read(name).decode("ascii")
    return [
        (line[6:13].rstrip(), line[14] == "1", line[77:]) for line in text.split("\r\n") if line
    ]


def folded(text: str) -> str:
    """The order file's form of a title: accents folded to ASCII, whitespace collapsed."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(ascii_text.split())


@pytest.fixture(scope="module")
def fy2026() -> Tabular:
    return parse_tabular_xml(FY2026_XML.read_bytes(), filename=FY2026_XML.name)


@pytest.fixture(scope="module")
def fy2025() -> Tabular:
    return parse_tabular_xml(FY2025_XML.read_bytes(), filename=FY2025_XML.name)


@pytest.fixture(scope="module")
def codes_2026(fy2026: Tabular) -> dict[str, TabularCode]:
    return {code.code: code for code in fy2026.codes}


# --- the real files -----------------------------------------------------------------------


def test_it_derives_exactly_the_fy2026_order_file_codes_and_flags_in_sequence(fy2026):
    order = read_order_file(*FY2026_ORDER)
    assert len(order) == 98_186
    assert [(c.code, c.is_billable) for c in fy2026.codes] == [(o[0], o[1]) for o in order]


def test_it_derives_exactly_the_fy2025_order_file_codes_and_flags_in_sequence(fy2025):
    order = read_order_file(*FY2025_ORDER)
    assert len(order) == 97_584
    assert [(c.code, c.is_billable) for c in fy2025.codes] == [(o[0], o[1]) for o in order]


@pytest.mark.parametrize("year", [2025, 2026])
def test_it_gives_the_order_file_long_titles_up_to_accents_and_spacing(year, fy2025, fy2026):
    tabular, order_file = (fy2025, FY2025_ORDER) if year == 2025 else (fy2026, FY2026_ORDER)
    order = read_order_file(*order_file)
    differences = [
        (code.code, code.title, title)
        for code, (_, _, title) in zip(tabular.codes, order, strict=True)
        if folded(code.title) != folded(title)
    ]
    assert differences == []


def test_it_keeps_accents_in_titles(codes_2026):
    assert codes_2026["H1622"].title == "Keratoconjunctivitis sicca, not specified as Sjögren's"


def test_it_counts_the_fy2026_billable_codes_and_headers(fy2026):
    assert fy2026.version == "2026"
    assert sum(c.is_billable for c in fy2026.codes) == 74_719
    assert sum(not c.is_billable for c in fy2026.codes) == 23_467
    assert sum(c.parent is None for c in fy2026.codes) == 1_918


def test_it_reads_22_chapters_and_297_sections_with_chapter_22_last(fy2026):
    assert [c.number for c in fy2026.chapters] == [*range(1, 22), 22]
    assert len(fy2026.sections) == 297
    last = fy2026.chapters[-1]
    assert (last.number, last.title, last.first, last.last) == (
        22,
        "Codes for special purposes",
        "U00",
        "U85",
    )
    assert fy2026.codes[-1].chapter == 22


def test_it_places_z53_as_a_header_in_chapter_21_section_z40_z53_with_6_children(
    fy2026, codes_2026
):
    z53 = codes_2026["Z53"]
    assert not z53.is_billable
    assert z53.parent is None
    assert (z53.chapter, z53.section) == (21, "Z40-Z53")
    assert z53.title == (
        "Persons encountering health services for specific procedures and treatment, "
        "not carried out"
    )
    children = [c.code for c in fy2026.codes if c.parent == "Z53"]
    assert children == ["Z530", "Z531", "Z532", "Z533", "Z538", "Z539"]
    family = [c for c in fy2026.codes if c.code.startswith("Z53")]
    assert (len(family), sum(c.is_billable for c in family)) == (16, 12)


def test_it_keeps_the_notes_of_z53_its_section_and_its_chapter(fy2026, codes_2026):
    assert codes_2026["Z53"].notes == ()  # Z53 carries none of its own; they are inherited

    section = next(s for s in fy2026.sections if s.id == "Z40-Z53")
    assert (section.first, section.last, section.chapter) == ("Z40", "Z53", 21)
    assert section.title == "Encounters for other specific health care"
    assert [n.kind for n in section.notes] == ["inclusion_term", "excludes2"]
    assert section.notes[0].text.startswith("Categories Z40-Z53 are intended for use")

    chapter = fy2026.chapters[20]
    assert (chapter.number, chapter.first, chapter.last) == (21, "Z00", "Z99")
    assert chapter.title == "Factors influencing health status and contact with health services"
    assert [n.kind for n in chapter.notes] == ["note", "note", "note"]
    # The XML has two spaces after "performed."; runs of whitespace become one.
    assert "is performed. Categories Z00-Z99" in chapter.notes[0].text


def test_it_reads_a_single_category_section(fy2026):
    section = next(s for s in fy2026.sections if s.id == "T07")
    assert (section.first, section.last) == ("T07", "T07")
    assert section.title == "Injuries involving multiple body regions"


def test_it_expands_t07_with_x_placeholders(fy2026, codes_2026):
    t07 = codes_2026["T07"]
    assert not t07.is_billable
    expanded = [c for c in fy2026.codes if c.parent == "T07"]
    assert [(c.code, c.title, c.is_billable, c.is_expanded) for c in expanded] == [
        ("T07XXXA", "Unspecified multiple injuries, initial encounter", True, True),
        ("T07XXXD", "Unspecified multiple injuries, subsequent encounter", True, True),
        ("T07XXXS", "Unspecified multiple injuries, sequela", True, True),
    ]
    assert all(c.notes == () and c.line == t07.line for c in expanded)


def test_it_puts_seventh_characters_on_t07_as_notes(codes_2026):
    notes = codes_2026["T07"].notes
    assert notes[0] == TabularNote(
        kind="seventh_character_note",
        text="The appropriate 7th character is to be added to code T07",
    )
    assert [(n.character, n.text) for n in notes if n.kind == SEVENTH_CHARACTER] == [
        ("A", "initial encounter"),
        ("D", "subsequent encounter"),
        ("S", "sequela"),
    ]


def test_it_expands_w2189_without_emitting_the_x_stem(fy2026, codes_2026):
    assert [c.code for c in fy2026.codes if c.parent == "W2189"] == [
        "W2189XA",
        "W2189XD",
        "W2189XS",
    ]
    assert "W2189X" not in codes_2026
    assert "W2189A" not in codes_2026


def test_it_applies_the_s06_exception_read_from_the_notes(fy2026, codes_2026):
    assert [c.code for c in fy2026.codes if c.parent == "S061X7"] == ["S061X7A"]
    assert [c.code for c in fy2026.codes if c.parent == "S061X8"] == ["S061X8A"]
    assert [c.code for c in fy2026.codes if c.parent == "S061X6"] == [
        "S061X6A",
        "S061X6D",
        "S061X6S",
    ]
    assert "S061X7D" not in codes_2026


def test_it_keeps_placeholder_diags_as_headers(codes_2026):
    h211x = codes_2026["H211X"]
    assert (h211x.is_placeholder, h211x.is_billable, h211x.parent) == (True, False, "H211")
    assert codes_2026["H211X1"].parent == "H211X"
    assert not codes_2026["H211"].is_placeholder


def test_it_keeps_notes_interleaved_in_a_seventh_character_definition(codes_2026):
    assert [
        (n.kind, n.character, n.text)
        for n in codes_2026["H3481"].notes
        if n.kind in (SEVENTH_CHARACTER, "seventh_character_note") and n.character
    ] == [
        (SEVENTH_CHARACTER, "0", "with macular edema"),
        (SEVENTH_CHARACTER, "1", "with retinal neovascularization"),
        (SEVENTH_CHARACTER, "2", "stable"),
        ("seventh_character_note", "2", "Old central retinal vein occlusion"),
    ]


def test_it_flattens_the_visual_impairment_table_into_notes(codes_2026):
    texts = [n.text for n in codes_2026["H548"].notes if n.kind == "note"]
    assert (
        "Category 1: less than 6/18 and equal to or better than 6/60; "
        "less than 3/10(0.3) and equal to or better than 1/10(0.1); "
        "less than 20/70 and equal to or better than 20/200"
    ) in texts
    assert texts[-2:] == [
        "Category 5: No light perception",
        "Category 9: Undetermined or unspecified",
    ]


def test_it_refuses_a_truncated_real_file_naming_a_line():
    error = refused(FY2026_XML.read_bytes()[:100_000])
    assert "not well-formed XML" in error.message
    assert error.line > 1


# --- rules, on synthetic documents ---------------------------------------------------------


def tabular_xml(diags: str) -> bytes:
    """A minimal tabular: one chapter, one section, the given diags."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2099</version>
  <chapter>
    <name>19</name>
    <desc>Injury (S00-T88)</desc>
    <section id="S00-S19">
      <desc>Injuries to the head and neck (S00-S19)</desc>
      {diags}
    </section>
  </chapter>
</ICD10CM.tabular>
""".encode()


def parsed(diags: str) -> Tabular:
    return parse_tabular_xml(tabular_xml(diags), filename="test.xml")


SEVEN_ADS = """<sevenChrDef>
  <extension char="A">initial encounter</extension>
  <extension char="D">subsequent encounter</extension>
  <extension char="S">sequela</extension>
</sevenChrDef>"""


def test_it_lets_the_nearest_seventh_character_definition_win():
    tabular = parsed(f"""
      <diag><name>S12</name><desc>Fracture</desc>{SEVEN_ADS}
        <diag><name>S12.8</name><desc>Other</desc>
          <sevenChrDef><extension char="A">initial</extension></sevenChrDef>
        </diag>
        <diag><name>S12.9</name><desc>Unspecified</desc></diag>
      </diag>""")
    assert [c.code for c in tabular.codes] == [
        "S12",
        "S128",
        "S128XXA",
        "S129",
        "S129XXA",
        "S129XXD",
        "S129XXS",
    ]


def test_it_applies_a_reworded_seventh_character_exception_to_its_own_category_only():
    rule = (
        "<notes><note>7th characters D, S do not apply to codes in category S06 "
        "with 6th characters 7 or 8.</note></notes>"
    )
    tabular = parsed(f"""
      <diag><name>S05</name><desc>Eye</desc>{SEVEN_ADS}{rule}
        <diag><name>S05.127</name><desc>Eye 7</desc></diag>
      </diag>
      <diag><name>S06</name><desc>Brain</desc>{SEVEN_ADS}
        <diag><name>S06.1</name><desc>Edema</desc>{rule}
          <diag><name>S06.1X7</name><desc>Edema 7</desc></diag>
          <diag><name>S06.1X9</name><desc>Edema 9</desc></diag>
        </diag>
      </diag>""")
    expanded = [c.code for c in tabular.codes if c.is_expanded]
    assert expanded == [
        "S05127A",  # the rule under S05 names S06, so it does not touch S05
        "S05127D",
        "S05127S",
        "S061X7A",
        "S061X9A",
        "S061X9D",
        "S061X9S",
    ]


def test_it_expands_everything_when_no_exception_is_written():
    tabular = parsed(f"""
      <diag><name>S06</name><desc>Brain</desc>{SEVEN_ADS}
        <diag><name>S06.1X7</name><desc>Edema 7</desc></diag>
      </diag>""")
    assert [c.code for c in tabular.codes] == ["S06", "S061X7", "S061X7A", "S061X7D", "S061X7S"]


def test_it_appends_repeated_note_blocks_and_skips_empty_notes():
    tabular = parsed("""
      <diag><name>S00</name><desc>Superficial
            injury  of head</desc>
        <useAdditionalCode><note>first</note><note>  </note></useAdditionalCode>
        <excludes1><note>other</note></excludes1>
        <useAdditionalCode><note>second
           line</note><note/></useAdditionalCode>
      </diag>""")
    (code,) = tabular.codes
    assert code.title == "Superficial injury of head"
    assert code.is_billable
    assert [(n.kind, n.text) for n in code.notes] == [
        ("use_additional_code", "first"),
        ("excludes1", "other"),
        ("use_additional_code", "second line"),
    ]


# --- hostile or broken input ----------------------------------------------------------------


def refused(data: bytes) -> ImportFileError:
    """Parse, expect a refusal that names the file and a line."""
    with pytest.raises(ImportFileError) as caught:
        parse_tabular_xml(data, filename="bad.xml")
    error = caught.value
    assert error.file == "bad.xml"
    assert error.line is not None
    assert str(error).startswith(f"bad.xml, line {error.line}")
    return error


def test_it_refuses_billion_laughs_entities():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ICD10CM.tabular><version>&lol3;</version></ICD10CM.tabular>
"""
    error = refused(data)
    assert error.line == 2
    assert "DOCTYPE" in error.message


def test_it_refuses_an_external_entity():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ICD10CM.tabular><version>&xxe;</version></ICD10CM.tabular>
"""
    error = refused(data)
    assert error.line == 2


def test_it_refuses_an_external_dtd():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE ICD10CM.tabular SYSTEM "http://example.com/evil.dtd">
<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>
"""
    error = refused(data)
    assert error.line == 2


def test_it_refuses_malformed_xml_naming_the_line():
    data = tabular_xml("<diag><name>S00</name><desc>Head</desc>\n</diagg>")
    error = refused(data)
    assert "not well-formed XML" in error.message
    assert error.line == 10


def test_it_refuses_invalid_utf8_naming_the_line():
    data = tabular_xml("<diag><name>S00</name><desc>Sjögren</desc></diag>")
    data = data.replace("Sjögren".encode(), b"Sj\xf6gren")  # Latin-1, not UTF-8
    error = refused(data)
    assert "UTF-8" in error.message
    assert error.line == 9


def test_it_refuses_utf16():
    refused(tabular_xml("").decode().encode("utf-16-le"))


def test_it_refuses_a_wrong_root_element():
    data = b'<?xml version="1.0"?>\n<ICD10CM.index><version>2026</version></ICD10CM.index>\n'
    error = refused(data)
    assert "ICD10CM.index" in error.message
    assert error.line == 2


def test_it_refuses_absurdly_deep_nesting():
    data = tabular_xml("<diag>" + "<x>\n" * 100 + "</x>" * 100 + "</diag>")
    error = refused(data)
    assert "nested more than 64 levels" in error.message
    assert error.line > 9


def test_it_refuses_a_diag_without_a_name():
    error = refused(tabular_xml("<diag><desc>Nameless</desc></diag>"))
    assert error.element == "diag"
    assert error.line == 9


def test_it_refuses_a_diag_without_a_desc():
    error = refused(tabular_xml("<diag><name>S00</name></diag>"))
    assert error.element == "diag S00"


def test_it_refuses_a_duplicate_code():
    data = tabular_xml(
        "<diag><name>S00</name><desc>Head</desc></diag>\n"
        "      <diag><name>S00</name><desc>Head again</desc></diag>"
    )
    error = refused(data)
    assert error.element == "diag S00"
    assert error.line == 10
    assert "duplicate code S00 (first seen at line 9)" in error.message


def test_it_refuses_an_expanded_code_that_collides_with_a_diag():
    data = tabular_xml(f"""<diag><name>S00</name><desc>Head</desc>{SEVEN_ADS}
        <diag><name>S00.0</name><desc>Scalp</desc></diag>
        <diag><name>S00.0XXA</name><desc>Scalp again</desc></diag>
      </diag>""")
    error = refused(data)
    assert "duplicate code S00.0XXA" in error.message


@pytest.mark.parametrize("name", ["S0", "s00", "S00.", "S0.01", "S00-S09", "S00.12345"])
def test_it_refuses_a_malformed_code_name(name):
    error = refused(tabular_xml(f"<diag><name>{name}</name><desc>Head</desc></diag>"))
    assert error.element == f"diag {name}"
    assert "not a well-formed code" in error.message


def test_it_refuses_a_diag_that_does_not_extend_its_parent():
    data = tabular_xml("""<diag><name>S00</name><desc>Head</desc>
        <diag><name>S01.0</name><desc>Scalp</desc></diag>
      </diag>""")
    error = refused(data)
    assert error.element == "diag S01.0"
    assert error.line == 10
    assert "does not extend its parent S00" in error.message


def test_it_refuses_a_chapter_without_a_number():
    data = tabular_xml("").replace(b"<name>19</name>", b"")
    error = refused(data)
    assert error.element == "chapter"
    assert error.line == 4


# str.isdigit() is true for all of these; int() refuses the first two and reads the others.
@pytest.mark.parametrize("number", ["²", "①", "٣", "１９"])
def test_it_refuses_a_chapter_number_in_other_than_ascii_digits(number):
    data = tabular_xml("").replace(b"<name>19</name>", f"<name>{number}</name>".encode())
    error = refused(data)
    assert error.element == "chapter"
    assert error.line == 4
    assert repr(number) in error.message


# ASCII digits, but no chapter number: int() refuses the last with a bare ValueError.
@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("0", "chapter number '0' is not between 1 and 99"),
        ("00", "chapter number '00' is not between 1 and 99"),
        ("100", "chapter number of 3 digits; chapters are numbered 1 to 99"),
        ("1" * 5000, "chapter number of 5,000 digits; chapters are numbered 1 to 99"),
    ],
)
def test_it_refuses_a_chapter_number_out_of_range(number, message):
    data = tabular_xml("").replace(b"<name>19</name>", f"<name>{number}</name>".encode())
    error = refused(data)
    assert error.element == "chapter"
    assert error.line == 4
    assert error.message == message


@pytest.mark.parametrize(("number", "expected"), [("1", 1), ("07", 7), ("99", 99)])
def test_it_reads_chapter_numbers_up_to_99(number, expected):
    data = tabular_xml("").replace(b"<name>19</name>", f"<name>{number}</name>".encode())
    [chapter] = parse_tabular_xml(data, filename="test.xml").chapters
    assert chapter.number == expected


def test_it_cuts_a_long_chapter_name_short_in_its_message():
    data = tabular_xml("").replace(b"<name>19</name>", b"<name>%s</name>" % (b"x" * 5000))
    error = refused(data)
    assert "'xxxxxxxxxx" in error.message
    assert "(5,000 characters)" in error.message
    assert len(error.message) < 200


@pytest.mark.parametrize("version", ["²⁰²⁶", "٢٠٢٦", "２０２６", "FY2026", "26"])
def test_it_refuses_a_version_that_is_not_a_year_in_ascii_digits(version):
    data = tabular_xml("").replace(
        b"<version>2099</version>", f"<version>{version}</version>".encode()
    )
    error = refused(data)
    assert error.element == "version"
    assert error.line == 3
    assert repr(version) in error.message


def test_it_refuses_a_file_without_chapters():
    data = b'<?xml version="1.0"?>\n<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>'
    error = refused(data)
    assert "no <chapter>" in error.message
