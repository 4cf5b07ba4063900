"""CMS's present-on-admission (POA) exempt list -> the exempt codes, its changes and its counts.

CMS ships it per fiscal year as a zip of tab-separated lists and a ReadMe
(../shared/docs/cms-formats.md, section 8):
- the list: `Order26` (order number, leading zeros), `POAexemptCode` (dotted), `Description`;
- the additions to the previous year's list (same columns), the deletions (`POAexemptCode`,
  `Description`), the revisions (`Order26`, `Action` = "Revise from:"/"Revise to:", code,
  description);
- a ReadMe stating each list's count ("(38,349 codes)", "(six codes, listed twice ...)").

Names vary by year, so each file's part is told by its content: its header line, or the ReadMe's
first line. The list and the additions have the same header: the list is the longer one. Pure:
(name, bytes) in, frozen dataclasses out.
"""

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass

from codes.icd10 import UNDOTTED_CODE_RE, dotted
from codes.importer.errors import ImportFileError
from codes.importer.titles import MAX_LONG_TITLE, title_problem

LIST = "list"
ADDED = "added"
DELETED = "deleted"
REVISED = "revised"
README = "readme"

PART_NAMES = {
    LIST: "POA-exempt list",
    ADDED: "POA-exempt additions list",
    DELETED: "POA-exempt deletions list",
    REVISED: "POA-exempt revisions list",
    README: "POA-exempt ReadMe",
}

_README_FIRST_LINE = re.compile(r"description of present on admission \(poa\) files", re.I)
# "Order26", "OrdFY25": the fiscal year the order numbers belong to.
_ORDER_COLUMN = re.compile(r"ord(?:er)?(?:fy)?([0-9]{2}|20[0-9]{2})", re.I)
_DOTTED_CODE = re.compile(r"[A-Z][0-9A-Z]{2}(?:\.[0-9A-Z]{1,4})?")
_REVISE_ACTIONS = {"revise from:": "from", "revise to:": "to"}
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
# "(38,349 codes)", "(six codes, listed twice ...)", "(25 codes, ...)".
_README_COUNT = re.compile(r"\(([0-9][0-9,]*|[a-z]+)\s+codes?\b", re.I)


@dataclass(frozen=True)
class PoaCode:
    code: str  # undotted
    title: str
    line: int


@dataclass(frozen=True)
class PoaRevision:
    code: str  # undotted
    old_title: str
    new_title: str
    line: int  # of its "Revise to:" line


@dataclass(frozen=True)
class ReadmeCount:
    count: int
    line: int


@dataclass(frozen=True)
class PoaList:
    """One fiscal year's POA-exempt list with the lists of its changes that were given (None for
    one not given) and the counts its ReadMe states."""

    fiscal_year: int
    codes: tuple[PoaCode, ...]
    added: tuple[PoaCode, ...] | None
    deleted: tuple[PoaCode, ...] | None
    revised: tuple[PoaRevision, ...] | None
    readme_counts: dict[str, ReadmeCount]  # part -> the count the ReadMe states
    files: dict[str, str]  # part -> file name


