"""CMS conversion table (ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx) -> one ConversionRow per row.

The table lists every code added since FY2016 with the date it took effect and the code(s) it
was coded as before ("Previous Code(s) Assignment"). Read backwards, it says what replaced a
deleted code: T78.07XA -> T78.070A, T78.071A, T78.079A. Pure: bytes in, frozen dataclasses out.

Layout seen in the FY2026 file: one sheet, a paragraph of prose in row 1, the header row
"Current code assignment | Effective | Previous Code(s) Assignment" in row 2, then one row per
current code (a few codes appear twice, once per previous-code group). "Effective" is a year,
meaning October 1 of that year (so 2025 is FY2026), or a date for mid-year changes
(2023-04-01). The previous-code cell is free text: "A04.7", "C50.919, C50.929",
"C56.1 and C56.2", "G93.3; R53.82", "H02.101-H02.106; H02.109", "I63.- and P91.88",
"Codes in Categories T15-T19", "None".
"""

import datetime
import io
import re
import zipfile
from dataclasses import dataclass

from lxml import etree

from codes.fiscal import fiscal_year_of
from codes.icd10 import is_well_formed, undotted
from codes.importer.errors import ImportFileError

# The FY2026 table has 5,897 rows and unpacks to about 1 MB; anything far bigger is not one.
MAX_ROWS = 100_000
_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
_MAX_RATIO = 200
_RATIO_FLOOR_BYTES = 1024 * 1024
# The header row is near the top, below a paragraph of prose.
_HEADER_SEARCH_ROWS = 20
# An "Effective" year as digits: 2025. Longer runs are refused before int() sees them (it
# refuses more than 4,300 digits with a bare ValueError).
_YEAR_DIGITS = 4
# Excel writes a number in at most about 24 characters ("-1.2345678901234567E-308"); a stored
# number, shared-string index or style far longer than this is what stopped openpyxl.
_MAX_NUMBER_CHARS = 100
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# A code as written in the table: dotted or not; at least one digit (so "AND", "CODE" are words).
_CODE_TOKEN_RE = re.compile(r"(?<![0-9A-Z.])([A-Z][0-9A-Z]{2}(?:\.?[0-9A-Z]{1,4})?)(?![0-9A-Z])")
_RANGE_DASH_RE = re.compile(r"\s*-\s*")
_WILDCARD_RE = re.compile(r"\.?-")


@dataclass(frozen=True)
class PreviousCode:
    """One code, or a range, that a current code was assigned from.

    `last` is "" for a single code. A range is inclusive; its ends may be codes
    ("H02.101-H02.106") or categories ("Codes in Categories T15-T19", and "I63.-", a whole
    category, is the range I63-I63).
    """

    first: str  # undotted
    last: str = ""  # undotted; "" for a single code

    @property
    def is_range(self) -> bool:
        return bool(self.last)


@dataclass(frozen=True)
class ConversionRow:
    current_code: str  # undotted
    effective_date: datetime.date
    fiscal_year: int
    previous: tuple[PreviousCode, ...]  # () when the table says "None"
    previous_text: str  # the cell as written
    sheet: str
    row: int  # 1-based, as Excel numbers rows


def parse_conversion_table(data: bytes, *, filename: str) -> list[ConversionRow]:
    _check_package(data, filename=filename)
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged or foreign file
        raise ImportFileError(
            f"is not a readable Excel workbook ({type(error).__name__}); "
            "the conversion table is the .xlsx CMS publishes",
            file=filename,
        ) from None
    try:
        for sheet in workbook.worksheets:
            rows = _sheet_rows(sheet, filename=filename)
            if rows is not None:
                return rows
    except ImportFileError:
        raise
    except Exception as error:  # damaged XML inside the package shows up while reading rows
        raise ImportFileError(
            f"cannot be read as an Excel workbook ({type(error).__name__})", file=filename
        ) from None
    finally:
        workbook.close()
    names = ", ".join(f'"{sheet.title}"' for sheet in workbook.worksheets)
    raise ImportFileError(
        'no sheet has the columns "Current code assignment", "Effective" and '
        f'"Previous Code(s) Assignment" (sheets: {names})',
        file=filename,
    )


