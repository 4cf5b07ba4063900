"""Order addenda (icd10cm_order_addenda_YYYY.txt) -> CMS's own list and summary of what changed.

Its lines ("Add:", "Delete:", "Revise from:", "Revise to:", the label padded to 13 columns, then
the order line without its order number: flag, code, short and long title) and the summary block
that ends the file ("Headers ... 143 additions ..."): the yardstick a computed diff is checked
against, code by code. Pure.
"""

import re
from dataclasses import dataclass

from codes.icd10 import UNDOTTED_CODE_RE
from codes.importer.errors import ImportFileError
from codes.importer.order_file import decode_lines

COUNT_RE = re.compile(r"\s*(?P<count>[0-9]+) (?P<what>additions|deletions|revisions)")
# A count is at most the number of lines of an order file (98,186 in FY2026); int() refuses
# more than 4,300 digits with a bare ValueError.
MAX_COUNT_DIGITS = 9
# "Add:         1 B8801   Infestation by Demodex mites ..."; "Revise from:" is followed by its
# "Revise to:", which carries the revision.
LABEL_WIDTH = 13
CHANGE_OF_LABEL = {"Add:": "added", "Delete:": "deleted", "Revise to:": "revised"}
REVISE_FROM = "Revise from:"


@dataclass(frozen=True)
class ChangeCounts:
    added: int
    deleted: int
    revised: int


@dataclass(frozen=True)
class AddendaChange:
    code: str  # undotted
    change: str  # "added", "deleted" or "revised"
    is_billable: bool  # the flag on the line: which of the two tallies it counts in
    line: int


@dataclass(frozen=True)
class AddendaSummary:
    codes: ChangeCounts  # billable codes
    headers: ChangeCounts
    changes: tuple[AddendaChange, ...] = ()  # the lines, in file order


def parse_addenda_summary(data: bytes, *, filename: str) -> AddendaSummary:
    blocks: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    changes: list[AddendaChange] = []
    for number, line in enumerate(decode_lines(data, filename=filename), start=1):
        heading = line.strip()
        label = line[:LABEL_WIDTH].strip()
        if label in CHANGE_OF_LABEL or label == REVISE_FROM:
            change = _change(line, filename=filename, number=number)
            if label != REVISE_FROM:
                changes.append(AddendaChange(change[0], CHANGE_OF_LABEL[label], change[1], number))
        elif heading in ("Codes", "Headers"):
            current = blocks.setdefault(heading, {})
        elif current is not None and (match := COUNT_RE.match(line)):
            if len(match["count"]) > MAX_COUNT_DIGITS:
                raise ImportFileError(
                    f"a count of {len(match['count']):,} digits in the summary; "
                    f"at most {MAX_COUNT_DIGITS} are accepted",
                    file=filename,
                    line=number,
                )
            current.setdefault(match["what"], int(match["count"]))
    for heading in ("Codes", "Headers"):
        counts = blocks.get(heading, {})
        if set(counts) != {"additions", "deletions", "revisions"}:
            raise ImportFileError(
                f'no complete "{heading}" summary (additions, deletions, revisions) found',
                file=filename,
            )
    return AddendaSummary(
        codes=_counts(blocks["Codes"]),
        headers=_counts(blocks["Headers"]),
        changes=tuple(changes),
    )


def addenda_from_report(report: dict) -> AddendaSummary:
    """The AddendaSummary a release report keeps (dataclasses.asdict of it)."""
    return AddendaSummary(
        codes=ChangeCounts(**report["codes"]),
        headers=ChangeCounts(**report["headers"]),
        changes=tuple(AddendaChange(**change) for change in report["changes"]),
    )


def _change(line: str, *, filename: str, number: int) -> tuple[str, bool]:
    """(code, is_billable) of an addenda line."""
    rest = line[LABEL_WIDTH:]
    flag, code = rest[:1], rest[2:9].rstrip()
    if flag not in ("0", "1") or rest[1:2] != " " or UNDOTTED_CODE_RE.fullmatch(code) is None:
        raise ImportFileError(
            f"not an addenda line (label, flag 0 or 1, code): {line[:40]!r}",
            file=filename,
            line=number,
        )
    return code, flag == "1"


def _counts(block: dict[str, int]) -> ChangeCounts:
    return ChangeCounts(
        added=block["additions"], deleted=block["deletions"], revised=block["revisions"]
    )
