"""Chapters and sections for the releases imported without their tabular XML.

Older CMS releases often come as order files only. Such a release borrows the chapters and
sections (with the headings that hold them, Section.parent) of the published release imported
with its tabular XML that is nearest in effective date, earlier or later; of two as near, the
earlier one, the release the borrower was edited from. Its categories are placed by the code
ranges of those sections, and the categories no range holds are reported. Notes are never
borrowed: they are another release's, so the borrower's pages say they are unavailable and link
the source's.

Every change to the set of published releases (an import, a publication, a withdrawal, a
deletion) calls refresh_borrowed_structures() in its own transaction, so what is stored depends
on which releases are loaded, never on the order they came in.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codes.icd10 import prefix_upper_bound
from codes.models import Chapter, Code, Release, Section

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Range:
    """A chapter or section of the source release, by the categories it spans."""

    key: str  # the chapter number as text, or the section id
    chapter: int
    first: str
    last: str

    def holds(self, category: str) -> bool:
        return self.first[:3] <= category <= self.last[:3]


@dataclass(frozen=True)
class Placement:
    chapter: int | None
    section: str | None


def nearest_source(day: datetime.date, sources: Sequence[Release]) -> Release | None:
    """The release of `sources` (published, with tabular XML) nearest to `day`; of two as
    near, the earlier."""
    return min(
        sources,
        key=lambda source: (abs((source.effective_date - day).days), source.effective_date),
        default=None,
    )


def place_categories(
    categories: Sequence[str],
    *,
    known: dict[str, Placement],
    chapters: Sequence[Range],
    sections: Sequence[Range],
) -> dict[str, Placement]:
    """Each category where the source's XML puts it (`known`), else in the narrowest section
    whose range holds it (V01 in V00-V09 rather than its heading V00-V99) and that section's
    chapter, else in the chapter whose range holds it, if any. Pure.

    Ranges are compared as text, which is tabular order except for the categories with a letter
    in third place (CMS puts C4A within C43-C44, M1A within M05-M14): hence the source's own
    placement first."""
    placed = {}
    for category in categories:
        if category in known:
            placed[category] = known[category]
            continue
        holding = [section for section in sections if section.holds(category)]
        if holding:
            # The narrowest: the latest first code, then the earliest last code.
            latest = max(section.first for section in holding)
            section = min((s for s in holding if s.first == latest), key=lambda s: s.last)
            placed[category] = Placement(section.chapter, section.key)
            continue
        chapter = next((c for c in chapters if c.holds(category)), None)
        placed[category] = Placement(chapter.chapter if chapter else None, None)
    return placed


def refresh_borrowed_structures(*, progress: Progress = lambda message: None) -> None:
    """Give every release without tabular XML the structure of its nearest source, where that
    is not the one it has: a source published, withdrawn, deleted or replaced, or a nearer one
    arrived. Inside the caller's transaction."""
    sources = list(
        Release.objects.published().filter(structure=Release.Structure.TABULAR).order_by()
    )
    borrowers = Release.objects.exclude(structure=Release.Structure.TABULAR)
    for release in borrowers.order_by("effective_date"):
        source = nearest_source(release.effective_date, sources)
        if source is None:
            wanted = (Release.Structure.NONE, None)
        else:
            wanted = (Release.Structure.BORROWED, source.pk)
        if (release.structure, release.structure_from_id) != wanted:
            progress(
                f"Placing the codes of {release.label} in the chapters and sections of "
                f"{source.label}"
                if source
                else f"No release with tabular XML left to place the codes of {release.label}"
            )
            borrow_structure(release, source)


def borrow_structure(release: Release, source: Release | None) -> None:
    """Give `release` (one without tabular XML) copies of the chapters and sections of
    `source`, its codes placed by category; with no source, leave it without."""
    release.structure_from = source
    if source is None:
        release.structure = Release.Structure.NONE
        # Codes first: deleting a chapter would cascade to the codes still pointing at it.
        Code.objects.filter(release=release).update(chapter=None, section=None)
        Section.objects.filter(release=release).delete()
        Chapter.objects.filter(release=release).delete()
        unplaced: list[str] = []
        chapter_count = section_count = 0
    else:
        release.structure = Release.Structure.BORROWED
        unplaced, chapter_count, section_count = _copy_and_place(release, source)
    release.chapter_count, release.section_count = chapter_count, section_count
    release.report = {
        **release.report,
        "unplaced": unplaced,
        "structure": structure_message(source),
    }
    release.save(
        update_fields=[
            "structure",
            "structure_from",
            "chapter_count",
            "section_count",
            "report",
        ]
    )


def structure_message(source: Release | None) -> str:
    """What the release report says of a structure borrowed from `source` (None: none)."""
    if source is None:
        return (
            "imported without its tabular XML, and no published release has one: its codes "
            "have no chapter, section or notes"
        )
    return (
        f"imported without its tabular XML: chapters and sections from {source.label} (the "
        "nearest published release with one), codes placed by their category's range; "
        "instructional notes unavailable"
    )


