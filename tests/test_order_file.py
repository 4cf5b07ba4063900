import pytest

from codes.importer.errors import ImportFileError
from codes.importer.order_file import parse_order_file
from tests.conftest import FY2026_ZIP, member

ORDER_NAME, ORDER_BYTES = member(FY2026_ZIP, "order")


@pytest.fixture(scope="module")
def fy2026():
    return parse_order_file(ORDER_BYTES, filename=ORDER_NAME)


def test_it_reads_every_entry_of_the_fy2026_order_file(fy2026):
    assert len(fy2026) == 98_186
    assert sum(e.is_billable for e in fy2026) == 74_719
    assert sum(not e.is_billable for e in fy2026) == 23_467
    assert [e.sequence for e in fy2026] == list(range(1, 98_187))


def test_it_slices_titles_by_column(fy2026):
    by_code = {e.code: e for e in fy2026}
    assert by_code["Z53"].is_billable is False
    assert by_code["Z53"].long_title == (
        "Persons encountering health services for specific procedures and treatment, "
        "not carried out"
    )
    # Z53.0 and Z53.09 share one abbreviated short title.
    assert by_code["Z530"].short_title == by_code["Z5309"].short_title
    assert by_code["Z5301"].is_billable is True
    full_width = [e for e in fy2026 if len(e.short_title) == 60]
    assert len(full_width) > 9_000
    assert all(e.long_title and not e.long_title.endswith(" ") for e in fy2026)


def test_it_keeps_tabular_order_not_code_order(fy2026):
    codes = [e.code for e in fy2026]
    assert codes.index("C43") < codes.index("C4A") < codes.index("C44")
    assert codes.index("Z99") < codes.index("U07")  # chapter 22 comes last


def cut(text: bytes, lines: int) -> bytes:
    return b"".join(text.splitlines(keepends=True)[:lines])


def test_it_refuses_a_file_cut_in_the_middle_of_a_line():
    data = ORDER_BYTES[:500_000]
    with pytest.raises(ImportFileError) as error:
        parse_order_file(data, filename="icd10cm-order-2026.txt")
    assert "truncated" in str(error.value)
    last_line = data.count(b"\n") + 1
    assert str(error.value).startswith(f"icd10cm-order-2026.txt, line {last_line}:")


def test_it_refuses_a_file_cut_cleanly_after_a_header():
    # Line 1 is A00 (a header); its codes start on line 2.
    with pytest.raises(ImportFileError, match=r"order-2026.txt, line 1: header A00 has no code"):
        parse_order_file(cut(ORDER_BYTES, 1), filename="icd10cm-order-2026.txt")


def test_it_names_the_codes_file_given_as_the_order_file():
    name, codes = member(FY2026_ZIP, "codes")
    with pytest.raises(ImportFileError, match=r"codes-2026.txt, line 1: .*the codes file"):
        parse_order_file(codes, filename=name)


def test_it_names_the_addenda_file_given_as_the_order_file():
    name, addenda = member(FY2026_ZIP, "order-addenda")
    with pytest.raises(ImportFileError, match=r"order-addenda-2026.txt, line 1: .*addenda"):
        parse_order_file(addenda, filename=name)


def test_it_refuses_an_icd10pcs_order_file():
    pcs = (
        b"00001 001     0 Central Nervous System and Cranial Nerves, Bypass"
        + b" " * 12
        + b" Central Nervous System and Cranial Nerves, Bypass\r\n"
    )
    with pytest.raises(ImportFileError, match="line 1: .*ICD-10-PCS"):
        parse_order_file(pcs, filename="icd10pcs_order_2025.txt")


def test_it_refuses_a_non_ascii_byte_with_its_line():
    lines = ORDER_BYTES.splitlines(keepends=True)
    lines[41] = lines[41].replace(b"Cholera", b"Chol\xe9ra")
    lines[41] = lines[41].replace(b"a", b"\xe9", 1)
    with pytest.raises(ImportFileError, match=r"line 42: byte 0xe9 is not ASCII"):
        parse_order_file(b"".join(lines), filename="order.txt")


def test_it_refuses_binary_and_empty_files():
    with pytest.raises(ImportFileError, match="binary"):
        parse_order_file(b"PK\x03\x04\x00\x00", filename="order.txt")
    with pytest.raises(ImportFileError, match="empty"):
        parse_order_file(b"", filename="order.txt")


def test_it_refuses_a_duplicate_code_line():
    lines = ORDER_BYTES.splitlines(keepends=True)
    duplicate = b"00003" + lines[1][5:]  # A000 again, numbered as line 3
    data = b"".join([lines[0], lines[1], duplicate, *lines[3:]])
    with pytest.raises(
        ImportFileError, match=r"line 3: code A000 appears twice \(first on line 2\)"
    ):
        parse_order_file(data, filename="order.txt")


def test_it_refuses_a_missing_line():
    lines = ORDER_BYTES.splitlines(keepends=True)
    with pytest.raises(ImportFileError, match=r"line 3: order number 4 where 3 was expected"):
        parse_order_file(b"".join(lines[:2] + lines[3:]), filename="order.txt")


def test_it_refuses_a_wrong_fixed_width():
    lines = ORDER_BYTES.splitlines(keepends=True)
    lines[2] = lines[2].replace(b" A001    1 ", b" A001   1 ")
    with pytest.raises(ImportFileError, match=r"line 3: not an order file line"):
        parse_order_file(b"".join(lines), filename="order.txt")


def test_it_refuses_a_billable_code_with_codes_below_it():
    lines = ORDER_BYTES.splitlines(keepends=True)
    lines[0] = lines[0][:14] + b"1" + lines[0][15:]  # A00 flagged billable
    with pytest.raises(ImportFileError, match=r"line 1: billable code A00 has a code below it"):
        parse_order_file(b"".join(lines), filename="order.txt")


@pytest.mark.parametrize("digits", [10, 5000])
def test_it_refuses_an_order_number_too_long_to_be_one(digits):
    # The width comes from line 1; int() would refuse 5,000 digits with a bare ValueError.
    lines = ORDER_BYTES.splitlines(keepends=True)
    lines[0] = b"1" * digits + lines[0][5:]
    with pytest.raises(ImportFileError) as error:
        parse_order_file(b"".join(lines), filename="order.txt")
    assert error.value.line == 1
    assert f"order number of {digits:,} digits" in error.value.message


def test_it_reads_order_numbers_widened_to_9_digits():
    lines = ORDER_BYTES.splitlines(keepends=True)
    wide = b"".join(b"%09d" % n + line[5:] for n, line in enumerate(lines, start=1))
    entries = parse_order_file(wide, filename="order.txt")
    assert [(e.sequence, e.code) for e in entries[:2]] == [(1, "A00"), (2, "A000")]
    assert len(entries) == 98_186


def test_trailing_spaces_are_not_part_of_a_title(fy2026):
    """A file whose every line ends with spaces reads as the same entries (not 98,186 revised
    titles)."""
    padded = b"".join(line + b"   \r\n" for line in ORDER_BYTES.split(b"\r\n")[:-1])
    assert parse_order_file(padded, filename=ORDER_NAME) == fy2026
