"""CMS's conversion table: the parser, the import, and successors of deleted codes from it."""

import datetime
import io
import zipfile

import pytest
from openpyxl import Workbook

from codes import codeset
from codes.codeset import CodeSet, Entry, codeset_for
from codes.importer.conversion_table import (
    ConversionRow,
    PreviousCode,
    parse_conversion_table,
    parse_previous_codes,
)
from codes.importer.errors import ImportFileError
from codes.importer.loader import _write_conversion
from codes.importer.run import import_release
from codes.models import ConversionEntry, Release
from codes.validation import (
    DELETED,
    FROM_CONVERSION_TABLE,
    FROM_HIERARCHY,
    successors_of,
    successors_with_source,
    validate,
)
from tests.conftest import FY2025_XML, FY2025_ZIP, FY2026_XML, FY2026_ZIP, shared_file

TABLE = "fy2026/ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx"
HEADER = ("Current code assignment", "Effective", "Previous Code(s) Assignment")


def workbook(*rows, title: str = "Sheet1", prose: bool = True) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    if prose:
        sheet.append(["This FY 2026 Conversion Table includes the new ICD-10-CM codes..."])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fy2026_table() -> list[ConversionRow]:
    path = shared_file(TABLE)
    return parse_conversion_table(path.read_bytes(), filename=path.name)


# --- the parser (no database)


def test_the_fy2026_table_has_every_row_with_dates_and_previous_codes(fy2026_table):
    assert len(fy2026_table) == 5_892
    first = fy2026_table[0]
    assert (first.current_code, first.effective_date, first.fiscal_year, first.row) == (
        "A0471",
        datetime.date(2017, 10, 1),
        2018,
        3,
    )
    assert first.previous == (PreviousCode("A047"),)
    # A year means October 1 of that year: the 487 codes added in FY2026 say 2025.
    assert sum(row.fiscal_year == 2026 for row in fy2026_table) == 487
    t78 = [row for row in fy2026_table if row.previous == (PreviousCode("T7807XA"),)]
    assert [row.current_code for row in t78] == ["T78070A", "T78071A", "T78079A"]
    # Mid-year changes carry a date: April 1, 2023 is in FY2023.
    april = next(row for row in fy2026_table if row.current_code == "T74A1XA")
    assert (april.effective_date, april.fiscal_year) == (datetime.date(2023, 4, 1), 2023)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A04.7", [("A047", "")]),
        ("C50.919, C50.929", [("C50919", ""), ("C50929", "")]),
        ("C56.1 and C56.2", [("C561", ""), ("C562", "")]),
        ("G93.3; R53.82", [("G933", ""), ("R5382", "")]),
        ("H02.101-H02.106; H02.109", [("H02101", "H02106"), ("H02109", "")]),
        ("I63.- and P91.88", [("I63", "I63"), ("P9188", "")]),
        ("Codes in Categories T15-T19", [("T15", "T19")]),
        ("K31.89 and a code from R11-", [("K3189", ""), ("R11", "R11")]),
        ("I63.011 AND I63.012", [("I63011", ""), ("I63012", "")]),
        ("M93.001 & M93.002", [("M93001", ""), ("M93002", "")]),
        ("W45.8XXA", [("W458XXA", "")]),
        ("QA0", [("QA0", "")]),
        ("None", []),
        ("", []),
    ],
)
def test_previous_codes_are_read_from_free_text(text, expected):
    assert [(p.first, p.last) for p in parse_previous_codes(text)] == expected


