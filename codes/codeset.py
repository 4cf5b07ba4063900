"""An in-memory index of one release's codes, for answers that walk the tree many times.

Validation of 10,000 codes, family counts and "closest codes" all ask the same questions of the
same 100,000 rows: reading them once per process (two queries) and answering from dicts beats
thousands of queries. A published release never changes, so the index is cached by release id
and import time; a re-imported release gets a new index.
"""

import bisect
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from codes.icd10 import prefix_upper_bound
from codes.models import Code, Note, Release

# Two published releases per fiscal year at most are hot; keep a few, drop the oldest.
CACHED_RELEASES = 6


class Entry(NamedTuple):
    code: str
    is_billable: bool
    parent: str
    title: str
    sequence: int


@dataclass
class CodeSet:
    release_id: int
    entries: dict[str, Entry]
    sorted_codes: list[str]  # by code string, for prefix ranges
    children: dict[str, list[str]]  # in tabular order
    # Codes whose <sevenChrDef> is their own: code -> [(character, text)] in order.
    seventh_characters: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

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

    def seventh_characters_for(self, code: str) -> tuple[str, list[tuple[str, str]]] | None:
        """The 7th-character definitions that apply at `code`: (defining code, definitions)."""
        for candidate in [code, *self.ancestors(code)]:
            if candidate in self.seventh_characters:
                return candidate, self.seventh_characters[candidate]
        return None

    def nearest_existing_prefix(self, code: str) -> str | None:
        for length in range(len(code), 2, -1):
            if code[:length] in self.entries:
                return code[:length]
        return None


_cache: dict[tuple[int, str], CodeSet] = {}
_lock = threading.Lock()


def codeset_for(release: Release) -> CodeSet:
    key = (release.pk, release.imported_at.isoformat())
    codeset = _cache.get(key)
    if codeset is None:
        with _lock:
            codeset = _cache.get(key)
            if codeset is None:
                codeset = _build(release)
                while len(_cache) >= CACHED_RELEASES:
                    _cache.pop(next(iter(_cache)))
                _cache[key] = codeset
    return codeset


def _build(release: Release) -> CodeSet:
    entries: dict[str, Entry] = {}
    children: dict[str, list[str]] = {}
    rows = (
        Code.objects.filter(release=release)
        .order_by("sequence")
        .values_list("code", "is_billable", "parent_code", "long_title", "sequence")
    )
    for row in rows.iterator(chunk_size=10_000):
        entry = Entry(*row)
        entries[entry.code] = entry
        if entry.parent:
            children.setdefault(entry.parent, []).append(entry.code)
    seventh: dict[str, list[tuple[str, str]]] = {}
    definitions = (
        Note.objects.filter(release=release, kind=Note.Kind.SEVENTH_CHARACTER)
        .exclude(code="")
        .exclude(character="")
        .order_by("sequence")
        .values_list("code", "character", "text")
    )
    for code, character, text in definitions:
        seventh.setdefault(code, []).append((character, text))
    return CodeSet(
        release_id=release.pk,
        entries=entries,
        sorted_codes=sorted(entries),
        children=children,
        seventh_characters=seventh,
    )
