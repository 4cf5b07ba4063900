"""The word search of one release, in memory: titles and inclusion terms, stemmed and ranked.

Why in memory rather than in the database: a published release never changes, so its words can
be indexed once per process (about a second, like the code set) and then searched in
microseconds, the same way on PostgreSQL and SQLite. The database indexes it replaces (a GIN
tsvector and a trigram index on PostgreSQL, FTS5 on SQLite) were maintained row by row on every
import — seven of the twelve seconds of a PostgreSQL import — and ranked differently per
database.

A word matches a title or an inclusion term when their English (Snowball) stems agree:
"fractures" finds "fracture". The last word of a query may be unfinished ("smok" finds smoking,
smoke, smoker). A thesaurus alternative (codes.search) matches when all its words do.

Ranking, best first:
  1. the title has every word as typed (or a thesaurus alternative of it): "smoking" puts
     "... due to patient smoking" before "Toxic effect of smoke";
  2. the title has every word's stem;
  3. the rest (some word found only in the inclusion terms);
and within each, categories before their subdivisions (depth), shorter titles, tabular order.
That second order is fixed per code, so it is the code's position in the index: ranking a match
is sorting integers.
"""

import bisect
import difflib
import functools
import re
import threading
import unicodedata
from array import array
from dataclasses import dataclass

import snowballstemmer

from codes.models import Code, Release
from codes.release_memory import ReleaseMemory

# Words too common to tell codes apart; a query's words must all match, so these are ignored
# rather than required ("fracture of the femur"). Not "with", "without", "not", "no": in a code
# title they are the difference between two codes.
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of",
    "on", "or", "the", "to",
})  # fmt: skip
# A misspelt word is replaced by a title word at least this similar (difflib's ratio).
CORRECTION_CUTOFF = 0.75
# Releases whose index a process keeps (two are hot at most: this year's and last year's).
CACHED_RELEASES = 4

_TOKEN_RE = re.compile(r"[a-z0-9]+")
_stemmer = snowballstemmer.stemmer("english")
_stemmer_lock = threading.Lock()  # a Snowball stemmer keeps its word in itself


def tokens(text: str) -> list[str]:
    """Lower-case ASCII words of a text, accents removed (Ménière -> meniere)."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _TOKEN_RE.findall(text)


@functools.lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    with _stemmer_lock:
        return _stemmer.stemWord(word)


@dataclass(frozen=True)
class Word:
    """A word of a query."""

    text: str
    prefix: bool  # also matches the words it starts (the last word, as you type)
    alternatives: tuple[tuple[str, ...], ...] = ()  # thesaurus alternatives, each all required


@dataclass
class Match:
    """A search's codes as positions in the index, by tier: each set holds the one before."""

    typed_in_title: set[int]
    stems_in_title: set[int]
    anywhere: set[int]

    def ranked(self) -> list[int]:
        return (
            sorted(self.typed_in_title)
            + sorted(self.stems_in_title - self.typed_in_title)
            + sorted(self.anywhere - self.stems_in_title)
        )


