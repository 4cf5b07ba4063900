"""Words to codes, ranked as a coder would: the Alphabetic Index first, then the titles.

A query is read as typed and as the curated abbreviations and lay terms read it ("uti":
urinary tract infection; codes.search_terms). Each reading is looked up

- in the Index to Diseases and Injuries and the External Cause Index (codes.index_search): a
  term whose path has every word, the fewer words left over the better ("Pneumonia" gives
  J18.9 for "pneumonia"; "Attack, heart" sees "Infarct, myocardium");
- in the Table of Drugs and Chemicals when it says poisoning, overdose, adverse effect or
  underdosing ("aspirin overdose": the accidental poisoning column, as the guidelines code a
  poisoning whose intent is not stated), and in the Neoplasm Table when it names a behaviour
  ("secondary cancer of liver": the malignant secondary column of the liver's row);
- in the code titles and inclusion terms (codes.word_index).

Words that choose among a term's codes rather than lead to the term (the side, the encounter of
the 7th character: "left hip fracture initial") are also read apart: the Index is searched
without them, and of each of its best terms the code that says them is taken (S72.00- and
"left" is S72.002A), else the term's own code when none has a side (M86.9 for "osteomyelitis
right").

The release's own Index is used, part by part; for a part it lacks, the nearest release's
that has it, every code carried to the release: kept when it is there, a deleted code to its
successors (CMS's conversion table, then the hierarchy), a header to its default (the code a
coder takes when nothing more is said: its 7th character "A", its unspecified member). No code
outside the release is ever given.

Ranking (lower cost first): how many words of the Index path or the title the query left
unsaid; main terms before nested ones; Index before titles; a billable default right before
its header; maternal, perinatal and congenital codes (chapters 15-17) after the others unless
the query says so; then tabular order. Each code keeps the reason it was found.
"""

import bisect
import functools
import heapq
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from codes.codeset import CodeSet, Entry, codeset_for
from codes.icd10 import dotted
from codes.importer.index_data import printed_code
from codes.importer.index_xml import DISEASES, DRUGS, EXTERNAL_CAUSES, NEOPLASMS
from codes.index_lookup import nearest_with_part
from codes.index_search import (
    CONNECTORS,
    Hit,
    PartTerms,
    index_terms_for,
)
from codes.models import Release
from codes.search_terms import (
    QUERY_STOPWORDS,
    Reading,
    readings,
    terms_vocabulary,
    terms_words,
)
from codes.validation import successors_of
from codes.word_index import Word, WordIndex, stem, tokens, word_index_for

