"""The tabular XML's structure: heading sections and the notes they pass down, the checks of
chapters, sections and categories against their ranges, CMS's own slips read past and reported,
titles, and parsing time on hostile descs. Built from the real FY2026 file's bytes."""

import time
import zipfile

import pytest
from lxml import etree
from rest_framework.test import APIClient

from codes.importer.errors import MAX_MESSAGE, ImportFileError
from codes.importer.run import import_release
from codes.importer.tabular_xml import parse_tabular_xml
from codes.models import Release, Section
from tests.conftest import FY2025_XML, FY2026_XML, FY2026_ZIP, shared_file

XML_NAME = "icd10cm-tabular-2026.xml"
ZIP_NAME = "icd10cm-Code Descriptions-2026.zip"
# Parsing the real file takes about 1 s on a quiet machine, 5 s in CI beside the other suite on
# this one; a desc that made the parse quadratic (600 KB of spaces) would take hours, so the bound
# is set far above the first and far below the second.
MAX_SECONDS = 30
NBSP_RUN = "\u00a0" * 600_000


@pytest.fixture(scope="module")
def fy2026_bytes() -> bytes:
    return FY2026_XML.read_bytes()


@pytest.fixture(scope="module")
def fy2026(fy2026_bytes):
    return parse_tabular_xml(fy2026_bytes, filename=XML_NAME)


def refused(data: bytes) -> ImportFileError:
    started = time.monotonic()
    with pytest.raises(ImportFileError) as caught:
        parse_tabular_xml(data, filename=XML_NAME)
    assert time.monotonic() - started < MAX_SECONDS
    error = caught.value
    assert error.file == XML_NAME and error.line is not None
    return error


def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def cut_diag(data: bytes, name: bytes) -> tuple[bytes, bytes]:
    """The file without the <diag> named `name` (a category: no nested diag after its end),
    and that diag's bytes."""
    at = data.index(b"<name>%s</name>" % name)
    start = data.rindex(b"<diag>", 0, at)
    # The category's own </diag> is the first one at its indentation.
    indent = data[data.rindex(b"\n", 0, start) + 1 : start]
    end = data.index(b"\n" + indent + b"</diag>", at) + len(indent) + len(b"\n</diag>")
    return data[:start] + data[end:], data[start:end]


# --- heading sections ----------------------------------------------------------------------


def test_heading_sections_hold_the_sections_their_ranges_cover_as_the_file_lists_them(
    fy2026, fy2026_bytes
):
    parents = {section.id: section.parent for section in fy2026.sections}
    assert parents["V00-X58"] is None
    assert parents["V00-V99"] == "V00-X58"
    assert parents["V40-V49"] == "V00-V99"
    assert parents["W00-X58"] == "V00-X58"
    assert parents["T20-T32"] == "T07-T88"
    assert parents["T20-T25"] == "T20-T32"
    assert parents["C00-C75"] == "C00-C96"
    assert parents["C7A"] == "C00-C96"  # after C73-C75, outside C00-C75's range
    assert parents["Y70-Y82"] == "Y62-Y84"
    assert parents["A00-A09"] is None and parents["Z40-Z53"] is None

    # What the file says, read independently: a heading is a <section> without a <diag>, and
    # every section of its chapter whose range lies in a heading's range sits below it.
    root = etree.fromstring(fy2026_bytes)
    headings, held = [], 0
    for chapter in root.iterchildren("chapter"):
        sections = [s.get("id") for s in chapter.iterchildren("section")]
        empty = [s.get("id") for s in chapter.iterchildren("section") if s.find("diag") is None]
        headings += empty
        for section in sections:
            first, last = section[:3], section[-3:]
            held += any(h != section and h[:3] <= first and last <= h[-3:] for h in empty)
    assert sorted(headings) == sorted(p for p in set(parents.values()) if p)
    assert len(headings) == 12
    assert sum(parent is not None for parent in parents.values()) == held == 71


@pytest.mark.parametrize(
    "path",
    ["fy2017/ICD10CM_FY2017_Full_XML.zip", "fy2025/icd10cm-tabular-April-2025.xml"],
)
def test_other_releases_have_the_same_twelve_headings(path, fy2026):
    file = shared_file(path)
    data = file.read_bytes()
    if file.suffix == ".zip":
        with zipfile.ZipFile(file) as archive:
            name = next(n for n in archive.namelist() if "tabular" in n and n.endswith(".xml"))
            data = archive.read(name)
    tabular = parse_tabular_xml(data, filename=file.name)
    held = {(s.id, s.parent) for s in tabular.sections if s.parent}
    assert held == {(s.id, s.parent) for s in fy2026.sections if s.parent}


