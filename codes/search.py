"""Search a release: an exact code, a code prefix, or words.

Shared by the search page, the autocomplete endpoints and the API. In that order: a query that
is a code of the release is an exact match; one shaped like the start of a code lists the codes
it starts, in tabular order (a range on the (release, code) index); anything else is a word
search, ranked as a coder would (codes.ranked_search: the Alphabetic Index first, the curated
abbreviations and lay terms, the Table of Drugs and the Neoplasm Table, then the titles), each
code with the reason it was found.
"""

import heapq
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import router
from django.db.models import QuerySet

from codes.codeset import CodeSet, Entry, codeset_for
from codes.icd10 import undotted
from codes.models import Code, Release
from codes.ranked_search import Found, find
from codes.release_data import release_data_for
from codes.selection import published_releases

EXACT = "exact"
PREFIX = "prefix"
WORDS = "words"

_CODE_PREFIX_RE = re.compile(r"[A-Z]([0-9][0-9A-Z]{0,5}|[A-Z][0-9][0-9A-Z]{0,4})?")


@dataclass
class SearchResult:
    kind: str  # EXACT, PREFIX or WORDS
    query: str
    # Ranked (words) or in tabular order (prefix); slice it to page, count() for the total.
    codes: "QuerySet | FoundCodes"
    found: Found | None = None  # words: why each code was found, whose Index was read
    notes: list[str] = field(default_factory=list)  # said above the results

    def reason(self, code: str) -> str:
        return self.found.reasons.get(code, "") if self.found else ""


