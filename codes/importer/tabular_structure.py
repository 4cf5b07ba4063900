"""The tabular XML's structure: which heading section holds which, and whether chapters,
sections and categories sit where their ranges say. Pure.

Ranges compare codes as strings, with one allowance: a category with a letter in its 2nd or
3rd character (C4A, C7A, D3A, M1A, O9A, Z3A, QA0) is placed by CMS beside the categories it
belongs with, not where the alphabet would put it (C4A sits in C43-C44), so such a code is
compared by its first two characters only.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codes.importer.tabular_xml import TabularChapter, TabularCode, TabularSection


@dataclass(frozen=True)
class StructureProblem:
    line: int
    element: str
    what: str
    is_odd: bool = False  # odd but harmless: reported, and the import goes on


def _lettered(code: str) -> bool:
    return not code[1:3].isdigit()


def _at_or_after(code: str, first: str) -> bool:
    if _lettered(code) or _lettered(first):
        return code[:2] >= first[:2]
    return code >= first


def _at_or_before(code: str, last: str) -> bool:
    if _lettered(code) or _lettered(last):
        return code[:2] <= last[:2]
    return code <= last


def within(code: str, first: str, last: str) -> bool:
    """Is the 3-character code `code` in the range first-last?"""
    return first <= code <= last or (_at_or_after(code, first) and _at_or_before(code, last))


def _holds(outer: "TabularSection", inner: "TabularSection") -> bool:
    return outer.chapter == inner.chapter and outer.first <= inner.first <= inner.last <= outer.last


def section_parents(sections: Sequence["TabularSection"]) -> dict[str, str | None]:
    """Section id -> the id of the heading section that holds it, or None.

    The XML lists a chapter's sections as siblings, each heading right before the sections its
    range holds (V00-X58, V00-V99, V00-V09, ...): a section belongs to the nearest section
    before it whose range holds its own, within the chapter.
    """
    parents: dict[str, str | None] = {}
    open_headings: list[TabularSection] = []
    for section in sections:
        while open_headings and not _holds(open_headings[-1], section):
            open_headings.pop()
        parents[section.id] = open_headings[-1].id if open_headings else None
        open_headings.append(section)
    return parents


def check_structure(
    chapters: Sequence["TabularChapter"],
    sections: Sequence["TabularSection"],
    categories: Sequence["TabularCode"],
) -> Iterable[StructureProblem]:
    """Yield what is wrong (or merely odd) with the structure, in file order per kind."""
    yield from _check_chapters(chapters)
    yield from _check_sections(chapters, sections, categories)
    yield from _check_categories(chapters, sections, categories)


def _check_chapters(chapters: Sequence["TabularChapter"]) -> Iterable[StructureProblem]:
    previous = None
    for chapter in chapters:
        label = f"chapter {chapter.number}"
        if chapter.first > chapter.last:
            yield StructureProblem(
                chapter.line, label, f"its range {chapter.first}-{chapter.last} is reversed"
            )
        if previous is not None and chapter.number <= previous.number:
            yield StructureProblem(
                chapter.line,
                label,
                f"chapter {chapter.number} comes after chapter "
                f"{previous.number}: chapters must be in order",
            )
        previous = chapter
    for position, chapter in enumerate(chapters):
        for other in chapters[:position]:
            if chapter.first <= other.last and other.first <= chapter.last:
                yield StructureProblem(
                    chapter.line,
                    f"chapter {chapter.number}",
                    f"its range {chapter.first}-{chapter.last} overlaps chapter {other.number}'s "
                    f"{other.first}-{other.last}",
                )


def _check_sections(
    chapters: Sequence["TabularChapter"],
    sections: Sequence["TabularSection"],
    categories: Sequence["TabularCode"],
) -> Iterable[StructureProblem]:
    by_number = {chapter.number: chapter for chapter in chapters}
    holding = {section.parent for section in sections if section.parent}
    with_categories = {code.section for code in categories}
    last_child: dict[tuple[int, str | None], TabularSection] = {}
    for section in sections:
        label = f"section {section.id}"
        chapter = by_number[section.chapter]
        if section.first > section.last:
            yield StructureProblem(
                section.line, label, f"its range {section.first}-{section.last} is reversed"
            )
        if not (
            within(section.first, chapter.first, chapter.last)
            and within(section.last, chapter.first, chapter.last)
        ):
            yield StructureProblem(
                section.line,
                label,
                f"it lies outside its chapter {chapter.number} ({chapter.first}-{chapter.last})",
            )
        sibling = last_child.get((section.chapter, section.parent))
        if sibling is not None and not _after(section.first, sibling.last):
            yield StructureProblem(
                section.line,
                label,
                f"its range overlaps or comes before the section before it, {sibling.id}"
                + (f" (both in {section.parent})" if section.parent else ""),
            )
        last_child[(section.chapter, section.parent)] = section
        if section.id in holding and section.id in with_categories:
            yield StructureProblem(
                section.line,
                label,
                "it lists categories but its range also holds the sections after it",
            )
        if section.id not in holding and section.id not in with_categories:
            yield StructureProblem(
                section.line, label, "a section with no category and no section in it", True
            )


def _after(code: str, last: str) -> bool:
    """Does `code` come after `last`? (The next sibling starts after the previous one ends.)"""
    if _lettered(code) or _lettered(last):
        return code[:2] >= last[:2]
    return code > last


def _check_categories(
    chapters: Sequence["TabularChapter"],
    sections: Sequence["TabularSection"],
    categories: Sequence["TabularCode"],
) -> Iterable[StructureProblem]:
    by_number = {chapter.number: chapter for chapter in chapters}
    by_id = {section.id: section for section in sections}
    for code in categories:
        chapter, section = by_number[code.chapter], by_id[code.section]
        label = f"diag {code.code}"
        if not within(code.code, section.first, section.last):
            yield StructureProblem(
                code.line,
                label,
                f"category {code.code} lies outside its section {section.id}",
            )
        elif not within(code.code, chapter.first, chapter.last):
            yield StructureProblem(
                code.line,
                label,
                f"category {code.code} lies outside its chapter {chapter.number} "
                f"({chapter.first}-{chapter.last})",
            )
