"""What a code page or an API code answer reads of one release besides its code tree, in memory:
its chapters and sections, its notes by owner, its changes by code, its POA-exempt codes.

A first visit of a code page used to ask the database for each of these (seven queries, most of
the page's time spent building and reading them); a published release never changes, so a
process reads them once per release (codes.release_memory: rebuilt when the release, or the
POA list imported into it, is re-imported) and answers from dicts.

Notes are kept as rows of values (NoteRow), which pages and API answers read as they are: 27,000
model instances per release would cost four times the memory, and making them for each page
took a tenth of a first visit. Their texts, like the code set's titles, are interned, so the
releases held share the notes they have in common. So are the code rows' values the code set
does not hold (CodeColumns): a code page reads no row.
"""

import sys
from array import array
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models.base import ModelState

from codes.codeset import Entry
from codes.models import Chapter, Code, CodeChange, Note, PoaList, Release, Section
from codes.release_memory import ReleaseMemory


class NoteRow(NamedTuple):
    """A Note's values; what pages and API answers read of a note (no instance is made)."""

    id: int
    chapter_id: int | None
    section_id: int | None
    code: str
    kind: str
    text: str
    character: str
    sequence: int

    @property
    def heading(self) -> str:
        return Note.heading_of(self.kind)

    @property
    def kind_label(self) -> str:
        return Note.label_of(self.kind)


class ChangeRow(NamedTuple):
    """What a code's history reads of a CodeChange."""

    change: str
    is_billable: bool
    old_long_title: str


# Code.kind's values, by the number CodeColumns keeps for each.
CODE_KINDS = tuple(Code.Kind.values)
# What a Code row reads from CodeColumns and its code-set Entry: every field but the inclusion
# terms, which only the word index reads (codes.word_index, from the database).
HELD_CODE_FIELDS = [f.attname for f in Code._meta.concrete_fields if f.attname != "inclusion_terms"]
# Related rows attached as select_related attaches them (the rows' ids are already right):
# assigning through the descriptors checks each with the database routers, a third of a row's
# making.
_attach_release = Code._meta.get_field("release").set_cached_value
_attach_chapter = Code._meta.get_field("chapter").set_cached_value
_attach_section = Code._meta.get_field("section").set_cached_value


def _loaded_code(alias: str, values: list) -> Code:
    """Code.from_db(alias, HELD_CODE_FIELDS, values) without Model.__init__: its values put
    where __init__ would put them (fields by attname; the one not given stays deferred) and
    marked as loaded from `alias`. 2 us instead of 12: a search page makes fifty. Code has no
    __init__ of its own and no pre_init or post_init receivers (tests check both)."""
    row = Code.__new__(Code)
    row.__dict__.update(zip(HELD_CODE_FIELDS, values, strict=True))
    state = row._state = ModelState()
    state.adding = False
    state.db = alias
    return row


@dataclass
class CodeColumns:
    """The values of a release's Code rows that its code set (codes.codeset.Entry) does not
    hold, by tabular position: Code.sequence - 1 (the importer numbers a release's codes 1 to N,
    codes.importer.order_file). Columns, not a row object per code: under 2 MB a release; the
    short titles are interned, as the code set's titles, so releases share them. A chapter or
    section is kept as its number among the release's few (a byte or two, not an 8-byte id)."""

    ids: array  # Code.pk
    short_titles: list[str]
    kinds: bytes  # positions in CODE_KINDS
    depths: bytes
    chapters: array  # positions in chapter_ids
    sections: array  # positions in section_ids
    chapter_ids: tuple[int | None, ...]
    section_ids: tuple[int | None, ...]


