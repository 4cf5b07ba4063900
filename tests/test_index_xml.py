"""The Index XML parser: the real FY2017, FY2019 and FY2025 files (counts computed from the files
themselves), and small documents for the format's rules and for hostile or broken input. No
database."""

import time
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

from codes.importer.errors import ImportFileError
from codes.importer.index_xml import (
    DISEASES,
    DRUGS,
    EXTERNAL_CAUSES,
    MAX_TERMS,
    NEOPLASMS,
    IndexPart,
    parse_index_xml,
)
from tests.conftest import shared_file

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "cms"
FY2017_ZIP = BUNDLED / "fy2017" / "ICD10CM_FY2017_Full_XML.zip"
FY2017_MEMBERS = {
    DISEASES: "icd10cm_index_2017.xml",
    EXTERNAL_CAUSES: "icd10cm_eindex_2017.xml",
    DRUGS: "icd10cm_drug_2017.xml",
    NEOPLASMS: "icd10cm_neoplasm_2017.xml",
}
FY2025_FILES = {
    EXTERNAL_CAUSES: BUNDLED / "fy2025" / "icd-10-cm-eindex-2025.xml",
    DRUGS: BUNDLED / "fy2025" / "icd-10-cm-drug-2025.xml",
    NEOPLASMS: BUNDLED / "fy2025" / "icd-10-cm-neoplasm-2025.xml",
}


def fy2017_member(part: str) -> bytes:
    with zipfile.ZipFile(FY2017_ZIP) as archive:
        return archive.read(FY2017_MEMBERS[part])


@pytest.fixture(scope="module")
def fy2017() -> dict[str, IndexPart]:
    return {
        part: parse_index_xml(fy2017_member(part), filename=name)
        for part, name in FY2017_MEMBERS.items()
    }


def counted(data: bytes) -> tuple[int, int, int]:
    """(letters, main terms, nested terms) counted by another parser."""
    root = ElementTree.fromstring(data)
    return (
        len(root.findall("letter")),
        len(root.findall("letter/mainTerm")),
        len(list(root.iter("term"))),
    )


def by_path(part: IndexPart, *names: str):
    """The term reached by names (each the start of a title), from a main term down."""
    parent, found = 0, None
    for name in names:
        found = next(
            t
            for t in part.terms
            if t.parent == parent and t.essential.casefold() == name.casefold()
        )
        parent = found.sequence
    return found


# --- the real files -----------------------------------------------------------------------


def test_it_reads_the_fy2017_index_to_diseases_with_the_counts_cms_states(fy2017):
    part = fy2017[DISEASES]
    assert part.part == DISEASES
    assert part.version == "2017"
    assert part.title == "ICD-10-CM INDEX TO DISEASES and INJURIES"
    assert len(part.letters) == 26
    assert part.main_term_count == 7_973
    assert len(part.terms) - part.main_term_count == 69_226
    assert part.unknown_elements == {}


@pytest.mark.parametrize("part", [EXTERNAL_CAUSES, DRUGS, NEOPLASMS])
def test_it_reads_every_fy2017_part_with_the_counts_of_its_file(fy2017, part):
    letters, main_terms, nested = counted(fy2017_member(part))
    parsed = fy2017[part]
    assert (len(parsed.letters), parsed.main_term_count) == (letters, main_terms)
    assert len(parsed.terms) - parsed.main_term_count == nested


@pytest.mark.parametrize("part", [EXTERNAL_CAUSES, DRUGS, NEOPLASMS])
def test_it_reads_the_fy2025_files_the_mirror_renamed(part):
    data = FY2025_FILES[part].read_bytes()
    parsed = parse_index_xml(data, filename=FY2025_FILES[part].name)
    letters, main_terms, nested = counted(data)
    assert (parsed.part, parsed.version) == (part, "2025")
    assert (len(parsed.letters), parsed.main_term_count) == (letters, main_terms)
    assert len(parsed.terms) - parsed.main_term_count == nested


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("icd10cm_drug_2019.xml", DRUGS),
        ("icd10cm_eindex_2019.xml", EXTERNAL_CAUSES),
        ("icd10cm_neoplasm_2019.xml", NEOPLASMS),
    ],
)
def test_it_reads_the_fy2019_files(name, part):
    data = shared_file(f"fy2019/{name}").read_bytes()
    parsed = parse_index_xml(data, filename=name)
    letters, main_terms, nested = counted(data)
    assert (parsed.part, parsed.version) == (part, "2019")
    assert (len(parsed.letters), parsed.main_term_count, len(parsed.terms) - main_terms) == (
        letters,
        main_terms,
        nested,
    )


