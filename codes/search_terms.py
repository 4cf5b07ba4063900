"""The curated abbreviations and lay terms of the search (codes/data/search_terms.tsv), and the
other readings of a query they give: "uti" is read as "urinary tract infection" too, "ms" as
"multiple sclerosis" and as "mitral stenosis".
"""

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

from codes.word_index import tokens

TERMS_FILE = Path(__file__).resolve().parent / "data" / "search_terms.tsv"
# Words of a query that narrow nothing by themselves; left out of queries and terms alike.
QUERY_STOPWORDS = frozenset({"a", "an", "and", "of", "the", "for", "on", "to", "my", "is", "at"})
# Longest term of the file, in words: the spans of a query looked up.
MAX_TERM_WORDS = 4
# Readings of one query at most (each is searched).
MAX_READINGS = 8


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # as typed: ("heart", "attack")
    meanings: tuple[tuple[str, ...], ...]  # each in the Index's words
    kind: str  # "abbreviation" or "lay"
    shown: str  # the meanings as the file writes them


@dataclass(frozen=True)
class Reading:
    """A query read another way: its words, and why ("abbreviation: UTI = urinary tract
    infection"); the query as typed has no reason."""

    words: tuple[str, ...]
    reason: str = ""
    whole: bool = False  # a curated term's meaning replaced the whole query: what it means


@functools.cache
def terms() -> dict[tuple[str, ...], Term]:
    found: dict[tuple[str, ...], Term] = {}
    for number, line in enumerate(TERMS_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        term, meanings, kind = line.split("\t")
        words = tuple(w for w in tokens(term) if w not in QUERY_STOPWORDS)
        if not words or len(words) > MAX_TERM_WORDS or kind not in ("abbreviation", "lay"):
            raise ValueError(f"{TERMS_FILE.name}, line {number}: not a term line: {line!r}")
        parts = [m.strip() for m in meanings.split("|")]
        found[words] = Term(
            words=words,
            meanings=tuple(tuple(tokens(m)) for m in parts),
            kind=kind,
            shown=" | ".join(parts),
        )
    return found


def readings(words: list[str], *, typing: bool = False) -> list[Reading]:
    """The query as typed, then each reading the terms of the file give it: at each place, the
    longest term found there is kept as typed or replaced by one of its meanings. A lay term's
    words are read in any order ("knee fluid": fluid on the knee); `typing`: the last word may
    be unfinished, the start of a term's last word ("sore thr": sore throat)."""
    spans: list[tuple[int, int, Term]] = []
    started = False  # the last span is a single word's start: its meaning is not the query's
    position = 0
    while position < len(words):
        for length in range(min(MAX_TERM_WORDS, len(words) - position), 0, -1):
            span = words[position : position + length]
            found = _term(span, unfinished=typing and position + length == len(words))
            if found is not None:
                spans.append((position, length, found[0]))
                started = found[1] and length == 1
                position += length
                break
        else:
            position += 1
    choices = [[None, *range(len(term.meanings))] for _, _, term in spans]
    found = []
    for picked in itertools.product(*choices):
        built: list[str] = []
        reasons = []
        position = 0
        for (start, length, term), choice in zip(spans, picked, strict=True):
            built += words[position:start]
            if choice is None:
                built += words[start : start + length]
            else:
                meaning = term.meanings[choice]
                built += meaning
                typed = " ".join(term.words)
                label = typed.upper() if term.kind == "abbreviation" else typed
                reasons.append(f"{term.kind}: {label} = {' '.join(meaning)}")
            position = start + length
        built += words[position:]
        whole = (
            len(spans) == 1 and picked[0] is not None and spans[0][1] == len(words) and not started
        )
        found.append(Reading(tuple(built), "; ".join(reasons), whole))
        if len(found) == MAX_READINGS:
            break
    return list(dict.fromkeys(found))


def _term(span: list[str], *, unfinished: bool) -> tuple[Term, bool] | None:
    """The term the words are, and whether they are only its start: as written, a lay term's
    words in another order, or (the last word `unfinished`) the first term of the file whose
    last word it starts: of two words or more, or a lay term of one ("prostate canc")."""
    term = terms().get(tuple(span)) or _lay_terms_any_order().get(tuple(sorted(span)))
    if term is not None:
        return term, False
    if not unfinished or len(span[-1]) < _LETTERS_TYPED.get(len(span), 1):
        return None
    for term in _terms_by_start().get(tuple(span[:-1]), ()):
        if term.words[-1].startswith(span[-1]) and (len(span) > 1 or _tells_more(term, span[0])):
            return term, True
    return None


def _tells_more(term: Term, start: str) -> bool:
    """Whether a lay term of one word says more than its start does: "pile" is the start of
    piles (hemorrhoids); "fract" of fractured, which means fracture, a word "fract" starts."""
    return term.kind == "lay" and not all(
        len(meaning) == 1 and meaning[0].startswith(start) for meaning in term.meanings
    )


# Letters of an unfinished word that start a term, by the words of the term: one letter after
# two whole words ("high blood p"), two after one ("sore th"), four alone ("canc": cancer).
_LETTERS_TYPED = {1: 4, 2: 2}


@functools.cache
def _lay_terms_any_order() -> dict[tuple[str, ...], Term]:
    """Lay terms of two words or more by their words sorted (the first of the file for words
    two terms share)."""
    found: dict[tuple[str, ...], Term] = {}
    for words, term in terms().items():
        if term.kind == "lay" and len(words) > 1:
            found.setdefault(tuple(sorted(words)), term)
    return found


@functools.cache
def _terms_by_start() -> dict[tuple[str, ...], list[Term]]:
    """Terms by their words but the last, in the file's order."""
    found: dict[tuple[str, ...], list[Term]] = {}
    for words, term in terms().items():
        found.setdefault(words[:-1], []).append(term)
    return found


@functools.cache
def terms_words() -> frozenset[str]:
    """Every word of the curated terms: known words, never spelling mistakes."""
    return frozenset(word for key in terms() for word in key)


@functools.cache
def terms_vocabulary() -> list[str]:
    """Every word of the curated terms, sorted: the words a typed start may become."""
    return sorted(terms_words())
