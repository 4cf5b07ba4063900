"""read_sources: finding a release's members by role in real CMS uploads and in hostile ones."""

import datetime
import io
import zipfile
from pathlib import Path

import pytest

from codes.importer.errors import ImportFileError
from codes.importer.sources import (
    CODES,
    CODES_ADDENDA,
    CONVERSION_TABLE,
    ORDER,
    ORDER_ADDENDA,
    TABULAR,
    detect_release_date,
    read_sources,
)

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "cms"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "cms"

ORDER_LINE = b"00001 A00     0 Cholera" + b" " * 53 + b" Cholera\r\n"


def bundled(relative: str) -> tuple[str, bytes]:
    path = BUNDLED / relative
    if not path.exists():
        path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{relative} is neither in data/cms nor in ../shared/cms")
    return path.name, path.read_bytes()


def shared(relative: str) -> tuple[str, bytes]:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{relative} needs ../shared/cms, which is absent")
    return path.name, path.read_bytes()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def refused(files: list[tuple[str, bytes]]) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        read_sources(files)
    return caught.value


# Real CMS files


def test_it_finds_the_fy2024_members_and_dates():
    sources = read_sources([shared("fy2024/icd10cm-CodesDescriptions-2024.zip")])

    assert set(sources.members) == {ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA}
    order = sources.get(ORDER)
    assert order is not None
    assert order.name == "icd10cm-CodesDescriptions-2024.zip:icd10cm-order-2024.txt"
    assert order.data.startswith(b"00001 A00")
    assert sources.fiscal_year == 2024
    assert sources.effective_date == datetime.date(2023, 10, 1)
    assert sources.ignored == (
        "icd10cm-CodesDescriptions-2024.zip:icd10cmCodesFile.pdf",
        "icd10cm-CodesDescriptions-2024.zip:icd10OrderFiles.pdf",
    )


def test_it_finds_the_fy2025_members_with_the_april_xml():
    sources = read_sources(
        [
            bundled("fy2025/ICD10-CM Code Descriptions 2025.zip"),
            bundled("fy2025/icd10cm-tabular-April-2025.xml"),
        ]
    )

    assert set(sources.members) == {ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA, TABULAR}
    assert sources.members[CODES].name.endswith(":icd10cm-codes-2025.txt")
    assert sources.members[TABULAR].name == "icd10cm-tabular-April-2025.xml"
    assert sources.fiscal_year == 2025
    assert sources.effective_date == datetime.date(2024, 10, 1)
    assert [f.name for f in sources.files] == [
        "ICD10-CM Code Descriptions 2025.zip",
        "icd10cm-tabular-April-2025.xml",
    ]
    assert len(sources.files[0].sha256) == 64
    assert sources.files[0].size == 2318003


def test_it_dates_the_april_2025_update_april_first():
    sources = read_sources([shared("fy2025/Code-desciptions-April-2025.zip")])

    assert set(sources.members) == {ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA}
    assert sources.members[ORDER].name.endswith(":icd10cm-order-April-2025.txt")
    assert sources.fiscal_year == 2025
    assert sources.effective_date == datetime.date(2025, 4, 1)


def test_it_takes_the_october_date_when_fy2026_comes_with_the_april_2026_xml():
    sources = read_sources(
        [
            bundled("fy2026/icd10cm-Code Descriptions-2026.zip"),
            bundled("fy2026/icd10cm-tabular-April-1-2026.xml"),
        ]
    )

    assert set(sources.members) == {ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA, TABULAR}
    assert sources.fiscal_year == 2026
    assert sources.effective_date == datetime.date(2025, 10, 1)


def test_it_takes_the_conversion_table_as_one_file():
    sources = read_sources(
        [
            bundled("fy2026/icd10cm-Code Descriptions-2026.zip"),
            shared("fy2026/ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx"),
        ]
    )

    table = sources.members[CONVERSION_TABLE]
    assert table.name == "ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx"
    assert table.data.startswith(b"PK\x03\x04")
    assert sources.fiscal_year == 2026


