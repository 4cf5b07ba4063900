"""An in-memory index of one release's codes, for answers that walk the tree many times.

Validation of 10,000 codes, family counts and "closest codes" all ask the same questions of the
same 100,000 rows: reading them once per process (three queries) and answering from dicts beats
thousands of queries. `codeset_for(release)` keeps it per process (codes.release_memory).

The index also holds CMS's conversion table read backwards (previous code -> current codes):
the table imported with the release, else the one of the nearest later published release (each
table lists every change since FY2016). A table imported with a later release after the index
was built is seen once the process restarts.
"""

import bisect
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q

from codes.icd10 import dotted, prefix_upper_bound
from codes.models import Code, ConversionEntry, Note, Release
from codes.release_memory import ReleaseMemory


class Entry(NamedTuple):
    code: str
    is_billable: bool
    parent: str
    title: str  # the long title
    sequence: int

    # Named as on Code, so that pages and API answers list entries as they list rows.
    @property
    def dotted(self) -> str:
        return dotted(self.code)

    @property
    def long_title(self) -> str:
        return self.title


class SeventhCharacter(NamedTuple):
    character: str
    meaning: str  # the extension's text: "stable"
    # CMS's further wording of this character: ("Old central retinal vein occlusion",)
    notes: tuple[str, ...] = ()

    @property
    def described(self) -> str:
        """ "stable (Old central retinal vein occlusion)" """
        return f"{self.meaning} ({'; '.join(self.notes)})" if self.notes else self.meaning


@dataclass(eq=False)  # hashed as itself: the Index parts hold what their codes are in it (weakly)
class CodeSet:
    release_id: int
    entries: dict[str, Entry]
    sorted_codes: list[str]  # by code string, for prefix ranges
    children: dict[str, list[str]]  # in tabular order
    in_tabular_order: list[str] = field(default_factory=list)  # every code, by Code.sequence
    # Codes whose <sevenChrDef> is their own: code -> its characters in order.
    seventh_characters: dict[str, list[SeventhCharacter]] = field(default_factory=dict)
    # The conversion table read backwards: previous code -> current codes, in table order;
    # and its code ranges ("H02.101-H02.106") as (first, last, current code).
    replaced_by: dict[str, list[str]] = field(default_factory=dict)
    replaced_by_range: list[tuple[str, str, str]] = field(default_factory=list)
    conversion_release_id: int | None = None  # whose table it is; None without one
    # Each header's default code once worked out (codes.ranked_search.default_of).
    defaults: dict[str, str | None] = field(default_factory=dict)

    def get(self, code: str) -> Entry | None:
        return self.entries.get(code)

    def __contains__(self, code: str) -> bool:
        return code in self.entries

    def with_prefix(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.sorted_codes, prefix)
        upper = prefix_upper_bound(prefix)
        end = bisect.bisect_left(self.sorted_codes, upper) if upper else len(self.sorted_codes)
        return self.sorted_codes[start:end]

    def descendants(self, code: str) -> list[Entry]:
        """Everything below a code, in tabular order."""
        found = []
        stack = list(reversed(self.children.get(code, [])))
        while stack:
            current = stack.pop()
            found.append(self.entries[current])
            stack.extend(reversed(self.children.get(current, [])))
        return found

    def billable_below(self, code: str) -> list[Entry]:
        return [entry for entry in self.descendants(code) if entry.is_billable]

    def ancestors(self, code: str) -> list[str]:
        """Nearest first."""
        chain = []
        entry = self.entries.get(code)
        while entry is not None and entry.parent:
            chain.append(entry.parent)
            entry = self.entries.get(entry.parent)
        return chain

    def seventh_characters_for(self, code: str) -> tuple[str, list[SeventhCharacter]] | None:
        """The 7th-character definitions that apply at `code`: (defining code, definitions)."""
        for candidate in [code, *self.ancestors(code)]:
            if candidate in self.seventh_characters:
                return candidate, self.seventh_characters[candidate]
        return None

    def converted_to(self, code: str) -> list[str] | None:
        """The codes the conversion table says took over `code` (exact entries first, else the
        code ranges that hold it); None when no conversion table applies to the release."""
        if self.conversion_release_id is None:
            return None
        if code in self.replaced_by:
            return list(self.replaced_by[code])
        return [
            current
            for first, last, current in self.replaced_by_range
            if first <= code and code[: len(last)] <= last
        ]

    def nearest_existing_prefix(self, code: str) -> str | None:
        for length in range(len(code), 2, -1):
            if code[:length] in self.entries:
                return code[:length]
        return None


