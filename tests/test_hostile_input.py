"""The hostile and broken input corpus: every case is refused by name, fast, in little memory,
with no temporary file left and the release tables exactly as before.

The cases are built here from the real FY2026 files (large ones are generated, not stored).
"""

import io
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib

import pytest
from openpyxl import load_workbook

from codes.importer.errors import ImportFileError
from codes.importer.run import import_release
from tests.conftest import (
    FY2025_XML,
    FY2026_CONVERSION,
    FY2026_XML,
    FY2026_ZIP,
    REPO,
    release_tables_fingerprint,
)

pytestmark = pytest.mark.django_db

ORDER = "icd10cm-order-2026.txt"
CODES = "icd10cm-codes-2026.txt"
ZIP_NAME = "icd10cm-Code Descriptions-2026.zip"
XML_NAME = "icd10cm-tabular-2026.xml"

# Generous ceilings against input built to exhaust time or memory (a quadratic parse takes
# hours): refusals took under 8 s in CI with the other suite beside them, and 30 s leaves room
# for a host twice as slow. Memory is traced for the cases built to exhaust it (bombs, entities,
# depth); tracing slows a full parse tenfold, so the cases that parse the whole real files are
# timed only.
MAX_SECONDS = 30
MAX_TRACED_MB = 64


def fy2026_members() -> dict[str, bytes]:
    with zipfile.ZipFile(FY2026_ZIP) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_member(name: str, data: bytes) -> list[tuple[str, bytes]]:
    members = fy2026_members()
    members[name] = data
    return [(ZIP_NAME, zipped(members))]


def order_lines() -> list[bytes]:
    return fy2026_members()[ORDER].splitlines(keepends=True)


def declare_sizes(archive: bytes, sizes: dict[str, int]) -> bytes:
    """Make the central directory claim other uncompressed sizes, as a hostile zip would."""
    data = bytearray(archive)
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        name = data[position + 46 : position + 46 + name_length].decode()
        if name in sizes:
            struct.pack_into("<I", data, position + 24, sizes[name])
        position = data.find(b"PK\x01\x02", position + 46)
    return bytes(data)