# Codes of these chapters are for pregnancy (O), the perinatal period (P) and congenital
# anomalies (Q): put after the others unless the query says one of these words.
SCOPED_CHAPTERS = {
    "O": {"pregnancy", "pregnant", "obstetric", "maternal", "antepartum", "postpartum",
          "puerperal", "puerperium", "gestational", "gestation", "labor", "labour",
          "delivery", "trimester", "abortion", "miscarriage", "ectopic", "preeclampsia",
          "eclampsia", "placenta", "placental", "prenatal", "childbirth"},
    "P": {"newborn", "neonatal", "neonate", "perinatal", "fetus", "fetal", "birth", "infant",
          "preterm", "premature", "prematurity"},
    "Q": {"congenital", "anomaly", "malformation", "deformity", "syndrome", "hereditary",
          "familial", "cleft", "trisomy", "down"},
}  # fmt: skip
SCOPE_PENALTY = 15.0
# The same word for a place of the body, as a noun and as an adjective.
ANATOMY = [
    {"kidney", "renal"}, {"lung", "pulmonary"}, {"liver", "hepatic"}, {"heart", "cardiac"},
    {"brain", "cerebral"}, {"stomach", "gastric"}, {"eye", "ocular"}, {"skin", "cutaneous"},
    {"bone", "osseous"}, {"nose", "nasal"}, {"mouth", "oral"}, {"tooth", "dental"},
    {"bowel", "intestine", "intestinal"}, {"vein", "venous"}, {"artery", "arterial"},
    {"chest", "thoracic"}, {"breast", "mammary"}, {"womb", "uterus", "uterine"},
    {"testicle", "testis", "testicular"}, {"ovary", "ovarian"}, {"prostate", "prostatic"},
    {"spine", "spinal", "vertebral"}, {"muscle", "muscular"}, {"joint", "articular"},
    {"bladder", "vesical"}, {"belly", "abdomen", "abdominal"}, {"throat", "pharynx"},
    {"voice", "vocal"}, {"ear", "aural"}, {"blood", "hematic"}, {"urinary", "urine"},
    {"fecal", "feces"}, {"pancreas", "pancreatic"}, {"esophagus", "esophageal"},
    {"rectum", "rectal"}, {"anus", "anal"}, {"duodenum", "duodenal"},
    {"bronchus", "bronchial"}, {"larynx", "laryngeal"}, {"tonsil", "tonsillar"},
    {"skull", "cranial"}, {"rib", "costal"}, {"colon", "colonic"}, {"thyroid", "thyroidal"},
    {"sacrum", "sacral"}, {"coccyx", "coccygeal"}, {"buttock", "gluteal"},
    {"navel", "umbilicus", "umbilical"}, {"armpit", "axilla", "axillary"}, {"groin", "inguinal"},
]  # fmt: skip
_SAME_PLACE = {word: group for group in ANATOMY for word in group}
_CONNECTOR_STEMS = frozenset(stem(word) for word in CONNECTORS)
# Drug table: the column a query's words choose (columns 2.. of the table, from 0 here).
ACCIDENTAL, SELF_HARM, ASSAULT, UNDETERMINED, ADVERSE, UNDERDOSING = range(6)
DRUG_INTENT = {
    "poisoning": ACCIDENTAL, "poisoned": ACCIDENTAL, "overdose": ACCIDENTAL,
    "toxicity": ACCIDENTAL, "toxic": ACCIDENTAL, "ingestion": ACCIDENTAL,
    "accidental": ACCIDENTAL, "intoxication": ACCIDENTAL,
    "intentional": SELF_HARM, "suicide": SELF_HARM, "suicidal": SELF_HARM, "harm": SELF_HARM,
    "assault": ASSAULT, "homicide": ASSAULT, "undetermined": UNDETERMINED,
    "adverse": ADVERSE, "side": ADVERSE, "reaction": ADVERSE, "underdosing": UNDERDOSING,
    "underdose": UNDERDOSING, "underdosed": UNDERDOSING,
}  # fmt: skip
DRUG_WORDS = {"effect", "effects", "of", "by", "self", "from", "drug", "medication", "due"}
# Neoplasm Table: the column a behaviour word chooses (from 0: malignant primary ...).
PRIMARY, SECONDARY, IN_SITU, BENIGN, UNCERTAIN, UNSPECIFIED = range(6)
BEHAVIOUR = {
    "cancer": PRIMARY, "carcinoma": PRIMARY, "malignant": PRIMARY, "malignancy": PRIMARY,
    "primary": PRIMARY, "sarcoma": PRIMARY, "adenocarcinoma": PRIMARY,
    "secondary": SECONDARY, "metastatic": SECONDARY, "metastasis": SECONDARY,
    "metastases": SECONDARY, "situ": IN_SITU, "benign": BENIGN, "uncertain": UNCERTAIN,
    "tumor": UNSPECIFIED, "tumour": UNSPECIFIED, "neoplasm": UNSPECIFIED, "growth": UNSPECIFIED,
    "mass": UNSPECIFIED,
}  # fmt: skip
NEOPLASM_IMPLIED = frozenset({"neoplasm", "neoplast"})  # the table's main term, as stems
NEOPLASM_WORDS = {"in", "of", "the", "neoplasm", "neoplastic", "tumor", "tumour", "cancer"}
# How much of each source is ranked (the rest are far down the list anyway).
HITS_PER_PART = 60
COMPLETIONS = 8  # words an unfinished last word may become
TITLE_MATCHES = 150
# Costs: each word left unsaid costs more than any other difference.
WORD = 10.0
TITLE_BASE = 4.0
TABLE_BASE = 0.5
# Connectors a query means: "shingles without complication" is not "with complication".
SAID_CONNECTORS = frozenset({"without"})
READING_COST = 0.5  # a reading by the curated terms, after the query as typed
DRUG_UNSAID_COST = 3.0  # a substance found without "poisoning", "overdose"...: after the Index
STEM_ONLY_COST = 0.7  # a word found only by its stem ("falls" for "fall"), after one as typed
# A title that opens with "Other" is a residual category ("Other fracture of femur", S72.8):
# what is left when every named kind is taken out, never what a query saying none of them
# means. Of two titles that say the words as well, the one that is not residual comes first
# ("fracture femur" S72.90XA, the default of S72, before S72.8X9A).
RESIDUAL_COST = 0.05
# An external cause is never coded first: of two Index entries as good, the condition's first
# ("electric shock": T75.4 before W86.8), unless the condition's is only found by a stem.
EXTERNAL_CAUSE_COST = 0.6
DROPPED_WORD_COST = 20.0  # nothing has every word: each word left out costs more than any other
# Words that choose among the codes under an Index entry rather than lead to one: the side and
# the encounter of the 7th character ("fracture of left femur, initial encounter"). The Index
# does not say them; the titles of the codes under its entry do: S72.00- and "left initial"
# is S72.002A. (The guidelines code a fracture not said open or displaced as closed.)
CHOICE_WORDS = frozenset(
    {"left", "right", "bilateral", "initial", "subsequent", "sequela", "encounter", "closed"}
)
# The organs a side is said of in titles ("..., right eye", "..., left ear").
SIDES = frozenset({"left", "right", "bilateral"})
SIDED_ORGANS = frozenset({"eye", "eyes", "ear", "ears"})
# A term found under the main term another one sends to ("Varicose, vein, see Varix" and
# "Varix, leg"): after one that has every word itself.
CONTINUED_COST = 0.5
CHOICE_COST = 0.3  # a code chosen under an Index entry: after one the Index gives for every word
CHOICE_UNSAID_COST = 1.0  # an Index entry none of whose codes says the side or encounter
CHOSEN_HITS = 10  # the best Index entries of a part chosen under, at most
CHOICE_READ = 300  # codes under an entry read for the choice, at most
PRINTED_HELD = 5_000  # Index codes a part holds as what they stand for in a release (~0.5 KB)


@dataclass
class Found:
    """The codes a search found, best first, with the reason each was found."""

    codes: list[str]  # undotted, ranked
    reasons: dict[str, str]  # code -> why
    index_from: dict[str, Release] = field(default_factory=dict)  # part -> whose Index was read
    corrected: list[tuple[str, str]] = field(default_factory=list)  # (typed, read as)
    costs: dict[str, float] = field(default_factory=dict)  # code -> its cost in the ranking

    @property
    def borrowed(self) -> list[tuple[str, Release]]:
        return sorted(self.index_from.items())


class _Ranking:
    def __init__(self, codeset: CodeSet) -> None:
        self.codeset = codeset
        self.found: dict[str, tuple[float, str]] = {}  # code -> its lowest cost, and why

    def add(self, code: str, cost: float, reason: str, note: str = "") -> None:
        """The code at that cost, for the reason and what the note adds to it, if no lower
        cost is known."""
        known = self.found.get(code)
        if known is None or cost < known[0]:
            self.found[code] = (cost, reason + note if note else reason)

    def reason(self, code: str) -> str:
        return self.found[code][1]

    def ranked(self, scope: set[str], limit: int | None = None) -> list[tuple[float, int, str]]:
        """(cost, tabular order, code) of the codes found, best first; the first `limit` only
        (the same as the first of all of them, without ordering the rest)."""
        # Codes of a chapter kept for what the query does not say (external causes,
        # pregnancy...) come after the others.
        penalty = {
            letter: SCOPE_PENALTY
            for letter, chapter_words in SCOPED_CHAPTERS.items()
            if chapter_words.isdisjoint(scope)
        }
        entries = self.codeset.entries
        keyed = [
            (cost + penalty.get(code[0], 0.0), entries[code].sequence, code)
            for code, (cost, _) in self.found.items()
        ]
        if limit is not None:
            return heapq.nsmallest(limit, keyed)
        keyed.sort()
        return keyed