def test_it_finds_the_poa_exempt_files_by_content_and_passes_over_their_spreadsheets():
    sources = read_sources([shared("fy2026/POAexemptCodesFY26.zip")])

    assert not sources.has_release_files  # added to a loaded release (codes.importer.run)
    assert sorted(member.name for member in sources.poa_members) == [
        "POAexemptCodesFY26.zip:POAexemptAddCodesFY26.txt",
        "POAexemptCodesFY26.zip:POAexemptCodesFY26.txt",
        "POAexemptCodesFY26.zip:POAexemptDeleteCodesFY26.txt",
        "POAexemptCodesFY26.zip:POAexemptReviseCodesFY26.txt",
        "POAexemptCodesFY26.zip:ReadMePOAexemptFY26.txt",
    ]
    assert "POAexemptCodesFY26.zip:POAexemptCodesFY26.xlsx" in sources.ignored
    assert sources.fiscal_year == 2026


def test_it_refuses_files_of_two_fiscal_years():
    error = refused(
        [
            bundled("fy2025/ICD10-CM Code Descriptions 2025.zip"),
            bundled("fy2026/icd10cm-tabular-April-1-2026.xml"),
        ]
    )

    assert "two fiscal years" in error.message
    assert "FY2025" in error.message and "FY2026" in error.message
    assert "icd10cm-tabular-April-1-2026.xml" in str(error)


