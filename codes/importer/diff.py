"""Release vs release -> added / deleted / revised, by the definitions of CMS's order addenda.

A code is counted in one of two tallies by its flag: billable codes or headers. A code whose flag
flips is deleted from one tally and added to the other ("Delete: 1 X" + "Add: 0 X"). Revised:
same code and flag, a different short or long title. Pure.

A release imported from the tabular XML alone has no short titles and keeps the XML's accents
(Ménière) where order files fold them (Meniere): titles are compared as an order file would
print them, and short titles only when both releases have them.
"""

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from codes.importer.addenda import AddendaSummary, ChangeCounts

ADDED = "added"
DELETED = "deleted"
REVISED = "revised"


@dataclass(frozen=True)
class Entry:
    code: str
    is_billable: bool
    short_title: str
    long_title: str


@dataclass(frozen=True)
class Change:
    code: str
    change: str
    is_billable: bool
    old: Entry | None
    new: Entry | None


def compute_changes(old: Iterable[Entry], new: Iterable[Entry]) -> list[Change]:
    """The changes from `old` to `new`, sorted by code then type (deleted before added)."""
    before = {entry.code: entry for entry in old}
    after = {entry.code: entry for entry in new}
    changes = []
    for code in sorted(before.keys() | after.keys()):
        was, now = before.get(code), after.get(code)
        if was is not None and (now is None or now.is_billable != was.is_billable):
            changes.append(Change(code, DELETED, was.is_billable, old=was, new=None))
        if now is not None and (was is None or now.is_billable != was.is_billable):
            changes.append(Change(code, ADDED, now.is_billable, old=None, new=now))
        if (
            was is not None
            and now is not None
            and was.is_billable == now.is_billable
            and _retitled(was, now)
        ):
            changes.append(Change(code, REVISED, now.is_billable, old=was, new=now))
    return changes


def _retitled(was: Entry, now: Entry) -> bool:
    if was.long_title != now.long_title and _printed(was.long_title) != _printed(now.long_title):
        return True
    return bool(was.short_title and now.short_title) and was.short_title != now.short_title


@functools.lru_cache(maxsize=4096)
def _printed(title: str) -> str:
    """A title as the ASCII order file prints it: accents folded. (Spacing is compared as it
    is: CMS counted a header whose title only lost a double space as revised in FY2026.)"""
    if title.isascii():
        return title
    return unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")


def summarise(changes: Iterable[Change]) -> AddendaSummary:
    """Tally changes the way the addenda summary does, to compare the two."""
    tally = {
        (billable, kind): 0 for billable in (True, False) for kind in (ADDED, DELETED, REVISED)
    }
    for change in changes:
        tally[change.is_billable, change.change] += 1

    def counts(billable: bool) -> ChangeCounts:
        return ChangeCounts(
            added=tally[billable, ADDED],
            deleted=tally[billable, DELETED],
            revised=tally[billable, REVISED],
        )

    return AddendaSummary(codes=counts(True), headers=counts(False))