def zeros_zip(name: str, megabytes: int) -> bytes:
    """A deflated member of `megabytes` of zeros, compressed in chunks (about 1000:1)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        chunk = bytes(1024 * 1024)
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


def noise(size: int) -> bytes:
    return random.Random(size).randbytes(size)


# Order file cases -------------------------------------------------------------------------


def truncated_order_file():
    return with_member(ORDER, fy2026_members()[ORDER][:1_000_000])


def garbled_order_file():
    data = bytearray(fy2026_members()[ORDER])
    data[2_000_000:2_000_400] = noise(400)
    return with_member(ORDER, bytes(data))


def wrong_fixed_width():
    lines = order_lines()
    lines = [line[:14] + line[15:] if n == 500 else line for n, line in enumerate(lines)]
    return with_member(ORDER, b"".join(lines))


def invalid_utf8_order_file():
    lines = order_lines()
    lines[9] = lines[9].replace(b"Typhoid", b"Typh\xc3\x28id")
    return with_member(ORDER, b"".join(lines))


def binary_file_named_txt():
    return [(ORDER, b"\x89PNG\r\n\x1a\n" + noise(4096))]


def duplicate_code_lines():
    lines = order_lines()
    lines.insert(3, lines[2])
    return with_member(ORDER, b"".join(lines))


def code_whose_parent_is_missing():
    # Drop category A00 and renumber, so only the missing parent is wrong.
    lines = [line for line in order_lines() if line[6:13] != b"A00    "]
    renumbered = [b"%05d" % n + line[5:] for n, line in enumerate(lines, start=1)]
    return with_member(ORDER, b"".join(renumbered))


def addenda_as_order_file():
    return with_member(ORDER, fy2026_members()["icd10cm-order-addenda-2026.txt"])


def superscript_digit_in_an_order_number():
    # "²" passes str.isdigit() but not int(); the ASCII decode must refuse it first.
    lines = order_lines()
    lines[9] = "²".encode() + lines[9][1:]
    return with_member(ORDER, b"".join(lines))


def order_number_of_5000_digits():
    # The column width comes from line 1; int() refuses more than 4,300 digits.
    lines = order_lines()
    lines[0] = b"1" * 5000 + lines[0][5:]
    return with_member(ORDER, b"".join(lines))


def with_order_line(number: int, change) -> list[tuple[str, bytes]]:
    """The FY2026 zip with line `number` (1-based) of the order file changed by `change`."""
    lines = order_lines()
    lines[number - 1] = change(lines[number - 1])
    return with_member(ORDER, b"".join(lines))


def long_title_of_10_mb():
    return with_order_line(10, lambda line: line.rstrip(b"\r\n") + b" x" * 5_000_000 + b"\r\n")


def long_title_of_401_characters():
    return with_order_line(10, lambda line: line[:77] + b"y" * 401 + b"\r\n")


def control_characters_in_titles():
    return with_order_line(10, lambda line: line.replace(b"Typhoid", b"Typh\x1boid", 1))


def tab_in_a_short_title():
    return with_order_line(10, lambda line: line[:20] + b"\t" + line[21:])


def bare_carriage_return_in_a_title():
    return with_order_line(10, lambda line: line.replace(b"pneumonia", b"pneu\rmonia", 1))


def shifted_long_title():
    return with_order_line(10, lambda line: line[:77] + b" " + line[77:])


def trailing_space_on_every_line():
    lines = [line.rstrip(b"\r\n") + b"  \r\n" for line in order_lines()]
    return with_member(ORDER, b"".join(lines))


def codes_file_with_another_title():
    lines = fy2026_members()[CODES].splitlines(keepends=True)
    lines[5] = lines[5].replace(b"Typhoid", b"Paratyphoid", 1)
    return with_member(CODES, b"".join(lines))


def codes_file_title_with_bel():
    lines = fy2026_members()[CODES].splitlines(keepends=True)
    lines[5] = lines[5][:10] + b"\x07" + lines[5][10:]  # inside the title (column 9 on)
    return with_member(CODES, b"".join(lines))


def codes_file_as_order_file():
    return with_member(ORDER, fy2026_members()[CODES])


def addenda_count_of_5000_digits():
    # Line 764 of the addenda says "    487 additions" (codes); int() refuses 5,000 digits.
    data = fy2026_members()["icd10cm-order-addenda-2026.txt"]
    data = data.replace(b"    487 additions", b"    " + b"4" * 5000 + b" additions", 1)
    return with_member("icd10cm-order-addenda-2026.txt", data)


def codes_file_disagreeing():
    lines = fy2026_members()[CODES].splitlines(keepends=True)
    return with_member(CODES, b"".join(lines[:100] + lines[101:]))


# Zip cases ---------------------------------------------------------------------------------


def empty_zip():
    return [(ZIP_NAME, zipped({}))]


def zip_without_needed_members():
    return [(ZIP_NAME, zipped({"icd10OrderFiles.pdf": b"%PDF-1.4\n"}))]


def zip_with_only_the_codes_file():
    return [(ZIP_NAME, zipped({CODES: fy2026_members()[CODES]}))]


def nested_zip():
    return [(ZIP_NAME, zipped({"inner.zip": zipped(fy2026_members())}))]


def member_path_escaping_the_folder():
    return [(ZIP_NAME, zipped({f"../../{ORDER}": fy2026_members()[ORDER]}))]


def zip_bomb_by_ratio():
    return [(ZIP_NAME, zeros_zip(ORDER, 64))]


def zip_bomb_by_total_size():
    # Each member is plausible alone (ratio under 200:1, under 300 MB); together they claim 750.
    members = {f"icd10cm-order-part{n}.pdf": noise(1_400_000) for n in range(3)}
    archive = zipped(members, method=zipfile.ZIP_STORED)
    return [(ZIP_NAME, declare_sizes(archive, dict.fromkeys(members, 250 * 1024 * 1024)))]


def huge_single_member():
    archive = zipped({ORDER: noise(2_000_000)}, method=zipfile.ZIP_STORED)
    return [(ZIP_NAME, declare_sizes(archive, {ORDER: 320 * 1024 * 1024}))]


def compressible(megabytes: int) -> bytes:
    """About 100:1 under deflate: under the ratio a zip bomb has, far over a release's size."""
    data = bytearray(b" " * (megabytes * 1024 * 1024))
    letters = random.Random(megabytes).choices(b"abcdefghijklmnopqrstuvwxyz", k=len(data) // 300)
    data[: len(letters) * 300 : 300] = bytes(letters)
    return bytes(data)


def big_members_in_three_zips(*, claimed: int | None, megabytes=70) -> list[tuple[str, bytes]]:
    """Three small zips, each with one file of a role (order, codes, tabular XML) that unpacks
    to 70 MB; with `claimed`, their directories say that many bytes instead."""
    data = compressible(megabytes)
    xml = b"<?xml version='1.0'?><ICD10CM.tabular>" + data
    uploads = []
    for number, (name, content) in enumerate(((ORDER, data), (CODES, data), (XML_NAME, xml))):
        archive = zipped({name: content})
        if claimed is not None:
            archive = declare_sizes(archive, {name: claimed})
        uploads.append((f"part{number}.zip", archive))
    return uploads


def three_zips_too_big_together():
    return big_members_in_three_zips(claimed=None)


def three_zips_claiming_small_sizes():
    # zipfile reads no more than the directory claims, then finds the CRC wrong.
    return big_members_in_three_zips(claimed=10 * 1024 * 1024)


def three_zips_within_the_budget():
    return big_members_in_three_zips(claimed=None, megabytes=50)


def one_role_in_three_zips():
    archive = zipped({ORDER: compressible(70)})
    return [(f"copy{number}.zip", archive) for number in range(3)]


def icd10pcs_zip():
    line = b"00001 001     0 " + b"Central Nervous System, Bypass".ljust(60) + b" Bypass\r\n"
    return [("icd10pcs_order_2026.zip", zipped({"icd10pcs_order_2026.txt": line}))]


# XML cases ---------------------------------------------------------------------------------

TINY_XML = b"<ICD10CM.tabular><version>2026</version>%s</ICD10CM.tabular>"


def billion_laughs():
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    return [(XML_NAME, b"<?xml version='1.0'?><!DOCTYPE t [" + entities + b"]>" + TINY_XML % b"")]


def quadratic_blowup():
    entity = b"<!ENTITY a '" + b"x" * 50_000 + b"'>"
    body = b"&a;" * 50_000
    return [(XML_NAME, b"<!DOCTYPE t [" + entity + b"]>" + TINY_XML % body)]


def external_entity():
    doctype = b'<!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    return [(XML_NAME, doctype + TINY_XML % b"<chapter>&e;</chapter>")]


def external_dtd():
    return [(XML_NAME, b'<!DOCTYPE t SYSTEM "http://127.0.0.1:9/t.dtd">' + TINY_XML % b"")]


def malformed_xml():
    xml = FY2026_XML.read_bytes().replace(b"<name>Z53</name>", b"<name>Z53</nam>", 1)
    return [(XML_NAME, xml)]


def superscript_digit_as_chapter_number():
    # str.isdigit() is true for "²", and int("²") raises ValueError.
    xml = FY2026_XML.read_bytes().replace(b"<name>1</name>", "<name>²</name>".encode(), 1)
    return [(XML_NAME, xml)]


def chapter_number_of_5000_digits():
    # All ASCII digits, but int() refuses more than 4,300 of them.
    xml = FY2026_XML.read_bytes().replace(b"<name>1</name>", b"<name>%s</name>" % (b"1" * 5000), 1)
    return [(XML_NAME, xml)]


def arabic_indic_digits_as_version():
    # int("٢٠٢٦") is 2026: a garbled <version> would pass for the right year.
    xml = FY2026_XML.read_bytes().replace(
        b"<version>2026</version>", "<version>٢٠٢٦</version>".encode(), 1
    )
    return [(XML_NAME, xml)]


def deeply_nested_xml():
    return [(XML_NAME, TINY_XML % (b"<diag>" * 300 + b"</diag>" * 300))]


def order_file_and_xml_disagree():
    xml = FY2026_XML.read_bytes()
    z538 = xml.index(b"<name>Z53.8</name>")
    start = xml.rindex(b"<diag>", 0, z538)
    end = xml.index(b"</diag>", z538) + len(b"</diag>")
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (XML_NAME, xml[:start] + xml[end:])]


