"""Search a release: an exact code, a code prefix, or words in titles and inclusion terms.

Shared by the search page, the autocomplete endpoint and the API. In that order: a query that is
a code of the release is an exact match; one shaped like the start of a code lists the codes it
starts, in tabular order; anything else is a word search, ranked:

- PostgreSQL: full text on the title (weight A) and the inclusion terms (weight B) with the
  English stemmer, `ts_rank` normalised by length (short titles first); the GIN index of
  migration 0004 serves the match. When no word matches (a misspelling), titles are compared by
  trigram word similarity (pg_trgm, a GIN trigram index) instead.
- SQLite: an FTS5 table with the Porter stemmer over the same two columns, ranked by `bm25`
  (title weighted 4:1), kept in step with the codes table by triggers (migration 0004). When no
  word matches, each word is replaced by the closest title word of the release (difflib) and the
  search runs again. Where FTS5 is missing, every word must occur in the title or the inclusion
  terms (LIKE), ranked by depth and tabular order.

Both databases: the last word is a prefix (as you type: "smok" finds "smoking"), and a small
thesaurus adds the classification's words for lay ones (smoking: tobacco, nicotine); codes that
match the words as typed rank before those found only through the thesaurus.
"""

import difflib
import re
import threading
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length

from codes.codeset import codeset_for
from codes.icd10 import undotted
from codes.models import Chapter, Code, Release

EXACT = "exact"
PREFIX = "prefix"
WORDS = "words"

# SearchResult.fallback: what was searched when the words as given matched nothing.
SIMILAR_TITLES = "similar_titles"  # PostgreSQL: trigram similarity of the titles
CORRECTED_WORDS = "corrected_words"  # SQLite: each word replaced by the closest title word

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
# The title of the FTS5 table of migration 0004 (SQLite).
FTS_TABLE = "codes_code_words"

_CODE_PREFIX_RE = re.compile(r"[A-Z]([0-9][0-9A-Z]{0,5}|[A-Z][0-9][0-9A-Z]{0,4})?")
_WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass
class SearchResult:
    kind: str  # EXACT, PREFIX or WORDS
    query: str
    codes: QuerySet  # of Code, ranked (words) or in tabular order (prefix); slice it to page
    # Words the thesaurus added to the search (smoking: tobacco, nicotine).
    also_searched: list[str] = field(default_factory=list)
    fallback: str = ""  # SIMILAR_TITLES or CORRECTED_WORDS when the words matched nothing
    corrected_query: str = ""  # with CORRECTED_WORDS: the words searched instead


