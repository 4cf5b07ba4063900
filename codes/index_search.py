"""The Alphabetic Index as the search's thesaurus: the terms of one part of an imported Index,
found by the words of their paths, in memory.

A term is reached by the words of its main term and of every term above it ("Diabetes, type
2, with, chronic kidney disease" is four terms deep); its non-essential modifiers are words it
may have or not ("Infection, urinary (tract)": "tract" is optional). A term matches a query
when every word of the query is on its path, as an essential or a non-essential word, and the
term itself carries at least one of them (else the term above it is the better match). How
well it matches is how few essential words of its path the query did not say: the main term
"Pneumonia" is an exact match for "pneumonia"; "Pneumonia > aspiration" leaves one word over.

Built once per process and Index (codes.release_memory), shared by every release that reads
that Index, its own or borrowed: the codes it names are mapped to a release by the caller.
"""

import bisect
import re
from array import array
from dataclasses import dataclass, field
from typing import NamedTuple
from weakref import WeakKeyDictionary

from codes.models import IndexTerm, ReleaseIndex
from codes.release_memory import ReleaseMemory
from codes.word_index import (
    CONNECTORS,
    DENIED_WEIGHT,
    QUALIFYING,
    QUALIFYING_WEIGHT,
    stem,
    tokens,
)

_HYPHENATED_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# Indexes whose terms a process keeps (each release's own, and those lent to others).
CACHED_INDEXES = 6
# One-word matches a part keeps ("fracture" is searched alone and in the readings of many
# queries; ~1 KB each).
ONE_WORD_HELD = 1_000


class Hit(NamedTuple):
    """A term a query reached: how well, and what it names. (A tuple: a search makes
    hundreds, and a frozen dataclass takes five times as long to make.)"""

    term: int  # its sequence in the part
    extra: float  # essential words of its path the query did not say (QUALIFYING count more)
    level: int
    code: str  # as printed: the term's own, its see target's, or the nearest one above it
    via: str  # "" (its own code), "see" or "see also" (the term it names)
    target: int  # the term whose code it is (itself, its see target, or the one above)