def test_the_table_may_be_on_any_sheet_below_any_prose():
    data = workbook(HEADER, ("A04.72", 2016, "A04.7"), ("W453XXA ", 2025.0, " W45.8XXA"))
    rows = parse_conversion_table(data, filename="conversion.xlsx")
    assert [(r.current_code, r.fiscal_year, r.previous) for r in rows] == [
        ("A0472", 2017, (PreviousCode("A047"),)),
        ("W453XXA", 2026, (PreviousCode("W458XXA"),)),
    ]
    dated = workbook(HEADER, ("U07.1", datetime.datetime(2020, 4, 1), "B97.29"), prose=False)
    [row] = parse_conversion_table(dated, filename="conversion.xlsx")
    assert (row.effective_date, row.fiscal_year, row.row) == (datetime.date(2020, 4, 1), 2020, 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really a zip", "is not an Excel (.xlsx) file"),
        (b"Current code,Effective,Previous\n", "is not an Excel (.xlsx) file"),
        (workbook(("code", "year", "was")), 'no sheet has the columns "Current code'),
        (workbook(HEADER), "no rows below it"),
        (workbook(HEADER, ("A04.72", 2016, "A04.7"), ("X", 2016, "A04.7")), "row 4"),
        (workbook(HEADER, ("A04.72", "soon", "A04.7")), "neither a year nor a date"),
        # str.isdigit() is true for both; int() refuses the first and reads the second as 2016.
        (workbook(HEADER, ("A04.72", "²⁰¹⁶", "A04.7")), 'row 3: "²⁰¹⁶" in the effective column'),
        (workbook(HEADER, ("A04.72", "٢٠١٦", "A04.7")), 'row 3: "٢٠١٦" in the effective column'),
        # A year has 4 digits; int() would refuse the 5,000 with a bare ValueError.
        (workbook(HEADER, ("A04.72", "20160", "A04.7")), 'row 3: "20160" in the effective column'),
        (workbook(HEADER, ("A04.72", "1" * 5000, "A04.7")), 'row 3: "111111111111111111'),
        (workbook(HEADER, ("A04.72", 2016, "see above")), "names no ICD-10-CM code"),
    ],
)
def test_a_broken_table_is_refused_naming_the_file_and_row(data, message):
    with pytest.raises(ImportFileError) as error:
        parse_conversion_table(data, filename="ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx")
    assert message in str(error.value)
    assert str(error.value).startswith("ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx")


