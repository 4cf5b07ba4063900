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
# "Revise to:", which carries the revision. Read by words, not columns: the label is padded to
# 13 columns in the files seen, which need not hold for every year's.
LABEL_RE = re.compile(r"(?P<label>Add|Delete|Revise from|Revise to):")
CHANGE_LINE_RE = re.compile(r"[A-Za-z ]+:\s+(?P<flag>[01])\s+(?P<code>[0-9A-Z]{3,7})(?:\s|$)")
CHANGE_OF_LABEL = {"Add": "added", "Delete": "deleted", "Revise to": "revised"}


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
        labelled = LABEL_RE.match(line)
        if labelled:
            code, is_billable = _change(line, filename=filename, number=number)
            if labelled["label"] in CHANGE_OF_LABEL:
                change = CHANGE_OF_LABEL[labelled["label"]]
                changes.append(AddendaChange(code, change, is_billable, number))
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
    match = CHANGE_LINE_RE.match(line)
    if match is None or UNDOTTED_CODE_RE.fullmatch(match["code"]) is None:
        raise ImportFileError(
            f"not an addenda line (label, flag 0 or 1, code): {line[:40]!r}",
            file=filename,
            line=number,
        )
    return match["code"], match["flag"] == "1"


def _counts(block: dict[str, int]) -> ChangeCounts:
    return ChangeCounts(
        added=block["additions"], deleted=block["deletions"], revised=block["revisions"]
    )
