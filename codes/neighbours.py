"""A code's neighbours, from the release's in-memory CodeSet (no query): the codes before and
after it in tabular order, and for a code completed by a 7th character, what that character
means and the codes that differ from it only there (S72.001A -> S72.001B, S72.001D, ...).
"""

from dataclasses import dataclass, field

from codes.codeset import CodeSet, Entry


@dataclass(frozen=True)
class TabularNeighbours:
    previous: Entry | None  # None for the first code of the release
    next: Entry | None  # None for the last


@dataclass(frozen=True)
class SeventhCharacterOfCode:
    character: str
    meaning: str
    defined_at: str  # undotted code whose <sevenChrDef> gives it (S72 for S72.001A)
    # The codes with the same 6 characters, in tabular order, each with its 7th character's meaning.
    siblings: list[tuple[Entry, str]] = field(default_factory=list)


def tabular_neighbours(codeset: CodeSet, code: str) -> TabularNeighbours:
    """The codes just before and after `code` by Code.sequence (the order file's order)."""
    order = codeset.in_tabular_order
    # A release's codes are numbered 1 to N in tabular order (codes.importer.order_file).
    position = codeset.entries[code].sequence - 1
    previous = codeset.entries[order[position - 1]] if position > 0 else None
    following = codeset.entries[order[position + 1]] if position + 1 < len(order) else None
    return TabularNeighbours(previous, following)


def seventh_character_of(codeset: CodeSet, code: str) -> SeventhCharacterOfCode | None:
    """For a 7-character code whose last character is a defined 7th character: its meaning and
    its siblings; None for any other code."""
    if len(code) != 7:
        return None
    defined = codeset.seventh_characters_for(code)
    if defined is None:
        return None
    owner, definitions = defined
    meanings = {seventh.character: seventh.described for seventh in definitions}
    if code[6] not in meanings:
        return None
    siblings = sorted(
        (
            codeset.entries[other]
            for other in codeset.with_prefix(code[:6])
            if len(other) == 7 and other != code
        ),
        key=lambda entry: entry.sequence,
    )
    return SeventhCharacterOfCode(
        code[6],
        meanings[code[6]],
        owner,
        [(entry, meanings.get(entry.code[6], entry.title)) for entry in siblings],
    )