def test_it_splits_a_title_into_words_non_essential_modifiers_and_trailing_words(fy2017):
    pneumonia = by_path(fy2017[DISEASES], "Pneumonia")
    assert pneumonia.code == "J18.9"
    assert pneumonia.nemod == "(acute) (double) (migratory) (purulent) (septic) (unresolved)"
    assert pneumonia.name.startswith("Pneumonia (acute) (double)")
    abandonment = by_path(fy2017[EXTERNAL_CAUSES], "Abandonment NEC")
    assert (abandonment.title, abandonment.suffix) == ("Abandonment", "NEC")
    assert abandonment.nemod.startswith("(causing exposure to weather conditions)")


def test_it_keeps_see_references_as_printed_and_codes_that_need_more_characters(fy2017):
    index = fy2017[DISEASES]
    heart = by_path(index, "Attack, attacks", "heart")
    assert heart.see.casefold() == "infarct, myocardium"
    cerebral = by_path(index, "Infarct, infarction", "cerebral")
    assert cerebral.code == "I63.9-"
    assert cerebral.see_also.startswith("Occlusion, artery")
    amyloid = by_path(index, "Amyloid heart")
    assert (amyloid.code, amyloid.manif) == ("E85.4", "I43")


def test_it_numbers_terms_in_file_order_with_their_subtrees(fy2017):
    index = fy2017[DISEASES]
    for position, term in enumerate(index.terms, start=1):
        assert term.sequence == position
    pneumonia = by_path(index, "Pneumonia")
    below = index.terms[pneumonia.sequence : pneumonia.last]
    assert below and all(t.level > 0 for t in below)
    assert index.terms[pneumonia.last].level == 0  # the next main term
    assert max(t.level for t in index.terms) == 9  # the files nest one level deeper than 8


def test_it_reads_the_drug_table_columns_and_the_acetaminophen_row(fy2017):
    drugs = fy2017[DRUGS]
    assert drugs.columns == (
        "Substance",
        "Poisoning, Accidental (unintentional)",
        "Poisoning, Intentional self-harm",
        "Poisoning, Assault",
        "Poisoning, Undetermined",
        "Adverse effect",
        "Underdosing",
    )
    assert "#" in drugs.letters
    row = by_path(drugs, "Acetaminophen")
    assert row.cells == ("T39.1X1", "T39.1X2", "T39.1X3", "T39.1X4", "T39.1X5", "T39.1X6")


def test_it_reads_the_neoplasm_table_rows(fy2017):
    neoplasms = fy2017[NEOPLASMS]
    assert neoplasms.columns[0] == "Neoplasm"
    assert neoplasms.columns[1:3] == ("Malignant Primary", "Malignant Secondary")
    assert neoplasms.main_term_count == 1
    liver = by_path(neoplasms, "Neoplasm, neoplastic", "liver")
    assert liver.cells[1] == "C78.7"  # malignant secondary


# --- small documents ------------------------------------------------------------------------

DISEASES_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n<ICD10CM.index><version>2026</version>"
    "<title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>"
)
DRUG_HEAD = (
    "<ICD10CM.index><version>2026</version><indexHeading>"
    '<head col="1">Substance</head><head col="2">Poisoning</head><head col="3">Adverse</head>'
    "</indexHeading>"
)


def parsed(body: str, head: str = DISEASES_HEAD) -> IndexPart:
    return parse_index_xml(f"{head}{body}</ICD10CM.index>".encode(), filename="index.xml")


def refused(body: str, head: str = DISEASES_HEAD, *, raw: bytes | None = None) -> ImportFileError:
    data = raw if raw is not None else f"{head}{body}</ICD10CM.index>".encode()
    with pytest.raises(ImportFileError) as caught:
        parse_index_xml(data, filename="index.xml")
    assert caught.value.file == "index.xml"
    return caught.value


def test_a_term_whose_title_is_only_its_modifiers_is_kept():
    part = parsed(
        "<letter><title>S</title><mainTerm><title>Shock</title><term level='1'>"
        "<title><nemod>(taser)</nemod></title><code>T75.4</code></term></mainTerm></letter>"
    )
    taser = part.terms[1]
    assert (taser.title, taser.nemod, taser.code, taser.parent) == ("", "(taser)", "T75.4", 1)


def test_it_counts_elements_the_format_does_not_have_instead_of_refusing_a_genuine_file():
    part = parsed(
        "<letter><title>A</title><mainTerm><title>Acne</title><code>L70.9</code>"
        "<footnote>new</footnote></mainTerm></letter>"
    )
    assert part.unknown_elements == {"footnote": 1}


def test_it_refuses_a_level_that_is_not_the_nesting():
    error = refused(
        "<letter><title>B</title><mainTerm><title>Burn</title><term level='1'><title>a</title>"
        "</term><term level='1'><title>b</title></term><term level='3'><title>c</title></term>"
        "</mainTerm></letter>"
    )
    assert "level='3' but the term is nested 1 deep" in error.message
    assert error.element == 'letter B / mainTerm "Burn" / term[3]'
    assert error.line == 2


