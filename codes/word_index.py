"""The title words of one release, in memory: titles and inclusion terms, stemmed.

Why in memory rather than in the database: a published release never changes, so its words can
be indexed once per process (about a second, like the code set) and then searched in
microseconds, the same way on PostgreSQL and SQLite. The database indexes it replaces (a GIN
tsvector and a trigram index on PostgreSQL, FTS5 on SQLite) were maintained row by row on every
import — seven of the twelve seconds of a PostgreSQL import — and ranked differently per
database.

A word matches a title or an inclusion term when their English (Snowball) stems agree:
"fractures" finds "fracture". The last word of a query may be unfinished ("smok" finds smoking,
smoke, smoker). A match comes in three tiers, each holding the one before: titles with every word
as typed ("smoking" puts "... due to patient smoking" before "Toxic effect of smoke"), titles
with every word's stem, and the rest (a word found only in the inclusion terms); codes.ranked_search
ranks them after the Index. Within a tier, positions are in a fixed order (categories before
their subdivisions, shorter titles, tabular order), so ordering a match is sorting integers.
"""

import bisect
import difflib
import functools
import hashlib
import heapq
import re
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import snowballstemmer
from django.db.models.functions import Length

from codes.models import Code, Release
from codes.release_memory import ReleaseMemory

# A misspelt word is replaced by a title word at least this similar (difflib's ratio).
CORRECTION_CUTOFF = 0.75

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


# Words that join a path rather than name anything: a query need not say them, and a term
# does not leave them over ("Pneumonia > due to > Streptococcus" is two words from
# "streptococcus pneumonia").
CONNECTORS = frozenset({
    "a", "an", "and", "as", "at", "by", "due", "during", "for", "from", "in", "into", "is", "of",
    "on", "or", "the", "to", "with", "nec", "nos", "other", "specified", "unspecified", "see",
    "also", "following", "classified", "elsewhere", "site", "sites", "type", "code",
    "condition", "conditions", "associated", "involving", "than", "without",
})  # fmt: skip
# Words that put a term in a narrower setting (a pathological fracture, a newborn's
# infection, a family history): one left unsaid counts for more than another word, so that
# "ankle fracture" is first the traumatic one.
QUALIFYING = frozenset(
    stem(word)
    for word in (
        "pathological", "pathologic", "nontraumatic", "stress", "congenital", "newborn",
        "neonatal", "perinatal", "fetal", "fetus", "maternal", "pregnancy", "puerperal",
        "puerperium", "obstetric", "postprocedural", "postoperative", "intraoperative",
        "family",
    )
)  # fmt: skip
QUALIFYING_WEIGHT = 1.5
# A word the query says where a title or an Index term says it is absent ("Other acute
# appendicitis without perforation" for "appendicitis with perforation"): as five words left
# unsaid, so that what has the word comes first.
DENIED_WEIGHT = 5.0
_CONNECTOR_STEMS = frozenset(stem(word) for word in CONNECTORS)


@dataclass(frozen=True)
class Word:
    """A word of a query."""

    text: str
    prefix: bool  # also matches the words it starts (the last word, as you type)


class Match:
    """A search's codes as positions in the index, by tier: each set holds the one before.
    codes.ranked_search reads the first 150 positions (first()): a common word fills the first
    tier, and the others are never worked out."""

    def __init__(self, index: "WordIndex", words: list[Word]) -> None:
        self._index = index
        # Per word: the words it may be as typed, and their stems.
        self._forms = [index._forms(word) for word in words]
        self._stems = [{stem(f) for f in forms} for forms in self._forms]

    def first(self, count: int) -> Iterator[list[int]]:
        """The first `count` positions of the match, tier by tier, each tier's ascending; a
        tier is worked out only while places are left (a common word fills the first), and
        only as far as its first `count` positions."""
        if len(self._forms) == 1:
            yield from self._first_of_one_word(count)
            return
        index = self._index
        before: set[int] = set()
        for sources, keys_per_word in (
            ((index.title_words,), self._forms),
            ((index.title_stems,), self._stems),
            ((index.title_stems, index.term_stems), self._stems),
        ):
            chosen, read = _first_with_every(sources, keys_per_word, count, before)
            yield chosen
            count -= len(chosen)
            if not count:
                return
            # Fewer than `count` found: every window was read, so this is the whole tier,
            # which holds the tiers before it.
            before = read

    def _first_of_one_word(self, count: int) -> Iterator[list[int]]:
        """first() of one word, without the whole of any tier: the `count` smallest positions
        of a union not holding those before (`before`) are among the first count +
        len(before) of each of its postings. And when fewer than `count` are left, no
        postings was cut short, so what was read is the whole tier (as `before` must be)."""
        index, forms, stems = self._index, self._forms[0], self._stems[0]
        before: set[int] = set()
        for sources in (
            [(index.title_words, forms)],
            [(index.title_stems, stems)],
            [(index.title_stems, stems), (index.term_stems, stems)],
        ):
            cut = count + len(before)
            found: set[int] = set()
            for postings, keys in sources:
                for key in keys:
                    found.update(postings.get(key, ())[:cut])
            found -= before
            chosen = heapq.nsmallest(count, found)
            yield chosen
            count -= len(chosen)
            if not count:
                return
            before |= found