def chapter_desc_of_600_kb_of_no_break_spaces():
    # Quadratic for the chapter desc pattern this used to be (60 s and more).
    desc = "<desc>Neoplasms" + "\u00a0" * 600_000 + "(C00-D49</desc>"
    xml = FY2026_XML.read_bytes().replace(b"<desc>Neoplasms (C00-D49)</desc>", desc.encode(), 1)
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (XML_NAME, xml)]


def section_desc_of_600_kb_of_no_break_spaces():
    desc = "<desc>Intestinal infectious diseases" + "\u00a0" * 600_000 + "x (A00-A09)</desc>"
    xml = FY2026_XML.read_bytes().replace(
        b"<desc>Intestinal infectious diseases (A00-A09)</desc>", desc.encode(), 1
    )
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (XML_NAME, xml)]


def category_moved_into_chapter_1():
    # Z53 under section A00-A09: once stored, the diff reported "0 changes".
    xml = FY2026_XML.read_bytes()
    at = xml.index(b"<name>Z53</name>")
    start = xml.rindex(b"<diag>", 0, at)
    end = xml.index(b"\r\n      </diag>", at) + len(b"\r\n      </diag>")
    z53, xml = xml[start:end], xml[:start] + xml[end:]
    a01 = xml.rindex(b"<diag>", 0, xml.index(b"<name>A01</name>"))
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (XML_NAME, xml[:a01] + z53 + xml[a01:])]


