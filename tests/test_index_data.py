"""The Index cross-checks, on the real FY2017 files (no database): every code each part names
against the FY2017 tabular's codes, and where each see reference leads."""

import zipfile
from pathlib import Path

import pytest

from codes.importer import index_data
from codes.importer.index_data import build_index_data, printed_code, term_path
from codes.importer.index_xml import DISEASES, DRUGS, EXTERNAL_CAUSES, NEOPLASMS, parse_index_xml
from codes.importer.order_file import parse_order_file
from codes.importer.tabular_xml import parse_tabular_xml

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "cms"
FY2017_ZIP = BUNDLED / "fy2017" / "ICD10CM_FY2017_Full_XML.zip"
FY2025_ZIP = BUNDLED / "fy2025" / "ICD10-CM Code Descriptions 2025.zip"

# What the FY2017 Index, as CMS published it, names but its own tabular does not have. Checked
# by hand against the FY2017 tabular: these are slips of the Index, not of the importer. Some
# of the codes arrived in the tabular later (T81.40- in FY2019, Z13.4- in FY2018), as the test
# checks against FY2025; the others never existed (I16.2: I16 has .0, .1 and .9; V47.x2:
# the 6th characters of V47 are 1 and 9 in FY2017).
FY2017_MISSING = {
    DISEASES: {
        "I16.2", "K06.00", "K06.01", "K06.02", "K06.03", "K06.04", "T81.40", "T81.41",
        "T81.42", "T81.43", "T81.48", "T81.49", "T83.717", "T83.727", "Z13.41", "Z13.42",
    },
    EXTERNAL_CAUSES: {"V47.02", "V47.12", "V47.32", "V47.52", "V47.62", "V47.92"},
    DRUGS: set(),
    NEOPLASMS: set(),
}  # fmt: skip
LATER_CODES = {"K06.01", "K06.02", "T81.40", "T81.41", "T81.42", "T81.43", "T81.49", "Z13.41",
               "Z13.42"}  # fmt: skip


@pytest.fixture(scope="module")
def fy2017() -> index_data.IndexData:
    with zipfile.ZipFile(FY2017_ZIP) as archive:
        parts = {}
        for name in archive.namelist():
            if name.endswith(".xml") and "tabular" not in name:
                part = parse_index_xml(archive.read(name), filename=name)
                parts[part.part] = part
        tabular = parse_tabular_xml(archive.read("icd10cm_tabular_2017.xml"), filename="t")
    codes = {code.code: (code.is_billable, code.parent or "") for code in tabular.codes}
    return build_index_data(parts, codes)


def fy2025_codes() -> set[str]:
    with zipfile.ZipFile(FY2025_ZIP) as archive:
        name = next(n for n in archive.namelist() if n.endswith("order-2025.txt"))
        return {entry.code for entry in parse_order_file(archive.read(name), filename=name)}


def path_of(data, part: str, sequence: int) -> str:
    return term_path(data.parts[part], sequence)


def test_every_code_the_fy2017_index_names_exists_but_for_its_known_slips(fy2017):
    for part, expected in FY2017_MISSING.items():
        missing = {r.printed for r in fy2017.references if r.part == part and r.status == "missing"}
        assert missing == expected, part
    later = fy2025_codes()
    for printed in LATER_CODES:
        code = printed.replace(".", "")
        assert any(c.startswith(code) for c in later), printed


def test_the_only_reference_that_is_not_a_code_is_a_site_printed_as_a_manifestation(fy2017):
    malformed = [r for r in fy2017.references if r.status == "malformed"]
    assert [(r.part, r.printed) for r in malformed] == [
        (NEOPLASMS, "ventral surface of tongue and floor of mouth")
    ]


def test_every_drug_table_cell_is_a_header_that_takes_a_seventh_character(fy2017):
    cells = [r for r in fy2017.references if r.part == DRUGS]
    assert len(cells) == 39_964
    assert {r.status for r in cells} == {"seventh"}


def test_codes_that_need_more_characters_are_told_apart(fy2017):
    by_printed = {(r.part, r.printed): r for r in fy2017.references}
    assert by_printed[(DISEASES, "J18.9")].status == "complete"
    assert by_printed[(NEOPLASMS, "C79.8-")].status == "incomplete"
    assert by_printed[(DISEASES, "C56.-")].status == "incomplete"  # the category's 4th character
    assert by_printed[(EXTERNAL_CAUSES, "X58")].status == "seventh"  # X58.XXXA
    # FY2017 has I63.9 billable; the Index prints it "I63.9-" all the same.
    assert by_printed[(DISEASES, "I63.9-")].status == "dash_on_billable"