# The positions a match of more words reads first (then twice as many, and so on).
FIRST_WINDOW = 4096
# Looking a position up in a word's postings (bisect) costs about twenty times what
# intersecting one of the postings' positions does: positions found are looked up when they
# are fewer than a twentieth of the postings' in the window.
LOOKUP_RATIO = 20


def _first_with_every(
    sources: tuple[dict[str, array], ...],
    keys_per_word: list[set[str]],
    count: int,
    before: set[int],
) -> tuple[list[int], set[int]]:
    """The `count` smallest positions with each word (any of its keys, in any of the sources)
    that are not in `before`; and every position with each word that was read (all of them
    when fewer than `count` were found).

    Positions are read in windows from the first, each twice as wide as the one before, until
    enough are found: two common words ("fracture", "left") share thousands of titles, and
    only the first are wanted. In a window, the positions of the word with the fewest are
    gathered, and each other word keeps those it has too."""
    per_word = [
        [positions for source in sources for key in keys if (positions := source.get(key))]
        for keys in keys_per_word
    ]
    if not all(per_word):
        return [], set()
    per_word.sort(key=lambda postings: sum(map(len, postings)))
    rarest, others = per_word[0], per_word[1:]
    end = max(positions[-1] for positions in rarest) + 1
    chosen: list[int] = []
    read: set[int] = set()
    low, width = 0, FIRST_WINDOW
    while low < end and len(chosen) < count:
        high = low + width
        found: set[int] = set()
        for positions in rarest:
            start = bisect.bisect_left(positions, low)
            found.update(positions[start : bisect.bisect_left(positions, high, start)])
        for postings in others:
            if not found:
                break
            found = _having(found, postings, low, high)
        read |= found
        chosen += sorted(found - before)
        low, width = high, width * 2
    return chosen[:count], read


def _having(found: set[int], postings: list[array], low: int, high: int) -> set[int]:
    """The positions of `found` (all in [low, high)) that one of the postings has: looked up
    one by one when they are few beside the postings' positions in the window (a rare word
    beside "left"), else by intersecting (which reads each of those positions)."""
    kept: set[int] = set()
    for positions in postings:
        start = bisect.bisect_left(positions, low)
        stop = bisect.bisect_left(positions, high, start)
        if len(found) * LOOKUP_RATIO < stop - start:
            for position in found:
                at = bisect.bisect_left(positions, position, start, stop)
                if at < stop and positions[at] == position:
                    kept.add(position)
        else:
            # A list is intersected in two thirds of the time of the array it is made from.
            kept.update(found.intersection(positions[start:stop].tolist()))
    return kept


@dataclass
class WordIndex:
    # Per position (the fixed order of the module docstring):
    codes: list[str]  # undotted codes
    # Word or stem -> positions, ascending.
    title_words: dict[str, array]  # as written in the title
    title_stems: dict[str, array]
    term_stems: dict[str, array]  # in the inclusion terms
    vocabulary: list[str]  # every word of titles and terms, sorted: prefixes are ranges
    title_vocabulary: list[str]  # title words worth correcting to (3 letters or more)
    # Per position: the weight() of the title's stems, connectors aside; and for a connector's
    # stem ("type"), the titles where another word has it ("types").
    title_weights: array
    named_connector_stems: dict[str, array]
    # Stem -> the titles that have it only where they say what is absent ("without perforation
    # or gangrene"): a query saying it (and not "without") is denied by them.
    absent_stems: dict[str, array]
    # A digest of the rows it was built from (codes, titles, inclusion terms, in order): the
    # same rows build the same index.
    source: bytes

    def match(self, words: list[Word]) -> Match:
        """Codes with every word (stemmed) in their title or inclusion terms."""
        return Match(self, words)

    def unsaid_weight(self, position: int, said: frozenset[str]) -> float:
        """The weight() of the stems of the position's title (connectors aside) that are not
        among those said, read from the postings of the stems said: a title is not split again
        for every query that finds it. A stem said that the title names as absent is denied
        (DENIED_WEIGHT more), unless the query says "without" too."""
        left = self.title_weights[position]
        absent = self.absent_stems if "without" not in said else {}
        for key in said:
            if key in _CONNECTOR_STEMS:
                postings = self.named_connector_stems.get(key, ())
            else:
                postings = self.title_stems.get(key, ())
            if _holds(postings, position):
                if key in absent and _holds(absent[key], position):
                    left += DENIED_WEIGHT  # the title says it is absent: still unsaid, and more
                else:
                    left -= QUALIFYING_WEIGHT if key in QUALIFYING else 1
        return left

    def corrected(self, word: str) -> str:
        """The closest title word to a misspelt one, or the word itself."""
        if word in self.title_words or word.isdigit() or len(word) < 4:
            return word
        # A slip rarely hits the first letter: comparing with the words that start like it
        # (and are about as long) keeps this a millisecond, not the 30 of the whole vocabulary.
        candidates = [
            w
            for w in self.title_vocabulary[
                bisect.bisect_left(self.title_vocabulary, word[0]) : bisect.bisect_left(
                    self.title_vocabulary, chr(ord(word[0]) + 1)
                )
            ]
            if abs(len(w) - len(word)) <= 3
        ]
        close = difflib.get_close_matches(word, candidates, n=5, cutoff=CORRECTION_CUTOFF)
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


