"""Search a release: an exact code, a code prefix, or words in titles and inclusion terms.

Shared by the search page, the autocomplete endpoint and the API. The interface is stable; the
word search is the simple version (to be replaced by PostgreSQL full-text with trigram fallback
and an SQLite equivalent).
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from codes.icd10 import is_well_formed, undotted
from codes.models import Code, Release

EXACT = "exact"
PREFIX = "prefix"
WORDS = "words"


@dataclass
class SearchResult:
    kind: str  # EXACT, PREFIX or WORDS
    query: str
    codes: QuerySet  # of Code, ranked (words) or in tabular order (prefix); slice it to page


def search_codes(
    release: Release,
    query: str,
    *,
    billable: bool | None = None,
    chapter: int | None = None,
) -> SearchResult:
    text = " ".join(query.split())
    codes = Code.objects.filter(release=release).select_related("chapter", "section")
    if billable is not None:
        codes = codes.filter(is_billable=billable)
    if chapter is not None:
        codes = codes.filter(chapter__number=chapter)
    candidate = undotted(text)
    if is_well_formed(candidate) and codes.filter(code=candidate).exists():
        return SearchResult(EXACT, text, codes.filter(code=candidate))
    if candidate and candidate[0].isalpha() and candidate.isalnum() and len(candidate) <= 7:
        prefixed = codes.with_prefix(candidate).order_by("sequence")
        if len(candidate) < 3 or prefixed.exists():
            return SearchResult(PREFIX, text, prefixed)
    words = codes
    for word in text.split():
        words = words.filter(long_title__icontains=word)
    return SearchResult(WORDS, text, words.order_by("depth", "sequence"))


def autocomplete(release: Release, query: str, *, limit: int = 10) -> list[Code]:
    return list(search_codes(release, query).codes[:limit])