def file_part(head: bytes) -> str | None:
    """Which part of a POA-exempt list a text file is, from its first bytes: LIST (or the
    additions, which look the same), DELETED, REVISED, README; None for any other file."""
    text = head[:4096].decode("utf-8", "replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].strip()
    if _README_FIRST_LINE.fullmatch(first):
        return README
    columns = [column.strip().lower() for column in first.split("\t")]
    if "poaexemptcode" not in columns:
        return None
    if "action" in columns:
        return REVISED
    if columns == ["poaexemptcode", "description"]:
        return DELETED
    return LIST if _ORDER_COLUMN.fullmatch(columns[0]) else None


def parse_poa_files(files: Sequence[tuple[str, bytes]]) -> PoaList:
    """Parse the files of one POA-exempt list (any order, any names) and check each list against
    the counts of the ReadMe. Raises ImportFileError naming the file and line."""
    by_part: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in files:
        part = file_part(data)
        if part is None:
            raise ImportFileError("is not a file of a POA-exempt list", file=name)
        by_part.setdefault(part, []).append((name, data))
    lists = sorted(by_part.pop(LIST, []), key=lambda file: -file[1].count(b"\n"))
    if len(lists) > 2:
        raise ImportFileError(
            f"{len(lists)} files look like a POA-exempt list or its additions "
            f"({', '.join(name for name, _ in lists)}): give the files of one year only"
        )
    if lists:
        by_part[LIST] = [lists[0]]
    if len(lists) == 2:
        by_part[ADDED] = [lists[1]]
    for part, given in by_part.items():
        if len(given) > 1:
            raise ImportFileError(
                f"two {PART_NAMES[part]}s were given, {given[0][0]} and {given[1][0]}: give "
                "the files of one year only",
                file=given[1][0],
            )
    if LIST not in by_part:
        raise ImportFileError(
            "the POA-exempt files given hold no list of exempt codes (POAexemptCodes…txt, "
            f"the one with the most lines): got {', '.join(name for name, _ in files)}"
        )
    if README not in by_part:
        raise ImportFileError(
            "the POA-exempt list came without its ReadMe, which states the counts it is "
            "checked against: give the whole zip CMS publishes",
            file=by_part[LIST][0][0],
        )
    names = {part: given[0][0] for part, given in by_part.items()}
    readme_year, counts = _parse_readme(by_part[README][0][1], filename=names[README])
    years: dict[str, int] = {names[README]: readme_year}
    codes = _parse_codes(*by_part[LIST][0], years=years)
    added = _parse_codes(*by_part[ADDED][0], years=years) if ADDED in by_part else None
    deleted = _parse_codes(*by_part[DELETED][0], years=years) if DELETED in by_part else None
    revised = _parse_revisions(*by_part[REVISED][0], years=years) if REVISED in by_part else None
    if len(set(years.values())) > 1:
        raise ImportFileError(
            "the POA-exempt files are of different fiscal years: "
            + ", ".join(f"{name} is FY{year}" for name, year in years.items())
        )
    parsed = {LIST: codes, ADDED: added, DELETED: deleted, REVISED: revised}
    for part, rows in parsed.items():
        expected = counts.get(part)
        if rows is None or expected is None or len(rows) == expected.count:
            continue
        raise ImportFileError(
            f"the {PART_NAMES[part]} has {len(rows):,} codes, but the ReadMe ({names[README]}, "
            f"line {expected.line}) says {expected.count:,}",
            file=names[part],
            line=rows[-1].line if rows else 1,
        )
    if added is not None:
        listed = {row.code for row in codes}
        stray = next((row for row in added if row.code not in listed), None)
        if stray is not None:
            raise ImportFileError(
                f"{dotted(stray.code)} is listed as added but is not in the list itself "
                f"({names[LIST]})",
                file=names[ADDED],
                line=stray.line,
            )
    return PoaList(
        fiscal_year=readme_year,
        codes=tuple(codes),
        added=tuple(added) if added is not None else None,
        deleted=tuple(deleted) if deleted is not None else None,
        revised=tuple(revised) if revised is not None else None,
        readme_counts=counts,
        files=names,
    )


def _parse_readme(data: bytes, *, filename: str) -> tuple[int, dict[str, ReadmeCount]]:
    """The fiscal year and each list's count, from the ReadMe's "List of ..." sentences."""
    fiscal_year = None
    counts: dict[str, ReadmeCount] = {}
    for number, line in enumerate(_lines(data, filename=filename), start=1):
        if not line.lower().startswith("list of"):
            continue
        lower = line.lower()
        if "exempt codes, for fy" in lower:
            part = LIST
            year = re.search(r"for fy ?(20[0-9]{2})", lower)
            fiscal_year = int(year.group(1)) if year else None
        elif "added" in lower:
            part = ADDED
        elif "deleted" in lower:
            part = DELETED
        elif "revised" in lower:
            part = REVISED
        else:
            continue
        match = _README_COUNT.search(line)
        count = _count(match.group(1)) if match else None
        if count is None:
            raise ImportFileError(
                f"the ReadMe states no count of codes for the {PART_NAMES[part]} "
                '(expected "(N codes)")',
                file=filename,
                line=number,
            )
        counts[part] = ReadmeCount(count, number)
    if fiscal_year is None or LIST not in counts:
        raise ImportFileError(
            'the ReadMe has no line "List of Present On Admission (POA) exempt codes, for '
            'FYyyyy (N codes)": it does not say which year the list is, nor how many codes',
            file=filename,
        )
    return fiscal_year, counts


def _count(text: str) -> int | None:
    if text[0].isdigit():
        return int(text.replace(",", ""))
    return _NUMBER_WORDS.get(text.lower())


def _parse_codes(filename: str, data: bytes, *, years: dict[str, int]) -> list[PoaCode]:
    """The rows of the list, of the additions or of the deletions (the code and its title)."""
    rows = _rows(data, filename=filename, years=years)
    codes: list[PoaCode] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        code, title = _code_and_title(cells[-2:], filename=filename, line=number)
        if code in seen:
            raise ImportFileError(
                f"{dotted(code)} is listed twice (first on line {seen[code]})",
                file=filename,
                line=number,
            )
        seen[code] = number
        codes.append(PoaCode(code, title, number))
    return codes


def _parse_revisions(filename: str, data: bytes, *, years: dict[str, int]) -> list[PoaRevision]:
    """Pairs of "Revise from:" and "Revise to:" lines, in that order."""
    revisions: list[PoaRevision] = []
    old: tuple[str, str] | None = None
    for number, cells in _rows(data, filename=filename, years=years):
        action = _REVISE_ACTIONS.get(cells[1].strip().lower()) if len(cells) == 4 else None
        if action is None:
            raise ImportFileError(
                'expected 4 columns, the second "Revise from:" or "Revise to:"',
                file=filename,
                line=number,
            )
        code, title = _code_and_title(cells[2:], filename=filename, line=number)
        if action == "from":
            if old is not None:
                raise ImportFileError(
                    f'"Revise from:" {dotted(old[0])} has no "Revise to:" line',
                    file=filename,
                    line=number,
                )
            old = (code, title)
            continue
        if old is None or old[0] != code:
            raise ImportFileError(
                f'"Revise to:" {dotted(code)} follows no "Revise from:" line of the same code',
                file=filename,
                line=number,
            )
        revisions.append(PoaRevision(code, old[1], title, number))
        old = None
    if old is not None:
        raise ImportFileError(
            f'"Revise from:" {dotted(old[0])} has no "Revise to:" line', file=filename
        )
    return revisions


def _rows(data: bytes, *, filename: str, years: dict[str, int]) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each row after the header; records the header's fiscal year."""
    lines = _lines(data, filename=filename)
    header = [column.strip() for column in lines[0].split("\t")]
    if match := _ORDER_COLUMN.fullmatch(header[0]):
        digits = match.group(1)
        years[filename] = 2000 + int(digits) if len(digits) == 2 else int(digits)
    rows = []
    # Titles holding a comma are quoted, as a spreadsheet writes them.
    for number, cells in enumerate(csv.reader(lines[1:], delimiter="\t"), start=2):
        if not cells or not "".join(cells).strip():
            raise ImportFileError("is an empty line", file=filename, line=number)
        if len(cells) != len(header):
            raise ImportFileError(
                f"has {len(cells)} columns, the header {len(header)} ({', '.join(header)})",
                file=filename,
                line=number,
            )
        if header[0].lower().startswith("ord") and not cells[0].strip().isdigit():
            raise ImportFileError(
                f"the order number {cells[0][:20]!r} is not a number", file=filename, line=number
            )
        rows.append((number, cells))
    return rows


def _code_and_title(cells: list[str], *, filename: str, line: int) -> tuple[str, str]:
    given, title = cells[0].strip(), cells[1].strip()
    code = given.replace(".", "")
    if not _DOTTED_CODE.fullmatch(given) or not UNDOTTED_CODE_RE.fullmatch(code):
        raise ImportFileError(
            f"{given[:20]!r} is not an ICD-10-CM code (dotted, as A00.0)", file=filename, line=line
        )
    problem = title_problem(title, limit=MAX_LONG_TITLE)
    if problem:
        raise ImportFileError(f"{given}: {problem}", file=filename, line=line)
    return code, title


def _lines(data: bytes, *, filename: str) -> list[str]:
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(
            f"is not ASCII/UTF-8 text (byte 0x{data[error.start]:02x})", file=filename, line=line
        ) from error
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ImportFileError("is empty", file=filename)
    return lines


def check_poa_list(
    poa: PoaList,
    *,
    codes: dict[str, bool],
    fiscal_year: int,
    label: str,
    previous: set[str] | None = None,
    previous_label: str = "",
) -> dict:
    """Check a parsed list against the release it is for (`codes`: code -> billable) and, when
    given, the previous year's list (`previous`, as imported with `previous_label`): its
    additions and deletions must turn that list into this one. Returns what the import report
    keeps; raises ImportFileError naming the file and line of the first disagreement."""
    name = poa.files[LIST]
    if poa.fiscal_year != fiscal_year:
        raise ImportFileError(
            f"this is the POA-exempt list of FY{poa.fiscal_year}, but {label} is FY{fiscal_year}",
            file=poa.files[README],
        )
    for row in poa.codes:
        if row.code not in codes:
            raise ImportFileError(
                f"{dotted(row.code)} is POA-exempt in this list but is not a code of {label}",
                file=name,
                line=row.line,
            )
        if not codes[row.code]:
            raise ImportFileError(
                f"{dotted(row.code)} is POA-exempt in this list but is a header (not billable) "
                f"in {label}",
                file=name,
                line=row.line,
            )
    if previous is not None and poa.added is not None and poa.deleted is not None:
        _check_against_previous(poa, previous, previous_label)
    return {
        "fiscal_year": poa.fiscal_year,
        "files": poa.files,
        "codes": len(poa.codes),
        "readme_counts": {part: count.count for part, count in poa.readme_counts.items()},
        "compared_with": previous_label if previous is not None else None,
    }


def _check_against_previous(poa: PoaList, previous: set[str], previous_label: str) -> None:
    assert poa.added is not None and poa.deleted is not None
    added = {row.code for row in poa.added}
    deleted = {row.code for row in poa.deleted}
    current = {row.code for row in poa.codes}
    for row in poa.added:
        if row.code in previous:
            raise ImportFileError(
                f"{dotted(row.code)} is listed as added, but the POA-exempt list of "
                f"{previous_label} already has it",
                file=poa.files[ADDED],
                line=row.line,
            )
    for row in poa.deleted:
        if row.code not in previous or row.code in current:
            where = "is not in the list of " + previous_label
            if row.code in current:
                where = "is still in this year's list"
            raise ImportFileError(
                f"{dotted(row.code)} is listed as deleted, but {where}",
                file=poa.files[DELETED],
                line=row.line,
            )
    for row in poa.codes:
        if row.code not in previous and row.code not in added:
            raise ImportFileError(
                f"{dotted(row.code)} is not in the POA-exempt list of {previous_label} and not "
                "among the additions",
                file=poa.files[LIST],
                line=row.line,
            )
    dropped = sorted(previous - current - deleted)
    if dropped:
        raise ImportFileError(
            f"{len(dropped)} codes of the POA-exempt list of {previous_label} are neither in "
            f"this list nor among the deletions, first {', '.join(map(dotted, dropped[:10]))}",
            file=poa.files[LIST],
        )
