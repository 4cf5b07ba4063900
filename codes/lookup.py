"""Everything a code page or an API answer says about one code, in a handful of queries.

The tree questions (ancestors, children, family sizes) are answered from the release's in-memory
CodeSet; the database is asked for the rows to show (the code with its chapter and section, its
ancestors' rows, its children, the notes along its path) and for its history.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from codes.codeset import CodeSet, Entry, SeventhCharacter, codeset_for
from codes.icd10 import dotted, undotted
from codes.models import Code, CodeChange, Note, Release, Section
from codes.selection import published_releases

# History events, as a program reads them.
ADDED = "added"
DELETED = "deleted"
REVISED = "revised"
BECAME_HEADER = "became_header"
BECAME_BILLABLE = "became_billable"


@dataclass(frozen=True)
class NoteFromPath:
    """A note that applies to the code, and where on its path it is written."""

    note: Note
    origin: str  # "code", "section" or "chapter"
    origin_code: str  # the undotted code, section id or chapter number it belongs to
    inherited: bool  # written on an ancestor, a section (its own or a heading) or the chapter


@dataclass
class CodeDetail:
    release: Release
    code: Code
    ancestors: list[Code]  # the category first, the parent last
    children: list[Code]
    descendant_count: int
    billable_descendant_count: int
    billable_below: list[Code]  # for a header: what to code instead, in tabular order
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
    return (
        Code.objects.filter(release=release, code=undotted(text))
        .select_related("release", "chapter", "section")
        .first()
    )


def code_detail(code: Code, *, billable_limit: int = 100) -> CodeDetail:
    """Three queries: the rows on the path and below, the notes, the 7th-character notes."""
    release = code.release
    codeset = codeset_for(release)
    ancestor_codes = list(reversed(codeset.ancestors(code.code)))
    descendants = codeset.descendants(code.code)
    billable = [e.code for e in descendants if e.is_billable]
    child_codes = codeset.children.get(code.code, [])
    wanted = ancestor_codes + child_codes + billable[:billable_limit]
    # No ORDER BY: with one, SQLite walks the release's (release, sequence) index (40 ms)
    # instead of looking the codes up in the (release, code) one.
    rows = {
        row.code: row for row in Code.objects.filter(release=release, code__in=wanted).order_by()
    }
    return CodeDetail(
        release=release,
        code=code,
        ancestors=[rows[c] for c in ancestor_codes],
        children=[rows[c] for c in child_codes],
        descendant_count=len(descendants),
        billable_descendant_count=len(billable),
        billable_below=[rows[c] for c in billable[:billable_limit]],
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
    if code.section_id is None:
        return []
    if code.section.parent_id is None:
        return [code.section]
    in_chapter = Section.objects.filter(release_id=code.release_id, chapter_id=code.chapter_id)
    sections = {section.pk: section for section in in_chapter}
    path = [code.section]
    while path[-1].parent_id is not None:
        path.append(sections[path[-1].parent_id])
    return path


def _notes_on_path(code: Code, ancestor_codes: list[str]) -> list[NoteFromPath]:
    path = [code.code, *reversed(ancestor_codes)]  # nearest first
    sections = section_path(code)
    # Each branch names its own index (a section or chapter belongs to one release), so that
    # SQLite answers the OR from three index searches instead of scanning the release's notes.
    owners = Q(release_id=code.release_id, code__in=path)
    if sections:
        owners |= Q(section_id__in=[section.pk for section in sections])
    if code.chapter_id:
        owners |= Q(chapter_id=code.chapter_id)
    notes = list(
        Note.objects.filter(owners).exclude(
            kind__in=[Note.Kind.SEVENTH_CHARACTER, Note.Kind.SEVENTH_CHARACTER_NOTE]
        )
    )
    rank = {c: position for position, c in enumerate(path)}
    section_rank = {section.pk: len(path) + position for position, section in enumerate(sections)}
    section_ids = {section.pk: section.section_id for section in sections}

    def order(note: Note) -> tuple[int, int]:
        if note.code:
            return rank[note.code], note.sequence
        if note.section_id:
            return section_rank[note.section_id], note.sequence
        return len(path) + len(sections), note.sequence

    found = []
    for note in sorted(notes, key=order):
        if note.code:
            origin, owner = "code", note.code
        elif note.section_id:
            origin, owner = "section", section_ids[note.section_id]
        else:
            origin, owner = "chapter", str(code.chapter.number)
        found.append(NoteFromPath(note, origin, owner, inherited=note.code != code.code))
    return found


def _seventh_characters(code: Code, codeset: CodeSet) -> dict:
    """The 7th-character notes and definitions that apply at this code (the nearest wins)."""
    defined = codeset.seventh_characters_for(code.code)
    if defined is None or len(code.code) == 7:
        return {}
    owner, characters = defined
    general = Note.objects.filter(
        release_id=code.release_id,
        code=owner,
        kind__in=[Note.Kind.SEVENTH_CHARACTER, Note.Kind.SEVENTH_CHARACTER_NOTE],
        character="",
    )
    return {
        "seventh_characters": characters,
        "seventh_character_notes": [note.text for note in general],
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
    """One row per published release, oldest first (three queries)."""
    releases = published_releases()[::-1]
    present = {row.release_id: row for row in Code.objects.filter(code=code, release__in=releases)}
    changes: dict[int, list[CodeChange]] = {}
    for change in CodeChange.objects.filter(code=code, release__in=releases):
        changes.setdefault(change.release_id, []).append(change)
    history = []
    for release in releases:
        row = present.get(release.pk)
        kinds = {(c.change, c.is_billable): c for c in changes.get(release.pk, [])}
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
                title=row.long_title if row else "",
                events=events,
                old_title=old_title,
            )
        )
    return history
