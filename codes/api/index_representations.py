"""Answers about the Alphabetic Index as plain dicts, in the shapes codes.api.index_serializers
describes. A term is named by its part and its id (its sequence in the part's file)."""

from django.urls import reverse

from codes.api.representations import release_ref
from codes.index_lookup import (
    PART_SLUGS,
    CodeEntries,
    IndexEntry,
    Reference,
    ShownCode,
    ShownTerm,
    letter_slug,
)
from codes.models import IndexTerm, Release


def term_url(request, term: IndexTerm, release: Release) -> str:
    path = reverse("api:index-term", kwargs={"part": term.part, "term_id": term.sequence})
    return request.build_absolute_uri(f"{path}?release={release.label}")


def page_url(request, term: IndexTerm, main: IndexTerm, release: Release) -> str:
    path = reverse(
        "codes:index_term", args=[PART_SLUGS[main.part], letter_slug(main.letter), main.slug]
    )
    anchor = "" if term.sequence == main.sequence else f"#t{term.sequence}"
    return request.build_absolute_uri(f"{path}?release={release.label}{anchor}")


def term_ref(request, term: IndexTerm, path: list[IndexTerm], release: Release) -> dict:
    """A term by its place: part, id and the names from its main term down."""
    return {
        "part": term.part,
        "id": term.sequence,
        "path": [step.essential for step in path[:-1]] + [term.name],
        "url": term_url(request, term, release),
    }


def shown_code(code: ShownCode) -> dict:
    return {
        "column": code.column_name,
        "printed": code.printed,
        "code": code.dotted if code.code else None,
        "code_undotted": code.code or None,
        "status": code.status,
        "exists": code.exists,
    }


def reference(request, found: Reference | None, paths: dict, release: Release) -> dict | None:
    if found is None:
        return None
    target = None
    if found.target is not None:
        target = term_ref(
            request, found.target, paths[(found.part, found.target.sequence)], release
        )
    return {
        "text": found.text,
        "status": found.status,
        "part": found.part or None,
        "target": target,
    }


def term(request, row: ShownTerm, path: list[IndexTerm], paths: dict, release: Release) -> dict:
    """A term as shown: its names, the codes it names (table cells with their columns), and
    where its see references lead. `paths`: (part, id) -> path of each see target."""
    item = row.term
    main = path[0]
    return {
        "part": item.part,
        "id": item.sequence,
        "level": item.level,
        "letter": item.letter,
        "title": item.title,
        "nemod": item.nemod,
        "suffix": item.suffix,
        "name": item.name,
        "path": [step.essential for step in path[:-1]] + [item.name],
        "codes": [shown_code(code) for code in row.codes]
        + [shown_code(cell) for cell in row.cells if cell is not None],
        "see": reference(request, row.see, paths, release),
        "see_also": reference(request, row.see_also, paths, release),
        "url": term_url(request, item, release),
        "page_url": page_url(request, item, main, release),
    }


def entry(request, found: IndexEntry, release: Release) -> dict:
    return {
        "part": found.part,
        "part_name": found.part_name,
        "term": term_ref(request, found.term, found.path, release),
        "page_url": page_url(request, found.term, found.main, release),
        "code": shown_code(found.code),
    }


def code_entries(request, found: CodeEntries, *, code: str) -> dict:
    """The `index_entries` of a code's answer: the first entries, the total, what is unknown."""
    release = found.release
    path = reverse("api:code-index-entries", kwargs={"code": code})
    return {
        "index_imported": found.has_index,
        "count": found.total,
        "results": [entry(request, item, release) for item in found.entries],
        "url": request.build_absolute_uri(f"{path}?release={release.label}"),
        "missing_parts": [
            {
                "part": status.part,
                "name": status.name,
                "nearest_release": release_ref(status.nearest),
            }
            for status in found.missing_parts
        ],
    }