@dataclass
class WordIndex:
    # Per position (the fixed order of the module docstring):
    pks: array  # Code primary keys
    codes: list[str]  # undotted codes
    billable: bytes  # 1 or 0
    chapters: array  # chapter numbers (0 for none)
    # Word or stem -> positions, ascending.
    title_words: dict[str, array]  # as written in the title
    title_stems: dict[str, array]
    term_stems: dict[str, array]  # in the inclusion terms
    vocabulary: list[str]  # every word of titles and terms, sorted: prefixes are ranges
    title_vocabulary: list[str]  # title words worth correcting to (3 letters or more)

    def match(self, words: list[Word]) -> Match:
        """Codes with every word (stemmed) in their title or inclusion terms."""
        typed, stems, anywhere = set(), set(), set()
        for number, word in enumerate(words):
            forms = self._forms(word)
            word_typed = self._union(self.title_words, forms)
            word_stems = self._union(self.title_stems, {stem(f) for f in forms})
            word_anywhere = word_stems | self._union(self.term_stems, {stem(f) for f in forms})
            for alternative in word.alternatives:
                word_typed |= self._every(self.title_words, alternative)
                alternative_stems = [stem(part) for part in alternative]
                word_stems |= self._every(self.title_stems, alternative_stems)
                word_anywhere |= self._every_anywhere(alternative_stems)
            if number == 0:
                typed, stems, anywhere = word_typed, word_stems, word_anywhere
            else:
                typed &= word_typed
                stems &= word_stems
                anywhere &= word_anywhere
            if not anywhere:
                break
        # A title with the typed word has its stem too; the intersections keep that true.
        return Match(typed & anywhere, (stems | typed) & anywhere, anywhere)

    def keep(self, match: Match, *, billable: bool | None, chapter: int | None) -> Match:
        """Only billable codes (or only headers), only one chapter's codes."""

        def kept(position: int) -> bool:
            return (billable is None or bool(self.billable[position]) == billable) and (
                chapter is None or self.chapters[position] == chapter
            )

        if billable is None and chapter is None:
            return match
        anywhere = {p for p in match.anywhere if kept(p)}
        return Match(match.typed_in_title & anywhere, match.stems_in_title & anywhere, anywhere)

    def corrected(self, word: str) -> str:
        """The closest title word to a misspelt one, or the word itself."""
        if word in self.title_words or word.isdigit() or len(word) < 4:
            return word
        close = difflib.get_close_matches(
            word, self.title_vocabulary, n=5, cutoff=CORRECTION_CUTOFF
        )
        if not close:
            return word
        # Among the closest, the word of more titles: "diabetis" is "diabetes", not "diabetic".
        closest = difflib.SequenceMatcher(None, word, close[0]).ratio()
        tied = [w for w in close if difflib.SequenceMatcher(None, word, w).ratio() == closest]
        return max(tied, key=lambda w: len(self.title_words[w]))

    def _forms(self, word: Word) -> set[str]:
        if not word.prefix:
            return {word.text}
        start = bisect.bisect_left(self.vocabulary, word.text)
        # Words are [a-z0-9]: "\x7f" sorts after every word that starts with the prefix.
        end = bisect.bisect_left(self.vocabulary, word.text + "\x7f", start)
        return {word.text, *self.vocabulary[start:end]}

    @staticmethod
    def _union(postings: dict[str, array], keys: set[str]) -> set[int]:
        found: set[int] = set()
        for key in keys:
            found.update(postings.get(key, ()))
        return found

    @staticmethod
    def _every(postings: dict[str, array], keys) -> set[int]:
        found: set[int] | None = None
        for key in keys:
            these = set(postings.get(key, ()))
            found = these if found is None else found & these
        return found or set()

    def _every_anywhere(self, stems: list[str]) -> set[int]:
        found: set[int] | None = None
        for key in stems:
            these = set(self.title_stems.get(key, ())) | set(self.term_stems.get(key, ()))
            found = these if found is None else found & these
        return found or set()


def _build(release: Release) -> WordIndex:
    rows = list(
        Code.objects.filter(release=release).values_list(
            "pk",
            "code",
            "long_title",
            "inclusion_terms",
            "depth",
            "sequence",
            "is_billable",
            "chapter__number",
        )
    )
    rows.sort(key=lambda row: (row[4], len(row[2]), row[5]))
    title_words: dict[str, list[int]] = {}
    title_stems: dict[str, list[int]] = {}
    term_stems: dict[str, list[int]] = {}
    term_words: set[str] = set()
    for position, (_, _, title, terms, *_) in enumerate(rows):
        words = set(tokens(title))
        for word in words:
            title_words.setdefault(word, []).append(position)
        for key in {stem(word) for word in words}:
            title_stems.setdefault(key, []).append(position)
        if terms:
            words = set(tokens(terms))
            term_words |= words
            for key in {stem(word) for word in words}:
                term_stems.setdefault(key, []).append(position)
    return WordIndex(
        pks=array("q", (row[0] for row in rows)),
        codes=[row[1] for row in rows],
        billable=bytes(int(row[6]) for row in rows),
        chapters=array("H", (row[7] or 0 for row in rows)),
        title_words=_compact(title_words),
        title_stems=_compact(title_stems),
        term_stems=_compact(term_stems),
        vocabulary=sorted(title_words.keys() | term_words),
        title_vocabulary=sorted(w for w in title_words if len(w) > 2 and not w.isdigit()),
    )


def _compact(postings: dict[str, list[int]]) -> dict[str, array]:
    # 4 bytes a position instead of a pointer to an int object.
    return {key: array("I", positions) for key, positions in postings.items()}


word_index_for = ReleaseMemory(_build, size=CACHED_RELEASES)