class FoundCodes:
    """The codes a word search found, best first. Rows are made only for the slice asked for
    (a page, ten suggestions), from what the process holds of the release (no query). Paginator
    and the API use it like a QuerySet: count(), slices, with_prefix()."""

    def __init__(self, release: Release, codes: list[str]) -> None:
        self.release = release
        self.found = codes

    def count(self) -> int:
        return len(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def __getitem__(self, item: int | slice) -> "list[Code] | Code":
        if isinstance(item, int):
            return self[item : item + 1][0]
        entries = codeset_for(self.release).entries
        held = release_data_for(self.release)
        alias = router.db_for_read(Code)
        return [
            held.code_row(entries[code], self.release, alias)
            for code in self.found[item]
            if code in entries
        ]

    def __iter__(self) -> Iterator[Code]:
        return iter(self[:])

    def with_prefix(self, prefix: str) -> "FoundCodes":
        return FoundCodes(self.release, [c for c in self.found if c.startswith(prefix)])


def looks_like_code(text: str) -> bool:
    """True for a whole code in any form (z5301, Z53.01), whether or not it exists."""
    candidate = undotted(text)
    return len(candidate) >= 3 and _CODE_PREFIX_RE.fullmatch(candidate) is not None


def search_codes(
    release: Release,
    query: str,
    *,
    billable: bool | None = None,
    chapter: int | None = None,
) -> SearchResult:
    text = " ".join(query.split())
    code_search = _code_search(release, text, billable=billable, chapter=chapter)
    if code_search is not None:
        kind, candidate = code_search
        codes = _codes(release, billable=billable, chapter=chapter)
        if kind == EXACT:
            return SearchResult(EXACT, text, codes.filter(code=candidate))
        return SearchResult(PREFIX, text, codes.with_prefix(candidate).order_by("sequence"))
    found = _words(release, text, typing=False)
    codes = _kept(release, found.codes, billable=billable, chapter=chapter)
    return SearchResult(WORDS, text, FoundCodes(release, codes), found, _notes(release, found))


def _code_search(
    release: Release, text: str, *, billable: bool | None = None, chapter: int | None = None
) -> tuple[str, str] | None:
    """(EXACT, the code) when the text is a code of the release, (PREFIX, the start) when codes
    of it start so (within the filters), undotted; else None, and the text is words."""
    candidate = undotted(text)
    # "F17.2-" (the tabular's notation) or "F17.2*": everything under it, the code included.
    everything_under = candidate.endswith(("-", "*"))
    candidate = candidate.rstrip("-*")
    if not (candidate and _CODE_PREFIX_RE.fullmatch(candidate)):
        return None
    filters = {"billable": billable, "chapter": chapter}
    if (
        not everything_under
        and len(candidate) >= 3
        and _exists(release, [candidate], lambda codes: codes.filter(code=candidate), **filters)
    ):
        return EXACT, candidate
    under = codeset_for(release).with_prefix(candidate)
    if everything_under or _exists(
        release, under, lambda codes: codes.with_prefix(candidate), **filters
    ):
        return PREFIX, candidate
    return None


def _exists(
    release: Release,
    candidates: list[str],
    narrowed: Callable[[QuerySet], QuerySet],
    *,
    billable: bool | None,
    chapter: int | None,
) -> bool:
    """Whether a code among the candidates is within the filters: answered from the release's
    code set, which knows every code and whether it is billable, unless a chapter is asked for
    (then `narrowed` of the release's codes in that chapter is asked)."""
    if chapter is not None:
        return narrowed(_codes(release, billable=billable, chapter=chapter)).exists()
    entries = codeset_for(release).entries
    return any(
        billable is None or entries[code].is_billable == billable
        for code in candidates
        if code in entries
    )


def _words(release: Release, text: str, *, typing: bool) -> Found:
    """The ranked word search; a query whose last word finds nothing whole is searched again
    with that word as the start of one ("procedure not carried out smok")."""
    published = published_releases()
    found = find(release, text, published, typing=typing)
    if not found.codes and not typing:
        found = find(release, text, published, typing=True)
    return found


def _kept(
    release: Release, codes: list[str], *, billable: bool | None, chapter: int | None
) -> list[str]:
    """Only billable codes (or only headers), only one chapter's codes."""
    if billable is not None:
        codeset = codeset_for(release)
        codes = [c for c in codes if codeset.entries[c].is_billable == billable]
    if chapter is not None and codes:
        in_chapter = set(
            Code.objects.filter(release=release, code__in=codes, chapter__number=chapter)
            .order_by()
            .values_list("code", flat=True)
        )
        codes = [c for c in codes if c in in_chapter]
    return codes


def _notes(release: Release, found: Found) -> list[str]:
    """What the results page says above them: whose Index terms were read, and how."""
    notes = []
    if found.corrected:
        notes.append(
            "Spelling corrected: " + ", ".join(f"{a} → {b}" for a, b in found.corrected) + "."
        )
    lenders: dict[str, list[str]] = {}
    for part, lender in found.borrowed if found.codes else ():
        if lender.pk != release.pk:
            lenders.setdefault(lender.label, []).append(part)
    for label, parts in lenders.items():
        notes.append(
            f"No {', '.join(_PART_WORDS[p] for p in parts)} was imported with {release.label}: "
            f"index terms from {label}, mapped to {release.label} (every code shown is a code "
            f"of {release.label})."
        )
    return notes


_PART_WORDS = {
    "diseases": "Index to Diseases",
    "external_causes": "External Cause Index",
    "drugs": "Table of Drugs",
    "neoplasms": "Neoplasm Table",
}


def autocomplete(release: Release, query: str, *, limit: int = 10) -> SearchResult:
    """The first codes for a search box: a code's own family, prefixes, or ranked words, the
    last word taken as unfinished. Entries of the release's code set (codes.codeset), which
    have all a suggestion shows (code, title, billable): no query."""
    text = " ".join(query.split())
    codeset = codeset_for(release)
    if looks_like_code(text) or _is_code_start(text):
        code_search = _code_search(release, text)
        if code_search is not None:
            # A code itself first, then its family in tabular order; or the codes it starts.
            kind, start = code_search
            return SearchResult(kind, text, _first_under(codeset, start, limit))
    found = find(release, text, published_releases(), typing=True, limit=limit)
    return SearchResult(WORDS, text, [codeset.entries[c] for c in found.codes[:limit]], found)


def _first_under(codeset: CodeSet, prefix: str, limit: int) -> list[Entry]:
    """The first codes starting with the prefix, in tabular order."""
    entries = [codeset.entries[code] for code in codeset.with_prefix(prefix)]
    return heapq.nsmallest(limit, entries, key=lambda entry: entry.sequence)


def _is_code_start(text: str) -> bool:
    candidate = undotted(text).rstrip("-*")
    return bool(candidate) and _CODE_PREFIX_RE.fullmatch(candidate) is not None


def _codes(release: Release, *, billable: bool | None, chapter: int | None) -> QuerySet:
    codes = Code.objects.select_related("chapter", "section").filter(release=release)
    if billable is not None:
        codes = codes.filter(is_billable=billable)
    if chapter is not None:
        codes = codes.filter(chapter__number=chapter)
    return codes


def nothing_found(query: str) -> str:
    """What a search box says when nothing matches."""
    return (
        f"Nothing matches “{query[:60]}”: try fewer words, another spelling, or the start of a "
        "code."
    )
