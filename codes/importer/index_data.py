"""Parsed Index parts + the release's codes -> what the loader stores, cross-checked. Pure.

Two things are worked out here, once, at import:

- **Code references.** Every code an Index term names (its code, its manifestation code, its
  "see category" or "see subcategory", each table cell) is looked up in the release's codes:
  a complete code must exist; a code ending in "-" must be a header; a code printed without
  its 7th character (drug-table cells are 6 characters: T51.3X1) must be a header whose codes
  take one. What does not hold is counted per part with examples, for the release report.
- **Cross-references.** A `see` or `see also` names a term by its path, as printed
  ("Infarct, myocardium"): it is resolved to that term, in the same part or in the part it
  names ("Neoplasm, malignant, by site" is the Neoplasm Table; "Table of Drugs and Chemicals"
  the drug table). Generic instructions ("see condition", "see category M01") lead to no term.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from codes.importer.index_xml import (
    DISEASES,
    DRUGS,
    EXTERNAL_CAUSES,
    NEOPLASMS,
    PART_NAMES,
    PARTS,
    IndexPart,
    IndexTerm,
)

# Code reference statuses.
COMPLETE = "complete"  # a code of the release, billable, printed complete
INCOMPLETE = "incomplete"  # "I63.9-": a header, more characters required
SEVENTH = "seventh"  # "T51.3X1", "X58": a header whose codes add a 7th character
CATEGORY = "category"  # "see category M01": the category or subcategory exists
HEADER = "header"  # a header printed as if it were complete (reported, still linked)
DASH_ON_BILLABLE = "dash_on_billable"  # "I63.9-" when I63.9 is billable (reported)
MISSING = "missing"  # not a code of the release (reported)
MALFORMED = "malformed"  # not shaped like a code at all (reported)
RESOLVED_STATUSES = (COMPLETE, INCOMPLETE, SEVENTH, CATEGORY)
REPORTED_STATUSES = (HEADER, DASH_ON_BILLABLE, MISSING, MALFORMED)

# Where a code reference sits on its term.
CODE_COLUMN = 0  # <code>
MANIF_COLUMN = 1  # <manif>
CATEGORY_COLUMN = 8  # <seecat>, <subcat>
# Table cells keep their column number (2 to 9).

# Cross-reference statuses.
TERM = "term"  # resolved to the term it names
INSTRUCTION = "instruction"  # "see condition", "see category M01": no term to lead to
PARTIAL = "partial"  # the first words resolved, the rest not (linked to the deepest found)
UNRESOLVED = "unresolved"

# Examples of each reported problem kept per part.
EXAMPLES = 20

_SLUG_RE = re.compile(r"[^a-z0-9]+")
# "J18.9", "I63.9-", and "C56.-" (a category whose 4th character is required).
_PRINTED_CODE_RE = re.compile(r"([A-Z][0-9A-Z]{2})(?:\.([0-9A-Z]{1,4})|(?=\.-))?\.?(-?)")
_PARENTHESES_RE = re.compile(r"\([^()]*\)")
_SPACE_RE = re.compile(r"\s+")
_QUALIFIER_RE = re.compile(r"\s+(?:nec|nos)$")
_PARENTHESES_WORDS_RE = re.compile(r"[^\W_]+")
# Words that tell an instruction rather than name a term.
_INSTRUCTIONS = ("condition", "specific condition", "category", "categories", "subcategory")
# "category M01", "subcategory M14.8-", "N00-N07 with fourth character .8", "E08-E13 with .620"
_CODE_INSTRUCTION_RE = re.compile(r"(?:sub)?categor(?:y|ies)\b|[a-z][0-9][0-9a-z](?:[-.]|$)")
# Column names a drug-table reference may end with: the row is the substance before them.
_DRUG_COLUMNS = {"poisoning", "adverse effect", "underdosing", "accidental", "intentional",
    "intentional self-harm", "assault", "undetermined"}  # fmt: skip
_NEOPLASM_BEHAVIOURS = {
    "malignant": 2,
    "malignant primary": 2,
    "primary": 2,
    "secondary": 3,
    "malignant secondary": 3,
    "in situ": 4,
    "ca in situ": 4,
    "carcinoma in situ": 4,
    "benign": 5,
    "uncertain behavior": 6,
    "uncertain": 6,
    "unspecified behavior": 7,
    "unspecified": 7,
}


@dataclass(frozen=True)
class CodeReference:
    part: str
    term: int  # the term's sequence in its part
    level: int  # the term's
    column: int  # CODE_COLUMN, MANIF_COLUMN, CATEGORY_COLUMN or a table column (2-9)
    printed: str  # as in the file: "I63.9-"
    code: str  # undotted, without the dash: "I639"; "" when malformed
    status: str


@dataclass(frozen=True)
class CrossReference:
    part: str
    term: int
    kind: str  # "see" or "see_also"
    text: str
    status: str  # TERM, INSTRUCTION, PARTIAL or UNRESOLVED
    target_part: str = ""
    target_term: int = 0  # 0: the part itself (a table), or nothing


@dataclass
class IndexData:
    parts: dict[str, IndexPart]
    references: list[CodeReference]
    cross_references: list[CrossReference]
    report: dict = field(default_factory=dict)  # per part: counts and examples

    def slugs(self, part: str) -> dict[int, str]:
        """Each main term's URL name within its letter: its first form ("attack" for "Attack,
        attacks"), or its whole title when another main term of the letter shares that form
        ("fracture-burst", "fracture-traumatic"); "-2" after a name taken twice."""
        mains = [term for term in self.parts[part].terms if term.level == 0]
        firsts = {
            term.sequence: slug((term.essential or term.nemod).split(",")[0]) for term in mains
        }
        shared: dict[tuple[str, str], int] = {}
        for term in mains:
            key = (term.letter, firsts[term.sequence])
            shared[key] = shared.get(key, 0) + 1
        found: dict[int, str] = {}
        taken: set[tuple[str, str]] = set()
        for term in mains:
            base = firsts[term.sequence]
            if shared[(term.letter, base)] > 1:
                base = slug(term.essential or term.nemod)
            base = base or "term"
            candidate, number = base, 1
            while (term.letter, candidate) in taken:
                number += 1
                candidate = f"{base}-{number}"
            taken.add((term.letter, candidate))
            found[term.sequence] = candidate
        return found

    def see(self) -> dict[tuple[str, int, str], "CrossReference"]:
        """(part, term, "see" or "see_also") -> how it was resolved."""
        return {(c.part, c.term, c.kind): c for c in self.cross_references}


def build_index_data(
    parts: Mapping[str, IndexPart], codes: Mapping[str, tuple[bool, str]]
) -> IndexData:
    """`codes`: the release's codes, undotted -> (billable, parent)."""
    seventh_stems = {
        parent
        for code, (_, parent) in codes.items()
        if len(code) == 7 and parent and code[:6] == parent.ljust(6, "X")
    }
    references: list[CodeReference] = []
    for part in parts.values():
        for term in part.terms:
            for column, printed in _printed_codes(term):
                code, status = _classify(printed, column, codes, seventh_stems)
                references.append(
                    CodeReference(
                        part.part, term.sequence, term.level, column, printed, code, status
                    )
                )
    resolver = _Resolver(parts)
    # The same reference is printed many times ("see condition" 474 times in FY2017).
    resolved: dict[tuple[str, str], CrossReference] = {}
    cross = []
    for part in parts.values():
        for term in part.terms:
            for kind, text in (("see", term.see), ("see_also", term.see_also)):
                if not text:
                    continue
                known = resolved.get((part.part, text))
                if known is None:
                    known = resolved[(part.part, text)] = resolver.resolve(part.part, text)
                cross.append(CrossReference(part.part, term.sequence, kind, text, *_target(known)))
    data = IndexData(dict(parts), references, cross)
    data.report = {name: _part_report(data, name) for name in PARTS if name in parts}
    return data