def find(
    release: Release,
    query: str,
    published: Sequence[Release],
    *,
    typing: bool = False,
    limit: int | None = None,
) -> Found:
    """The codes of the release the words lead to. `typing`: the last word may be unfinished
    (autocomplete); `limit`: only the first so many codes are wanted (and their reasons)."""
    codeset = codeset_for(release)
    titles = word_index_for(release)
    parts = index_parts(release, published)
    words = [t for t in tokens(query) if t not in QUERY_STOPWORDS][:8]
    if not words:
        return Found([], {})
    typed_as = []
    if typing and not (
        _starts_a_word(words[-1], titles, parts) or _starts_a_curated_word(words[-1])
    ):
        # "pnue": nothing starts so; the closest start of a word does ("pneu").
        closest = _closest_start(words[-1], titles, parts)
        if closest:
            typed_as = [(words[-1], f"{closest}…")]
            words = [*words[:-1], closest]
    found = _search(words, typing, codeset, titles, parts, release, limit)
    if typed_as and found.codes:
        found.corrected = typed_as
        note = f"spelling corrected: {typed_as[0][0]} → {typed_as[0][1]}"
        found.reasons = {code: f"{note}; {why}" for code, why in found.reasons.items()}
    if found.codes:
        return found
    corrected = _corrections(words, typing, titles, parts)
    if corrected != words:
        again = _search(corrected, typing, codeset, titles, parts, release, limit)
        if again.codes:
            again.corrected = [(a, b) for a, b in zip(words, corrected, strict=True) if a != b]
            note = "spelling corrected: " + ", ".join(f"{a} → {b}" for a, b in again.corrected)
            again.reasons = {code: f"{note}; {why}" for code, why in again.reasons.items()}
            return again
        words = corrected
    found = (
        _excluding(words, codeset, titles, parts, release)
        or _without_a_word(words, typing, codeset, titles, parts, release)
        or found
    )
    if limit is not None:  # these rank all they find
        found.codes = found.codes[:limit]
        found.reasons = {code: found.reasons[code] for code in found.codes}
    return found


def _excluding(words, codeset, titles, parts, release) -> Found | None:
    """A query "X without Y" ("shingles without complication") that no title or Index term
    says: X itself, less the codes whose title or Index path names Y (B02.8 Zoster with other
    complications), so that what is left first is the bare term's code."""
    if "without" not in words[1:-1]:
        return None
    at = words.index("without")
    excluded = frozenset().union(*(_stems(w) for w in words[at + 1 :] if w not in CONNECTORS))
    found = _search(words[:at], False, codeset, titles, parts, release)
    codes, reasons = [], {}
    for code in found.codes:
        entry = codeset.get(code)
        named = {stem(w) for w in tokens(f"{entry.title if entry else ''} {found.reasons[code]}")}
        if named & excluded and "without" not in named:
            continue
        codes.append(code)
        reasons[code] = f"not {' '.join(words[at + 1 :])}: {found.reasons[code]}"
    return Found(codes, reasons, found.index_from) if codes else None


def _without_a_word(words, typing, codeset, titles, parts, release) -> Found | None:
    """Nothing has every word: what has all but one, each word left out in turn; failing
    that, all but two. Each word left out costs more than anything else, so these come after
    anything that has them all."""
    for dropped in (1, 2):
        if len(words) <= dropped:
            return None
        ranking = _Ranking(codeset)
        for left_out in itertools.combinations(range(len(words)), dropped):
            kept = [w for i, w in enumerate(words) if i not in left_out]
            unfinished = typing and len(words) - 1 not in left_out
            found = _search(kept, unfinished, codeset, titles, parts, release)
            missing = " and ".join(f"“{words[i]}”" for i in left_out)
            noun = "word" if dropped == 1 else "words"
            # Ranked by how well the rest found each code: of "left leg weakness", "weakness"
            # (R53.1) without "leg" before "Abscess, leg" without "weakness".
            for code in found.codes[:50]:
                reason = f"without the {noun} {missing}: {found.reasons[code]}"
                ranking.add(code, dropped * DROPPED_WORD_COST + found.costs[code], reason)
        if ranking.found:
            codes = [code for _, _, code in ranking.ranked(set(words))]
            return Found(
                codes,
                {code: ranking.reason(code) for code in codes},
                {part: lender for part, (_, lender) in parts.items()},
            )
    return None


def _search(
    words: list[str],
    typing: bool,
    codeset: CodeSet,
    titles: WordIndex,
    parts: dict[str, tuple[PartTerms, Release]],
    release: Release,
    limit: int | None = None,
) -> Found:
    ranking = _Ranking(codeset)
    read = readings(words, typing=typing)
    chosen = [w for w in words if w in CHOICE_WORDS]
    if chosen and len(chosen) < len(words):
        # A term the side or the encounter splits ("fluid on the right knee"): read without
        # them, then said again after it, for the Index's choice among its codes.
        # Only the readings the whole query has not already given ("dvt left leg" has "dvt").
        rest = [w for w in words if w not in CHOICE_WORDS]
        given = {r.reason for r in read}
        read += [
            Reading((*r.words, *chosen), r.reason, False)
            for r in readings(rest, typing=typing and words[-1] not in CHOICE_WORDS)
            if r.reason not in given
        ]
    corrected = _corrections(words, typing, titles, parts)
    if corrected != words:
        # A word no title or Index has is read as typed and as the closest word they have.
        note = "spelling corrected: " + ", ".join(
            f"{a} → {b}" for a, b in zip(words, corrected, strict=True) if a != b
        )
        read += [
            Reading(r.words, "; ".join(x for x in (note, r.reason) if x), r.whole)
            for r in readings(corrected, typing=typing)
        ]
    known = _known_stems(titles, parts)
    # Unfinished words: the last one as it is typed, and any other that is no word but the
    # start of some ("fract fem").
    completions = {
        word: _completions(word, titles, parts)
        for position, word in enumerate(words)
        if (typing and position == len(words) - 1)
        or (len(word) >= 3 and not _is_word(word, titles, parts, curated=False))
    }
    # A query that is a curated term is what the term means ("pink eye": conjunctivitis),
    # unless it is a main term of the Index itself ("indigestion"); one with a curated term
    # among other words is first what it says.
    whole = any(reading.whole for reading in read) and not _names_a_main_term(
        _words(words, known), parts
    )
    searched: dict[tuple[str, ...], float] = {}  # the words of each reading, at its cost
    for number, reading in enumerate(read):
        typed_first = number == 0 and not whole
        extra_cost = 0.0 if (reading.whole and whole) or typed_first else READING_COST
        reading = Reading(tuple(_words(reading.words, known)), reading.reason, reading.whole)
        # The same words again ("fracture" is also the start of the lay "fractured", which
        # means fracture) find nothing cheaper.
        if searched.get(reading.words, extra_cost + 1) <= extra_cost:
            continue
        searched[reading.words] = extra_cost
        _from_index(reading, completions, ranking, parts, release, extra_cost)
        for chosen, rest in _choices(_choice_finished(reading.words, words, typing)):
            rest_reading = Reading(rest, reading.reason, reading.whole)
            cost = extra_cost + CHOICE_COST
            _from_index(rest_reading, completions, ranking, parts, release, cost, chosen)
        _from_tables(reading, completions, ranking, parts, release, extra_cost)
        _from_titles(reading, typing, completions, ranking, titles, codeset, extra_cost)
    ranked = ranking.ranked(set(words), limit)
    codes = [code for _, _, code in ranked]
    reasons = {code: ranking.reason(code) for code in codes}
    spelled = [(a, b) for a, b in zip(words, corrected, strict=True) if a != b]
    return Found(
        codes,
        reasons,
        {part: lender for part, (_, lender) in parts.items()},
        # Said when the best result was found by the corrected spelling.
        spelled if codes and reasons[codes[0]].startswith("spelling corrected") else [],
        {code: cost for cost, _, code in ranked},
    )


