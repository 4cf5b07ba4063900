"""Codes file (icd10cm_codes_YYYY.txt) -> the billable codes with their long titles.

Its rows must be exactly the order file's billable entries: a free cross-check. Pure.
"""

import re
from dataclasses import dataclass

from codes.icd10 import UNDOTTED_CODE_RE
from codes.importer.errors import ImportFileError
from codes.importer.order_file import ADDENDA_LINE_RE, ORDER_LINE_RE, decode_lines
from codes.importer.titles import MAX_LONG_TITLE, title_problem

# "A000    Cholera due to Vibrio cholerae 01, biovar cholerae": code padded to 7, a space, title.
CODES_LINE_RE = re.compile(r"(?P<code>[0-9A-Za-z ]{7}) (?P<title>\S.*)")


@dataclass(frozen=True)
class CodesEntry:
    code: str
    long_title: str
    line: int


def parse_codes_file(data: bytes, *, filename: str) -> list[CodesEntry]:
    entries: list[CodesEntry] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(decode_lines(data, filename=filename), start=1):
        match = CODES_LINE_RE.fullmatch(line)
        code = match["code"].rstrip() if match else ""
        if match is None or not UNDOTTED_CODE_RE.fullmatch(code):
            raise ImportFileError(_why_not_a_codes_line(line), file=filename, line=number)
        if code in seen:
            raise ImportFileError(
                f"code {code} appears twice (first on line {seen[code]})",
                file=filename,
                line=number,
            )
        seen[code] = number
        title = match["title"].rstrip()
        problem = title_problem(title, limit=MAX_LONG_TITLE)
        if problem:
            raise ImportFileError(f"{code}: {problem}", file=filename, line=number)
        entries.append(CodesEntry(code=code, long_title=title, line=number))
    return entries


def _why_not_a_codes_line(line: str) -> str:
    if ORDER_LINE_RE.fullmatch(line):
        return "this is an order file, not the codes file"
    if ADDENDA_LINE_RE.match(line):
        return "this is an addenda file (a list of changes), not the codes file"
    return "not a codes file line (expected: code padded to 7, a space, the title)"