@dataclass
class PartTerms:
    """The terms of one part of one Index, searchable by their words."""

    index_id: int
    part: str
    parent: array  # by sequence (0 unused)
    last: array  # the last term of each one's subtree
    level: bytes
    names: list[str]  # each term's essential name, for the reasons shown with results
    forms: list[tuple[tuple[str, ...], ...]]  # each term's title forms, as word stems
    left_unsaid: array  # what each term leaves unsaid of a query that says none of its words
    nemod: list[frozenset[str]]  # non-essential words (stems)
    codes: list[str]  # printed code, "" for none
    cells: list[tuple[str, ...]]  # table columns 2.. as printed (tables only)
    see: list[tuple[str, int] | None]  # the term its see resolves to (a term of this part)
    see_also: list[tuple[str, int] | None]  # and its see also
    postings: dict[str, array]  # stem -> terms having it (essential or not)
    vocabulary: list[str]  # every word of the part as written, sorted: prefixes are ranges
    # Terms that only send to a main term ("Varicose, vein, see Varix"), by each stem of their
    # path's names: (the term, those stems, the main term).
    redirects: dict[str, list[tuple[int, frozenset[str], int]]]
    # The hits of one word, as found: (words, limit, coded) -> (terms, extras).
    one_word: dict[tuple, tuple[array, array]] = field(default_factory=dict, repr=False)
    # What the terms' codes stand for in each code set that reads the part (a header's
    # default...: codes.ranked_search._add_printed), held while the code set is.
    printed_in: WeakKeyDictionary = field(default_factory=WeakKeyDictionary, repr=False)

    def path(self, term: int) -> list[int]:
        """The term, then every term above it up to its main term."""
        chain = [term]
        while self.parent[chain[-1]]:
            chain.append(self.parent[chain[-1]])
        return chain

    def path_names(self, term: int) -> str:
        return ", ".join(self.names[t] for t in reversed(self.path(term)))

    def match(
        self,
        words: list[frozenset[str]],
        limit: int,
        *,
        coded: bool = True,
        implied: frozenset[str] = frozenset(),
        within: tuple[int, int] | None = None,
    ) -> list[Hit]:
        """The `limit` best terms whose path has all the words (each word: the stems it may
        be). The terms tried are those carrying the rarest word or below one that does.
        `coded`: only terms that give a code (a table's rows have cells instead); `implied`:
        words taken as said (the Neoplasm Table's "neoplasm"); `within`: only the terms of
        that range (a main term's subtree)."""
        if not words:
            return []
        one_word = (
            (words[0], limit, coded) if len(words) == 1 and not implied and not within else None
        )
        held = self.one_word.get(one_word) if one_word else None
        if held is not None:
            return [self._hit(term, extra) for term, extra in zip(*held, strict=True)]
        having = [self._having(stems) for stems in words]
        if any(not found for found in having):
            return []
        all_stems = frozenset().union(*words) | implied
        # Which words each candidate term carries, as bits in the order of `words`.
        if len(having) == 1:
            carries = dict.fromkeys(having[0], 1)
            candidates = list(carries)
        else:
            carries = {}
            for bit, found in enumerate(having):
                for term in found:
                    carries[term] = carries.get(term, 0) | 1 << bit
            # Those at or below a term with the rarest word (disjoint ranges); with one word,
            # that is every term carrying it. The others still count for the terms below them.
            starts, ends = self._subtrees(min(having, key=len))
            candidates = [
                term
                for term in carries
                if (at := bisect.bisect_right(starts, term) - 1) >= 0 and term <= ends[at]
            ]
        if within is not None:
            low, high = within
            candidates = [term for term in candidates if low <= term <= high]
        # A term having an implied word is worked out as one having a word (with no bit): the
        # others have none of the words said, and leave unsaid what self.left_unsaid says.
        for term in self._having(implied):
            carries.setdefault(term, 0)
        every_word = (1 << len(having)) - 1
        # What a path has and leaves unsaid, worked out once per term: the terms above the
        # candidates are shared by many ("Fracture" by thousands), so each term adds its own
        # to its parent's, worked out before it.
        paths: dict[int, tuple[int, float]] = {0: (0, 0.0)}  # term -> (words had, extra)
        # Terms share their forms ("with", "acute"), and so what the forms leave unsaid.
        unsaid: dict[int, float] = {}  # id of a (shared) forms object -> its words unsaid
        parent, forms_of, level, carried = self.parent, self.forms, self.level, carries.get
        left_unsaid = self.left_unsaid
        ranked = []
        for candidate in candidates:
            above = []
            term = candidate
            while term not in paths:
                above.append(term)
                term = parent[term]
            had, extra = paths[term]
            for term in reversed(above):
                bits = carried(term)
                if bits is None:  # none of the words: worked out when the Index was read
                    extra += left_unsaid[term]
                else:
                    had |= bits
                    shared = id(forms_of[term])
                    left = unsaid.get(shared)
                    if left is None:
                        left = unsaid[shared] = _unsaid(forms_of[term], all_stems)
                    extra += left
                paths[term] = (had, extra)
            if had == every_word:
                ranked.append((extra, level[candidate], candidate))
        ranked.sort()
        hits = []
        for extra, _, term in ranked:
            hit = self._hit(term, extra)
            if hit.code or not coded:
                hits.append(hit)
                if len(hits) == limit:
                    break
        if one_word:
            if len(self.one_word) >= ONE_WORD_HELD:
                self.one_word.clear()  # (not oldest first: another thread may be adding)
            self.one_word[one_word] = (
                array("i", [h.term for h in hits]),
                array("d", [h.extra for h in hits]),
            )
        return hits

    def _hit(self, term: int, extra: float) -> Hit:
        return Hit(term, extra, self.level[term], *self._code(term))

    def continued(self, words: list[frozenset[str]], limit: int) -> list[tuple[int, "Hit"]]:
        """Where a term that sends to a main term has some of the words, the rest found under
        that main term, as a coder follows the reference: "varicose veins leg" is "Varicose,
        vein, see Varix", then "Varix, leg". (The redirecting term, a hit under the main term.)"""
        said = frozenset().union(*words)
        found = []
        tried = set()
        for key in said:
            for redirect, names, main in self.redirects.get(key, ()):
                if redirect in tried or not names <= said:
                    continue
                tried.add(redirect)
                rest = [stems for stems in words if stems.isdisjoint(names)]
                if not rest or len(rest) == len(words):
                    continue
                implied = frozenset(self.forms[main][0]) if self.forms[main] else frozenset()
                within = (main, self.last[main])
                for hit in self.match(rest, limit, implied=implied, within=within):
                    found.append((redirect, hit))
        return found

    def words_starting(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.vocabulary, prefix)
        end = bisect.bisect_left(self.vocabulary, prefix + "\x7f", start)
        return self.vocabulary[start:end]

    def _having(self, stems: frozenset[str]) -> set[int]:
        found: set[int] = set()
        for key in stems:
            found.update(self.postings.get(key, ()))
        return found

    def _subtrees(self, terms: set[int]) -> tuple[list[int], list[int]]:
        """The subtrees of the terms, merged into disjoint ranges: (starts, ends)."""
        starts: list[int] = []
        ends: list[int] = []
        for term in sorted(terms):
            if ends and term <= ends[-1]:
                continue  # inside the subtree before it
            starts.append(term)
            ends.append(self.last[term])
        return starts, ends

    def _code(self, term: int) -> tuple[str, str, int]:
        """The term's code; without one, the code of the term its see names, else of the term
        its see also names ("Tendinitis, see also Enthesopathy": M77.9), followed through a
        few such references ("Fracture, hip, see Fracture, femur, neck, see ... upper end")."""
        if self.codes[term]:
            return self.codes[term], "", term
        seen = {term}
        current = term
        via = ""
        for _ in range(4):
            targets = [
                (kind, target[1])
                for kind, target in (
                    ("see", self.see[current]),
                    ("see also", self.see_also[current]),
                )
                if target is not None and target[1] not in seen
            ]
            if not targets:
                break
            via = via or targets[0][0]
            for _kind, target in targets:
                if self.codes[target]:
                    return self.codes[target], via, target
            current = targets[0][1]
            seen.add(current)
        return "", "", term