@dataclass(frozen=True)
class _Word:
    text: str
    prefix: bool  # match words starting with it
    alternatives: tuple[tuple[str, ...], ...]  # from the thesaurus


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
    codes = _codes(release, billable=billable, chapter=chapter)
    candidate = undotted(text)
    # "F17.2-" (the tabular's notation) or "F17.2*": everything under it, the code included.
    everything_under = candidate.endswith(("-", "*"))
    candidate = candidate.rstrip("-*")
    if candidate and _CODE_PREFIX_RE.fullmatch(candidate):
        exact = codes.filter(code=candidate)
        if not everything_under and len(candidate) >= 3 and exact.exists():
            return SearchResult(EXACT, text, exact)
        prefixed = codes.with_prefix(candidate).order_by("sequence")
        if everything_under or prefixed.exists():
            return SearchResult(PREFIX, text, prefixed)
    words = _parse_words(text)
    if not words:
        return SearchResult(WORDS, text, codes.none())
    also = [" ".join(a) for w in words for a in w.alternatives]
    if connection.vendor == "postgresql":
        found = _postgres_words(codes, words)
        # count(), not exists(): for LIMIT 1 the planner walks the release computing every
        # tsvector until one matches (170 ms for "fracture femur"); the count is served by the
        # GIN index (8 ms).
        if found.count():
            return SearchResult(WORDS, text, found, also_searched=also)
        return SearchResult(
            WORDS, text, _postgres_similar(codes, text), also_searched=also, fallback=SIMILAR_TITLES
        )
    if not _sqlite_has_fts():
        return SearchResult(WORDS, text, _like_words(codes, words), also_searched=also)
    codes = _codes(release, billable=billable, chapter=chapter, unindexed=True)
    found = _sqlite_words(codes, words)
    if found.exists():
        return SearchResult(WORDS, text, found, also_searched=also)
    corrected = _corrected(words, release)
    if corrected == words:
        return SearchResult(WORDS, text, found, also_searched=also)
    return SearchResult(
        WORDS,
        text,
        _sqlite_words(codes, corrected),
        also_searched=also,
        fallback=CORRECTED_WORDS,
        corrected_query=" ".join(w.text for w in corrected),
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


def _codes(
    release: Release, *, billable: bool | None, chapter: int | None, unindexed: bool = False
) -> QuerySet:
    """The release's codes, filtered. `unindexed` writes the release and chapter conditions so
    that no index serves them (`release_id + 0 = ...`): SQLite's planner, which has no
    statistics, would otherwise walk the release's 98,000 rows and run the FTS5 match once for
    each (seconds) instead of starting from the match (milliseconds)."""
    codes = Code.objects.select_related("chapter", "section")
    if unindexed:
        codes = codes.alias(release_key=F("release_id") + 0).filter(release_key=release.pk)
    else:
        codes = codes.filter(release=release)
    if billable is not None:
        codes = codes.filter(is_billable=billable)
    if chapter is not None:
        if unindexed:
            chapters = Chapter.objects.filter(release=release, number=chapter).values("pk")
            codes = codes.alias(chapter_key=F("chapter_id") + 0).filter(chapter_key__in=chapters)
        else:
            codes = codes.filter(chapter__number=chapter)
    return codes


def _parse_words(text: str) -> list[_Word]:
    tokens = [t for t in _WORD_RE.findall(text.lower()) if len(t) > 1 or t.isdigit()]
    tokens = tokens[:MAX_WORDS]
    words = []
    for position, token in enumerate(tokens):
        # The last word may be unfinished ("smok"); a thesaurus word is a whole word ("flu").
        prefix = position == len(tokens) - 1 and token not in THESAURUS
        keys = [token]
        if prefix and len(token) >= MIN_THESAURUS_PREFIX:
            keys = [key for key in THESAURUS if key.startswith(token)]
        alternatives = dict.fromkeys(a for key in keys for a in THESAURUS.get(key, ()))
        words.append(_Word(token, prefix, tuple(tuple(a.split()) for a in alternatives)))
    return words


def _title_tier(words: list[_Word]) -> Case:
    """0 when the title has every word as a whole word (or a thesaurus alternative for it; the
    last word as the start of a word), else 1: "smoking" puts "Tobacco use" and "... due to
    patient smoking" before "Toxic effect of smoke", found only through the stemmer."""
    postgres = connection.vendor == "postgresql"
    start, end = (r"\m", r"\M") if postgres else (r"\b", r"\b")
    every = Q()
    for word in words:
        options = [word.text, *(" ".join(alternative) for alternative in word.alternatives)]
        ending = "" if word.prefix else end
        every &= Q(long_title__iregex=f"{start}(?:{'|'.join(options)}){ending}")
    return Case(When(every, then=Value(0)), default=Value(1), output_field=IntegerField())


# PostgreSQL -------------------------------------------------------------------------------------


def word_vector():
    """The weighted tsvector of a code; migration 0004's GIN index is on this exact expression."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("long_title", weight="A", config="english") + SearchVector(
        "inclusion_terms", weight="B", config="english"
    )


def _tsquery(words: list[_Word], *, expand: bool) -> str:
    groups = []
    for word in words:
        options = [word.text + (":*" if word.prefix else "")]
        if expand:
            options += [" & ".join(alternative) for alternative in word.alternatives]
        groups.append("(" + " | ".join(f"({option})" for option in options) + ")")
    return " & ".join(groups)


def _postgres_words(codes: QuerySet, words: list[_Word]) -> QuerySet:
    from django.contrib.postgres.search import SearchQuery, SearchRank

    query = SearchQuery(_tsquery(words, expand=True), search_type="raw", config="english")
    # Normalisation 1: rank / (1 + log(length)): "Tobacco use" before a long toxic-effect title.
    return (
        codes.annotate(words=word_vector())
        .filter(words=query)
        .annotate(
            tier=_title_tier(words), rank=SearchRank(F("words"), query, normalization=Value(1))
        )
        .order_by("tier", "depth", "-rank", "sequence")
    )


def _postgres_similar(codes: QuerySet, text: str) -> QuerySet:
    """Titles with a word close to the query: `long_title %> query` is served by the trigram
    index; ranked by that word similarity."""
    from django.contrib.postgres.search import TrigramWordSimilarity

    return (
        codes.filter(long_title__trigram_word_similar=text)
        .annotate(similarity=TrigramWordSimilarity(text, "long_title"))
        .order_by("-similarity", Length("long_title"), "sequence")
    )


# SQLite -----------------------------------------------------------------------------------------

_fts_lock = threading.Lock()
_fts_available: dict[str, bool] = {}


def _sqlite_has_fts() -> bool:
    """Whether migration 0004 could create the FTS5 table in this database (cached)."""
    key = str(connection.settings_dict["NAME"])
    if key not in _fts_available:
        with _fts_lock, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s",
                [FTS_TABLE],
            )
            _fts_available[key] = cursor.fetchone()[0] == 1
    return _fts_available[key]


def index_release_words(release_id: int) -> None:
    """Add a release's codes to the SQLite word index, in one statement (the loader calls this
    right after writing them; PostgreSQL's expression index needs nothing)."""
    if connection.vendor != "sqlite" or not _sqlite_has_fts():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, long_title, inclusion_terms) "
            "SELECT id, long_title, inclusion_terms FROM codes_code WHERE release_id = %s",
            [release_id],
        )