@dataclass
class ReleaseData:
    codes: CodeColumns
    chapters: dict[int, Chapter]  # by primary key
    sections: dict[int, Section]  # by primary key
    # By owner, in document order: an undotted code, a section's or a chapter's primary key.
    code_notes: dict[str, list[NoteRow]]
    section_notes: dict[int, list[NoteRow]]
    chapter_notes: dict[int, list[NoteRow]]
    changes: dict[str, list[ChangeRow]]  # by undotted code, in CodeChange's order
    poa_exempt: frozenset[str] | None  # None: no POA list imported into the release

    def code_row(self, entry: Entry, release: Release, alias: str) -> Code:
        """The release's Code row of a code-set entry, as the database would give it (its
        inclusion terms deferred), with its chapter and section attached."""
        at = entry.sequence - 1
        columns = self.codes
        values = [
            columns.ids[at],
            release.pk,
            entry.code,
            columns.short_titles[at],
            entry.title,
            entry.is_billable,
            CODE_KINDS[columns.kinds[at]],
            entry.parent,
            columns.depths[at],
            columns.chapter_ids[columns.chapters[at]],
            columns.section_ids[columns.sections[at]],
            entry.sequence,
        ]
        row = _loaded_code(alias, values)
        _attach_release(row, release)
        return self.placed([row])[0]

    def placed(self, rows: list[Code]) -> list[Code]:
        """The rows (of this release) with their chapter and section attached from memory: what
        select_related would join and build anew for every row."""
        for row in rows:
            _attach_chapter(row, self.chapters.get(row.chapter_id))
            _attach_section(row, self.sections.get(row.section_id))
        return rows

    def is_poa_exempt(self, code: str) -> bool | None:
        """Whether the code is in the release's POA-exempt list; None when it has no list."""
        return None if self.poa_exempt is None else code in self.poa_exempt

    def section_path(self, section_id: int | None) -> list[Section]:
        """A section, then each heading section that holds it, nearest first."""
        path = []
        while section_id is not None:
            path.append(self.sections[section_id])
            section_id = path[-1].parent_id
        return path


def _build(release: Release) -> ReleaseData:
    columns = _code_columns(release)
    chapters = {chapter.pk: chapter for chapter in Chapter.objects.filter(release=release)}
    sections = {section.pk: section for section in Section.objects.filter(release=release)}
    for section in sections.values():
        # Each section's chapter and parent are the instances held here, not a query each.
        section.chapter = chapters[section.chapter_id]
        if section.parent_id is not None:
            section.parent = sections[section.parent_id]
    code_notes: dict[str, list[NoteRow]] = {}
    section_notes: dict[int, list[NoteRow]] = {}
    chapter_notes: dict[int, list[NoteRow]] = {}
    fields = NoteRow._fields
    for values in Note.objects.filter(release=release).order_by("sequence").values_list(*fields):
        row = NoteRow(*values)
        row = row._replace(text=sys.intern(row.text), code=sys.intern(row.code))
        if row.code:
            code_notes.setdefault(row.code, []).append(row)
        elif row.section_id is not None:
            section_notes.setdefault(row.section_id, []).append(row)
        else:
            chapter_notes.setdefault(row.chapter_id, []).append(row)
    changes: dict[str, list[ChangeRow]] = {}
    rows = CodeChange.objects.filter(release=release).values_list("code", *ChangeRow._fields)
    for code, change, is_billable, old_long_title in rows:
        row = ChangeRow(change, is_billable, sys.intern(old_long_title))
        changes.setdefault(code, []).append(row)
    poa_list = PoaList.objects.filter(release=release).first()
    return ReleaseData(
        codes=columns,
        chapters=chapters,
        sections=sections,
        code_notes=code_notes,
        section_notes=section_notes,
        chapter_notes=chapter_notes,
        changes=changes,
        poa_exempt=None
        if poa_list is None
        else frozenset(sys.intern(c) for c in poa_list.codes.values_list("code", flat=True)),
    )


def _code_columns(release: Release) -> CodeColumns:
    ids, short_titles, kinds, depths = array("q"), [], bytearray(), bytearray()
    chapters, sections = array("H"), array("H")
    kind_numbers = {kind: number for number, kind in enumerate(CODE_KINDS)}
    chapter_numbers: dict[int | None, int] = {}
    section_numbers: dict[int | None, int] = {}
    rows = (
        Code.objects.filter(release=release)
        .order_by("sequence")
        .values_list("sequence", "id", "short_title", "kind", "depth", "chapter_id", "section_id")
    )
    for position, values in enumerate(rows.iterator(chunk_size=10_000), start=1):
        sequence, pk, short_title, kind, depth, chapter_id, section_id = values
        if sequence != position:
            raise ValueError(
                f"{release.label}: code number {position} in tabular order has sequence "
                f"{sequence}; a release's codes are numbered 1 to N"
            )
        ids.append(pk)
        short_titles.append(sys.intern(short_title))
        kinds.append(kind_numbers[kind])
        depths.append(depth)
        chapters.append(chapter_numbers.setdefault(chapter_id, len(chapter_numbers)))
        sections.append(section_numbers.setdefault(section_id, len(section_numbers)))
    return CodeColumns(
        ids=ids,
        short_titles=short_titles,
        kinds=bytes(kinds),
        depths=bytes(depths),
        chapters=chapters,
        sections=sections,
        chapter_ids=tuple(chapter_numbers),
        section_ids=tuple(section_numbers),
    )


release_data_for = ReleaseMemory(_build)
