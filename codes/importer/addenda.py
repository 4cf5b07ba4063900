"""Order addenda (icd10cm_order_addenda_YYYY.txt) -> CMS's own summary of what changed.

We read only the summary block that ends the file ("Headers ... 143 additions ..."): it is
the yardstick a computed diff is checked against. Pure.
"""

import re
from dataclasses import dataclass

from codes.importer.errors import ImportFileError
from codes.importer.order_file import decode_lines

COUNT_RE = re.compile(r"\s*(?P<count>[0-9]+) (?P<what>additions|deletions|revisions)")
# A count is at most the number of lines of an order file (98,186 in FY2026); int() refuses
# more than 4,300 digits with a bare ValueError.
MAX_COUNT_DIGITS = 9


@dataclass(frozen=True)
class ChangeCounts:
    added: int
    deleted: int
    revised: int


@dataclass(frozen=True)
class AddendaSummary:
    codes: ChangeCounts  # billable codes
    headers: ChangeCounts


def parse_addenda_summary(data: bytes, *, filename: str) -> AddendaSummary:
    blocks: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for number, line in enumerate(decode_lines(data, filename=filename), start=1):
        heading = line.strip()
        if heading in ("Codes", "Headers"):
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
    )


def _counts(block: dict[str, int]) -> ChangeCounts:
    return ChangeCounts(
        added=block["additions"], deleted=block["deletions"], revised=block["revisions"]
    )
