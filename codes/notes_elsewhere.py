"""Where to read the notes that a release imported without its tabular XML does not have.

Such a release borrows chapters and sections from another (codes.importer.borrowed_structure),
never notes: its pages say so and link the same code, section or chapter in that release.
"""

from dataclasses import dataclass

from django.urls import reverse

from codes.icd10 import dotted
from codes.models import Chapter, Code, Release, Section
from codes.views.common import url_with


@dataclass(frozen=True)
class NotesSource:
    release: Release
    url: str  # the page of the same code, section or chapter in `release`


def notes_source(
    release: Release, *, code: str = "", section_id: str = "", chapter: int | None = None
) -> NotesSource | None:
    """The page in the release `release` borrowed its structure from that carries the notes of
    the undotted `code`, the `section_id` or the `chapter`; None when the release has its own
    notes, borrowed from nowhere, or the source has no such code, section or chapter."""
    source = release.structure_from
    if release.notes_available or source is None:
        return None
    if code:
        exists = Code.objects.filter(release=source, code=code).exists()
        path = reverse("codes:code", args=[dotted(code)])
    elif section_id:
        exists = Section.objects.filter(release=source, section_id=section_id).exists()
        path = reverse("codes:section", args=[section_id])
    else:
        exists = Chapter.objects.filter(release=source, number=chapter).exists()
        path = reverse("codes:chapter", args=[chapter])
    if not exists:
        return None
    return NotesSource(source, url_with(path, {"release": source.label}))