@pytest.mark.parametrize("level", ["٢", "1x", "", "123"])
def test_it_refuses_a_level_in_other_than_ascii_digits(level):
    error = refused(
        f"<letter><title>B</title><mainTerm><title>Burn</title><term level='{level}'>"
        "<title>a</title></term></mainTerm></letter>"
    )
    assert "nested 1 deep" in error.message


def test_it_refuses_a_term_without_a_title_naming_its_path():
    error = refused(
        "<letter><title>C</title><mainTerm><title>Cough</title><term level='1'><code>R05</code>"
        "</term></mainTerm></letter>"
    )
    assert error.message == "a term without a <title>"
    assert error.element == 'letter C / mainTerm "Cough" / term[1]'


def test_it_refuses_a_table_cell_outside_the_columns():
    error = refused(
        "<letter><title>A</title><mainTerm><title>Acid</title><cell col='5'>T54.2X1</cell>"
        "</mainTerm></letter>",
        DRUG_HEAD,
    )
    assert "cell of column 5, but the table has columns 1 to 3" in error.message


def test_it_refuses_two_cells_for_one_column():
    error = refused(
        "<letter><title>A</title><mainTerm><title>Acid</title><cell col='2'>T54.2X1</cell>"
        "<cell col='2'>T54.2X2</cell></mainTerm></letter>",
        DRUG_HEAD,
    )
    assert "two cells for column 2" in error.message


def test_it_refuses_a_file_of_no_known_part():
    error = refused(
        "<letter><title>A</title><mainTerm><title>x</title></mainTerm></letter>",
        head="<ICD10CM.index><version>2026</version><title>Something else</title>",
    )
    assert "is an Index XML of no known part" in error.message


def test_it_refuses_an_addenda_file():
    error = refused(
        "",
        raw=b'<ICD10CM.index isAddenda="true"><version>2026</version></ICD10CM.index>',
    )
    assert "addenda" in error.message


def test_it_refuses_a_tabular_xml_or_a_pcs_index_by_its_root():
    error = refused("", raw=b"<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>")
    assert "root element is <ICD10CM.tabular>, expected <ICD10CM.index>" in error.message
    error = refused("", raw=b"<ICD10PCS.index><version>2026</version></ICD10PCS.index>")
    assert "ICD-10-PCS index?" in error.message


@pytest.mark.parametrize("version", ["", "FY26", "٢٠٢٦", "20266"])
def test_it_refuses_a_version_that_is_not_a_year(version):
    error = refused(
        "<letter><title>A</title><mainTerm><title>Acne</title></mainTerm></letter>",
        head=DISEASES_HEAD.replace("<version>2026</version>", f"<version>{version}</version>"),
    )
    assert "not a year like 2026" in error.message


def test_it_refuses_entities_and_a_doctype():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><ICD10CM.index>&lol2;'
        b"</ICD10CM.index>"
    )
    assert "DTDs and entities are refused" in refused("", raw=bomb).message
    external = b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><ICD10CM.index/>'
    assert "DOCTYPE" in refused("", raw=external).message


def test_it_refuses_absurdly_deep_nesting_in_bounded_time():
    depth = 5_000
    body = "<letter><title>A</title><mainTerm><title>a</title>"
    body += "".join(f"<term level='{n}'><title>t</title>" for n in range(1, depth))
    body += "</term>" * (depth - 1) + "</mainTerm></letter>"
    started = time.monotonic()
    error = refused(body)
    assert time.monotonic() - started < 5
    assert "depth" in error.message or "nested" in error.message


def test_it_refuses_a_huge_title_naming_the_term():
    error = refused(
        f"<letter><title>A</title><mainTerm><title>{'a' * 5_000}</title></mainTerm></letter>"
    )
    assert "a text of 5,000 characters" in error.message
    assert error.element.startswith("letter A / mainTerm")


def test_it_refuses_a_text_node_past_libxml2s_limit_in_bounded_time():
    started = time.monotonic()
    error = refused(f"<letter><title>{'A' * 11_000_000}</title></letter>")
    assert time.monotonic() - started < 10
    assert "not well-formed XML" in error.message or "characters" in error.message


def test_it_refuses_more_terms_than_any_index_has(monkeypatch):
    monkeypatch.setattr("codes.importer.index_xml.MAX_TERMS", 3)
    error = refused(
        "<letter><title>A</title>"
        + "".join(f"<mainTerm><title>t{n}</title></mainTerm>" for n in range(5))
        + "</letter>"
    )
    assert "more than 3 terms" in error.message
    assert MAX_TERMS > 77_199  # the largest real part


def test_it_refuses_a_truncated_real_file_naming_a_line():
    data = fy2017_member(DRUGS)
    error = refused("", raw=data[: len(data) // 2])
    assert "not well-formed XML" in error.message
    assert error.line is not None and error.line > 1000
