"""Everything a code page or an API answer says about one code, without a query.

All of it comes from what the process holds of each published release (a release never changes
once published): the code's row, the tree, titles and billable flags of its ancestors, children
and codes below from its CodeSet (codes.codeset), the rest of its row, its chapter, sections,
notes, changes and POA exemption from its ReleaseData (codes.release_data).
"""

from dataclasses import dataclass, field

from django.db import router

from codes.codeset import CodeSet, Entry, SeventhCharacter, codeset_for
from codes.icd10 import dotted, undotted
from codes.models import Code, Note, Release, Section
from codes.release_data import NoteRow, release_data_for
from codes.selection import published_releases

SEVENTH_CHARACTER_KINDS = {Note.Kind.SEVENTH_CHARACTER, Note.Kind.SEVENTH_CHARACTER_NOTE}

# History events, as a program reads them.
ADDED = "added"
DELETED = "deleted"
REVISED = "revised"
BECAME_HEADER = "became_header"
BECAME_BILLABLE = "became_billable"


@dataclass(frozen=True)
class NoteFromPath:
    """A note that applies to the code, and where on its path it is written."""

    note: NoteRow
    origin: str  # "code", "section" or "chapter"
    origin_code: str  # the undotted code, section id or chapter number it belongs to
    inherited: bool  # written on an ancestor, a section (its own or a heading) or the chapter


@dataclass
class CodeDetail:
    release: Release
    code: Code
    ancestors: list[Entry]  # the category first, the parent last
    children: list[Entry]
    descendant_count: int
    billable_descendant_count: int
    billable_below: list[Entry]  # for a header: what to code instead, in tabular order
    # Own notes first, then the parent's, ..., the section's, each heading section's, the chapter's.
    notes: list[NoteFromPath]
    # The 7th characters that apply (the nearest definition's), each with its own notes, and
    # the definition's general notes ("The appropriate 7th character is to be added ...").
    seventh_characters: list[SeventhCharacter] = field(default_factory=list)
    seventh_character_notes: list[str] = field(default_factory=list)
    seventh_characters_from: str = ""  # undotted code whose definitions apply
    # Complete codes that show the 7th character in use below this code (W19 -> W19XXXA).
    seventh_character_examples: list[Entry] = field(default_factory=list)

    @property
    def is_header(self) -> bool:
        return not self.code.is_billable


@dataclass(frozen=True)
class HistoryRow:
    release: Release
    present: bool
    is_billable: bool | None
    title: str
    events: list[str]
    old_title: str = ""


def find_code(release: Release, text: str) -> Code | None:
    """The code's row, with its release, chapter and section attached; no query: from what the
    process holds of the release (its code set and its data)."""
    entry = codeset_for(release).get(undotted(text))
    if entry is None:
        return None
    return release_data_for(release).code_row(entry, release, router.db_for_read(Code))


def code_detail(code: Code, *, billable_limit: int = 100) -> CodeDetail:
    """No query: the code's family from the CodeSet, its notes from the ReleaseData."""
    release = code.release
    codeset = codeset_for(release)
    entries = codeset.entries
    ancestor_codes = list(reversed(codeset.ancestors(code.code)))
    descendants = codeset.descendants(code.code)
    billable = [e for e in descendants if e.is_billable]
    return CodeDetail(
        release=release,
        code=code,
        ancestors=[entries[c] for c in ancestor_codes],
        children=[entries[c] for c in codeset.children.get(code.code, [])],
        descendant_count=len(descendants),
        billable_descendant_count=len(billable),
        billable_below=billable[:billable_limit],
        notes=_notes_on_path(code, ancestor_codes),
        **_seventh_characters(code, codeset),
    )


def notes_for(code: Code, codeset: CodeSet) -> list[NoteFromPath]:
    """The notes that apply to a code (its own, then inherited), without the rest of its detail."""
    return _notes_on_path(code, list(reversed(codeset.ancestors(code.code))))