# --- the structure checks ------------------------------------------------------------------


def test_a_category_moved_into_another_chapter_is_refused_by_line(fy2026_bytes):
    without, z53 = cut_diag(fy2026_bytes, b"Z53")
    anchor = without.index(b"<name>A01</name>")
    start = without.rindex(b"<diag>", 0, anchor)
    moved = without[:start] + z53 + b"\n      " + without[start:]
    error = refused(moved)
    assert error.line == line_of(moved, b"<name>Z53</name>") - 1
    assert error.element == "diag Z53"
    assert "category Z53 lies outside its section A00-A09" in error.message


def test_a_category_in_a_section_of_the_wrong_chapter_is_refused(fy2026_bytes):
    # A section that claims the range A00-A09 in chapter 21 lies outside Z00-Z99.
    data = fy2026_bytes.replace(b'<section id="Z40-Z53">', b'<section id="A10-A14">', 1)
    error = refused(data)
    assert error.element == "section A10-A14"
    assert "outside its chapter 21 (Z00-Z99)" in error.message


def test_overlapping_chapter_ranges_are_refused(fy2026_bytes):
    data = fy2026_bytes.replace(
        b"<desc>Neoplasms (C00-D49)</desc>", b"<desc>Neoplasms (B90-D49)</desc>", 1
    )
    error = refused(data)
    assert error.element == "chapter 2"
    assert "overlaps chapter 1's A00-B99" in error.message


def test_chapters_out_of_order_are_refused(fy2026_bytes):
    data = fy2026_bytes.replace(b"<name>2</name>", b"<name>23</name>", 1)
    error = refused(data)
    assert error.element == "chapter 3"
    assert "chapter 3 comes after chapter 23" in error.message


def test_overlapping_sibling_sections_are_refused(fy2026_bytes):
    data = fy2026_bytes.replace(b'<section id="A15-A19">', b'<section id="A05-A19">', 1)
    error = refused(data)
    assert error.element == "section A05-A19"
    assert "overlaps or comes before the section before it, A00-A09" in error.message


def test_a_reversed_section_range_is_refused(fy2026_bytes):
    data = fy2026_bytes.replace(b'<section id="A15-A19">', b'<section id="A19-A15">', 1)
    assert "range A19-A15 is reversed" in refused(data).message


# --- CMS's own slips -----------------------------------------------------------------------


def test_the_real_files_slips_are_reported_and_read_past(fy2026):
    found = {(a.element, a.what) for a in fy2026.anomalies}
    assert ("section QA0", "the desc starts or ends with spaces") in found
    assert ("diag R11.16", "unbalanced brackets in a note: 'electrolyte imbalance (E87.8}'") in (
        found
    )
    # A list marker "a)" is not a bracket.
    assert not any(element == "section M00-M02" for element, _ in found)
    section = next(s for s in fy2026.sections if s.id == "QA0")
    assert section.title == "Genetic disorders, not elsewhere classified"


def test_a_double_space_in_a_desc_is_reported_with_its_line():
    file = FY2025_XML
    data = file.read_bytes()
    tabular = parse_tabular_xml(data, filename=file.name)
    (anomaly,) = [a for a in tabular.anomalies if a.element == "diag W44.G"]
    assert anomaly.what == "the desc holds a run of spaces, read as one"
    assert anomaly.line == line_of(data, b"natural  orifice")
    w44g = next(code for code in tabular.codes if code.code == "W44G")
    assert "  " not in w44g.title


def moved_under_a_sibling(data: bytes) -> bytes:
    """H54.512A moved under H54.511, as CMS's FY2021 file has it."""
    block = (
        b"              <diag>\r\n                <name>H54.512A</name>\r\n"
        b"                <desc>Low vision right eye category 2, normal vision left eye</desc>\r\n"
        b"              </diag>\r\n"
    )
    assert data.count(block) == 1
    data = data.replace(block, b"", 1)
    sibling = data.index(b"<name>H54.511A</name>")
    end = data.index(b"</diag>\r\n", sibling) + len(b"</diag>\r\n")
    return data[:end] + block + data[end:]