def test_it_refuses_a_truncated_zip():
    name, data = bundled("fy2025/ICD10-CM Code Descriptions 2025.zip")

    error = refused([(name, data[: len(data) // 2])])

    assert error.file == "ICD10-CM Code Descriptions 2025.zip"
    assert "damaged or cut short" in error.message


# Names


@pytest.mark.parametrize(
    ("member", "role"),
    [
        ("icd10cm_order_2025.txt", ORDER),
        ("icd10cm-order-2026.txt", ORDER),
        ("icd10cm-order-Jan-2021.txt", ORDER),
        ("icd10cm-order-April-2025.txt", ORDER),
        ("Code Descriptions/icd10cm_order_2022.txt", ORDER),
        ("2021-code-descriptions-tabular-order/icd10cm_order_2021.txt", ORDER),
        ("ICD10CM ORDER 2025.TXT", ORDER),
        ("icd10cm_codes_2025.txt", CODES),
        ("icd10cm-codes-April-2025.txt", CODES),
        ("icd10cm_order_addenda_2025.txt", ORDER_ADDENDA),
        ("icd10cm-codes-addenda-2024.txt", CODES_ADDENDA),
        ("icd10cm_tabular_2025.xml", TABULAR),
        ("icd10cm-tabular-April-1-2026.xml", TABULAR),
    ],
)
def test_it_finds_a_member_by_role_whatever_its_folder_and_separators(member, role):
    data = b"<ICD10CM.tabular/>" if role == TABULAR else ORDER_LINE

    sources = read_sources([("upload.zip", make_zip({member: data}))])

    assert list(sources.members) == [role]
    assert sources.members[role].name == f"upload.zip:{member}"
    assert sources.members[role].data == data


@pytest.mark.parametrize(
    "member",
    [
        "icd10cm_index_2025.xml",
        "icd10cm_eindex_2025.xml",
        "icd10cm_drug_2025.xml",
        "icd10cm_neoplasm_2025.xml",
        "icd10cm_tabular_2025.xsd",
        "icd10OrderFiles.pdf",
        "README.txt",
        "POAexemptCodesFY26.txt",
    ],
)
def test_it_passes_over_members_without_a_role(member):
    upload = make_zip({member: b"<x/>", "icd10cm_order_2025.txt": ORDER_LINE})

    sources = read_sources([("upload.zip", upload)])

    assert list(sources.members) == [ORDER]
    assert sources.ignored == (f"upload.zip:{member}",)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("icd10cm_order_2025.txt", (2025, datetime.date(2024, 10, 1))),
        ("icd10cm-order-Jan-2021.txt", (2021, datetime.date(2021, 1, 1))),
        ("icd10cm-order-April-2025.txt", (2025, datetime.date(2025, 4, 1))),
        ("icd10cm-tabular-April-1-2026.xml", (2026, datetime.date(2026, 4, 1))),
        ("Code-desciptions-Apr-2025.zip", (2025, datetime.date(2025, 4, 1))),
        ("POAexemptCodesFY26.zip", (2026, None)),
        ("ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx", (2026, None)),
        ("2021-code-descriptions-tabular-order", (2021, datetime.date(2020, 10, 1))),
        ("Code Descriptions", None),
        # Only ASCII digits make a year: int() would read "٢٥" as 25.
        ("icd10cm_order_20٢٥.txt", None),
        ("POAexemptCodesFY٢٦.zip", None),
    ],
)
def test_it_reads_the_release_date_from_a_name(name, expected):
    assert detect_release_date(name) == expected


def test_it_dates_a_member_by_its_folder_then_by_its_zip():
    in_folder = make_zip({"2021 Code Descriptions/icd10cm_order.txt": ORDER_LINE})
    in_zip = make_zip({"icd10cm_order.txt": ORDER_LINE})

    by_folder = read_sources([("Code Descriptions zip.zip", in_folder)])
    by_zip = read_sources([("Code-desciptions-April-2025.zip", in_zip)])

    assert (by_folder.fiscal_year, by_folder.effective_date) == (2021, datetime.date(2020, 10, 1))
    assert (by_zip.fiscal_year, by_zip.effective_date) == (2025, datetime.date(2025, 4, 1))


def test_it_leaves_the_date_empty_when_no_name_carries_one():
    sources = read_sources([("icd10cm_order.txt", ORDER_LINE)])

    assert sources.members[ORDER].name == "icd10cm_order.txt"
    assert (sources.fiscal_year, sources.effective_date) == (None, None)


def test_it_names_an_upload_by_its_base_name():
    sources = read_sources([("C:\\Users\\me\\icd10cm_order_2025.txt", ORDER_LINE)])

    assert sources.files[0].name == "icd10cm_order_2025.txt"
    assert sources.members[ORDER].name == "icd10cm_order_2025.txt"


# Refusals


def test_it_refuses_a_path_that_climbs_out_of_the_zip():
    upload = make_zip({"../../x.txt": b"x", "icd10cm_order_2025.txt": ORDER_LINE})

    error = refused([("evil.zip", upload)])

    assert error.file == "evil.zip:../../x.txt"
    assert "'..'" in error.message


def test_it_refuses_a_backslash_path_that_climbs_out_of_the_zip():
    error = refused([("evil.zip", make_zip({"a\\..\\..\\x.txt": b"x"}))])

    assert error.file.startswith("evil.zip:")


@pytest.mark.parametrize("member", ["/etc/icd10cm_order_2025.txt", "C:/icd10cm_order_2025.txt"])
def test_it_refuses_an_absolute_path(member):
    error = refused([("evil.zip", make_zip({member: ORDER_LINE}))])

    assert error.file == f"evil.zip:{member}"
    assert "absolute path" in error.message


def test_it_refuses_a_zip_bomb_before_inflating_it():
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("icd10cm_order_2025.txt", "w") as member,
    ):
        zeros = bytes(1024 * 1024)
        for _ in range(50):
            member.write(zeros)

    error = refused([("bomb.zip", buffer.getvalue())])

    assert error.file == "bomb.zip:icd10cm_order_2025.txt"
    assert "zip bomb" in error.message


def test_it_refuses_a_member_bigger_than_its_header_says():
    upload = bytearray(make_zip({"icd10cm_order_2025.txt": ORDER_LINE * 1000}))
    # Make the central directory understate the uncompressed size.
    directory = upload.index(b"PK\x01\x02")
    upload[directory + 24 : directory + 28] = (100).to_bytes(4, "little")

    error = refused([("lying.zip", bytes(upload))])

    assert error.file == "lying.zip:icd10cm_order_2025.txt"


def test_it_refuses_a_zip_with_too_many_members():
    members = {f"page{n}.pdf": b"" for n in range(201)}
    members["icd10cm_order_2025.txt"] = ORDER_LINE

    error = refused([("many.zip", make_zip(members))])

    assert error.file == "many.zip"
    assert "202 members" in error.message


def test_it_refuses_a_nested_zip():
    inner = make_zip({"icd10cm_order_2025.txt": ORDER_LINE})

    error = refused([("outer.zip", make_zip({"Code Descriptions.zip": inner}))])

    assert error.file == "outer.zip:Code Descriptions.zip"
    assert "nested zip" in error.message and "unpack it" in error.message


def test_it_refuses_a_nested_zip_hidden_under_a_text_name():
    inner = make_zip({"icd10cm_order_2025.txt": ORDER_LINE})

    error = refused([("outer.zip", make_zip({"icd10cm_order_2025.txt": inner}))])

    assert error.file == "outer.zip:icd10cm_order_2025.txt"
    assert "nested zip" in error.message


@pytest.mark.parametrize(
    "member", ["icd10pcs_order_2025.txt", "Zip File 2025/icd10pcs_tables_2025.xml"]
)
def test_it_refuses_an_icd10pcs_file(member):
    error = refused([("pcs.zip", make_zip({member: ORDER_LINE}))])

    assert error.file == f"pcs.zip:{member}"
    assert "ICD-10-PCS" in error.message


def test_it_refuses_a_bare_icd10pcs_order_file():
    error = refused([("icd10pcs_order_2025.txt", ORDER_LINE)])

    assert error.file == "icd10pcs_order_2025.txt"
    assert "not ICD-10-CM" in error.message


def test_it_refuses_an_empty_zip():
    error = refused([("empty.zip", make_zip({}))])

    assert error.file == "empty.zip"
    assert "empty zip" in error.message


def test_it_refuses_two_order_files():
    error = refused(
        [
            ("a.zip", make_zip({"icd10cm_order_2025.txt": ORDER_LINE})),
            ("icd10cm-order-2025.txt", ORDER_LINE),
        ]
    )

    assert "two order files" in error.message
    assert "a.zip:icd10cm_order_2025.txt" in error.message
    assert "icd10cm-order-2025.txt" in error.message


def test_it_refuses_two_order_files_in_one_zip():
    upload = make_zip(
        {"icd10cm_order_2025.txt": ORDER_LINE, "old/icd10cm_order_2024.txt": ORDER_LINE}
    )

    error = refused([("both.zip", upload)])

    assert "two order files" in error.message
    assert error.file == "both.zip:old/icd10cm_order_2024.txt"


def test_it_refuses_a_binary_file_named_txt():
    error = refused([("icd10cm_order_2025.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")])

    assert error.file == "icd10cm_order_2025.txt"
    assert "binary file" in error.message


def test_it_refuses_a_binary_file_without_a_role():
    error = refused([("notes.txt", b"\xff\xfe\x00n\x00o")])

    assert error.file == "notes.txt"
    assert "binary file" in error.message


def test_it_refuses_text_that_is_not_utf8_and_says_where():
    error = refused([("icd10cm_order_2025.txt", ORDER_LINE + b"00002 A000    1 Caf\xe9\r\n")])

    assert error.file == "icd10cm_order_2025.txt"
    assert error.line == 2


def test_it_refuses_a_zip_that_is_not_a_zip():
    error = refused([("ICD10-CM Code Descriptions 2025.zip", ORDER_LINE)])

    assert error.file == "ICD10-CM Code Descriptions 2025.zip"
    assert "not a zip file" in error.message


def test_it_refuses_an_xml_file_named_as_the_order_file():
    error = refused([("icd10cm_order_2025.txt", b"<?xml version='1.0'?><x/>")])

    assert "is XML" in error.message


def test_it_refuses_a_tabular_file_that_is_not_xml():
    error = refused([("icd10cm_tabular_2025.xml", ORDER_LINE)])

    assert error.file == "icd10cm_tabular_2025.xml"
    assert "not XML" in error.message


def test_it_refuses_a_zip_without_release_files_and_lists_what_it_holds():
    upload = make_zip({"readme.txt": b"hello", "docs/guide.pdf": b"%PDF"})

    error = refused([("other.zip", upload)])

    assert error.file == "other.zip"
    assert "readme.txt" in error.message and "docs/guide.pdf" in error.message


def test_it_refuses_an_encrypted_member():
    upload = bytearray(make_zip({"icd10cm_order_2025.txt": ORDER_LINE}))
    # Set the "encrypted" flag in the central directory; zipfile cannot write encrypted zips.
    directory = upload.index(b"PK\x01\x02")
    upload[directory + 8] |= 0x1

    error = refused([("locked.zip", bytes(upload))])

    assert error.file == "locked.zip:icd10cm_order_2025.txt"
    assert "encrypted" in error.message


def test_it_refuses_a_member_whose_data_is_damaged():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("icd10cm_order_2025.txt", ORDER_LINE)
    upload = bytearray(buffer.getvalue())
    upload[upload.index(b"Cholera")] ^= 0xFF

    error = refused([("damaged.zip", bytes(upload))])

    assert error.file == "damaged.zip:icd10cm_order_2025.txt"
    assert "damaged" in error.message


def test_it_refuses_an_upload_with_no_release_file():
    error = refused([("notes.txt", b"hello")])

    assert "notes.txt" in error.message