def parse_previous_codes(text: str) -> tuple[PreviousCode, ...]:
    """The codes and ranges named in a previous-code cell, in the order written."""
    upper = text.upper()
    tokens = [m for m in _CODE_TOKEN_RE.finditer(upper) if any(c.isdigit() for c in m[1][:3])]
    found: list[PreviousCode] = []
    position = 0
    while position < len(tokens):
        match = tokens[position]
        code = undotted(match[1])
        following = tokens[position + 1] if position + 1 < len(tokens) else None
        if following is not None and _RANGE_DASH_RE.fullmatch(
            upper[match.end() : following.start()]
        ):
            found.append(PreviousCode(code, undotted(following[1])))  # "H02.101-H02.106"
            position += 2
            continue
        if _WILDCARD_RE.match(upper, match.end()):
            found.append(PreviousCode(code, code))  # "I63.-", "R11-": the whole category
        else:
            found.append(PreviousCode(code))
        position += 1
    return tuple(found)


def _check_package(data: bytes, *, filename: str) -> None:
    """Refuse by its directory alone a zip that would unpack to far more than a table can be."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise ImportFileError(
            "is not an Excel (.xlsx) file, but its name says it is the conversion table",
            file=filename,
        ) from None
    with archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            ratio_too_high = (
                info.file_size > _RATIO_FLOOR_BYTES
                and info.file_size > _MAX_RATIO * max(info.compress_size, 1)
            )
            if total > _MAX_UNPACKED_BYTES or ratio_too_high:
                raise ImportFileError(
                    f"unpacks to far more than a conversion table can ({info.filename}: "
                    f"{info.file_size} bytes from {info.compress_size}); refused",
                    file=filename,
                )


def _sheet_rows(sheet, *, filename: str) -> list[ConversionRow] | None:
    """The rows of a sheet that has the table's header, else None."""
    columns = None
    rows: list[ConversionRow] = []
    for number, values in _numbered_rows(sheet, filename=filename):
        if columns is None:
            columns = _header_columns(values)
            if columns is None and number >= _HEADER_SEARCH_ROWS:
                return None
            continue
        if number > MAX_ROWS:
            raise ImportFileError(
                f"has more than {MAX_ROWS:,} rows; a conversion table has a few thousand",
                file=filename,
                element=f'sheet "{sheet.title}"',
            )
        cells = [values[i] if i < len(values) else None for i in columns]
        if all(cell is None or str(cell).strip() == "" for cell in cells):
            continue
        rows.append(_row(cells, sheet=sheet.title, number=number, filename=filename))
    if columns is None:
        return None
    if not rows:
        raise ImportFileError(
            "has the conversion table's header row but no rows below it",
            file=filename,
            element=f'sheet "{sheet.title}"',
        )
    return rows


def _numbered_rows(sheet, *, filename: str):
    """(row number as Excel numbers it, values) for each row of a read-only sheet.

    openpyxl converts cells while it reads a row; a number cell of thousands of digits makes
    its own int() raise. That row is refused by sheet and row, not as a damaged workbook.
    """
    # The sheet's <dimension> is what the writer claims, not what it wrote: read to the end.
    sheet.reset_dimensions()
    values = sheet.iter_rows(values_only=True)  # pads missing rows, so a count is the number
    number = 0
    while True:
        try:
            row = next(values)
        except StopIteration:
            return
        except Exception as error:
            raise _unreadable_row(sheet, after=number, error=error, filename=filename) from None
        number += 1
        yield number, row


def _unreadable_row(sheet, *, after: int, error: Exception, filename: str) -> ImportFileError:
    row, why = _locate_unreadable(sheet, after=after)
    if row is None:
        return ImportFileError(
            f"cannot be read after row {after} ({type(error).__name__})",
            file=filename,
            element=f'sheet "{sheet.title}"',
        )
    message = why or f"a cell cannot be read ({type(error).__name__})"
    return ImportFileError(message, file=filename, element=f'sheet "{sheet.title}", row {row}')