def _rows(release: Release) -> Iterator[tuple[str, str, str]]:
    """(code, title, inclusion terms) of the release in the index's order, read a chunk at a
    time. Read whole into a list (and its digest taken of one string of them), they were made
    and dropped between the postings the index keeps: FY2026's build peaked at 55 MB for the
    13 MB it keeps (tracemalloc), and the process kept most of the heap it had grown, 26–41 MB
    a release; read so, the build peaks at 14 MB and a process holding every bundled release
    starts 26 MB smaller (371 → 345 MB)."""
    rows = (
        Code.objects.filter(release=release)
        .order_by("depth", Length("long_title"), "sequence")
        .values_list("code", "long_title", "inclusion_terms")
    )
    return rows.iterator(chunk_size=2_000)


def _build(release: Release) -> WordIndex:
    # A release and its April update have the same codes, titles and terms, so the same index:
    # held once, not twice (11 MB), and not built again to find that out.
    digest = hashlib.sha256()
    for row in _rows(release):
        digest.update(repr(row).encode())
    source = digest.digest()
    for held in word_index_for.held():
        if held.source == source:
            return held
    # Postings are built as arrays of 4-byte positions, not lists of int objects turned into
    # arrays at the end: a list of a release's 900,000 positions was 20 MB made and dropped,
    # and what a worker's memory gave back of it was only a part (it was forked with the rest).
    title_words: dict[str, array] = {}
    title_stems: dict[str, array] = {}
    term_stems: dict[str, array] = {}
    term_words: set[str] = set()
    title_weights = array("f")  # sums of 1 and 1.5: exact in single precision
    named_connector_stems: dict[str, array] = {}
    absent_stems: dict[str, array] = {}
    codes = []
    for position, (code, title, terms) in enumerate(_rows(release)):
        codes.append(sys.intern(code))  # the code set's strings (codes.codeset)
        if "without" in title.lower():
            keys = [key for piece in title.split(",") for key in [*map(stem, tokens(piece)), ","]]
            for key in named_absent(keys):
                _add(absent_stems, key, position)
        words = set(tokens(title))
        named = {stem(word) for word in words if word not in CONNECTORS}
        title_weights.append(weight(named))
        for key in named & _CONNECTOR_STEMS:
            _add(named_connector_stems, key, position)
        for word in words:
            _add(title_words, word, position)
        for key in {stem(word) for word in words}:
            _add(title_stems, key, position)
        if terms:
            words = set(tokens(terms))
            term_words |= words
            for key in {stem(word) for word in words}:
                _add(term_stems, key, position)
    index = WordIndex(
        codes=codes,
        title_words=title_words,
        title_stems=title_stems,
        term_stems=term_stems,
        vocabulary=sorted(title_words.keys() | term_words),
        title_vocabulary=sorted(w for w in title_words if len(w) > 2 and not w.isdigit()),
        title_weights=title_weights,
        named_connector_stems=named_connector_stems,
        absent_stems=absent_stems,
        source=source,
    )
    return index


def _holds(positions: array, position: int) -> bool:
    at = bisect.bisect_left(positions, position)
    return at < len(positions) and positions[at] == position


def named_absent(words: list[str]) -> set[str]:
    """The words (or stems) a title names as absent: after "without", up to a "with" or a
    comma ("Migraine without aura, intractable, with status migrainosus": aura), less those
    it also names elsewhere. `words`: in order, a comma as ","."""
    absent, elsewhere = set(), set()
    inside = False
    for word in words:
        if word == "without":
            inside = True
        elif word in (",", "with"):
            inside = False
        elif word not in CONNECTORS:
            (absent if inside else elsewhere).add(word)
    return absent - elsewhere


def weight(stems: set[str]) -> float:
    """What words weigh when a query leaves them unsaid: 1 a stem, QUALIFYING_WEIGHT a
    qualifying one ("congenital")."""
    return sum(QUALIFYING_WEIGHT if key in QUALIFYING else 1 for key in stems)


def _add(postings: dict[str, array], key: str, position: int) -> None:
    positions = postings.get(key)
    if positions is None:
        positions = postings[key] = array("I")
    positions.append(position)


word_index_for = ReleaseMemory(_build)
