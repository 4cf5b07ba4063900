"""Is this code valid on a claim coded from this release? A stable reason and useful suggestions.

Two facts are answered separately, as coders need them: the code exists in the release (as a
header or a billable code) and it is billable there. When it is not valid, the reason says why in
a word a program can act on, and the suggestions say what to use instead.

A header is `missing_seventh_character` only under a 7th-character definition of the tabular XML
(S72.001 under S72's <sevenChrDef>; E08.321 under E08.32's, whose 7th character is laterality).
A header whose 7-character children are codes of their own (C44.102 -> C44.1021 "right upper
eyelid": 52 such headers in FY2026) is `header_not_billable` with those codes. A release imported
without its tabular XML has no definitions: its order file cannot tell the two apart, so its
headers are `header_not_billable` (true of both, and the billable codes listed are the same).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from codes.codeset import CodeSet, SeventhCharacter, codeset_for
from codes.fiscal import last_day_before, no_year_between
from codes.icd10 import dotted, parse_code_input
from codes.models import Release
from codes.release_data import release_data_for
from codes.selection import published_releases

OK = "ok"
HEADER_NOT_BILLABLE = "header_not_billable"
MISSING_SEVENTH_CHARACTER = "missing_seventh_character"
INVALID_SEVENTH_CHARACTER = "invalid_seventh_character"
MISSING_PLACEHOLDER_X = "missing_placeholder_x"
DELETED = "deleted"
NOT_IN_RELEASE = "not_in_release"
MALFORMED = "malformed"

REASONS = {
    OK: "The code is billable in this release.",
    HEADER_NOT_BILLABLE: "The code is a header: use one of the billable codes below it.",
    MISSING_SEVENTH_CHARACTER: "The code needs a 7th character.",
    INVALID_SEVENTH_CHARACTER: "That 7th character is not allowed for this code.",
    MISSING_PLACEHOLDER_X: "The code needs placeholder X before its 7th character.",
    DELETED: "The code was deleted before this release.",
    NOT_IN_RELEASE: "The code does not exist in this release.",
    MALFORMED: "This is not an ICD-10-CM code.",
}

# Suggestions listed per answer; the message gives the full count when there are more.
MAX_SUGGESTIONS = 25


@dataclass(frozen=True)
class Suggestion:
    code: str  # undotted
    title: str

    @property
    def dotted(self) -> str:
        return dotted(self.code)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made building
# the 9,000 verdicts of a 10,000-code batch three times slower. Slots: no __dict__ each.
@dataclass(slots=True)
class Verdict:
    input: str
    code: str  # undotted, normalised; "" when malformed beyond repair
    release: Release
    exists: bool
    billable: bool
    reason: str
    message: str
    # Empty tuples by default: none of the 9,000 valid codes of a batch allocates lists.
    suggestions: Sequence[Suggestion] = ()
    # Allowed 7th characters with their meaning, when one is needed or wrong.
    seventh_characters: Sequence[SeventhCharacter] = ()
    # In the release's POA-exempt list; None when the release has none imported.
    poa_exempt: bool | None = None

    @property
    def dotted(self) -> str:
        return dotted(self.code) if self.code else ""

    @property
    def normalised(self) -> bool:
        """True when the input was not already the canonical dotted form."""
        return self.input != self.dotted

    @property
    def is_valid(self) -> bool:
        return self.reason == OK


def validate(text: str, release: Release) -> Verdict:
    return validate_many([text], release)[0]


def validate_many(texts: Sequence[str], release: Release) -> list[Verdict]:
    """Answer every code against one release, from what the process holds of the published
    releases (no query once they are held). A text given many times (a batch of claims repeats
    its codes) is answered once: the same Verdict for each."""
    codeset = codeset_for(release)
    distinct = {text: parse_code_input(text) or "" for text in texts}
    absent = {c for c in distinct.values() if c and c not in codeset}
    # The other releases: where an absent code is, and after a deleted code's last release, the
    # last date of service it was valid.
    published = published_releases() if absent else []
    elsewhere = _presence_elsewhere(absent, release, published) if absent else {}
    exempt = release_data_for(release).is_poa_exempt
    answered = {
        text: _verdict(
            text,
            code,
            release,
            codeset,
            elsewhere.get(code, []),
            published,
            poa_exempt=exempt(code),
        )
        for text, code in distinct.items()
    }
    return [answered[text] for text in texts]


def _presence_elsewhere(
    codes: Iterable[str], release: Release, published: Sequence[Release]
) -> dict[str, list[Release]]:
    """The other published releases each code exists in, oldest first."""
    others = [(r, codeset_for(r)) for r in reversed(published) if r.pk != release.pk]
    found: dict[str, list[Release]] = {}
    for code in codes:
        inside = [r for r, codeset in others if code in codeset]
        if inside:
            found[code] = inside
    return found


def _verdict(
    text: str,
    code: str,
    release: Release,
    codeset: CodeSet,
    elsewhere: list[Release],
    published: list[Release],
    *,
    poa_exempt: bool | None,
) -> Verdict:
    entry = codeset.get(code)
    if entry is not None and entry.is_billable:
        # Nine codes of a batch in ten: answered before the others' helper below is made.
        return Verdict(
            input=text,
            code=code,
            release=release,
            exists=True,
            billable=True,
            reason=OK,
            message=f"{dotted(code)} is billable in {release.label}.",
            poa_exempt=poa_exempt,
        )

    def answer(reason: str, message: str = "", **kwargs) -> Verdict:
        exists = code in codeset
        entry = codeset.get(code)
        return Verdict(
            input=text,
            code=code,
            release=release,
            exists=exists,
            billable=bool(entry and entry.is_billable),
            reason=reason,
            message=message or REASONS[reason],
            poa_exempt=poa_exempt,
            **kwargs,
        )

    if not code:
        return answer(
            MALFORMED,
            f'"{text.strip()[:20]}" is not an ICD-10-CM code: a letter, then 2 to 6 letters or '
            "digits (a dot after the third character is optional).",
        )
    if entry is not None:
        return _header(code, release, codeset, answer)
    return _absent(code, release, codeset, elsewhere, published, answer)


def _header(code: str, release: Release, codeset: CodeSet, answer) -> Verdict:
    completions = _seventh_completions(code, codeset)
    if completions:
        return answer(
            MISSING_SEVENTH_CHARACTER,
            f"{dotted(code)} needs a 7th character: "
            + ", ".join(dotted(c.code) for c in completions[:MAX_SUGGESTIONS])
            + ".",
            suggestions=completions[:MAX_SUGGESTIONS],
            seventh_characters=codeset.seventh_characters_for(code)[1],
        )
    below = [Suggestion(e.code, e.title) for e in codeset.billable_below(code)]
    return answer(
        HEADER_NOT_BILLABLE,
        f"{dotted(code)} is a header in {release.label}, not valid on a claim; "
        f"{_count(len(below), 'billable code')} below it.",
        suggestions=below[:MAX_SUGGESTIONS],
    )


def _seventh_completions(code: str, codeset: CodeSet) -> list[Suggestion]:
    """The billable codes that complete `code` with (placeholders and) a 7th character of a
    7th-character definition; none when no definition applies to `code`."""
    if len(code) > 6 or codeset.seventh_characters_for(code) is None:
        return []
    stem = code.ljust(6, "X")
    return [
        Suggestion(e.code, e.title)
        for e in codeset.descendants(code)
        if e.is_billable and len(e.code) == 7 and e.code[:6] == stem
    ]


def _absent(
    code: str,
    release: Release,
    codeset: CodeSet,
    elsewhere: list[Release],
    published: list[Release],
    answer,
) -> Verdict:
    padded = _placeholder_candidates(code, codeset)
    if padded:
        return answer(
            MISSING_PLACEHOLDER_X,
            f"{dotted(code)} needs placeholder X: did you mean "
            + " or ".join(dotted(c.code) for c in padded)
            + "?",
            suggestions=padded,
        )
    if len(code) == 7:
        completions = _seventh_completions(code[:6].rstrip("X"), codeset) or (
            _seventh_completions(code[:6], codeset)
        )
        if completions:
            defined = codeset.seventh_characters_for(completions[0].code[:6].rstrip("X"))
            allowed = ", ".join(c.code[6] for c in completions)
            return answer(
                INVALID_SEVENTH_CHARACTER,
                f"{code[6]} is not a 7th character of {dotted(code[:6])}; allowed: {allowed}.",
                suggestions=completions[:MAX_SUGGESTIONS],
                seventh_characters=defined[1] if defined else [],
            )
    earlier = [r for r in elsewhere if r.effective_date < release.effective_date]
    if earlier:
        successors = successors_of(code, codeset)
        return answer(
            DELETED,
            f"{dotted(code)} {_valid_until(earlier[-1], release, published)} and is not in "
            f"{release.label}"
            + (
                "; it was replaced by " + ", ".join(s.dotted for s in successors) + "."
                if successors
                else "."
            ),
            suggestions=successors,
        )
    later = [r for r in elsewhere if r.effective_date > release.effective_date]
    closest = closest_codes(code, codeset)
    message = f"{dotted(code)} does not exist in {release.label}"
    if later:
        message += f"; it exists from {later[0].label} on"
    return answer(NOT_IN_RELEASE, message + ".", suggestions=closest)


def _placeholder_candidates(code: str, codeset: CodeSet) -> list[Suggestion]:
    """Codes that are `code` with placeholder X inserted: W19A -> W19XXXA, T4501A -> T450X1A."""
    if not 4 <= len(code) < 7:
        return []
    stem, seventh = code[:-1], code[-1]
    missing = 6 - len(stem)
    found = []
    # Placeholders go after the category (position 3 or later) and before the 7th character.
    for positions in combinations(range(3, 7), missing):
        candidate = list(stem)
        for position in positions:
            candidate.insert(position, "X")
        full = "".join(candidate) + seventh
        entry = codeset.get(full)
        if len(full) == 7 and entry is not None and entry.is_billable:
            found.append(Suggestion(full, entry.title))
    return list({s.code: s for s in found}.values())


def _valid_until(last: Release, release: Release, published: list[Release]) -> str:
    """The last date of service of a code last seen in `last`, when the releases loaded say it:
    the day before the next loaded release, if no fiscal year between them is missing."""
    following = min(
        (r for r in published if r.effective_date > last.effective_date),
        key=lambda r: r.effective_date,
        default=release,
    )
    if no_year_between(last.fiscal_year, following.fiscal_year):
        day = last_day_before(following.effective_date)
        return (
            f"was valid for dates of service through {day:%B} {day.day}, {day.year} "
            f"(last in {last.label})"
        )
    return f"was last in {last.label} of the releases loaded"


def successors_of(code: str, codeset: CodeSet) -> list[Suggestion]:
    """New codes that took over a deleted code (or one that became a header), billable in the
    codeset's release.

    From CMS's conversion table when one applies to the release (imported with it or with a
    later release), followed through later changes; else, or when the table names none, from
    the hierarchy: the billable codes below the nearest surviving ancestor, keeping the same 7th
    character (T78.07XA -> T78.070A, T78.071A, T78.079A either way).
    """
    return successors_with_source(code, codeset)[0]


# Where successors came from.
FROM_CONVERSION_TABLE = "conversion_table"
FROM_HIERARCHY = "hierarchy"


def successors_with_source(code: str, codeset: CodeSet) -> tuple[list[Suggestion], str]:
    """successors_of() and where they came from: FROM_CONVERSION_TABLE, FROM_HIERARCHY, or ""
    when there are none."""
    converted = _successors_from_conversion_table(code, codeset)
    if converted:
        return converted[:MAX_SUGGESTIONS], FROM_CONVERSION_TABLE
    ancestor = codeset.nearest_existing_prefix(code)
    if ancestor is None:
        return [], ""
    below = _billable_below_keeping_seventh(ancestor, code, codeset)[:MAX_SUGGESTIONS]
    return below, FROM_HIERARCHY if below else ""


def _billable_below_keeping_seventh(ancestor: str, code: str, codeset: CodeSet) -> list[Suggestion]:
    below = codeset.billable_below(ancestor)
    if len(code) == 7 and any(e.code.endswith(code[6]) and len(e.code) == 7 for e in below):
        below = [e for e in below if len(e.code) == 7 and e.code.endswith(code[6])]
    return [Suggestion(e.code, e.title) for e in below]


def _successors_from_conversion_table(code: str, codeset: CodeSet) -> list[Suggestion]:
    """The table's current codes for `code`; one replaced again since is followed to its own
    successors, one that became a header to the billable codes below it."""
    found: dict[str, Suggestion] = {}
    pending = codeset.converted_to(code) or []
    seen = {code}
    while pending and len(seen) < 100:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        entry = codeset.get(current)
        if entry is None:  # replaced again since: its successors, in its place
            pending[:0] = codeset.converted_to(current) or []
        elif entry.is_billable:
            found.setdefault(current, Suggestion(current, entry.title))
        else:
            for suggestion in _billable_below_keeping_seventh(current, code, codeset):
                found.setdefault(suggestion.code, suggestion)
    return list(found.values())


def closest_codes(code: str, codeset: CodeSet) -> list[Suggestion]:
    """The nearest existing code and the codes just below it."""
    ancestor = codeset.nearest_existing_prefix(code)
    if ancestor is None:
        category = codeset.with_prefix(code[:2])[:10]
        return [Suggestion(c, codeset.entries[c].title) for c in category]
    entry = codeset.entries[ancestor]
    nearby = [Suggestion(ancestor, entry.title)]
    for child in codeset.children.get(ancestor, [])[: MAX_SUGGESTIONS - 1]:
        nearby.append(Suggestion(child, codeset.entries[child].title))
    return nearby


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