def _locate_unreadable(sheet, *, after: int) -> tuple[int | None, str]:
    """The row openpyxl stopped at (the first after `after` in the sheet's XML) and what in it
    is too long to be read, "" when no cell stands out; (None, "") when the row cannot be told.
    Runs only once reading has failed, on a package _check_package has bounded."""
    try:
        source = sheet._get_source()  # openpyxl's read-only sheet: its XML member, opened
    except Exception:
        return None, ""
    with source:
        number = 0
        try:
            for _, element in etree.iterparse(
                source,
                tag=f"{_SHEET_NS}row",
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
            ):
                r = element.get("r")
                if r is None:
                    number += 1
                elif r.isascii() and r.isdigit() and len(r) <= 7:
                    number = int(r)
                else:
                    return None, ""
                if number > after:
                    return number, _overlong_cell(element)
                element.clear()
        except etree.LxmlError:
            return None, ""
    return None, ""


def _overlong_cell(row: etree._Element) -> str:
    """What makes openpyxl's int() fail in a row of sheet XML, "" if nothing stands out."""
    for cell in row.iterchildren(f"{_SHEET_NS}c"):
        reference = (cell.get("r") or "")[:_MAX_NUMBER_CHARS] or "without a reference"
        # Number, shared-string index, boolean: the values openpyxl converts with int().
        if cell.get("t", "n") in ("n", "s", "b"):
            value = cell.findtext(f"{_SHEET_NS}v") or ""
            if len(value) > _MAX_NUMBER_CHARS:
                return f"cell {reference} holds a number {len(value):,} characters long; refused"
        style = cell.get("s", "")
        if len(style) > _MAX_NUMBER_CHARS:
            return f"cell {reference} has a style number {len(style):,} characters long; refused"
    return ""


def _header_columns(values: tuple) -> tuple[int, int, int] | None:
    """Positions of the current-code, effective and previous-code columns in a header row."""
    words = [str(value).strip().lower() if value is not None else "" for value in values]
    try:
        current = next(i for i, w in enumerate(words) if w.startswith("current"))
        effective = next(i for i, w in enumerate(words) if w.startswith("effective"))
        previous = next(i for i, w in enumerate(words) if w.startswith("previous"))
    except StopIteration:
        return None
    return current, effective, previous


def _row(cells: list, *, sheet: str, number: int, filename: str) -> ConversionRow:
    where = f'sheet "{sheet}", row {number}'
    current_cell, effective_cell, previous_cell = cells
    current = undotted(str(current_cell or ""))
    if not is_well_formed(current):
        raise ImportFileError(
            f'"{str(current_cell or "").strip()[:30]}" in the current code column is not an '
            "ICD-10-CM code",
            file=filename,
            element=where,
        )
    effective_date = _effective_date(effective_cell)
    if effective_date is None:
        raise ImportFileError(
            f'"{str(effective_cell or "").strip()[:30]}" in the effective column is neither '
            "a year nor a date",
            file=filename,
            element=where,
        )
    previous_text = " ".join(str(previous_cell or "").split())
    previous = parse_previous_codes(previous_text)
    if not previous and previous_text.lower() not in ("", "none"):
        raise ImportFileError(
            f'"{previous_text[:60]}" in the previous code column names no ICD-10-CM code',
            file=filename,
            element=where,
        )
    return ConversionRow(
        current_code=current,
        effective_date=effective_date,
        fiscal_year=fiscal_year_of(effective_date),
        previous=previous,
        previous_text=previous_text,
        sheet=sheet,
        row=number,
    )


def _effective_date(value: object) -> datetime.date | None:
    """A year means October 1 of that year, the start of the next fiscal year."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        # isdigit() alone takes "²⁰²⁵" (which int() refuses) and "٢٠٢٥" (which it reads).
        if text.isascii() and text.isdigit():
            if len(text) > _YEAR_DIGITS:
                return None  # not a year; int() would refuse it past 4,300 digits
            value = int(text)
        else:
            try:
                return datetime.date.fromisoformat(text[:10])
            except ValueError:
                return None
    if isinstance(value, int) and not isinstance(value, bool) and 2000 < value < 2100:
        return datetime.date(value, 10, 1)
    return None