def desc_of_401_characters_in_the_xml():
    xml = FY2026_XML.read_bytes().replace(
        b"<desc>Typhoid fever, unspecified</desc>", b"<desc>%s</desc>" % (b"x" * 401), 1
    )
    return [(XML_NAME, xml)]


def tab_inside_a_desc_in_the_xml():
    xml = FY2026_XML.read_bytes().replace(
        b"<desc>Typhoid fever, unspecified</desc>", b"<desc>Typhoid&#9;fever</desc>", 1
    )
    return [(XML_NAME, xml)]


def files_of_two_fiscal_years():
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (FY2025_XML.name, FY2025_XML.read_bytes())]


# Conversion table cases --------------------------------------------------------------------


def superscript_digits_as_effective_year():
    # Row 3 says 2017; "²⁰¹⁷" passes str.isdigit() but not int().
    book = load_workbook(FY2026_CONVERSION)
    book.worksheets[0]["B3"] = "²⁰¹⁷"
    buffer = io.BytesIO()
    book.save(buffer)
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (FY2026_CONVERSION.name, buffer.getvalue())]


def effective_year_of_5000_digits_as_text():
    # Row 3 says 2017; a text cell of 5,000 digits passes isdigit() but not int().
    book = load_workbook(FY2026_CONVERSION)
    book.worksheets[0]["B3"] = "1" * 5000
    buffer = io.BytesIO()
    book.save(buffer)
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (FY2026_CONVERSION.name, buffer.getvalue())]


def effective_year_of_5000_digits_as_number():
    # A number cell of 5,000 digits: openpyxl's own int() refuses it while reading the row.
    with zipfile.ZipFile(FY2026_CONVERSION) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    cell = b'<c r="B3" s="5"><v>2017</v></c>'
    assert cell in members[sheet]
    members[sheet] = members[sheet].replace(cell, b'<c r="B3" s="5"><v>%s</v></c>' % (b"1" * 5000))
    return [(ZIP_NAME, FY2026_ZIP.read_bytes()), (FY2026_CONVERSION.name, zipped(members))]


