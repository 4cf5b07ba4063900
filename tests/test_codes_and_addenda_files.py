import pytest

from codes.importer.addenda import AddendaChange, parse_addenda_summary
from codes.importer.codes_file import parse_codes_file
from codes.importer.errors import ImportFileError
from tests.conftest import APRIL_2025_ZIP, FY2026_ZIP, member


def test_it_reads_the_fy2026_codes_file():
    name, data = member(FY2026_ZIP, "codes")
    entries = parse_codes_file(data, filename=name)
    assert len(entries) == 74_719
    assert entries[0].code == "A000"
    assert entries[0].long_title == "Cholera due to Vibrio cholerae 01, biovar cholerae"


def test_it_names_the_order_file_given_as_the_codes_file():
    name, data = member(FY2026_ZIP, "order")
    with pytest.raises(ImportFileError, match=r"order-2026.txt, line 1: this is an order file"):
        parse_codes_file(data, filename=name)


def test_it_refuses_a_malformed_codes_line():
    with pytest.raises(ImportFileError, match=r"codes.txt, line 2: not a codes file line"):
        parse_codes_file(b"A000    Cholera\r\nA0-1 x\r\n", filename="codes.txt")


def test_it_reads_the_fy2026_addenda_summary():
    name, data = member(FY2026_ZIP, "order-addenda")
    summary = parse_addenda_summary(data, filename=name)
    assert (summary.codes.added, summary.codes.deleted, summary.codes.revised) == (487, 28, 38)
    assert (summary.headers.added, summary.headers.deleted, summary.headers.revised) == (
        143,
        0,
        7,
    )


def test_it_reads_an_all_zero_april_summary():
    name, data = member(APRIL_2025_ZIP, "order-addenda")
    summary = parse_addenda_summary(data, filename=name)
    assert summary.codes.added == summary.codes.deleted == summary.headers.added == 0


def test_it_refuses_an_addenda_file_without_its_summary():
    name, data = member(FY2026_ZIP, "order-addenda")
    head = data[: data.index(b"Headers")]
    with pytest.raises(ImportFileError, match=r'order-addenda-2026.txt: no complete "Codes"'):
        parse_addenda_summary(head, filename=name)


def test_it_reads_every_line_of_the_fy2026_addenda():
    name, data = member(FY2026_ZIP, "order-addenda")
    summary = parse_addenda_summary(data, filename=name)
    assert len(summary.changes) == 487 + 28 + 38 + 143 + 7
    assert summary.changes[:2] == (
        AddendaChange("B880", "deleted", True, 1),
        AddendaChange("B880", "added", False, 2),
    )
    w44g = [c for c in summary.changes if c.code == "W44G"]
    assert [(c.change, c.is_billable) for c in w44g] == [("revised", False)]


def test_it_refuses_an_addenda_line_without_its_flag_and_code():
    with pytest.raises(ImportFileError, match=r"addenda.txt, line 2: not an addenda line"):
        parse_addenda_summary(
            b"Add:         1 A000    Cholera\r\nDelete:      X A001\r\n", filename="addenda.txt"
        )