def test_the_report_counts_each_part_and_lists_examples(fy2017):
    report = fy2017.report[DISEASES]
    assert (report["letters"], report["main_terms"], report["nested_terms"]) == (26, 7_973, 69_226)
    assert report["codes"]["missing"] == sum(
        1 for r in fy2017.references if r.part == DISEASES and r.status == "missing"
    )
    assert report["unresolved_codes"] == sum(
        report["codes"][s] for s in index_data.REPORTED_STATUSES
    )
    example = report["code_examples"]["missing"][0]
    assert example["code"] in FY2017_MISSING[DISEASES] and " > " in example["term"]


def test_attack_heart_leads_to_infarct_myocardium(fy2017):
    see = {path_of(fy2017, c.part, c.term): c for c in fy2017.cross_references if c.kind == "see"}
    heart = see["Attack, attacks > heart"]
    assert heart.status == "term"
    assert path_of(fy2017, heart.target_part, heart.target_term) == (
        "Infarct, infarction > myocardium, myocardial"
    )


@pytest.mark.parametrize(
    ("text", "part", "path"),
    [
        ("Neoplasm, malignant, by site", NEOPLASMS, "Neoplasm, neoplastic"),
        ("Neoplasm, skin, benign", NEOPLASMS, "Neoplasm, neoplastic > skin NOS"),
        ("Table of Drugs and Chemicals, by drug, poisoning", DRUGS, ""),
        ("Poisoning, mercury", DRUGS, "Mercury, mercurial, mercuric, mercurous NEC"),
        ("Pleurisy, with effusion", DISEASES, "Pleurisy > with > effusion"),
        (
            "Complications, joint prosthesis",
            DISEASES,
            "Complication > joint prosthesis, internal",
        ),
    ],
)
def test_see_references_lead_to_other_parts_and_past_misprints(fy2017, text, part, path):
    found = next(c for c in fy2017.cross_references if c.text == text)
    assert (found.status, found.target_part) == ("term", part)
    assert (path_of(fy2017, part, found.target_term) if found.target_term else "") == path


def test_a_misprinted_main_term_is_still_found(fy2017):
    # "Peridontitis" is CMS's misprint; FY2017 has no "aggressive" below Periodontitis, so the
    # reference is linked as far as it goes and reported.
    found = next(c for c in fy2017.cross_references if c.text.startswith("Peridontitis"))
    assert found.status == "partial"
    assert path_of(fy2017, found.target_part, found.target_term) == "Periodontitis"


def test_instructions_lead_to_no_term(fy2017):
    for text in ("condition", "category M01", "subcategory M14.8-"):
        found = next(c for c in fy2017.cross_references if c.text == text)
        assert (found.status, found.target_term) == ("instruction", 0), text


def test_nearly_every_see_reference_leads_to_a_term(fy2017):
    for part in (DISEASES, EXTERNAL_CAUSES, DRUGS, NEOPLASMS):
        counts = fy2017.report[part]["cross_references"]
        led = counts["term"] + counts["instruction"]
        assert led / sum(counts.values()) > 0.9, part
    counts = fy2017.report[DISEASES]["cross_references"]
    assert (counts["term"] + counts["instruction"]) / sum(counts.values()) > 0.97


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("J18.9", ("J189", False)),
        ("I63.9-", ("I639", True)),
        ("C56.-", ("C56", True)),
        ("T51.3X1", ("T513X1", False)),
        ("X58", ("X58", False)),
        ("C56.", None),
        ("J189", None),
        ("ventral surface of tongue", None),
    ],
)
def test_it_reads_a_printed_code(printed, expected):
    assert printed_code(printed) == expected


def test_main_terms_get_short_unique_url_names(fy2017):
    slugs = fy2017.slugs(DISEASES)
    by_title = {fy2017.parts[DISEASES].terms[s - 1].essential: slug for s, slug in slugs.items()}
    assert by_title["Attack, attacks"] == "attack"
    assert by_title["Pneumonia"] == "pneumonia"
    assert by_title["Fracture, burst"] == "fracture-burst"  # "Fracture, ..." starts several
    assert by_title["Aarskog's syndrome"] == "aarskogs-syndrome"
    letters = {(fy2017.parts[DISEASES].terms[s - 1].letter, slug) for s, slug in slugs.items()}
    assert len(letters) == len(slugs)
    drugs = fy2017.slugs(DRUGS)
    assert len({(fy2017.parts[DRUGS].terms[s - 1].letter, v) for s, v in drugs.items()}) == len(
        drugs
    )