def slug(text: str) -> str:
    """ "Legg (-Calvé)-Perthes disease" -> "legg-calve-perthes-disease" (at most 100 letters)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("'", "").replace("’", ""))
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    return _SLUG_RE.sub("-", ascii_text).strip("-")[:100].strip("-")


def _target(reference: "CrossReference") -> tuple[str, str, int]:
    return reference.status, reference.target_part, reference.target_term


def printed_code(printed: str) -> tuple[str, bool] | None:
    """("I639", True) for "I63.9-": the undotted code and whether more characters are
    required; None when the text is not shaped like a code."""
    match = _PRINTED_CODE_RE.fullmatch(printed.strip())
    if match is None or (printed.strip().endswith(".") and not match[3]):
        return None
    return match[1] + (match[2] or ""), bool(match[3])


def _printed_codes(term: IndexTerm) -> list[tuple[int, str]]:
    found = []
    if term.code:
        found.append((CODE_COLUMN, term.code))
    if term.manif:
        found.append((MANIF_COLUMN, term.manif))
    for text in (term.seecat, term.subcat):
        if text:
            found.append((CATEGORY_COLUMN, text))
    for position, text in enumerate(term.cells):
        if text and text.strip("-"):  # "--" and "-": no code in that column
            found.append((position + 2, text))
    return found


def _classify(
    printed: str, column: int, codes: Mapping[str, tuple[bool, str]], seventh_stems: set[str]
) -> tuple[str, str]:
    parsed = printed_code(printed)
    if parsed is None:
        return "", MALFORMED
    code, dash = parsed
    found = codes.get(code)
    if found is None:
        return code, MISSING
    billable = found[0]
    if column == CATEGORY_COLUMN:
        return code, CATEGORY
    if dash:
        return code, DASH_ON_BILLABLE if billable else INCOMPLETE
    if billable:
        return code, COMPLETE
    return code, SEVENTH if code in seventh_stems else HEADER


def _part_report(data: IndexData, name: str) -> dict:
    part = data.parts[name]
    references = [r for r in data.references if r.part == name]
    cross = [c for c in data.cross_references if c.part == name]
    by_status = {status: 0 for status in (*RESOLVED_STATUSES, *REPORTED_STATUSES)}
    for reference in references:
        by_status[reference.status] += 1
    terms = {term.sequence: term for term in part.terms}
    problems = {
        status: [
            {"code": r.printed, "term": term_path(part, r.term)}
            for r in references
            if r.status == status
        ][:EXAMPLES]
        for status in REPORTED_STATUSES
    }
    cross_counts = {status: 0 for status in (TERM, INSTRUCTION, PARTIAL, UNRESOLVED)}
    for reference in cross:
        cross_counts[reference.status] += 1
    return {
        "name": PART_NAMES[name],
        "version": part.version,
        "letters": len(part.letters),
        "main_terms": part.main_term_count,
        "nested_terms": len(part.terms) - part.main_term_count,
        "code_references": len(references),
        "codes": by_status,
        "unresolved_codes": sum(by_status[s] for s in REPORTED_STATUSES),
        "code_examples": {status: found for status, found in problems.items() if found},
        "cross_references": cross_counts,
        "unresolved_cross_references": cross_counts[PARTIAL] + cross_counts[UNRESOLVED],
        "cross_reference_examples": [
            {"term": term_path(part, c.term), "see": c.text, "status": c.status}
            for c in cross
            if c.status in (PARTIAL, UNRESOLVED)
        ][:EXAMPLES],
        "unknown_elements": part.unknown_elements,
        "empty_titles": sum(1 for t in terms.values() if not t.title and not t.suffix),
    }


def term_path(part: IndexPart, sequence: int) -> str:
    """ "Pneumonia > aspiration > due to": the term's names from its main term down."""
    names = []
    while sequence:
        term = part.terms[sequence - 1]
        names.append(term.essential or term.nemod)
        sequence = term.parent
    return " > ".join(reversed(names))