def _unsaid(forms: tuple[tuple[str, ...], ...], said: frozenset[str]) -> float:
    """Essential words of a term's best-matching form that the query did not say. Words after
    "without" (up to a "with") name what is absent: unsaid, they cost nothing ("history of
    stroke" is "History, personal, stroke without residual deficits"); said by a query that
    does not say "without", they are denied ("migraine with aura" is not "Migraine, without
    aura")."""
    best = None
    for form in forms:  # loops, not generators: this runs for every term tried
        extra = 0.0
        absent = False
        for word in form:
            if word == "without":
                absent = "without" not in said
            elif word == "with":
                absent = False
            elif word in CONNECTORS:
                continue
            elif absent:
                if word in said:
                    extra += DENIED_WEIGHT
            elif word not in said:
                extra += QUALIFYING_WEIGHT if word in QUALIFYING else 1
        if best is None or extra < best:
            best = extra
    return best or 0.0


def _forms(essential: str, stems_of) -> tuple[tuple[str, ...], ...]:
    """A title's forms: "Infarct, infarction" is "infarct" or "infarction" (the pieces after a
    comma are other endings of the first word), but "Gout, chronic" is "gout chronic" and
    "Fracture, burst" is "fracture burst" (a piece that is another word is part of the name)."""
    pieces = [stems_of(piece) for piece in essential.split(",")]
    pieces = [piece for piece in pieces if piece]
    if not pieces:
        return ()
    first = pieces[0]
    forms = [first]
    whole = list(first)
    for piece in pieces[1:]:
        named = [word for word in piece if word not in CONNECTORS]
        if len(first) == 1 and len(named) == 1 and _same_root(first[0], named[0]):
            forms.append(piece)
        else:
            whole += [word for word in piece if word not in whole]
    if len(whole) > len(first):
        forms[0] = tuple(whole)
    return tuple(dict.fromkeys(other for form in forms for other in _either(form)))


