"""What happened to a code after the release a coder is looking at.

A page of an older release must not let "Billable" stand alone when a later release deleted the
code or made it a header: the coder needs the last date of service the old status holds and what
to use from then on. Dates come from the releases loaded: the day before the next loaded release
took effect, and only when no fiscal year between them is missing (else the change happened in
one of the releases not loaded, on a date this site cannot know).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from codes.codeset import codeset_for
from codes.fiscal import last_day_before, no_year_between
from codes.icd10 import dotted
from codes.lookup import BECAME_BILLABLE, BECAME_HEADER, DELETED, REVISED, HistoryRow
from codes.models import Release
from codes.validation import successors_of

# How many codes to use instead are named before "…".
LISTED_SUCCESSORS = 6


@dataclass(frozen=True)
class LaterChange:
    event: str  # lookup.DELETED, BECAME_HEADER, BECAME_BILLABLE or REVISED
    release: Release  # the first later release with the change
    previous: Release  # the release just before it, among those loaded
    new_title: str = ""
    use_instead: list[str] = field(default_factory=list)  # dotted billable codes
    more: int = 0  # codes to use instead beyond those listed

    @property
    def last_day(self) -> datetime.date | None:
        """The last date of service of the old status; None when releases between are missing."""
        if not no_year_between(self.previous.fiscal_year, self.release.fiscal_year):
            return None
        return last_day_before(self.release.effective_date)


def later_change(code: str, shown: Release, history: Sequence[HistoryRow]) -> LaterChange | None:
    """The first change to `code` in a published release after `shown` (history oldest first)."""
    rows = list(history)
    for position, row in enumerate(rows):
        if row.release.effective_date <= shown.effective_date or not row.events:
            continue
        previous = rows[position - 1].release
        events = set(row.events)
        if DELETED in events or BECAME_HEADER in events:
            event = DELETED if DELETED in events else BECAME_HEADER
            instead = _use_instead(code, row.release, event)
            return LaterChange(
                event,
                row.release,
                previous,
                use_instead=instead[:LISTED_SUCCESSORS],
                more=max(0, len(instead) - LISTED_SUCCESSORS),
            )
        if BECAME_BILLABLE in events:
            return LaterChange(BECAME_BILLABLE, row.release, previous)
        if REVISED in events:
            return LaterChange(REVISED, row.release, previous, new_title=row.title)
    return None


def _use_instead(code: str, release: Release, event: str) -> list[str]:
    codeset = codeset_for(release)
    if event == BECAME_HEADER:
        return [dotted(entry.code) for entry in codeset.billable_below(code)]
    return [suggestion.dotted for suggestion in successors_of(code, codeset)]