# Cross-references -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=100_000)
def normalised(text: str) -> str:
    """What two printings of the same term share: case, spacing, parenthesised words and a
    trailing NEC/NOS aside ("Complication(s)" = "complication", "infectious NOS" = "infectious")."""
    text = _PARENTHESES_RE.sub(" ", text.replace("\u00a0", " ").casefold())
    text = _SPACE_RE.sub(" ", text).strip(" ,;.")
    return _QUALIFIER_RE.sub("", text).strip(" -")


@dataclass(frozen=True)
class _Names:
    """What a term answers to when a reference names it."""

    whole: str  # its whole title, normalised: "infarct, infarction"
    forms: tuple[str, ...]  # the whole, then each comma-separated form ("infarct", ...)
    compact: frozenset[str]  # letters and digits only, parenthesised words kept: "lightfordates"
    bag_key: str  # the whole title's words in any order: "altitude, high" = "high altitude"
    nemod: frozenset[str]  # the words of its non-essential modifiers


def _names(term: IndexTerm) -> _Names:
    whole = normalised(term.essential or term.nemod)
    forms = [whole, *(p.strip() for p in whole.split(","))]
    raw = [term.essential.casefold()]
    if term.nemod:
        # With the non-essential words too: "Chagas' (-Mazza) disease (chronic)" is
        # "Chagas' disease"; "Legg (-Calvé)-Perthes disease" is "Legg-Calvé-Perthes disease".
        printed = normalised(term.name)
        forms += [printed, *(p.strip() for p in printed.split(","))]
        raw.append(term.name.casefold())
    spellings = {*forms, *raw, *(p for text in raw for p in text.split(","))}
    return _Names(
        whole,
        tuple(dict.fromkeys(f for f in forms if f)),
        frozenset({_compact(text) for text in spellings} - {""}),
        _bag(whole),
        frozenset(_PARENTHESES_WORDS_RE.findall(term.nemod.casefold())),
    )


