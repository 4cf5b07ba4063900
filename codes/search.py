"""Search a release: an exact code, a code prefix, or words in titles and inclusion terms.

Shared by the search page, the autocomplete endpoint and the API. In that order: a query that is
a code of the release is an exact match; one shaped like the start of a code lists the codes it
starts, in tabular order (a range on the (release, code) index); anything else is a word search
of the release's in-memory word index (codes.word_index: stemmed, the last word a prefix as you
type, ranked), with a small thesaurus adding the classification's words for lay ones (smoking:
tobacco, nicotine). When no code has the words, each misspelt word is replaced by the closest
title word of the release and the search runs again.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from codes.icd10 import undotted
from codes.models import Code, Release
from codes.word_index import STOPWORDS, Word, WordIndex, tokens, word_index_for

EXACT = "exact"
PREFIX = "prefix"
WORDS = "words"

# SearchResult.fallback: the words as given matched nothing, so each misspelt word was replaced
# by the closest title word (SearchResult.corrected_query).
CORRECTED_WORDS = "corrected_words"

# Lay words -> the words the classification uses. An alternative of several words needs them all.
# Kept short and unambiguous on purpose; grow it from what people search for.
THESAURUS: dict[str, tuple[str, ...]] = {
    "smoking": ("tobacco", "nicotine"),
    "smoker": ("tobacco", "nicotine"),
    "smokers": ("tobacco", "nicotine"),
    "cigarette": ("nicotine",),
    "cigarettes": ("nicotine",),
    "flu": ("influenza",),
    "cancer": ("malignant neoplasm",),
    "tumor": ("neoplasm",),
    "tumour": ("neoplasm",),
    "broken": ("fracture",),
    "kidney": ("renal",),
    "stroke": ("cerebral infarction",),
    "pregnant": ("pregnancy",),
    "bedsore": ("pressure ulcer",),
}

# An unfinished last word of at least this length uses the thesaurus of the words it starts.
MIN_THESAURUS_PREFIX = 4
# Words beyond this are ignored: a search box is not a document.
MAX_WORDS = 8

_CODE_PREFIX_RE = re.compile(r"[A-Z]([0-9][0-9A-Z]{0,5}|[A-Z][0-9][0-9A-Z]{0,4})?")


@dataclass
class SearchResult:
    kind: str  # EXACT, PREFIX or WORDS
    query: str
    # Ranked (words) or in tabular order (prefix); slice it to page, count() for the total.
    codes: "QuerySet | RankedCodes"
    # Words the thesaurus added to the search (smoking: tobacco, nicotine).
    also_searched: list[str] = field(default_factory=list)
    fallback: str = ""  # CORRECTED_WORDS when the words as given matched nothing
    corrected_query: str = ""  # with CORRECTED_WORDS: the words searched instead


class RankedCodes:
    """The codes a word search found, best first. The ranking is known for all of them; rows
    are read from the database only for the slice asked for (a page, ten suggestions), in one
    query. Paginator and the API use it like a QuerySet: count(), slices, with_prefix()."""

    def __init__(self, index: WordIndex | None, positions: list[int]) -> None:
        self.index = index
        self.positions = positions

    def count(self) -> int:
        return len(self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, item: int | slice) -> "list[Code] | Code":
        if isinstance(item, int):
            return self[item : item + 1][0]
        pks = [self.index.pks[position] for position in self.positions[item]]
        rows = Code.objects.select_related("chapter", "section").in_bulk(pks)
        return [rows[pk] for pk in pks]

    def __iter__(self) -> Iterator[Code]:
        return iter(self[:])

    def with_prefix(self, prefix: str) -> "RankedCodes":
        codes = self.index.codes if self.index else []
        return RankedCodes(self.index, [p for p in self.positions if codes[p].startswith(prefix)])


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
    candidate = undotted(text)
    # "F17.2-" (the tabular's notation) or "F17.2*": everything under it, the code included.
    everything_under = candidate.endswith(("-", "*"))
    candidate = candidate.rstrip("-*")
    if candidate and _CODE_PREFIX_RE.fullmatch(candidate):
        codes = _codes(release, billable=billable, chapter=chapter)
        exact = codes.filter(code=candidate)
        if not everything_under and len(candidate) >= 3 and exact.exists():
            return SearchResult(EXACT, text, exact)
        prefixed = codes.with_prefix(candidate).order_by("sequence")
        if everything_under or prefixed.exists():
            return SearchResult(PREFIX, text, prefixed)
    words = _parse_words(text)
    if not words:
        return SearchResult(WORDS, text, RankedCodes(None, []))
    also = [" ".join(a) for w in words for a in w.alternatives]
    index = word_index_for(release)
    match = index.keep(index.match(words), billable=billable, chapter=chapter)
    if match.anywhere:
        return SearchResult(WORDS, text, RankedCodes(index, match.ranked()), also_searched=also)
    corrected = [
        Word(index.corrected(word.text), prefix=False) if not word.alternatives else word
        for word in words
    ]
    if [word.text for word in corrected] == [word.text for word in words]:
        # Nothing closer to search instead: no results, and no "showing results for".
        return SearchResult(WORDS, text, RankedCodes(index, []), also_searched=also)
    match = index.keep(index.match(corrected), billable=billable, chapter=chapter)
    return SearchResult(
        WORDS,
        text,
        RankedCodes(index, match.ranked()),
        also_searched=also,
        fallback=CORRECTED_WORDS,
        corrected_query=" ".join(word.text for word in corrected),
    )


def autocomplete(release: Release, query: str, *, limit: int = 10) -> list[Code]:
    """The first codes for a search box: a code's own family, prefixes, or ranked words."""
    result = search_codes(release, query)
    if result.kind == EXACT:
        # The code itself first, then its family in tabular order.
        code = undotted(result.query)
        family = Code.objects.filter(release=release).with_prefix(code).order_by("sequence")
        return list(family.select_related("chapter", "section")[:limit])
    return list(result.codes[:limit])


def _codes(release: Release, *, billable: bool | None, chapter: int | None) -> QuerySet:
    codes = Code.objects.select_related("chapter", "section").filter(release=release)
    if billable is not None:
        codes = codes.filter(is_billable=billable)
    if chapter is not None:
        codes = codes.filter(chapter__number=chapter)
    return codes


def _parse_words(text: str) -> list[Word]:
    found = [t for t in tokens(text) if (len(t) > 1 or t.isdigit()) and t not in STOPWORDS]
    found = found[:MAX_WORDS]
    words = []
    for position, token in enumerate(found):
        # The last word may be unfinished ("smok"); a thesaurus word is a whole word ("flu").
        prefix = position == len(found) - 1 and token not in THESAURUS
        keys = [token]
        if prefix and len(token) >= MIN_THESAURUS_PREFIX:
            keys = [key for key in THESAURUS if key.startswith(token)]
        alternatives = dict.fromkeys(a for key in keys for a in THESAURUS.get(key, ()))
        words.append(Word(token, prefix, tuple(tuple(a.split()) for a in alternatives)))
    return words