def test_a_code_nested_under_a_sibling_is_read_under_its_own_parent(fy2026_bytes, fy2026):
    data = moved_under_a_sibling(fy2026_bytes)
    tabular = parse_tabular_xml(data, filename=XML_NAME)
    (anomaly,) = [a for a in tabular.anomalies if a.element == "diag H54.512A"]
    assert anomaly.line == line_of(data, b"<name>H54.512A</name>") - 1
    assert anomaly.what == (
        "H54.512A is nested under H54.511, which it does not extend; read as a child of H54.512"
    )
    # The same codes, flags, parents and order as the genuine file.
    assert [(c.code, c.is_billable, c.parent) for c in tabular.codes] == [
        (c.code, c.is_billable, c.parent) for c in fy2026.codes
    ]


@pytest.mark.django_db
def test_a_genuine_file_with_a_slip_imports_and_the_preview_shows_the_slip(
    fy2026_bytes, admin_client
):
    data = moved_under_a_sibling(fy2026_bytes)
    release = import_release(
        [(ZIP_NAME, FY2026_ZIP.read_bytes()), (XML_NAME, data)],
        fiscal_year=2026,
        label="FY2026 slip",
        replace=True,
    )
    release = Release.objects.get(pk=release.pk)
    slips = release.report["anomalies"]
    assert {
        "file": XML_NAME,
        "line": line_of(data, b"<name>H54.512A</name>") - 1,
        "element": "diag H54.512A",
        "what": "H54.512A is nested under H54.511, which it does not extend; read as a child "
        "of H54.512",
    } in slips
    assert release.codes.get(code="H54512A").parent_code == "H54512"
    preview = admin_client.get(f"/admin/codes/release/{release.pk}/preview/")
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "Slips in CMS" in text
    assert "read as a child of H54.512" in text


def test_a_code_nested_under_another_category_stays_refused(fy2026_bytes):
    data = fy2026_bytes.replace(b"<name>H54.512A</name>", b"<name>H55.512A</name>", 1)
    error = refused(data)
    assert "H55.512A does not extend its parent H54.512" in error.message


# --- titles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<desc>Typhoid fever, unspecified</desc>",
            b"<desc>Typhoid" + b" fever" * 66 + b"</desc>",
            "diag A01.00: the desc is 403 characters long, more than the 400 allowed",
        ),
        (
            b"<desc>Typhoid fever, unspecified</desc>",
            b"<desc>Typhoid&#9;fever, unspecified</desc>",
            "diag A01.00: the desc holds a TAB (column 8)",
        ),
        (
            b"<desc>Typhoid fever, unspecified</desc>",
            b"<desc>Typhoid&#13;fever, unspecified</desc>",
            "diag A01.00: the desc holds a carriage return",
        ),
        (
            b"<desc>Neoplasms (C00-D49)</desc>",
            b"<desc>" + b"Neoplasms " * 26 + b"(C00-D49)</desc>",
            "chapter 2: the chapter title is 259 characters long, more than the 255 allowed",
        ),
        (
            b"<desc>Intestinal infectious diseases (A00-A09)</desc>",
            b"<desc>Intestinal&#9;infectious diseases (A00-A09)</desc>",
            "section A00-A09: the section title holds a TAB",
        ),
    ],
)
def test_titles_are_checked_by_line(fy2026_bytes, old, new, message):
    assert fy2026_bytes.count(old) >= 1
    data = fy2026_bytes.replace(old, new, 1)
    error = refused(data)
    assert message in str(error)
    # The line of the <diag>, <section> or <chapter> whose desc it is.
    assert line_of(data, new) - 3 < error.line < line_of(data, new)


# --- hostile descs: linear time, bounded messages ------------------------------------------


def test_a_chapter_desc_with_600_kb_of_no_break_spaces_before_its_range_imports_fast(
    fy2026_bytes,
):
    old = b"<desc>Neoplasms (C00-D49)</desc>"
    data = fy2026_bytes.replace(old, f"<desc>Neoplasms{NBSP_RUN}(C00-D49)</desc>".encode(), 1)
    started = time.monotonic()
    tabular = parse_tabular_xml(data, filename=XML_NAME)
    assert time.monotonic() - started < MAX_SECONDS
    assert tabular.chapters[1].title == "Neoplasms"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # No closing parenthesis: the range cannot be found.
        (b"<desc>Neoplasms (C00-D49)</desc>", f"<desc>Neoplasms{NBSP_RUN}(C00-D49</desc>"),
        # The run inside the title: far too long.
        (b"<desc>Neoplasms (C00-D49)</desc>", f"<desc>Neo{NBSP_RUN}plasms (C00-D49)</desc>"),
        (
            b"<desc>Intestinal infectious diseases (A00-A09)</desc>",
            f"<desc>Intestinal infectious diseases{NBSP_RUN}(A00-A09</desc>",
        ),
        (
            b"<desc>Intestinal infectious diseases (A00-A09)</desc>",
            f"<desc>Intestinal infectious diseases (A00-A09){NBSP_RUN}</desc>",
        ),
    ],
)
def test_hostile_heading_descs_are_refused_fast_quoting_a_bounded_excerpt(fy2026_bytes, old, new):
    error = refused(fy2026_bytes.replace(old, new.encode(), 1))
    assert len(str(error)) < MAX_MESSAGE + 200