def with_sheet_xml(data: bytes, old: bytes, new: bytes) -> bytes:
    """The workbook with `old` replaced by `new` in its sheet's XML, as a hand-edited file."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                assert old in content
                content = content.replace(old, new)
            target.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("claimed", [b"A1:C10", b"A1", b"A1:B5897"])
def test_every_row_is_read_whatever_the_sheet_dimension_claims(fy2026_table, claimed):
    path = shared_file(TABLE)
    edited = with_sheet_xml(
        path.read_bytes(), b'<dimension ref="A1:C5897"/>', b'<dimension ref="%s"/>' % claimed
    )
    assert parse_conversion_table(edited, filename=path.name) == fy2026_table


@pytest.mark.parametrize(
    ("cell", "row", "what"),
    [
        # openpyxl's own int() refuses a number cell of more than 4,300 digits.
        (b'<c r="B3" t="n"><v>%s</v></c>' % (b"1" * 5000), 3, "holds a number"),
        # The row is told from the XML, though rows 3 and 4 are missing.
        (b'<c r="B5" t="n"><v>%s</v></c>' % (b"2" * 5000), 5, "holds a number"),
        # A shared-string index or a style of 5,000 digits stops openpyxl the same way.
        (b'<c r="B3" t="s"><v>%s</v></c>' % (b"1" * 5000), 3, "holds a number"),
        (b'<c r="B3" s="%s" t="n"><v>2016</v></c>' % (b"1" * 5000), 3, "has a style number"),
    ],
)
def test_a_number_cell_openpyxl_cannot_read_is_named_by_sheet_and_row(cell, row, what):
    data = workbook(HEADER, ("A04.72", 2016, "A04.7"), title="FY26")
    if row != 3:
        data = with_sheet_xml(data, b'<row r="3">', b'<row r="%d">' % row)
        data = with_sheet_xml(data, b'r="B3" t="n"', b'r="B%d" t="n"' % row)
    old = b'<c r="B%d" t="n"><v>2016</v></c>' % row
    data = with_sheet_xml(data, old, cell)
    with pytest.raises(ImportFileError) as error:
        parse_conversion_table(data, filename="conversion.xlsx")
    assert error.value.file == "conversion.xlsx"
    assert error.value.element == f'sheet "FY26", row {row}'
    assert f"cell B{row} {what} 5,000 characters long" in error.value.message


def test_a_number_cell_openpyxl_can_read_but_no_year_is_named_by_row():
    # 4,000 digits: under int()'s limit, so openpyxl reads it and the year check refuses it.
    data = workbook(HEADER, ("A04.72", 2016, "A04.7"))
    data = with_sheet_xml(data, b"<v>2016</v>", b"<v>%s</v>" % (b"1" * 4000))
    with pytest.raises(ImportFileError) as error:
        parse_conversion_table(data, filename="conversion.xlsx")
    assert error.value.element == 'sheet "Sheet1", row 3'
    assert '"111111111111111111111111111111" in the effective column' in error.value.message


def test_a_bad_row_is_named_by_sheet_and_row():
    data = workbook(HEADER, ("A04.72", 2016, "A04.7"), ("Z", 2016, "A04.7"), title="FY26")
    with pytest.raises(ImportFileError) as error:
        parse_conversion_table(data, filename="conversion.xlsx")
    assert error.value.element == 'sheet "FY26", row 4'


# --- successors from the table, on a made-up code set (no database)


def made_up_codeset(*, table: dict[str, list[str]] | None, ranges=()) -> CodeSet:
    """A05 (header) with A051, A052 billable below; B10 billable; C20 header over C201."""
    entries = {
        code: Entry(code, billable, parent, f"title {code}", position)
        for position, (code, billable, parent) in enumerate(
            [
                ("A05", False, ""),
                ("A051", True, "A05"),
                ("A052", True, "A05"),
                ("B10", True, ""),
                ("C20", False, ""),
                ("C201", True, "C20"),
            ]
        )
    }
    children: dict[str, list[str]] = {}
    for entry in entries.values():
        if entry.parent:
            children.setdefault(entry.parent, []).append(entry.code)
    return CodeSet(
        release_id=1,
        entries=entries,
        sorted_codes=sorted(entries),
        children=children,
        replaced_by=table or {},
        replaced_by_range=list(ranges),
        conversion_release_id=None if table is None else 1,
    )


def test_the_table_wins_over_the_hierarchy():
    # A05.9 was deleted; the hierarchy would say A05.1 and A05.2, the table says B10.
    with_table = made_up_codeset(table={"A059": ["B10"]})
    assert successors_with_source("A059", with_table) == (
        [successors_of("A059", with_table)[0]],
        FROM_CONVERSION_TABLE,
    )
    assert [s.code for s in successors_of("A059", with_table)] == ["B10"]
    without = made_up_codeset(table=None)
    assert [s.code for s in successors_of("A059", without)] == ["A051", "A052"]
    assert successors_with_source("A059", without)[1] == FROM_HIERARCHY


def test_successors_are_followed_to_codes_billable_in_the_release():
    # A999 -> A998 (itself replaced since by B10) and C20 (a header now: its billable codes).
    chained = made_up_codeset(table={"A999": ["A998", "C20"], "A998": ["B10"]})
    assert [s.code for s in successors_of("A999", chained)] == ["B10", "C201"]


def test_a_code_in_a_range_of_codes_has_the_range_s_successor():
    table = made_up_codeset(table={"X": []}, ranges=[("A0580", "A0589", "B10")])
    assert [s.code for s in successors_of("A0583", table)] == ["B10"]
    assert [s.code for s in successors_of("A0590", table)] == ["A051", "A052"]  # hierarchy


def test_a_table_that_names_nothing_falls_back_to_the_hierarchy():
    empty = made_up_codeset(table={"Q999": ["Z999"]})
    assert successors_with_source("A059", empty) == (successors_of("A059", empty), FROM_HIERARCHY)


# --- in the database


@pytest.fixture
def fy2026_with_table(db, fy2026_table):
    fy2026 = Release.objects.get(label="FY2026")
    _write_conversion(fy2026, fy2026_table)
    codeset.codeset_for.clear()  # the in-memory index of FY2026 was built without the table
    yield fy2026
    codeset.codeset_for.clear()


@pytest.mark.django_db
def test_deleted_fy2026_codes_get_their_successors_from_the_table(fy2026_with_table):
    fy2026 = fy2026_with_table
    assert codeset_for(fy2026).conversion_release_id == fy2026.pk
    verdict = validate("T78.07XA", fy2026)
    assert verdict.reason == DELETED
    assert [s.dotted for s in verdict.suggestions] == ["T78.070A", "T78.071A", "T78.079A"]
    fy2026_set = codeset_for(fy2026)
    expected = {
        "T7807XA": ["T78.070A", "T78.071A", "T78.079A"],
        "T7808XS": ["T78.080S", "T78.081S", "T78.089S"],
        "S301XXD": ["S30.11XD", "S30.12XD", "S30.13XD"],
        "Z91011": ["Z91.0110", "Z91.0111", "Z91.0112"],
        "E881": ["E88.10", "E88.11", "E88.12", "E88.13", "E88.14", "E88.19"],
        "G35": ["G35.A", "G35.B0", "G35.B1", "G35.B2", "G35.C0", "G35.C1", "G35.C2", "G35.D"],
    }
    for code, successors in expected.items():
        found, source = successors_with_source(code, fy2026_set)
        assert ([s.dotted for s in found], source) == (successors, FROM_CONVERSION_TABLE), code


@pytest.mark.django_db
def test_an_earlier_release_uses_the_table_of_the_nearest_later_published_one(
    fy2026_with_table,
):
    fy2025 = Release.objects.get(label="FY2025")
    assert codeset_for(fy2025).conversion_release_id == fy2026_with_table.pk
    codeset.codeset_for.clear()
    Release.objects.filter(pk=fy2026_with_table.pk).update(status=Release.Status.DRAFT)
    assert codeset_for(Release.objects.get(label="FY2025")).conversion_release_id is None


@pytest.mark.django_db
def test_the_table_is_imported_with_its_release_in_one_go():
    table = shared_file(TABLE)
    files = [(p.name, p.read_bytes()) for p in (FY2026_ZIP, FY2026_XML, table)]
    # As an April update shipped with the table (the same codes): nothing to replace.
    release = import_release(files, effective_date=datetime.date(2026, 4, 1), publish=True)
    try:
        assert release.label == "FY2026 April 1 update"
        assert release.report["conversion_table"] == {
            "file": table.name,
            "rows": 5_892,
            "new_in_release": 487,
        }
        entries = ConversionEntry.objects.filter(release=release)
        assert entries.count() == sum(
            len(row.previous)
            for row in parse_conversion_table(table.read_bytes(), filename=table.name)
        )
        assert list(
            entries.filter(previous_code="T7807XA").values_list("current_code", "fiscal_year")
        ) == [("T78070A", 2026), ("T78071A", 2026), ("T78079A", 2026)]
        ranged = entries.get(current_code="H02151", previous_code_last="H02106")
        assert ranged.previous_code == "H02101"
        assert release.source_files.filter(name=table.name).exists()
        found, source = successors_with_source("T7807XA", codeset_for(release))
        assert ([s.dotted for s in found], source) == (
            ["T78.070A", "T78.071A", "T78.079A"],
            FROM_CONVERSION_TABLE,
        )
    finally:
        codeset.codeset_for.clear()


@pytest.mark.django_db
def test_a_table_of_a_later_release_is_refused_and_nothing_is_stored(tmp_path):
    releases = list(Release.objects.values_list("pk", "imported_at"))
    entries = ConversionEntry.objects.count()  # the table bundled with FY2026
    table = shared_file(TABLE).read_bytes()
    files = [(p.name, p.read_bytes()) for p in (FY2025_ZIP, FY2025_XML)]
    with pytest.raises(ImportFileError) as error:
        import_release([*files, ("conversion-table.xlsx", table)], replace=True, fiscal_year=2025)
    assert "after this release" in str(error.value)
    assert 'sheet "ICD-10-CM-Conversion-Table-FY26", row' in str(error.value)
    assert list(Release.objects.values_list("pk", "imported_at")) == releases
    assert ConversionEntry.objects.count() == entries