def _choice_finished(read: Sequence[str], typed: list[str], typing: bool) -> Sequence[str]:
    """The words read, the last one as the choice word it starts when it is still being typed
    ("laceration right hand subs": subsequent) and starts only that one."""
    if not typing or not read or read[-1] != typed[-1] or len(read[-1]) < 3:
        return read
    started = [word for word in CHOICE_WORDS if word.startswith(read[-1])]
    return (*read[:-1], started[0]) if len(started) == 1 else read


def _choices(words: Sequence[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The ways the words split into those that choose among an Index entry's codes (the side,
    the encounter) and the rest, which lead to the entry. With a side, the organ it is of is
    tried as part of the choice too: "cataract right eye" is the Index's "Cataract" (H26.9,
    which has no side), the eye being said by its codes' titles ("..., right eye"), not by
    "Cataract, in, eye disease"."""
    chosen = tuple(w for w in words if w in CHOICE_WORDS)
    rest = tuple(w for w in words if w not in CHOICE_WORDS)
    if not chosen or not rest:
        return []
    choices = [(chosen, rest)]
    organs = tuple(w for w in rest if w in SIDED_ORGANS)
    if organs and SIDES.intersection(chosen) and len(organs) < len(rest):
        choices.append((chosen + organs, tuple(w for w in rest if w not in SIDED_ORGANS)))
    return choices


def index_parts(
    release: Release, published: Sequence[Release]
) -> dict[str, tuple[PartTerms, Release]]:
    """part -> its terms and the release whose Index they are: the release's own, else the
    nearest published release's that has the part."""
    found = {}
    for part in (DISEASES, EXTERNAL_CAUSES, DRUGS, NEOPLASMS):
        lender = release if release.index_id and part in release.index.report else None
        lender = lender or nearest_with_part(release, part, published)
        if lender is not None:
            found[part] = (index_terms_for(lender.index)[part], lender)
    return found


def _stems(word: str) -> frozenset[str]:
    """A word's stems: its own, its synonyms as a place of the body, and the noun of an
    adjective that ends in "al" or "ar" (pleural: pleura; developmental: development)."""
    if "|" in word:  # an adjective with its noun, as _words spells it
        return frozenset().union(*(_stems(w) for w in word.split("|")))
    return frozenset(stem(w) for w in _SAME_PLACE.get(word, {word}))


def _names_a_main_term(words: list[str], parts) -> bool:
    """Whether the words, as typed, are exactly a main term of the Index."""
    query = [_stems(w) for w in words if w not in CONNECTORS]
    typed = {w.split("|")[0] for w in words if w not in CONNECTORS}
    for part in (DISEASES, EXTERNAL_CAUSES):
        if part not in parts or not query:
            continue
        terms = parts[part][0]
        for hit in terms.match(query, 5, coded=False):
            if hit.extra or hit.level:
                break
            if typed <= set(tokens(terms.names[hit.term])):
                return True
    return False


def _known_stems(titles: WordIndex, parts) -> "callable":
    def known(key: str) -> bool:
        return key in titles.title_stems or any(
            key in terms.postings for terms, _ in parts.values()
        )

    return known


def _words(words: Sequence[str], known) -> list[str]:
    """The words of a reading, an adjective in "al"/"ar" spelt with its noun when the
    classification knows the noun ("pleural|pleura")."""
    spelt = []
    for word in words:
        nouns = []
        if len(word) > 5 and word.endswith(("al", "ar")):
            nouns = [n for n in (word[:-1], word[:-2]) if known(stem(n)) and stem(n) != stem(word)]
        spelt.append("|".join([word, *nouns]) if nouns else word)
    return spelt


def _query_words(reading: Reading, completions: dict[str, list[str]]) -> list[frozenset[str]]:
    """Each word of a reading as the stems it may be; an unfinished word (`completions`: the
    words it may become) as theirs too."""
    return [
        _word_stems(word, completions)
        for word in reading.words
        if word not in CONNECTORS or word in SAID_CONNECTORS
    ]


def _word_stems(word: str, completions: dict[str, list[str]]) -> frozenset[str]:
    stems = _stems(word)
    more = completions.get(word.split("|")[0])
    if more:
        stems = stems | frozenset(stem(w) for w in more)
    return stems


def _completions(start: str, titles: WordIndex, parts) -> list[str]:
    """The words an unfinished word may become, the most used in titles first, a few only:
    "pneu" is first of all pneumonia, not pneumococcemia."""
    words = set(_starting(titles.vocabulary, start))
    for terms, _ in parts.values():
        words.update(_starting(terms.vocabulary, start))
    ranked = sorted(words, key=lambda w: (-len(titles.title_words.get(w, ())), len(w), w))
    return ranked[:COMPLETIONS]