def test_a_seventh_character_rule_with_a_long_space_run_is_read_fast(fy2026_bytes):
    old = b"<note>7th characters D and S do not apply"
    assert old in fy2026_bytes
    hostile = f"<note>7th characters D{NBSP_RUN} and S{' ' * 300_000}x</note><note>".encode()
    data = fy2026_bytes.replace(old, hostile + old[len(b"<note>") :], 1)
    started = time.monotonic()
    parse_tabular_xml(data, filename=XML_NAME)
    assert time.monotonic() - started < MAX_SECONDS


# --- stored, shown, answered ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_stored_hierarchy_is_the_files(fy2026, fy2026_bytes):
    release = Release.objects.get(label="FY2026")
    stored = {
        s.section_id: (s.parent.section_id if s.parent else None)
        for s in Section.objects.filter(release=release).select_related("parent")
    }
    assert stored == {s.id: s.parent for s in fy2026.sections}


def page_text(response) -> str:
    import re

    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.django_db
@pytest.mark.usefixtures("warm_code_sets")
def test_v43_52xa_inherits_the_transport_accident_notes_on_page_api_and_fhir(client):
    text = page_text(client.get("/codes/V43.52XA/"))
    at = text.index("From section V00-V99")
    assert "Airbag injury ( W22.1 )" in text[at : text.index("From chapter 20")]  # W22.1 a link
    assert text.index("From section V40-V49") < at < text.index("From chapter 20")
    assert "From section V00-X58" not in text  # a heading without notes

    answer = APIClient().get("/api/v1/codes/V43.52XA/").json()
    inherited = [
        (note["origin"], note["origin_code"], note["text"])
        for note in answer["notes"]
        if note["inherited"]
    ]
    assert ("section", "V00-V99", "Airbag injury (W22.1)") in inherited
    origins = [origin for origin, _, _ in inherited]
    assert origins.index("section") < origins.index("chapter")

    lookup = APIClient().get(
        "/fhir/CodeSystem/$lookup",
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "V43.52XA"},
        HTTP_ACCEPT="application/fhir+json",
    )
    assert lookup.status_code == 200
    notes = [
        {part["name"]: part for part in parameter["part"]}
        for parameter in lookup.json()["parameter"]
        if parameter["name"] == "property" and parameter["part"][0]["valueCode"] == "note"
    ]
    airbag = [n for n in notes if n["value"]["valueString"] == "Airbag injury (W22.1)"]
    assert [n["description"]["valueString"] for n in airbag] == [
        "Use additional code, from section V00-V99"
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("warm_code_sets")
def test_a_t21_code_inherits_the_notes_of_t20_t32(fy2026_bytes):
    root = etree.fromstring(fy2026_bytes)
    heading = root.find(".//section[@id='T20-T32']")
    heading_notes = [" ".join("".join(n.itertext()).split()) for n in heading.iter("note")]
    assert heading_notes
    answer = APIClient().get("/api/v1/codes/T21.01XA/").json()
    from_heading = [note["text"] for note in answer["notes"] if note["origin_code"] == "T20-T32"]
    assert from_heading == [text for text in heading_notes if text]


@pytest.mark.django_db
@pytest.mark.usefixtures("warm_code_sets")
def test_the_chapter_page_nests_sections_and_a_heading_page_lists_what_it_holds(client):
    chapter = client.get("/chapters/20/")
    assert chapter.status_code == 200
    html = chapter.content.decode()
    # V00-V09 is listed inside V00-V99's list, inside V00-X58's.
    outer = html.index("V00-X58</span>")
    inner = html.index("V00-V99</span>", outer)
    assert html.index('class="section-list nested"', outer) < inner < html.index("V00-V09</span>")
    assert "W00-X58" in page_text(chapter)

    heading = client.get("/sections/V00-X58/")
    assert heading.status_code == 200
    text = page_text(heading)
    assert "2 sections in it" in text
    assert "0 categories" not in text

    section = client.get("/sections/V40-V49/")
    text = page_text(section)
    assert "V00-X58 Accidents V00-V99 Transport accidents V40-V49" in text