def _build(release: Release) -> CodeSet:
    entries: dict[str, Entry] = {}
    children: dict[str, list[str]] = {}
    rows = (
        Code.objects.filter(release=release)
        .order_by("sequence")
        .values_list("code", "is_billable", "parent_code", "long_title", "sequence")
    )
    # What this release has in common with the one built last is that release's objects: a
    # release and its April update have the same 97,584 entries (21 MB held once, not twice),
    # and consecutive fiscal years the same lists of children for all but a few hundred codes.
    # (An entry of another fiscal year differs in its sequence: codes added before it move it.)
    held = codeset_for.held()
    last = held[-1] if held else CodeSet(release_id=0, entries={}, sorted_codes=[], children={})
    for code, is_billable, parent, title, sequence in rows.iterator(chunk_size=10_000):
        # Interned: a parent is the same string as its own entry's code, and a code or title
        # unchanged since another release held in memory is that release's string (most are),
        # which keeps each further release to about half the memory of the first.
        entry = Entry(
            sys.intern(code), is_billable, sys.intern(parent), sys.intern(title), sequence
        )
        if last.entries.get(entry.code) == entry:
            entry = last.entries[entry.code]
        entries[entry.code] = entry
        if entry.parent:
            children.setdefault(entry.parent, []).append(entry.code)
    for parent, codes in children.items():
        if last.children.get(parent) == codes:
            children[parent] = last.children[parent]
    sorted_codes = sorted(entries)
    in_tabular_order = list(entries)
    return CodeSet(
        release_id=release.pk,
        entries=last.entries if entries == last.entries else entries,
        sorted_codes=last.sorted_codes if sorted_codes == last.sorted_codes else sorted_codes,
        children=last.children if children == last.children else children,
        in_tabular_order=(
            last.in_tabular_order if in_tabular_order == last.in_tabular_order else in_tabular_order
        ),
        seventh_characters=_seventh_characters(release),
        **_conversion(release),
    )


def _seventh_characters(release: Release) -> dict[str, list[SeventhCharacter]]:
    """Each 7th-character definition with the notes bound to its characters (one query)."""
    characters: dict[str, dict[str, tuple[str, list[str]]]] = {}
    rows = (
        Note.objects.filter(
            release=release,
            kind__in=[Note.Kind.SEVENTH_CHARACTER, Note.Kind.SEVENTH_CHARACTER_NOTE],
        )
        .exclude(code="")
        .exclude(character="")
        .order_by("sequence")
        .values_list("code", "kind", "character", "text")
    )
    for code, kind, character, text in rows:
        defined = characters.setdefault(code, {})
        if kind == Note.Kind.SEVENTH_CHARACTER:
            defined[character] = (text, [])
        elif character in defined:  # a note follows the extension it belongs to
            defined[character][1].append(text)
    return {
        code: [
            SeventhCharacter(character, meaning, tuple(notes))
            for character, (meaning, notes) in defined.items()
        ]
        for code, defined in characters.items()
    }


def _conversion(release: Release) -> dict:
    """The conversion table that applies to the release, read backwards (one query)."""
    owner = (
        Release.objects.filter(
            Q(pk=release.pk)
            | Q(status=Release.Status.PUBLISHED, effective_date__gt=release.effective_date)
        )
        .filter(Exists(ConversionEntry.objects.filter(release=OuterRef("pk"))))
        .order_by("effective_date")
        .values("pk")[:1]
    )
    rows = ConversionEntry.objects.filter(release__in=owner).values_list(
        "release_id", "current_code", "previous_code", "previous_code_last"
    )
    replaced_by: dict[str, list[str]] = {}
    ranges: list[tuple[str, str, str]] = []
    owner_id = None
    for release_id, current, previous, previous_last in rows.order_by("sequence"):
        owner_id = release_id
        if not previous_last:
            replaced_by.setdefault(previous, []).append(current)
        elif len(previous) > 3:
            # A code range is an equivalence; a range of categories ("a code from T36-T50")
            # is a code used alongside, never a code replaced, so it names no successor.
            ranges.append((previous, previous_last, current))
    return {
        "replaced_by": replaced_by,
        "replaced_by_range": ranges,
        "conversion_release_id": owner_id,
    }


codeset_for = ReleaseMemory(_build)