def _starting(vocabulary: Sequence[str], prefix: str) -> Sequence[str]:
    start = bisect.bisect_left(vocabulary, prefix)
    end = bisect.bisect_left(vocabulary, prefix + "\x7f", start)
    return vocabulary[start:end]


def _where(part: str, lender: Release, release: Release) -> str:
    """Whose terms a reason quotes: "Index", or "Index (FY2017, mapped to FY2019)"."""
    where = {DISEASES: "Index", EXTERNAL_CAUSES: "External Cause Index"}.get(part, part)
    if lender.pk != release.pk:
        where += f" ({lender.label}, mapped to {release.label})"
    return where


def _from_index(reading, completions, ranking, parts, release, extra_cost, chosen=()) -> None:
    """The codes of the Index terms that have the reading's words, and of those found under a
    main term a term with some of them sends to; with `chosen` words (the side, the
    encounter), of each of the best terms the code under or beside its own that says them
    (_add_chosen)."""
    for part in (DISEASES, EXTERNAL_CAUSES):
        if part not in parts:
            continue
        terms, lender = parts[part]
        words = _query_words(reading, completions)
        if not words:
            continue
        typed = [w.split("|")[0] for w in reading.words if w not in CONNECTORS]
        said = frozenset().union(*words)
        where = _where(part, lender, release)
        limit = CHOSEN_HITS if chosen else HITS_PER_PART
        found = [(None, hit) for hit in terms.match(words, limit)]
        found += terms.continued(words, limit)
        for redirect, hit in found:
            path = terms.path_names(hit.term)
            cost = extra_cost
            if redirect is not None:
                path = f"{terms.path_names(redirect)} → see {path}"
                cost += CONTINUED_COST
            written = set(tokens(path))
            if hit.via:
                target = terms.path_names(hit.target)
                written.update(tokens(f"{hit.via} {target}"))
                # Split apart: the arrow would send every such path through tokens()'s
                # slower way for text that is not ASCII.
                path += f" → {hit.via} {target}"
            reason = f"{where}: {path}"
            if reading.reason:
                reason = f"{reading.reason}; {reason}"
            stem_only = sum(1 for word in typed if word not in written)
            cost += (
                WORD * hit.extra
                + 0.5 * hit.level
                + _first_form(terms, hit, said)
                + STEM_ONLY_COST * stem_only
                + (EXTERNAL_CAUSE_COST if part == EXTERNAL_CAUSES else 0.0)
            )
            if chosen:
                # The path's words choose too: "Cellulitis, leg, see Cellulitis, lower limb" and
                # "left" is L03.116 Cellulitis of left lower limb, not L03.112 (left axilla).
                named = said.union(map(stem, written))
                _add_chosen(ranking, hit.code, chosen, named, cost, reason, whole=not hit.extra)
            else:
                _add_printed(ranking, hit.code, cost, reason, printed_at=(terms, hit.target))


def _first_form(terms: PartTerms, hit: Hit, said: frozenset[str]) -> float:
    """A term found by its first name ("Hypertension" of "Hypertension, hypertensive") before
    one found by a later one ("disease" of "Blood-forming organs, disease")."""
    forms = terms.forms[hit.term]
    if not forms:
        return 0.0
    return 0.0 if said.intersection(forms[0]) else 1.0


def _add_printed(
    ranking: _Ranking,
    printed: str,
    cost: float,
    reason: str,
    *,
    printed_at: tuple[PartTerms, int] | None = None,
) -> None:
    """The codes an Index code stands for in the release, at the cost, for the reason: itself
    (most are billable codes of the release), else as _printed_as says."""
    parsed = _printed_code(printed)
    if parsed is None:
        return
    code = parsed[0]
    codeset = ranking.codeset
    entry = codeset.get(code)
    if entry is not None and entry.is_billable:
        ranking.add(code, cost, reason)
        return
    if printed_at is None:
        stands_for = _printed_as(codeset, code, None)
    else:
        # The same terms come up query after query: held by the part, for each code set that
        # reads it (and gone with either).
        terms, term = printed_at
        held = terms.printed_in.setdefault(codeset, {})
        stands_for = held.get((code, term))
        if stands_for is None:
            if len(held) >= PRINTED_HELD:
                held.clear()
            stands_for = held[code, term] = _printed_as(codeset, code, printed_at)
    for found, more, note in stands_for:
        ranking.add(found, cost + more, reason, note)


def _printed_as(
    codeset: CodeSet, code: str, printed_at: tuple[PartTerms, int] | None
) -> tuple[tuple[str, float, str], ...]:
    """What an Index code that is no billable code of the release stands for, as (code, added
    cost, added reason): its default then itself (a header), or what replaced it. Of a header,
    the code under it whose title says the words of the path of the term it is printed at
    (`printed_at`) that the header's does not is before its default: "Sepsis, Escherichia
    coli" prints A41.5, and A41.51 Sepsis due to Escherichia coli is the one, not A41.50
    Gram-negative sepsis, unspecified; "Ulcer, pressure, stage 2, sacral region" prints
    L89.15-, and L89.152 says stage 2."""
    if code not in codeset:
        note = f" ({dotted(code)} is not in the release: its successor)"
        successors = [s.code for s in successors_of(code, codeset)]
        return tuple(
            (found, more + 0.01 * position, note + more_note)
            for position, successor in enumerate(successors[:5])
            for found, more, more_note in _code_as(successor, codeset)
        )
    entry = codeset.entries[code]
    if printed_at is not None and not entry.is_billable:
        terms, term = printed_at
        path_forms = [terms.forms[t] for t in terms.path(term)]
        header = frozenset(map(stem, tokens(entry.title)))
        # Each term's first name ("Ulcer" of "Ulcer, ulcerated, ..."), unless the header says it.
        wanted = frozenset().union(*(forms[0] for forms in path_forms if forms))
        wanted -= header | _CONNECTOR_STEMS
        # Only the header's words and the term's names: E87.2 Acidosis and "metabolic" is not
        # E87.21 Acute metabolic acidosis (E87.20 Acidosis, unspecified holds metabolic
        # acidosis NOS), nor a residual "Other ..." (D72.118) where the unspecified one (D72.119)
        # is; "Xanthinuria, hereditary" is E79.82 Hereditary xanthinuria.
        names = frozenset().union(*(form for forms in path_forms for form in forms))
        within = names | header | _CONNECTOR_STEMS - {"other"}
        found = _saying(code, wanted, within, codeset) if wanted else None
        if found is not None:
            title = codeset.entries[found].title
            words = " ".join(dict.fromkeys(w for w in tokens(title) if stem(w) in wanted))
            return (
                (found, 0.0, f" (says {words}: {dotted(found)}, under {dotted(code)})"),
                (code, 0.1, ""),
            )
    return _code_as(code, codeset)


