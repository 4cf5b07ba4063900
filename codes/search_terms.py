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


def readings(words: list[str]) -> list[Reading]:
    """The query as typed, then each reading the terms of the file give it: at each place, the
    longest term found there is kept as typed or replaced by one of its meanings."""
    known = terms()
    spans: list[tuple[int, int, Term]] = []
    position = 0
    while position < len(words):
        for length in range(min(MAX_TERM_WORDS, len(words) - position), 0, -1):
            term = known.get(tuple(words[position : position + length]))
            if term is not None:
                spans.append((position, length, term))
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
        whole = len(spans) == 1 and picked[0] is not None and spans[0][1] == len(words)
        found.append(Reading(tuple(built), "; ".join(reasons), whole))
        if len(found) == MAX_READINGS:
            break
    return list(dict.fromkeys(found))


@functools.cache
def terms_words() -> frozenset[str]:
    """Every word of the curated terms: known words, never spelling mistakes."""
    return frozenset(word for key in terms() for word in key)