def note_origin(item: NoteFromPath) -> str:
    """Where a note is written, as a reader names it: "V43.5", "section V00-V99", "chapter 20"."""
    if item.origin == "code":
        return dotted(item.origin_code)
    return f"{item.origin} {item.origin_code}"


def section_path(code: Code) -> list[Section]:
    """The code's section, then each heading section that holds it, nearest first."""
    return release_data_for(code.release).section_path(code.section_id)


def _notes_on_path(code: Code, ancestor_codes: list[str]) -> list[NoteFromPath]:
    """The code's own notes, then its parent's, ..., its section's, each heading section's, its
    chapter's; each owner's in document order, 7th-character notes left to their own list."""
    held = release_data_for(code.release)
    path = [code.code, *reversed(ancestor_codes)]  # nearest first
    owners = [("code", c, held.code_notes.get(c, [])) for c in path]
    owners += [
        ("section", section.section_id, held.section_notes.get(section.pk, []))
        for section in held.section_path(code.section_id)
    ]
    if code.chapter_id is not None:
        owners.append(
            ("chapter", str(code.chapter.number), held.chapter_notes.get(code.chapter_id, []))
        )
    found = []
    for origin, owner, rows in owners:
        inherited = origin != "code" or owner != code.code
        for note in rows:
            if note.kind not in SEVENTH_CHARACTER_KINDS:
                found.append(NoteFromPath(note, origin, owner, inherited=inherited))
    return found


def _seventh_characters(code: Code, codeset: CodeSet) -> dict:
    """The 7th-character notes and definitions that apply at this code (the nearest wins)."""
    defined = codeset.seventh_characters_for(code.code)
    if defined is None or len(code.code) == 7:
        return {}
    owner, characters = defined
    general = [
        row.text
        for row in release_data_for(code.release).code_notes.get(owner, [])
        if row.kind in SEVENTH_CHARACTER_KINDS and not row.character
    ]
    return {
        "seventh_characters": characters,
        "seventh_character_notes": general,
        "seventh_characters_from": owner,
        "seventh_character_examples": seventh_character_examples(code.code, codeset),
    }


def seventh_character_examples(code: str, codeset: CodeSet, *, limit: int = 6) -> list[Entry]:
    """Billable 7-character codes below `code`: its own completions when it has them, placeholder
    X included (W19 -> W19XXXA, W19XXXD, W19XXXS), else the first complete codes below it."""
    complete = [e for e in codeset.descendants(code) if e.is_billable and len(e.code) == 7]
    stem = code.ljust(6, "X")
    own = [e for e in complete if e.code[:6] == stem]
    return (own or complete)[:limit]


def code_history(code: str) -> list[HistoryRow]:
    """One row per published release, oldest first (no query: each release's CodeSet says
    whether the code is in it, its ReleaseData what changed)."""
    releases = published_releases()[::-1]
    history = []
    for release in releases:
        row = codeset_for(release).get(code)
        changes = release_data_for(release).changes.get(code, [])
        kinds = {(c.change, c.is_billable): c for c in changes}
        events = []
        old_title = ""
        if (DELETED, True) in kinds and (ADDED, False) in kinds:
            events.append(BECAME_HEADER)
        elif (DELETED, False) in kinds and (ADDED, True) in kinds:
            events.append(BECAME_BILLABLE)
        elif any(change == ADDED for change, _ in kinds):
            events.append(ADDED)
        elif any(change == DELETED for change, _ in kinds):
            events.append(DELETED)
        revised = next((c for (change, _), c in kinds.items() if change == REVISED), None)
        if revised is not None:
            events.append(REVISED)
            old_title = revised.old_long_title
        history.append(
            HistoryRow(
                release=release,
                present=row is not None,
                is_billable=row.is_billable if row else None,
                title=row.title if row else "",
                events=events,
                old_title=old_title,
            )
        )
    return history