def _add_chosen(
    ranking: _Ranking,
    printed: str,
    chosen: tuple[str, ...],
    said: frozenset[str],
    cost: float,
    reason: str,
    *,
    whole: bool,
) -> None:
    """The code under an Index code whose title says every chosen word and most of the
    other words said, else under its parent's (the Index's S61.419- "Laceration, hand" and
    "right subsequent" is S61.411D, beside it); else, when the term's path is all the other
    words said (`whole`), the Index's code itself."""
    parsed = _printed_code(printed)
    if parsed is None:
        return
    codeset = ranking.codeset
    code = parsed[0]
    if code not in codeset:
        successors = successors_of(code, codeset)
        if not successors:
            return
        code = successors[0].code
    wanted = frozenset(chosen)
    words = " ".join(chosen)
    found, where = _best_saying(code, wanted, said, codeset), "under"
    parent = codeset.entries[code].parent
    if found is None and parent:
        # Beside it, only the same title with the side or encounter said: H10.9 Unspecified
        # conjunctivitis has no side, and H10.012 Acute follicular conjunctivitis, left eye
        # is another condition. The encounter may be said or not: beside S61.419- (the
        # unspecified hand), "right" is S61.411A and "right subsequent" S61.411D.
        within = frozenset(tokens(codeset.entries[code].title)) | wanted | CHOICE_WORDS
        found, where = _best_saying(parent, wanted, said, codeset, within), "beside"
    if found is not None:
        ranking.add(found, cost, f"{reason} ({words}: {dotted(found)}, {where} {dotted(code)})")
    elif whole:
        # No code of it says them (M86.9 Osteomyelitis, unspecified has no side): the code of
        # the term that is all the rest of the query is still the one.
        note = f"{reason} (no code of it says {words})"
        _add_printed(ranking, printed, cost + CHOICE_UNSAID_COST, note)


def _billable_under(code: str, codeset: CodeSet) -> Iterator[tuple[str, Entry]]:
    """The billable codes from the code down, in tabular order (they follow it there), the
    first CHOICE_READ codes at most."""
    order = codeset.in_tabular_order
    start = codeset.entries[code].sequence - 1
    for candidate in order[start : start + CHOICE_READ]:
        if not candidate.startswith(code):
            return
        entry = codeset.entries[candidate]
        if entry.is_billable:
            yield candidate, entry


def _saying(
    code: str, wanted: frozenset[str], within: frozenset[str], codeset: CodeSet
) -> str | None:
    """The first billable code under the code whose title has every wanted stem and no stem
    outside `within` (but in the brackets of a synonym: "[E. coli]")."""
    for candidate, entry in _billable_under(code, codeset):
        # Most titles without splitting them: a stem's start is its word's ("hereditari").
        lowered = entry.title.lower()
        if not all(key[:4] in lowered for key in wanted):
            continue
        stems = set(map(stem, tokens(entry.title)))
        if not wanted <= stems:
            continue
        if stems <= within or (
            "[" in entry.title and set(map(stem, tokens(_SYNONYMS.sub(" ", entry.title)))) <= within
        ):
            return candidate
    return None


_SYNONYMS = re.compile(r"\[[^\]]*\]")  # "Sepsis due to Escherichia coli [E. coli]"


def _best_saying(
    code: str,
    wanted: frozenset[str],
    said: frozenset[str],
    codeset: CodeSet,
    within: frozenset[str] | None = None,
) -> str | None:
    """Of the billable codes from the code down (they follow it in tabular order), the first
    whose title has every wanted word (and no word outside `within`, when given) and, of
    those, the most of the stems said: under M84.43 (radius and ulna), "right radius" is
    M84.433A, not the first right one (the ulna's)."""
    best, best_count = None, -1
    for candidate, entry in _billable_under(code, codeset):
        lowered = entry.title.lower()
        if not all(word in lowered for word in wanted):  # most titles: without splitting them
            continue
        words = set(tokens(entry.title))
        if not wanted <= words or (within is not None and not words <= within):
            continue
        count = len(said.intersection(map(stem, words)))
        if count > best_count:
            best, best_count = candidate, count
            if count == len(said):
                break
    return best


# The same printed codes come up query after query ("J18.9"): parsed once.
_printed_code = functools.lru_cache(maxsize=20_000)(printed_code)


def _add_code(ranking: _Ranking, code: str, cost: float, reason: str) -> None:
    for found, more, note in _code_as(code, ranking.codeset):
        ranking.add(found, cost + more, reason, note)


def _code_as(code: str, codeset: CodeSet) -> tuple[tuple[str, float, str], ...]:
    """A code of the release as what it stands for: itself (billable), else its default, then
    itself just after."""
    entry = codeset.get(code)
    if entry is None:
        return ()
    if entry.is_billable:
        return ((code, 0.0, ""),)
    default = default_of(code, codeset)
    header = (code, 0.1, "")
    if default is None:
        return (header,)
    return (default, 0.0, f" (the default of {dotted(code)})"), header


def default_of(header: str, codeset: CodeSet) -> str | None:
    """The code a coder takes for a header when nothing more is said: its 7th character "A"
    (initial encounter; with placeholder X), else its member titled like it or unspecified
    (".9"), else its first; followed down to a billable code. Kept with the code set."""
    if header not in codeset.defaults:
        codeset.defaults[header] = _default_of(header, codeset)
    return codeset.defaults[header]