def _copy_and_place(release: Release, source: Release) -> tuple[list[str], int, int]:
    """Copy the chapters and sections of `source` into `release` and point its codes at them;
    the categories that could not be placed in a section.

    The release's own chapters and sections are rewritten in place where `source` has them too
    (the same chapter number, the same section id), and only the codes whose place differs are
    written: a borrower moving to a nearer source rewrites the few codes that move, not its
    90,000, and a first borrowing writes each code once."""
    chapters = list(source.chapters.order_by("sequence"))
    own_chapters = {chapter.number: chapter for chapter in release.chapters.all()}
    copied_chapters = [
        _copied(release, own_chapters.pop(chapter.number, None), chapter, number=chapter.number)
        for chapter in chapters
    ]
    _save_copies(Chapter, copied_chapters, ["title", "first_code", "last_code", "sequence"])
    chapter_ids = {chapter.number: chapter.pk for chapter in copied_chapters}

    sections = list(source.sections.select_related("chapter", "parent").order_by("sequence"))
    own_sections = {section.section_id: section for section in release.sections.all()}
    copied_sections = [
        _copied(
            release,
            own_sections.pop(section.section_id, None),
            section,
            section_id=section.section_id,
            chapter_id=chapter_ids[section.chapter.number],
        )
        for section in sections
    ]
    _save_copies(
        Section, copied_sections, ["chapter", "title", "first_code", "last_code", "sequence"]
    )
    section_ids = {section.section_id: section.pk for section in copied_sections}
    reparented = []
    for section, copy in zip(sections, copied_sections, strict=True):
        parent_id = section_ids[section.parent.section_id] if section.parent else None
        if copy.parent_id != parent_id:
            copy.parent_id = parent_id
            reparented.append(copy)
    Section.objects.bulk_update(reparented, ["parent"])

    categories = Code.objects.filter(release=release, depth=0).order_by("sequence")
    placed_now = {
        code: (chapter_id, section_id)
        for code, chapter_id, section_id in categories.values_list(
            "code", "chapter_id", "section_id"
        )
    }
    known = {
        code: Placement(chapter, section)
        for code, chapter, section in Code.objects.filter(release=source, depth=0).values_list(
            "code", "chapter__number", "section__section_id"
        )
    }
    placed = place_categories(
        list(placed_now),
        known=known,
        chapters=[Range(str(c.number), c.number, c.first_code, c.last_code) for c in chapters],
        sections=[
            Range(s.section_id, s.chapter.number, s.first_code, s.last_code) for s in sections
        ],
    )
    # Categories next to each other in code order that move to the same place make one range
    # of codes, written by one UPDATE on the (release, code) index: some 300 for a release
    # borrowing for the first time, a few when it moves to another source.
    runs: list[tuple[str, str, tuple[int | None, int | None]]] = []
    moves = False
    for category in sorted(placed_now):
        placement = placed[category]
        wanted = (
            chapter_ids[placement.chapter] if placement.chapter is not None else None,
            section_ids[placement.section] if placement.section else None,
        )
        if wanted == placed_now[category]:
            moves = False
        elif moves and runs[-1][2] == wanted:
            runs[-1] = (runs[-1][0], category, wanted)
        else:
            runs.append((category, category, wanted))
            moves = True
    for first, last, (chapter_id, section_id) in runs:
        codes = Code.objects.filter(release=release, code__gte=first)
        upper = prefix_upper_bound(last)
        if upper:
            codes = codes.filter(code__lt=upper)
        codes.update(chapter_id=chapter_id, section_id=section_id)
    # Nothing points at the chapters and sections `source` does not have any more.
    Section.objects.filter(pk__in=[section.pk for section in own_sections.values()]).delete()
    Chapter.objects.filter(pk__in=[chapter.pk for chapter in own_chapters.values()]).delete()
    unplaced = [category for category, placement in placed.items() if placement.section is None]
    return unplaced, len(copied_chapters), len(copied_sections)


def _copied(release: Release, own, original, **fields):
    """The borrower's row of the original's key (`own`, else a new one) with the original's
    title, range and order, and the fields given."""
    copy = own or type(original)(release=release)
    copy.title = original.title
    copy.first_code, copy.last_code = original.first_code, original.last_code
    copy.sequence = original.sequence
    for field, value in fields.items():
        setattr(copy, field, value)
    return copy


def _save_copies(model, copies: list, fields: list[str]) -> None:
    """Rewrite the rows the borrower had and create the others (their keys set on them)."""
    model.objects.bulk_update([copy for copy in copies if copy.pk], fields)
    model.objects.bulk_create([copy for copy in copies if not copy.pk])
