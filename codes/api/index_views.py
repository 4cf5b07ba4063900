"""API v1 views of the Alphabetic Index: term search, one term with everything below it, and
every Index entry that leads to a code. Same release choice, caching, throttling and errors as
the rest of the API (codes.api.views)."""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from codes.api import index_representations as index_rep
from codes.api import index_serializers as s
from codes.api.errors import INDEX_NOT_FOUND, TERM_NOT_FOUND, ApiError
from codes.api.representations import release_ref
from codes.api.views import (
    CODE_PATH,
    RELEASE_PARAMETERS,
    ApiView,
    code_not_found,
    error_responses,
    page_links,
    query_parameters,
)
from codes.codeset import codeset_for
from codes.icd10 import is_well_formed, undotted
from codes.importer.index_xml import PART_NAMES, PARTS
from codes.index_lookup import (
    ShownTerm,
    entries_leading_to,
    part_status,
    paths_of,
    shown_terms,
)
from codes.lookup import find_code
from codes.models import IndexTerm, Release, ReleaseIndex
from codes.ranked_search import find_terms
from codes.selection import published_releases

PART_PATH = OpenApiParameter(
    "part", str, OpenApiParameter.PATH, enum=list(PARTS), description="The part of the Index."
)
TERM_PATH = OpenApiParameter(
    "term_id", int, OpenApiParameter.PATH, description="The term's id (its position in the part)."
)


def release_index(release: Release, part: str | None) -> ReleaseIndex:
    """The release's own Index (with the part, when one is asked for), or a 404 saying where
    the nearest one is."""
    index = release.index if release.index_id else None
    if index is not None and (part is None or part in index.report):
        return index
    missing = part or PARTS[0]
    nearest = part_status(release, missing, published_releases()).nearest
    what = PART_NAMES[part] if part else "Index"
    where = f"; the nearest release with one is {nearest.label}" if nearest else ""
    raise ApiError(
        f"no {what} was imported with {release.label}{where}",
        code=INDEX_NOT_FOUND,
        status_code=status.HTTP_404_NOT_FOUND,
        field="part" if part else "release",
        extra={"nearest_release": release_ref(nearest)},
    )


def represented(request, terms: list[IndexTerm], index: ReleaseIndex, release: Release) -> list:
    """Terms (of any parts, in the order given) as the API shows them, paths included."""
    rows: dict[tuple[str, int], ShownTerm] = {}
    for part in PARTS:
        of_part = sorted((t for t in terms if t.part == part), key=lambda t: t.sequence)
        rows.update({(r.term.part, r.term.sequence): r for r in shown_terms(of_part, index)})
    targets = [
        ref.target
        for row in rows.values()
        for ref in (row.see, row.see_also)
        if ref is not None and ref.target is not None
    ]
    paths = paths_of([*terms, *targets])
    return [
        index_rep.term(request, rows[key], paths[key], paths, release)
        for key in ((t.part, t.sequence) for t in terms)
    ]


class IndexSearchView(ApiView):
    """Terms of the release's Index, by the words of their names."""

    @extend_schema(
        operation_id="index_search",
        summary="Search the Alphabetic Index: terms with their paths, codes and references",
        description="Every word of `q` must be on the term's path (its main term and the "
        "terms above it, non-essential modifiers included), as the search of codes reads it "
        "(abbreviations and lay terms too). Ranked as that search ranks the Index: the fewer "
        "words of the path left unsaid the better, main terms first. Table cells (drug and "
        "neoplasm tables) come as codes with their column headings.",
        parameters=[*query_parameters(s.IndexQuerySerializer), *RELEASE_PARAMETERS],
        responses={200: s.IndexSearchSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        params = self.query(request, s.IndexQuerySerializer)
        choice = self.choose_release(request)

        def build() -> dict:
            release = choice.release
            part = params.get("part")
            index = release_index(release, part)
            query = params.get("q", "").strip()
            if query:
                ranked = find_terms(index, query, part)
            else:
                mains = IndexTerm.objects.filter(index=index, level=0)
                if part:
                    mains = mains.filter(part=part)
                order = {name: position for position, name in enumerate(PARTS)}
                ranked = sorted(
                    mains.values_list("part", "sequence"), key=lambda r: (order[r[0]], r[1])
                )
            page, size = params["page"], params["page_size"]
            chosen = ranked[(page - 1) * size : page * size]
            condition = Q(pk__in=[])
            for term_part, sequence in chosen:
                condition |= Q(part=term_part, sequence=sequence)
            found = {
                (t.part, t.sequence): t for t in IndexTerm.objects.filter(condition, index=index)
            }
            terms = [found[key] for key in chosen]
            count = len(ranked)
            return {
                "release": release_ref(release),
                "count": count,
                **page_links(request, page=page, size=size, count=count),
                "results": represented(request, terms, index, release),
            }

        return self.answer(request, [choice.release], build, pinned=bool(choice.parameter))


class IndexTermView(ApiView):
    """One term of the release's Index and everything below it."""

    @extend_schema(
        operation_id="index_term",
        summary="One Index term and its subtree",
        parameters=[PART_PATH, TERM_PATH, *RELEASE_PARAMETERS],
        responses={200: s.IndexTermDetailSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, part: str, term_id: int) -> Response:
        choice = self.choose_release(request)

        def build() -> dict:
            release = choice.release
            if part not in PARTS:
                raise ApiError(
                    f'the Index has no part "{part[:40]}" (parts: {", ".join(PARTS)})',
                    code=TERM_NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                    field="part",
                )
            index = release_index(release, part)
            term = IndexTerm.objects.filter(index=index, part=part, sequence=term_id).first()
            if term is None:
                raise ApiError(
                    f"the {PART_NAMES[part]} of {release.label} has no term {term_id}",
                    code=TERM_NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                    field="term_id",
                )
            subtree = list(IndexTerm.objects.subtree(term))
            shown = represented(request, subtree, index, release)
            below = []
            for item, row in zip(subtree[1:], shown[1:], strict=True):
                below.append({**row, "depth": item.level - term.level, "parent": item.parent})
            return {"release": release_ref(release), **shown[0], "subtree": below}

        return self.answer(request, [choice.release], build, pinned=bool(choice.parameter))


class CodeIndexEntriesView(ApiView):
    """Every Index entry of the release that leads to a code, paginated."""

    @extend_schema(
        operation_id="code_index_entries",
        summary="The Index entries that lead to a code",
        description="Entries naming the code, a code below it, or an ancestor that needs more "
        'characters ("I63.9-" leads to I63.90): the code itself first, then the codes below, '
        "then its ancestors; main terms first within each part.",
        parameters=[CODE_PATH, *query_parameters(s.PageQuerySerializer), *RELEASE_PARAMETERS],
        responses={200: s.CodeIndexEntriesPageSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, code: str) -> Response:
        params = self.query(request, s.PageQuerySerializer)
        choice = self.choose_release(request)

        def build() -> dict:
            release = choice.release
            found = find_code(release, code) if is_well_formed(undotted(code)) else None
            if found is None:
                raise code_not_found(code, release)
            page, size = params["page"], params["page_size"]
            entries = entries_leading_to(
                release,
                found.code,
                codeset_for(release),
                published_releases(),
                limit=size,
                offset=(page - 1) * size,
            )
            return {
                "release": release_ref(release),
                "code": found.dotted,
                **index_rep.code_entries(request, entries, code=found.dotted),
                **page_links(request, page=page, size=size, count=entries.total),
            }

        return self.answer(request, [choice.release], build, pinned=bool(choice.parameter))
