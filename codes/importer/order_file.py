"""Order file (icd10cm_order_YYYY.txt) -> one OrderEntry per line: the source of truth for codes.

Fixed width (see docs/cms-formats.md): order number, code, flag, short title padded to 60, long
title. We slice by column rather than split on spaces because thousands of short titles fill all
60 columns. Pure: bytes in, frozen dataclasses out.
"""

import re
from dataclasses import dataclass

from codes.icd10 import UNDOTTED_CODE_RE
from codes.importer.errors import ImportFileError
from codes.importer.titles import MAX_LONG_TITLE, MAX_SHORT_TITLE, title_problem

# "00001 A00     0 Cholera<53 spaces> Cholera". The order number is 5 digits today; allow
# more, since 99,999 lines is close (FY2026 has 98,186) and CMS will have to widen it.
ORDER_LINE_RE = re.compile(
    r"(?P<number>[0-9]{5,}) (?P<code>[0-9A-Za-z ]{7}) (?P<flag>[01]) (?P<short>.{60}) (?P<long>.+)"
)
ADDENDA_LINE_RE = re.compile(r"(Add|Delete|Revise from|Revise to):")
# A wider order number is expected one day, but 9 digits would number a billion lines; a longer
# run of digits is not an order number (and int() refuses more than 4,300 digits outright).
MAX_ORDER_NUMBER_DIGITS = 9


@dataclass(frozen=True)
class OrderEntry:
    sequence: int  # the order number: tabular position in this release, not an identifier
    code: str  # undotted
    is_billable: bool
    short_title: str
    long_title: str
    line: int


def decode_lines(data: bytes, *, filename: str) -> list[str]:
    """Split a CMS text file into lines, refusing what cannot be one (binary, non-ASCII)."""
    if b"\x00" in data:
        raise ImportFileError("this is a binary file, not a CMS text file", file=filename)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(
            f"byte 0x{data[error.start]:02x} is not ASCII; CMS text files are plain ASCII",
            file=filename,
            line=line,
        ) from None
    if not text:
        raise ImportFileError("the file is empty", file=filename)
    if not text.endswith("\n"):
        # Every CMS line ends with CRLF, the last one too: a missing end means a cut-off file.
        lines = text.split("\n")
        raise ImportFileError(
            "the last line has no line ending: the file looks truncated",
            file=filename,
            line=len(lines),
        )
    return [line.removesuffix("\r") for line in text[:-1].split("\n")]


def parse_order_file(data: bytes, *, filename: str) -> list[OrderEntry]:
    lines = decode_lines(data, filename=filename)
    entries: list[OrderEntry] = []
    seen: dict[str, int] = {}
    # The order number is 5 digits wide today; a wider one shifts every column after it.
    width = max(5, len(lines[0]) - len(lines[0].lstrip("0123456789")))
    if width > MAX_ORDER_NUMBER_DIGITS:
        # Every line is sliced at this width, so bounding line 1 bounds every order number.
        raise ImportFileError(
            f"order number of {width:,} digits; the order file's has 5 "
            f"(at most {MAX_ORDER_NUMBER_DIGITS} accepted)",
            file=filename,
            line=1,
        )
    for number, line in enumerate(lines, start=1):
        # Column checks on slices: a regex per line costs a third of the import's parse time.
        flag = line[width + 9 : width + 10]
        if not (
            len(line) > width + 72
            and line[width] == line[width + 8] == line[width + 10] == line[width + 71] == " "
            and flag in ("0", "1")
            # decode_lines has refused non-ASCII, but isdigit() alone would take "²".
            and line[:width].isascii()
            and line[:width].isdigit()
        ):
            raise ImportFileError(_why_not_an_order_line(line), file=filename, line=number)
        code = line[width + 1 : width + 8].rstrip()
        if not UNDOTTED_CODE_RE.fullmatch(code):
            # ICD-10-PCS order files share the layout; their codes start with a digit.
            hint = ": this looks like an ICD-10-PCS file" if code[:1].isdigit() else ""
            raise ImportFileError(
                f"{code!r} is not an ICD-10-CM code (a letter, then 2 to 6 letters or "
                f"digits){hint}",
                file=filename,
                line=number,
            )
        if code in seen:
            raise ImportFileError(
                f"code {code} appears twice (first on line {seen[code]})",
                file=filename,
                line=number,
            )
        seen[code] = number
        # Trailing spaces pad a column; they are not part of a title.
        short_title = line[width + 11 : width + 71].rstrip()
        long_title = line[width + 72 :].rstrip()
        problem = title_problem(
            short_title, limit=MAX_SHORT_TITLE, what="short title"
        ) or title_problem(long_title, limit=MAX_LONG_TITLE, what="long title")
        if problem:
            raise ImportFileError(f"{code}: {problem}", file=filename, line=number)
        entries.append(
            OrderEntry(
                sequence=int(line[:width]),
                code=code,
                is_billable=flag == "1",
                short_title=short_title,
                long_title=long_title,
                line=number,
            )
        )
    _check_sequence(entries, filename=filename)
    _check_headers_have_children(entries, filename=filename)
    _check_parents_present(entries, filename=filename)
    return entries


def _why_not_an_order_line(line: str) -> str:
    """Name the likely mix-up: the wrong CMS file is the most common bad upload."""
    if ADDENDA_LINE_RE.match(line):
        return "this is an addenda file (a list of changes), not the full order file"
    if re.fullmatch(r"[A-Z][0-9A-Z]{2,6} +\S.*", line):
        return "this looks like the codes file (code and title only), not the order file"
    if len(line) < 78:
        return f"line is {len(line)} characters, too short for an order file line"
    return "not an order file line (expected: number, code, flag 0/1, short title, long title)"


def _check_sequence(entries: list[OrderEntry], *, filename: str) -> None:
    for position, entry in enumerate(entries, start=1):
        if entry.sequence != position:
            raise ImportFileError(
                f"order number {entry.sequence} where {position} was expected "
                "(lines missing, repeated or out of order)",
                file=filename,
                line=entry.line,
            )


def _check_headers_have_children(entries: list[OrderEntry], *, filename: str) -> None:
    """A header with nothing below it, or a billable code with something below, is a broken file.

    In tabular order a code's descendants follow it directly, so it is enough to look at the
    next line. This also catches a file cut off cleanly after a header line.
    """
    for entry, following in zip(entries, [*entries[1:], None], strict=True):
        has_child = following is not None and following.code.startswith(entry.code)
        if not entry.is_billable and not has_child:
            raise ImportFileError(
                f"header {entry.code} has no code below it", file=filename, line=entry.line
            )
        if entry.is_billable and has_child:
            raise ImportFileError(
                f"billable code {entry.code} has a code below it ({following.code})",
                file=filename,
                line=entry.line,
            )


def _check_parents_present(entries: list[OrderEntry], *, filename: str) -> None:
    """Every code below a category needs its category in the file (its parent may be an X stem
    the file never lists, so nothing stricter holds)."""
    codes = {entry.code for entry in entries}
    for entry in entries:
        if len(entry.code) > 3 and entry.code[:3] not in codes:
            raise ImportFileError(
                f"code {entry.code} has no category {entry.code[:3]} in the file",
                file=filename,
                line=entry.line,
            )