def _match(words: list[_Word], *, expand: bool) -> str:
    groups = []
    for word in words:
        options = [f'"{word.text}"' + ("*" if word.prefix else "")]
        if expand:
            options += [
                "(" + " AND ".join(f'"{part}"' for part in alternative) + ")"
                for alternative in word.alternatives
            ]
        groups.append("(" + " OR ".join(options) + ")")
    return " AND ".join(groups)


def _sqlite_words(codes: QuerySet, words: list[_Word]) -> QuerySet:
    table = FTS_TABLE
    return (
        codes.extra(
            tables=[table],
            where=[f"{table}.rowid = codes_code.id", f"{table} MATCH %s"],
            params=[_match(words, expand=True)],
            # bm25 is lower for better matches; the title weighs four times the terms.
            select={"rank": f"bm25({table}, 4.0, 1.0)"},
        )
        .annotate(tier=_title_tier(words))
        .order_by("tier", "depth", "rank", "sequence")
    )


def _like_words(codes: QuerySet, words: list[_Word]) -> QuerySet:
    """Without FTS5: every word (or one of its alternatives) in the title or the terms."""
    for word in words:
        options = Q(long_title__icontains=word.text) | Q(inclusion_terms__icontains=word.text)
        for alternative in word.alternatives:
            every = Q()
            for part in alternative:
                every &= Q(long_title__icontains=part) | Q(inclusion_terms__icontains=part)
            options |= every
        codes = codes.filter(options)
    return codes.annotate(tier=_title_tier(words)).order_by("tier", "depth", "sequence")


_vocabularies: dict[tuple[int, str], list[str]] = {}


def _vocabulary(release: Release) -> list[str]:
    """The distinct title words of a release, from its in-memory code set (cached with it)."""
    key = (release.pk, release.imported_at.isoformat())
    if key not in _vocabularies:
        words = set()
        for entry in codeset_for(release).entries.values():
            words.update(_WORD_RE.findall(entry.title.lower()))
        _vocabularies.clear()  # one release at a time is plenty for a fallback
        _vocabularies[key] = sorted(w for w in words if len(w) > 2 and not w.isdigit())
    return _vocabularies[key]


def _corrected(words: list[_Word], release: Release) -> list[_Word]:
    vocabulary = _vocabulary(release)
    known = set(vocabulary)
    corrected = []
    for word in words:
        if word.text in known or word.text.isdigit() or len(word.text) < 4:
            corrected.append(word)
            continue
        close = difflib.get_close_matches(word.text, vocabulary, n=1, cutoff=0.75)
        corrected.append(_Word(close[0], prefix=False, alternatives=()) if close else word)
    return corrected