def hold_defaults(codeset: CodeSet) -> None:
    """Work out every header's default now (~0.3 s a release): before forking, a worker's first
    searches find them there (a search adds the defaults of up to hundreds of headers)."""
    for code, entry in codeset.entries.items():
        if not entry.is_billable:
            default_of(code, codeset)


def _default_of(header: str, codeset: CodeSet) -> str | None:
    code = header
    for _ in range(8):
        entry = codeset.get(code)
        if entry is None:
            return None
        if entry.is_billable:
            return code
        children = codeset.children.get(code, [])
        if not children:
            return None
        seventh = [c for c in children if len(c) == 7 and c[:6] == code.ljust(6, "X")]
        if seventh:
            return next((c for c in seventh if c.endswith("A")), seventh[0])
        title = entry.title.casefold()
        # The member titled as the header, else as it and "unspecified", scores highest (10,
        # 9): found without scoring the others. Else the first of the best scored.
        titles = [codeset.entries[child].title.casefold() for child in children]
        for wanted in (title, f"{title}, unspecified"):
            if wanted in titles:
                code = children[titles.index(wanted)]
                break
        else:
            code = max(children, key=lambda child: _default_score(child, title, codeset))
    return None


def _default_score(child: str, header_title: str, codeset: CodeSet) -> float:
    """How likely a member is its header's default, the higher the likelier: one that has
    every word of the header's title (a form of it, not another condition: G20 Parkinson's
    disease is G20.A, not G20.C Parkinsonism, unspecified) and adds "unspecified", "without"
    or "uncomplicated" (J45.909 ... uncomplicated, not J45.901 ... with exacerbation);
    ".9" breaks ties."""
    title = codeset.entries[child].title.casefold()
    if title == header_title:
        return 10.0
    if title == f"{header_title}, unspecified":
        return 9.0
    header_words = tokens(header_title)
    words = tokens(title)
    added = list(words)
    for word in header_words:
        if word in added:
            added.remove(word)
    score = 4.0 if len(added) == len(words) - len(header_words) else 0.0
    if "unspecified" in added:
        score += 2
    if {"without", "uncomplicated", "not"} & set(added):
        score += 1
    # Uncomplicated names the absence of every complication: the one the Index gives for a
    # substance disorder ("Dependence, alcohol" F10.20), before F17.219 ... with unspecified
    # nicotine-induced disorders under F17.21 Nicotine dependence, cigarettes.
    if "uncomplicated" in added:
        score += 1
    if "with" in added:
        score -= 1
    if child.endswith("9"):
        score += 0.5
    return score


def _from_tables(reading, completions, ranking, parts, release, extra_cost) -> None:
    words = [_table_word(w.split("|")[0], completions) for w in reading.words]
    intent = [DRUG_INTENT[w] for w in words if w in DRUG_INTENT]
    if DRUGS in parts:
        # Intent not stated: the guidelines code an accidental poisoning ("bee sting").
        rest = [w for w, read in zip(reading.words, words, strict=True) if read not in DRUG_INTENT]
        rest = [w for w in rest if w not in DRUG_WORDS]
        column = ADVERSE if ADVERSE in intent else intent[0] if intent else ACCIDENTAL
        if UNDERDOSING in intent:
            column = UNDERDOSING
        cost = extra_cost if intent else extra_cost + DRUG_UNSAID_COST
        # A drug still being typed is read as each it may be only once the query says poisoning
        # or the like: "mell" is not yet Mellaril.
        typed = completions if intent else {}
        _table(ranking, parts[DRUGS], rest, column, release, reading, cost, typed)
    behaviour = [BEHAVIOUR[w] for w in words if w in BEHAVIOUR]
    if NEOPLASMS in parts and behaviour:
        column = min(behaviour)  # "secondary cancer": secondary wins over the primary "cancer"
        if SECONDARY in behaviour:
            column = SECONDARY
        elif IN_SITU in behaviour:
            column = IN_SITU
        elif BENIGN in behaviour:
            column = BENIGN
        rest = [w for w, read in zip(reading.words, words, strict=True) if read not in BEHAVIOUR]
        rest = [w for w in rest if w not in NEOPLASM_WORDS]
        _table(ranking, parts[NEOPLASMS], rest, column, release, reading, extra_cost, completions)


def _table_word(word: str, completions: dict[str, list[str]]) -> str:
    """The word, or, when it is still being typed, the intent or behaviour word it may become
    ("aspirin pois": poisoning; "colon canc": cancer)."""
    if word in DRUG_INTENT or word in BEHAVIOUR:
        return word
    return next((w for w in completions.get(word, ()) if w in DRUG_INTENT or w in BEHAVIOUR), word)


def _table(ranking, part_and_lender, rest, column, release, reading, extra_cost, completions):
    terms, lender = part_and_lender
    # A site or drug still being typed is each word it may become ("secondary cancer of liv").
    words = [_word_stems(w, completions) for w in rest if w not in CONNECTORS]
    if not words:
        return
    implied = NEOPLASM_IMPLIED if terms.part == NEOPLASMS else frozenset()
    for hit in terms.match(words, HITS_PER_PART, coded=False, implied=implied):
        row = hit.term
        if not _cell(terms, row, column):
            # "colon, see also Neoplasm, intestine, large": a row without the column's code
            # sends the coder to a row that has it.
            row = next(
                (
                    t[1]
                    for t in (terms.see[row], terms.see_also[row])
                    if t and _cell(terms, t[1], column)
                ),
                0,
            )
            if not row:
                continue
        printed = _cell(terms, row, column)
        path = terms.path_names(hit.term)
        if row != hit.term:
            path += f" → see also {terms.path_names(row)}"
        where = _where(terms.part, lender, release)
        reason = f"{where}: {path} ({_column_name(terms.part, column)})"
        if reading.reason:
            reason = f"{reading.reason}; {reason}"
        cost = TABLE_BASE + WORD * hit.extra + 0.5 * hit.level + extra_cost
        _add_printed(ranking, printed, cost, reason)


def _cell(terms: PartTerms, row: int, column: int) -> str:
    cells = terms.cells[row]
    return cells[column] if column < len(cells) and cells[column].strip("-") else ""