def _bag(text: str) -> str:
    return "bag:" + " ".join(sorted(set(text.replace(",", " ").split())))


@functools.lru_cache(maxsize=100_000)
def _compact(text: str) -> str:
    """Letters and digits only, each word's plural "s" dropped: "Complication(s)" and
    "complications" are both "complication"; "Light-for-dates" is "lightfordates"."""
    words = _PARENTHESES_WORDS_RE.findall(text)
    return "".join(_singular(word) for word in words)


def _singular(word: str) -> str:
    if len(word) > 4 and word[-1] == "s" and word[-2] not in "siu":
        return word[:-1]
    return word


def _overlap(a: str, b: str) -> bool:
    """Mostly the same words: "accidentally left during a procedure" and "accidentally left
    following a procedure"."""
    left, right = set(a.split()), set(b.split())
    shared = left & right
    return len(shared) >= 2 and len(shared) / len(left | right) >= 0.6


@dataclass
class _Siblings:
    """The terms under one parent, found by the names they answer to."""

    terms: list[IndexTerm]
    whole: dict[str, list[IndexTerm]]  # whole title -> terms
    named: dict[str, list[tuple[int, IndexTerm]]]  # a name -> (tier, term); tier 0 is best


class _Resolver:
    """Finds the term a see reference names, walking the parts' trees by name."""

    # Candidates tried at each step before giving up on a path (bounds the backtracking); more
    # for main terms, where "Fracture" may be any of "Fracture, burst", "Fracture, traumatic"...
    TRIED = 4
    TRIED_MAIN = 12

    def __init__(self, parts: Mapping[str, IndexPart]) -> None:
        self.parts = parts
        self.children: dict[str, dict[int, list[IndexTerm]]] = {}
        for name, part in parts.items():
            children: dict[int, list[IndexTerm]] = {}
            for term in part.terms:
                children.setdefault(term.parent, []).append(term)
            self.children[name] = children
        # (part, parent) -> its children's names, worked out when first looked into
        self.siblings: dict[tuple[str, int], _Siblings] = {}
        self.known_names: dict[tuple[str, int], _Names] = {}
        self.initials: dict[str, dict[str, list[IndexTerm]]] = {}  # part -> letter -> main terms

    def names(self, part: str, term: IndexTerm) -> _Names:
        key = (part, term.sequence)
        named = self.known_names.get(key)
        if named is None:
            named = self.known_names[key] = _names(term)
        return named

    def resolve(self, part: str, text: str) -> CrossReference:
        """How a see or see-also reference printed in `part` resolves (its term fields 0)."""
        words = [w for w in (normalised(c) for c in text.split(",")) if w]

        def found(status: str, target_part: str = "", target: int = 0) -> CrossReference:
            return CrossReference(part, 0, "", text, status, target_part, target)

        if (
            not words
            or words[0] in _INSTRUCTIONS
            or words[0].startswith("with ")  # "with 7th character S"
            or _CODE_INSTRUCTION_RE.match(words[0])
        ):
            return found(INSTRUCTION)
        # "Abortion by type complicated by embolism": the words before "by type" name the term.
        words = _before_instruction(words)
        target_part, words = self._part_named(part, words)
        if target_part not in self.parts:
            return found(UNRESOLVED)
        if not words:  # the table itself ("see Table of Drugs and Chemicals")
            return found(TERM, target_part, 0)
        if target_part == NEOPLASMS:
            # "Neoplasm, connective tissue, malignant": a row of the table and one of its
            # columns; the row is what we lead to.
            main = self.children[NEOPLASMS].get(0, [])
            if not main:
                return found(UNRESOLVED)
            words = [w for w in words if w not in _NEOPLASM_BEHAVIOURS]
            if words and words[0] in self.names(NEOPLASMS, main[0]).forms:
                words = words[1:]  # "Neoplasm, neoplastic, ..." named in full
            path, left = self._descend(NEOPLASMS, main[0], words)
            return found(PARTIAL if left else TERM, NEOPLASMS, path.sequence)
        partial: tuple[str, IndexTerm] | None = None
        for candidate_part in self._parts_to_try(target_part):
            reached_part, reached, left = self._resolve_words(candidate_part, words)
            if reached is not None and not left:
                return found(TERM, reached_part, reached.sequence)
            if reached is not None and partial is None:
                partial = (reached_part, reached)
        if partial is None:
            return found(UNRESOLVED)
        return found(PARTIAL, partial[0], partial[1].sequence)

    def _resolve_words(
        self, part: str, words: list[str]
    ) -> tuple[str, IndexTerm | None, list[str]]:
        """The term the words name in a part (the deepest reached: its part, itself) and the
        words left over."""
        if part == DRUGS:
            # "Table of Drugs and Chemicals, vitamins, poisoning": a row, and its column.
            words = [w for w in words if w not in _DRUG_COLUMNS] or words[:1]
        best: tuple[str, IndexTerm | None, list[str]] = (part, None, words)
        for term, rest in self._candidates(part, 0, words)[: self.TRIED_MAIN]:
            reached, left = self._descend(part, term, rest)
            if left and self.names(part, term).whole == "poisoning" and DRUGS in self.parts:
                # "Poisoning, mercury": the Index sends poisonings to the drug table.
                in_table = self._resolve_words(DRUGS, left)
                if in_table[1] is not None and not in_table[2]:
                    return in_table
            if not left:
                return part, reached, left
            if best[1] is None or len(left) < len(best[2]):
                best = (part, reached, left)
        return best

    def _parts_to_try(self, part: str) -> list[str]:
        """The part named first; then, for the two indexes, the other one ("see Misadventure"
        in the External Cause Index is a term of the Index to Diseases)."""
        others = {DISEASES: EXTERNAL_CAUSES, EXTERNAL_CAUSES: DISEASES}
        return [p for p in (part, others.get(part)) if p in self.parts]

    def _part_named(self, part: str, words: list[str]) -> tuple[str, list[str]]:
        """The part a reference leads to, and its words within that part."""
        first = words[0]
        if first.startswith("table of drugs"):
            rest = words[1:]
            # "Table of Drugs and Chemicals, by drug, poisoning": the table itself.
            return DRUGS, [] if rest and rest[0].startswith("by ") else rest
        if first.startswith(("table of neoplasms", "neoplasm table")) or (
            first == "neoplasm" and part != NEOPLASMS
        ):
            return NEOPLASMS, words[1:]
        if first.startswith("index to diseases"):
            return DISEASES, words[1:]
        return part, words

    def _descend(self, part: str, term: IndexTerm, words: list[str]) -> tuple[IndexTerm, list[str]]:
        """The deepest term reached from `term` by the words, and the words left over."""
        if not words or words[0].startswith("by "):  # "Injury, by site": go on from here
            return term, []
        if len(words) == 1 and set(words[0].split()) <= self.names(part, term).nemod:
            return term, []  # "Burn, abdominal wall": "abdomen, abdominal (muscle) (wall)"
        best: tuple[IndexTerm, list[str]] = (term, words)
        candidates = self._candidates(part, term.sequence, words)
        if not candidates:
            # One level skipped: "Pleurisy, effusion" is under "with".
            for between in self.children[part].get(term.sequence, []):
                candidates += self._candidates(part, between.sequence, words, loose=False)
        for child, rest in candidates[: self.TRIED]:
            reached, left = self._descend(part, child, rest)
            if not left:
                return reached, left
            if len(left) < len(best[1]):
                best = (reached, left)
        return best

    def _candidates(
        self, part: str, parent: int, words: list[str], *, loose: bool = True
    ) -> list[tuple[IndexTerm, list[str]]]:
        """(term, the words left after it) for each term under `parent` that the first words
        may name, best first: a whole title over one or more words, or spelt alike but for
        punctuation; then the title's first form; then another of its forms; then (`loose`)
        a title starting with the words or differing by an ending; then mostly the same words;
        then a misprint; then, for words that name nothing whole, a term and one below it
        ("upper limb": limb > upper). A loose tier is tried only when the ones before it found
        nothing."""
        siblings = self._siblings(part, parent)
        if not siblings.terms:
            return []
        first = words[0]
        found: dict[int, tuple[int, IndexTerm, list[str]]] = {}  # sequence -> best tier
        for length in range(len(words), 1, -1):
            for term in siblings.whole.get(", ".join(words[:length]), []):
                found.setdefault(term.sequence, (0, term, words[length:]))
        keys = [first, _compact(first)]
        if " " in first:
            keys.append(_bag(first))
        for key in keys:
            for tier, term in siblings.named.get(key, []):
                if term.sequence not in found or found[term.sequence][0] > tier:
                    found[term.sequence] = (tier, term, words[1:])
        if found or not loose:
            ranked = sorted(found.values(), key=lambda item: (item[0], item[1].sequence))
            return [(term, rest) for _, term, rest in ranked]
        terms = siblings.terms
        if parent == 0:  # main terms: only those of the same letter are worth a loose look
            terms = self._main_terms_by_initial(part).get(first[:1], [])
        tests = [lambda form: form.startswith(first + " ") or _same_word(first, form)]
        if " " in first:
            tests.append(lambda form: _overlap(first, form))
        if parent == 0 and len(first) > 6:  # a misprinted main term: "Peridontitis"
            tests.append(lambda form: _misprint(first, form))
        for test in tests:
            loosely = [
                (term, words[1:])
                for term in terms
                if any(test(form) for form in self.names(part, term).forms)
            ]
            if loosely:
                return loosely
        pieces = first.split()
        split: list[tuple[IndexTerm, list[str]]] = []
        if len(pieces) > 1:
            for head, tail in ((pieces[-1], pieces[:-1]), (pieces[0], pieces[1:])):
                for _tier, term in siblings.named.get(head, []):
                    split.append((term, [" ".join(tail), *words[1:]]))
        return split

    def _main_terms_by_initial(self, part: str) -> dict[str, list[IndexTerm]]:
        by_initial = self.initials.get(part)
        if by_initial is None:
            by_initial = self.initials[part] = {}
            for term in self.children[part].get(0, []):
                by_initial.setdefault(self.names(part, term).whole[:1], []).append(term)
        return by_initial

    def _siblings(self, part: str, parent: int) -> _Siblings:
        key = (part, parent)
        siblings = self.siblings.get(key)
        if siblings is None:
            terms = self.children[part].get(parent, [])
            whole: dict[str, list[IndexTerm]] = {}
            named: dict[str, list[tuple[int, IndexTerm]]] = {}
            for term in terms:
                names = self.names(part, term)
                whole.setdefault(names.whole, []).append(term)
                tiers = [(names.whole, 0), *((c, 0) for c in names.compact), (names.bag_key, 0)]
                tiers += [
                    (form, 1 if position < 2 else 2) for position, form in enumerate(names.forms)
                ]
                for name, tier in tiers:
                    named.setdefault(name, []).append((tier, term))
            siblings = self.siblings[key] = _Siblings(terms, whole, named)
        return siblings


def _before_instruction(words: list[str]) -> list[str]:
    for position, word in enumerate(words):
        at = word.find(" by ")
        if at > 0:
            return [*words[:position], word[:at]]
    return words


def _misprint(a: str, b: str) -> bool:
    """One or two letters off: "Peridontitis" for "Periodontitis"."""
    if abs(len(a) - len(b)) > 2:
        return False
    matcher = SequenceMatcher(None, a, b)
    return (
        matcher.real_quick_ratio() >= 0.9
        and matcher.quick_ratio() >= 0.9
        and (matcher.ratio() >= 0.9)
    )


def _same_word(a: str, b: str) -> bool:
    """The same word but for an ending: retina/retinal, vertebra/vertebral, sinus/sinuses."""
    if min(len(a), len(b)) < 4:
        return False
    shorter, longer = sorted((a, b), key=len)
    return longer.startswith(shorter) and len(longer) - len(shorter) <= 3


def index_code_map(rows: Sequence) -> dict[str, tuple[bool, str]]:
    """undotted code -> (billable, parent), from the release's rows (release_data.CodeRow)."""
    return {row.code: (row.is_billable, row.parent_code) for row in rows}