CASES = [
    (truncated_order_file, rf"{ORDER}, line \d+: the last line has no line ending", False),
    (garbled_order_file, rf"{ORDER}, line \d+: .*(binary|not ASCII)", False),
    (wrong_fixed_width, rf"{ORDER}, line 501: .*order file line", False),
    (invalid_utf8_order_file, rf"{ORDER}.*line 10", False),
    (binary_file_named_txt, rf"{ORDER}.*binary", True),
    (duplicate_code_lines, rf"{ORDER}, line 4: code A001 appears twice \(first on line 3\)", False),
    (code_whose_parent_is_missing, rf"{ORDER}, line 1: code A000 has no category A00", False),
    (addenda_as_order_file, rf"{ORDER}, line 1: this is an addenda file", False),
    (superscript_digit_in_an_order_number, rf"{ORDER}, line 10: byte 0xc2 is not ASCII", False),
    (order_number_of_5000_digits, rf"{ORDER}, line 1: order number of 5,000 digits", False),
    (codes_file_as_order_file, rf"{ORDER}, line 1: .*the codes file", False),
    (
        addenda_count_of_5000_digits,
        r"icd10cm-order-addenda-2026.txt, line 764: a count of 5,000 digits",
        False,
    ),
    (codes_file_disagreeing, rf"{CODES}: the codes file disagrees .* on 1 codes", False),
    (
        long_title_of_10_mb,
        rf"{ORDER}, line 10: A0103: the long title is 10,000,0\d\d characters long, more than "
        "the 400 allowed",
        False,
    ),
    (
        long_title_of_401_characters,
        rf"{ORDER}, line 10: A0103: the long title is 401 characters long",
        False,
    ),
    (control_characters_in_titles, rf"{ORDER}, line 10: A0103: the .* holds ESC", False),
    (tab_in_a_short_title, rf"{ORDER}, line 10: A0103: the short title holds a TAB", False),
    (bare_carriage_return_in_a_title, rf"{ORDER}, line 10: .* holds a carriage return", False),
    (shifted_long_title, rf"{ORDER}, line 10: A0103: the long title starts with a space", False),
    (
        codes_file_with_another_title,
        rf"{CODES}: the codes file disagrees with the release on 1 codes: A0102 \(line 6\) is "
        "titled 'Paratyphoid fever with heart involvement' in the codes file but 'Typhoid fever "
        "with heart involvement' in the order file",
        False,
    ),
    (codes_file_title_with_bel, rf"{CODES}, line 6: .*: the title holds BEL", False),
    (empty_zip, ZIP_NAME, True),
    (zip_without_needed_members, ZIP_NAME, True),
    (zip_with_only_the_codes_file, "no order file and no tabular XML", False),
    (nested_zip, rf"{ZIP_NAME}.*nested zip", True),
    (member_path_escaping_the_folder, rf"{ZIP_NAME}.*\.\./\.\./", True),
    (zip_bomb_by_ratio, rf"{ZIP_NAME}.*compressed more than 200:1", True),
    (zip_bomb_by_total_size, rf"{ZIP_NAME}.*600 MB", True),
    (huge_single_member, rf"{ZIP_NAME}.*300 MB", True),
    (icd10pcs_zip, r"icd10pcs_order_2026.*ICD-10-PCS", True),
    (three_zips_too_big_together, r"would unpack to 210 MB, more than the 160 MB", True),
    (three_zips_claiming_small_sizes, rf"part0.zip:{ORDER}: cannot be unpacked", True),
    (one_role_in_three_zips, rf"two order files were given, copy0.zip:{ORDER} and copy1", True),
    (billion_laughs, rf"{XML_NAME}, line 1: .*DOCTYPE", True),
    (quadratic_blowup, rf"{XML_NAME}, line 1: .*DOCTYPE", True),
    (external_entity, rf"{XML_NAME}, line 1: .*DOCTYPE", True),
    (external_dtd, rf"{XML_NAME}, line 1: .*DOCTYPE", True),
    (malformed_xml, rf"{XML_NAME}, line 237579: not well-formed XML", False),
    (superscript_digit_as_chapter_number, rf"{XML_NAME}, line 55, chapter: .*'²'", False),
    (chapter_number_of_5000_digits, rf"{XML_NAME}, line 55, chapter: .*5,000 digits", False),
    (arabic_indic_digits_as_version, rf"{XML_NAME}, line 3, version: .*'٢٠٢٦'", False),
    (deeply_nested_xml, rf"{XML_NAME}, line 1.*(nested|depth)", True),
    (order_file_and_xml_disagree, r"disagree on 1 codes: Z538 \(order file line \d+\)", False),
    (
        chapter_desc_of_600_kb_of_no_break_spaces,
        rf"{XML_NAME}, line \d+, chapter 2: chapter <desc> does not end with a code range like "
        r"\(A00-B99\): 'Neoplasms\\xa0.*\(600,017 characters\)$",
        False,
    ),
    (
        section_desc_of_600_kb_of_no_break_spaces,
        rf"{XML_NAME}, line \d+, section A00-A09: the section title is 600,031 characters long",
        False,
    ),
    (
        category_moved_into_chapter_1,
        rf"{XML_NAME}, line \d+, diag Z53: category Z53 lies outside its section A00-A09",
        False,
    ),
    (
        desc_of_401_characters_in_the_xml,
        rf"{XML_NAME}, line \d+, diag A01.00: the desc is 401 characters long",
        False,
    ),
    (tab_inside_a_desc_in_the_xml, rf"{XML_NAME}, line \d+, diag A01.00: .*holds a TAB", False),
    (
        superscript_digits_as_effective_year,
        rf'{FY2026_CONVERSION.name}, sheet "ICD-10-CM-Conversion-Table-FY26", row 3: .*effective',
        False,
    ),
    (
        effective_year_of_5000_digits_as_text,
        rf'{FY2026_CONVERSION.name}, sheet "ICD-10-CM-Conversion-Table-FY26", row 3: "1{{30}}" '
        "in the effective column is neither a year nor a date",
        False,
    ),
    (
        effective_year_of_5000_digits_as_number,
        rf'{FY2026_CONVERSION.name}, sheet "ICD-10-CM-Conversion-Table-FY26", row 3: '
        "cell B3 holds a number 5,000 characters long",
        False,
    ),
    (files_of_two_fiscal_years, r"two fiscal years.*FY2026.*FY2025|two fiscal years", False),
]


