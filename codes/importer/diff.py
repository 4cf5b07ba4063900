"""Release vs release -> added / deleted / revised, by the definitions of CMS's order addenda.

A code is counted in one of two tallies by its flag: billable codes or headers. A code whose flag
flips is deleted from one tally and added to the other ("Delete: 1 X" + "Add: 0 X"). Revised:
same code and flag, a different short or long title. Pure.

Every revision is kept, but tallied as CMS's addenda summaries do: "revised" when the long title
changed in words; a change of the short title only, or of spacing only (`[BMI]30.0-30.9` ->
`[BMI] 30.0-30.9`), apart. CMS's addenda count those in some years and not in others (FY2017,
FY2018 and FY2022 left them out; FY2026 lists W44G, whose title only lost a double space), so
the comparison with an addenda file is code by code (compare_with_addenda).

A release imported from the tabular XML alone has no short titles and keeps the XML's accents
(Ménière) where order files fold them (Meniere): titles are compared as an order file would
print them, and short titles only when both releases have them.
"""

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from codes.icd10 import dotted
from codes.importer.addenda import AddendaSummary

ADDED = "added"
DELETED = "deleted"
REVISED = "revised"
# The two kinds of revision tallied apart from "revised" (the long title changed in words).
SHORT_TITLE_ONLY = "short_title_only"
SPACING_ONLY = "spacing_only"
TALLY_KINDS = (ADDED, DELETED, REVISED, SHORT_TITLE_ONLY, SPACING_ONLY)

# Spaces beside punctuation: "[BMI]30.0" and "[BMI] 30.0" read the same.
_SPACED_PUNCTUATION_RE = re.compile(r" ?([^0-9A-Za-z ]) ?")


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

    @property
    def kind(self) -> str:
        """The change, or for a revision its kind (revision_kind)."""
        if self.change != REVISED:
            return self.change
        return revision_kind(
            old_short=self.old.short_title,
            old_long=self.old.long_title,
            new_short=self.new.short_title,
            new_long=self.new.long_title,
        )


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


def revision_kind(*, old_short: str, old_long: str, new_short: str, new_long: str) -> str:
    """REVISED when the long title changed in words, else SHORT_TITLE_ONLY when the short one
    did, else SPACING_ONLY (what changed is a space beside punctuation).

    As CMS's addenda count them: "[BMI]30.0-30.9" -> "[BMI] 30.0-30.9" is not a revision
    (FY2017/FY2018), but a double space made single is (FY2026 lists W44.G, "natural  orifice"
    -> "natural orifice", among its header revisions)."""
    if _words(old_long) != _words(new_long):
        return REVISED
    if old_short and new_short and _words(old_short) != _words(new_short):
        return SHORT_TITLE_ONLY
    return SPACING_ONLY


def _words(title: str) -> str:
    return _SPACED_PUNCTUATION_RE.sub(r"\1", _printed(title).strip())


@functools.lru_cache(maxsize=4096)
def _printed(title: str) -> str:
    """A title as the ASCII order file prints it: accents folded. (Spacing is compared as it
    is: a change of spacing only is a true change, tallied apart by revision_kind.)"""
    if title.isascii():
        return title
    return unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class TalliedChange:
    """A stored change as the tallies and the addenda comparison read it."""

    code: str
    change: str  # ADDED, DELETED or REVISED
    is_billable: bool
    kind: str  # one of TALLY_KINDS: the change, or for a revision its kind


def tally(changes: Iterable[TalliedChange | Change]) -> dict[str, dict[str, int]]:
    """{"codes": {kind: count}, "headers": {...}} over TALLY_KINDS."""
    tallies = {name: dict.fromkeys(TALLY_KINDS, 0) for name in ("codes", "headers")}
    for change in changes:
        tallies["codes" if change.is_billable else "headers"][change.kind] += 1
    return tallies


@dataclass(frozen=True)
class AddendaComparison:
    # The codes on which the computed changes and the addenda differ, named; [] when they agree.
    differences: list[str]
    # Revisions tallied apart here (short title only, spacing only) that the addenda list as
    # revisions, dotted: CMS counted W44G's lost double space among FY2026's header revisions.
    listed_apart: list[str]

    @property
    def agrees(self) -> bool:
        return not self.differences


def compare_with_addenda(
    changes: Iterable[TalliedChange | Change], addenda: AddendaSummary
) -> AddendaComparison:
    """Code by code: every addenda line must be a computed change, and every computed change an
    addenda line or a revision of a kind tallied apart (short title only, spacing only). The
    addenda's summary must count its own lines."""
    computed = {(c.code, c.change, c.is_billable): c for c in changes}
    listed = {(a.code, a.change, a.is_billable): a for a in addenda.changes}
    apart = (SHORT_TITLE_ONLY, SPACING_ONLY)
    differences = [
        f"{_named(key)}: {key[1]} in the addenda (line {line.line}), not computed"
        for key, line in sorted(listed.items())
        if key not in computed
    ]
    differences += [
        f"{_named(key)}: {key[1]} as computed, not in the addenda"
        for key, change in sorted(computed.items())
        if key not in listed and change.kind not in apart
    ]
    lines = tally(TalliedChange(a.code, a.change, a.is_billable, a.change) for a in listed.values())
    for name, counts in (("codes", addenda.codes), ("headers", addenda.headers)):
        for change in (ADDED, DELETED, REVISED):
            summary = getattr(counts, change)
            if summary != lines[name][change]:
                differences.append(
                    f"the addenda summary counts {summary} {name} {change}, its lines "
                    f"{lines[name][change]}"
                )
    listed_apart = [
        dotted(key[0])
        for key, change in sorted(computed.items())
        if key in listed and change.kind in apart
    ]
    return AddendaComparison(differences, listed_apart)


def _named(key: tuple[str, str, bool]) -> str:
    code, _, is_billable = key
    return f"{dotted(code)} ({'code' if is_billable else 'header'})"