def _column_name(part: str, column: int) -> str:
    if part == DRUGS:
        return ["poisoning, accidental", "poisoning, intentional self-harm", "poisoning, assault",
                "poisoning, undetermined", "adverse effect", "underdosing"][column]  # fmt: skip
    return ["malignant primary", "malignant secondary", "ca in situ", "benign",
            "uncertain behavior", "unspecified behavior"][column]  # fmt: skip


def _from_titles(
    reading, typing, completions, ranking, titles: WordIndex, codeset, extra_cost
) -> None:
    words = [w.split("|")[0] for w in reading.words if w not in CONNECTORS or w in SAID_CONNECTORS]
    if not words:
        return
    last = len(words) - 1
    query = [
        Word(w, prefix=w in completions or (typing and not reading.reason and i == last))
        for i, w in enumerate(words)
    ]
    match = titles.match(query)
    said = frozenset().union(*(_stems(w) for w in words))
    other_said = any(w.split("|")[0] == "other" for w in reading.words)  # a connector: not in words

    # The first positions only (the shortest titles), for all tiers together: thousands of
    # titles may have a common word.
    for tier, chosen in enumerate(match.first(TITLE_MATCHES)):
        where = "title" if tier < 2 else "inclusion term"
        reason = f"{where} words: {', '.join(words)}"
        if reading.reason:
            reason = f"{reading.reason}; {reason}"
        for position in chosen:
            code = titles.codes[position]
            entry = codeset.get(code)
            if entry is None:
                continue
            extra = titles.unsaid_weight(position, said)
            cost = TITLE_BASE + WORD * extra + 2 * tier + extra_cost
            if not other_said and entry.title.startswith("Other "):
                cost += RESIDUAL_COST
            if entry.is_billable:
                ranking.add(code, cost, reason)
            else:
                _add_code(ranking, code, cost, reason)


def _corrections(words, typing, titles: WordIndex, parts) -> list[str]:
    """The words, each one no title, inclusion term, Index term or curated term has (and long
    enough to be a misspelling rather than an abbreviation) replaced by the closest title
    word. A word still being typed is kept while it starts one (a curated one included); one
    that starts none is whole and misspelt ("athsma": asthma)."""
    corrected = []
    for position, word in enumerate(words):
        unfinished = typing and position == len(words) - 1
        if (
            len(word) < 5
            or word.isdigit()
            or _is_known(word, titles, parts)
            or (unfinished and _starts_a_curated_word(word))
        ):
            corrected.append(word)
        else:
            corrected.append(titles.corrected(word))
    return corrected


def _starts_a_curated_word(start: str) -> bool:
    """A curated abbreviation or lay term's word, or its start ("htn", "gerd", "fibromyal"):
    read as such while typed, not taken for a slip of another word."""
    curated = terms_vocabulary()
    at = bisect.bisect_left(curated, start)
    return at < len(curated) and curated[at].startswith(start)


def _starts_a_word(start: str, titles: WordIndex, parts) -> bool:
    return bool(_starting(titles.vocabulary, start)) or any(
        _starting(terms.vocabulary, start) for terms, _ in parts.values()
    )


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _closest_start(start: str, titles: WordIndex, parts) -> str:
    """The start of a word one slip away from what was typed (a letter left out, added,
    changed, or two swapped), the one that starts the most words ("pnu": pneu, not pun), of
    those the one whose words the titles use most ("migrane": migraine, not migrans); "" for
    none."""
    if len(start) < 3:
        return ""
    edits = {start[:i] + start[i + 1 :] for i in range(len(start))}
    edits |= {start[:i] + start[i + 1] + start[i] + start[i + 2 :] for i in range(len(start) - 1)}
    edits |= {start[:i] + c + start[i + 1 :] for i in range(len(start)) for c in _LETTERS}
    edits |= {start[:i] + c + start[i:] for i in range(len(start) + 1) for c in _LETTERS}
    edits.discard(start)
    used = titles.title_words
    counted = []
    for edit in edits:
        if len(edit) >= 3 and _starts_a_word(edit, titles, parts):
            words = _starting(titles.vocabulary, edit)
            counted.append((len(words), sum(len(used.get(w, ())) for w in words), edit))
    return max(counted)[2] if counted else ""


def _is_word(word: str, titles: WordIndex, parts, *, curated: bool = True) -> bool:
    """A word of the titles, the inclusion terms, the Index (or the curated terms)."""
    if _starting(titles.vocabulary, word)[:1] == [word] or any(
        _starting(terms.vocabulary, word)[:1] == [word] for terms, _ in parts.values()
    ):
        return True
    return curated and word in terms_words()


def _is_known(word: str, titles: WordIndex, parts) -> bool:
    """A word, or the start of one ("fract"): not a misspelling."""
    return _is_word(word, titles, parts) or _starts_a_word(word, titles, parts)


def find_terms(index, query: str, part: str | None) -> list[tuple[str, int]]:
    """(part, id) of the terms of an Index the words lead to, ranked as find() ranks the
    Index: by the words of their paths left unsaid, main terms first; the curated
    abbreviations and lay terms read as find() reads them."""
    words = [t for t in tokens(query) if t not in QUERY_STOPWORDS][:8]
    parts = index_terms_for(index)
    wanted = [p for p in (DISEASES, EXTERNAL_CAUSES, DRUGS, NEOPLASMS) if p in parts]
    if part is not None:
        wanted = [p for p in wanted if p == part]
    costs: dict[tuple[str, int], float] = {}
    for number, reading in enumerate(readings(words)):
        said = [_stems(w) for w in reading.words if w not in CONNECTORS]
        if not said:
            continue
        for order, name in enumerate(wanted):
            for hit in parts[name].match(said, 200, coded=False):
                cost = WORD * hit.extra + 0.5 * hit.level + (READING_COST if number else 0)
                key = (name, hit.term)
                costs[key] = min(costs.get(key, cost), cost + 0.01 * order)
    return sorted(costs, key=lambda key: (costs[key], key[1]))


def is_known_word(release: Release, word: str, published: Sequence[Release]) -> bool:
    """Whether a title, an inclusion term, the Index (or the one the release reads) or the
    curated terms have the word: else it is taken for a misspelling."""
    return _is_word(word, word_index_for(release), index_parts(release, published))