def _either(form: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The forms "X or Y" stands for: "atrial or auricular" is either word; "lymph gland or
    node" is "lymph gland" or "lymph node" (one word after "or" takes the place of the last)."""
    if "or" not in form[1:-1]:
        return [form]
    at = form.index("or", 1)
    left, right = form[:at], form[at + 1 :]
    if len(right) == 1:
        return [left, (*left[:-1], *right)]
    return [left, right]


def _same_root(a: str, b: str) -> bool:
    """Two endings of one word: infarct/infarct (infarction), abdomen/abdomin, tubercul..."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared >= 3 and shared >= min(4, len(a) - 2, len(b) - 2)


def _build(index: ReleaseIndex, part: str) -> PartTerms:
    rows = (
        IndexTerm.objects.filter(index=index, part=part)
        .order_by("sequence")
        .values_list(
            "sequence", "parent", "last", "level", "title", "nemod", "suffix", "code", "cells",
            "see_part", "see_term", "see_also_part", "see_also_term",
        )
    )  # fmt: skip
    parent = array("I", [0])
    last = array("I", [0])
    level = bytearray([0])
    names, forms, nemods, codes, cells = [""], [()], [frozenset()], [""], [()]
    # Sums of 1 and QUALIFYING_WEIGHT: exact in single precision.
    left_unsaid = array("f", [0.0])
    see: list[tuple[str, int] | None] = [None]
    see_also: list[tuple[str, int] | None] = [None]
    postings: dict[str, list[int]] = {}
    interned: dict[str, str] = {}
    shared: dict = {}
    written: set[str] = set()

    def stems_of(text: str) -> tuple[str, ...]:
        found = []
        for word in tokens(text):
            written.add(word)
            key = stem(word)
            found.append(interned.setdefault(key, key))
        return tuple(dict.fromkeys(found))

    for (
        sequence, up, below, depth, title, nemod, suffix, code, row_cells, see_part, see_term,
        also_part, also_term,
    ) in rows:  # fmt: skip
        essential = " ".join(p for p in (title, suffix) if p) or nemod
        term_forms = _forms(essential, stems_of)
        # Optional words: the non-essential modifiers, and a hyphenated word written whole
        # ("Pre-eclampsia" is found by "preeclampsia").
        joined = [w.replace("-", "") for w in _HYPHENATED_RE.findall(essential.casefold())]
        optional = frozenset(stems_of(nemod)) | frozenset(stems_of(" ".join(joined)))
        parent.append(up)
        last.append(below)
        level.append(min(depth, 255))
        # Many terms share their forms, modifiers and codes ("with", "acute", "J18.9"): one
        # object each, not one per term.
        names.append(essential)
        forms.append(shared.setdefault(term_forms, term_forms))
        left_unsaid.append(_unsaid(term_forms, frozenset()))
        nemods.append(shared.setdefault(optional, optional))
        codes.append(shared.setdefault(code, code))
        row = tuple(shared.setdefault(cell, cell) for cell in row_cells)
        cells.append(shared.setdefault(row, row))
        see.append((see_part, see_term) if see_part == part and see_term else None)
        see_also.append((also_part, also_term) if also_part == part and also_term else None)
        for key in {word for form in term_forms for word in form} | optional:
            postings.setdefault(key, []).append(sequence)
    redirects: dict[str, list[tuple[int, frozenset[str], int]]] = {}
    for term in range(1, len(codes)):
        target = see[term]
        if codes[term] or target is None or level[term] > 1 or parent[target[1]]:
            continue
        path = [term, parent[term]] if parent[term] else [term]
        named = frozenset(
            word for t in path if forms[t] for word in forms[t][0] if word not in CONNECTORS
        )
        for key in named:
            redirects.setdefault(key, []).append((term, named, target[1]))
    return PartTerms(
        index_id=index.pk,
        part=part,
        parent=parent,
        last=last,
        level=bytes(level),
        names=names,
        forms=forms,
        left_unsaid=left_unsaid,
        nemod=nemods,
        codes=codes,
        cells=cells,
        see=see,
        see_also=see_also,
        postings={key: array("I", terms) for key, terms in postings.items()},
        vocabulary=sorted(written),
        redirects=redirects,
    )


def _build_index(index: ReleaseIndex) -> dict[str, PartTerms]:
    return {part: _build(index, part) for part in index.parts}


# An Index is never changed once imported: (id, import time) names it, as a release.
index_terms_for = ReleaseMemory(_build_index, size=CACHED_INDEXES)