@pytest.fixture(scope="module")
def tables_before(django_db_setup, django_db_blocker):
    """The session's release tables, as every test here starts from them (each rolls back)."""
    with django_db_blocker.unblock():
        return release_tables_fingerprint()


@pytest.mark.parametrize(
    ("build", "message", "traced"), CASES, ids=[case.__name__ for case, _, _ in CASES]
)
def test_hostile_input_is_refused_by_name_quickly_and_changes_nothing(
    build, message, traced, tables_before
):
    files = build()
    temporary = set(os.listdir(tempfile.gettempdir()))
    if traced:
        tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ImportFileError, match=message):
            import_release(files, fiscal_year=2026, replace=True, publish=True)
        seconds = time.monotonic() - started
        peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()
    assert seconds < MAX_SECONDS
    assert peak_mb < MAX_TRACED_MB
    assert set(os.listdir(tempfile.gettempdir())) <= temporary
    assert release_tables_fingerprint() == tables_before


def test_a_refused_zip_bomb_is_never_inflated():
    bomb = zeros_zip(ORDER, 64)
    assert len(bomb) < 1024 * 1024
    assert zlib.compress(bytes(10)) != bomb  # the bomb is real deflate data, not a stub
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError):
            import_release([(ZIP_NAME, bomb)])
        assert tracemalloc.get_traced_memory()[1] < 16 * 1024 * 1024
    finally:
        tracemalloc.stop()


RSS_CHILD = """
import re, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from codes.importer.errors import ImportFileError
from codes.importer.sources import read_sources

def peak_mb():
    # VmHWM: this process's own peak (getrusage's ru_maxrss keeps the forking parent's).
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024

files = [(path.name, path.read_bytes()) for path in sorted(Path(sys.argv[2]).iterdir())]
before = peak_mb()
try:
    read_sources(files)
    print("accepted")
except ImportFileError as error:
    print(error)
print(peak_mb() - before)
"""


@pytest.mark.parametrize(
    ("build", "most_mb"),
    [
        (three_zips_too_big_together, 16),
        (three_zips_claiming_small_sizes, 32),
        (one_role_in_three_zips, 16),
        # 150 MB of files with a role, under the 160 MB budget: read, at no more than it costs.
        (three_zips_within_the_budget, 320),
    ],
)
def test_an_upload_of_big_files_takes_bounded_memory(build, most_mb, tmp_path):
    """Peak RSS of a process reading the upload, above what the upload itself takes: the whole
    upload has one budget, and clashes are found before anything is unpacked."""
    for name, data in build():
        (tmp_path / name).write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(REPO), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    message, grown_mb = result.stdout.strip().splitlines()
    assert (message == "accepted") == (build is three_zips_within_the_budget), message
    # Before: three uploads like these took a worker from 270 MB to 2.0 GB.
    assert int(grown_mb) < most_mb, message


def test_a_refusal_quotes_a_bounded_excerpt_of_what_it_refuses():
    """A message built around 600 KB of a file's text keeps its start and its end (the reason),
    not the 600 KB: runs, admin pages and audit events stay small."""
    description = "Cholera" + "\u00a0" * 600_000 + "due to Vibrio"
    error = ImportFileError(
        f'the chapter description "{description}" is not a chapter', element="x" * 5000
    )
    assert len(str(error)) < 1_400
    assert str(error).startswith("x" * 100)
    assert error.message.startswith('the chapter description "Cholera')
    assert error.message.endswith('due to Vibrio" is not a chapter')
    assert "characters…]" in error.message
