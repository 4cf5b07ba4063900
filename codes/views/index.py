"""The Alphabetic Index pages: /index/ (its parts), a part's letters (and a filter box), a
letter's main terms (or table rows), a main term with everything below it, and every Index
entry that leads to a code.

A release shows its own Index only; for a part it lacks, the page says so and links to the
nearest release that has it (codes.index_lookup).
"""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse

from codes.codeset import codeset_for
from codes.icd10 import dotted, undotted
from codes.importer.index_xml import NEOPLASMS, PARTS
from codes.index_lookup import (
    PARTS_BY_SLUG,
    PartStatus,
    entries_leading_to,
    initial,
    letter_of_slug,
    letters,
    main_term,
    part_status,
    shown_terms,
)
from codes.lookup import find_code
from codes.models import IndexTerm
from codes.search import looks_like_code
from codes.views.common import get_site_with_release, release_page, render_page

MAX_QUERY = 100  # characters of the filter box read
FILTERED = 200  # matching terms listed
TABLE_MAIN_TERMS = 100  # main terms (with their rows) on a page of a table's letter


@release_page()
def index_home(request: HttpRequest) -> HttpResponse:
    site = get_site_with_release(request)
    release = site.release
    parts = [part_status(release, part, site.releases) for part in PARTS]
    return render_page(
        request,
        "codes/index_home.html",
        site,
        {"parts": [(status, letters(status)) for status in parts]},
    )


@release_page()
def index_part(request: HttpRequest, part: str) -> HttpResponse:
    site = get_site_with_release(request)
    status = _part(site, part)
    query = _query(request)
    context = {"status": status, "letters": letters(status), "filter_query": query}
    if status.index is not None and query:
        context.update(_filtered(status, query))
    return render_page(request, "codes/index_part.html", site, context)


@release_page()
def index_letter(request: HttpRequest, part: str, letter: str) -> HttpResponse:
    site = get_site_with_release(request)
    status = _present_part(site, part)
    letter = letter_of_slug(letter)
    terms = IndexTerm.objects.filter(index=status.index, part=status.part)
    page = None
    if status.part == NEOPLASMS:
        shown = _neoplasm_sites(status, letter)
    else:
        mains = terms.filter(letter=letter, level=0).order_by("sequence")
        if status.is_table:
            # A table letter runs to a thousand rows: a page holds some main terms and the
            # rows below them.
            page = Paginator(mains, TABLE_MAIN_TERMS).get_page(request.GET.get("page"))
            first, last = page.object_list[0], page.object_list[len(page.object_list) - 1]
            shown = list(terms.filter(sequence__range=(first.sequence, last.last)))
        else:
            shown = list(mains)
    if not shown:
        raise Http404(f'The {status.name} of {site.release.label} has no letter "{letter}".')
    return render_page(
        request,
        "codes/index_letter.html",
        site,
        {
            "status": status,
            "letters": letters(status),
            "letter": letter,
            "rows": shown_terms(shown, status.index),
            "page": page,
        },
    )


@release_page()
def index_term(request: HttpRequest, part: str, letter: str, slug: str) -> HttpResponse:
    site = get_site_with_release(request)
    status = _present_part(site, part)
    term = main_term(status.index, status.part, letter_of_slug(letter), slug.lower())
    if term is None:
        raise Http404(f'The {status.name} of {site.release.label} has no main term "{slug}".')
    terms = list(IndexTerm.objects.subtree(term))
    return render_page(
        request,
        "codes/index_term.html",
        site,
        {"status": status, "term": term, "rows": shown_terms(terms, status.index)},
    )


@release_page()
def code_index_entries(request: HttpRequest, code: str) -> HttpResponse:
    """Every Index entry that leads to a code (its page shows the first few)."""
    site = get_site_with_release(request)
    release = site.release
    row = find_code(release, code) if looks_like_code(code) else None
    if row is None:
        raise Http404(f"{dotted(undotted(code))[:20]} is not a code of {release.label}.")
    found = entries_leading_to(release, row.code, codeset_for(release), site.releases, limit=None)
    return render_page(
        request, "codes/code_index_entries.html", site, {"code": row, "index_entries": found}
    )


def _part(site, slug: str) -> PartStatus:
    part = PARTS_BY_SLUG.get(slug)
    if part is None:
        raise Http404(f'The Index has no part "{slug[:40]}".')
    return part_status(site.release, part, site.releases)


def _present_part(site, slug: str) -> PartStatus:
    status = _part(site, slug)
    if status.index is None:
        nearest = (
            f" (the nearest release with one: {status.nearest.label})" if status.nearest else ""
        )
        raise Http404(f"No {status.name} was imported with {site.release.label}{nearest}.")
    return status


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").replace("\x00", "").split())[:MAX_QUERY]


def _filtered(status: PartStatus, query: str) -> dict:
    """The terms of a part with every word of the query in their title, each with the terms
    above it (for a table: the rows, indented under their parents)."""
    condition = Q()
    for word in query.split():
        condition &= Q(title__icontains=word) | Q(suffix__icontains=word) | Q(nemod__icontains=word)
    matching = IndexTerm.objects.filter(condition, index=status.index, part=status.part)
    total = matching.count()
    found = list(matching.order_by("sequence")[:FILTERED])
    above = {t.sequence: t for t in IndexTerm.objects.above(found)} if found else {}
    shown: dict[int, IndexTerm] = {}
    for term in found:
        chain = [term]
        while chain[0].parent and chain[0].parent in above:
            chain.insert(0, above[chain[0].parent])
        for item in chain:
            shown.setdefault(item.sequence, item)
    terms = [shown[sequence] for sequence in sorted(shown)]
    return {
        "rows": shown_terms(terms, status.index),
        "matches": {term.sequence for term in found},
        "total": total,
        "listed": len(found),
    }


def _neoplasm_sites(status: PartStatus, letter: str) -> list[IndexTerm]:
    """The Neoplasm Table's rows for the sites starting with a letter, under its main row."""
    terms = IndexTerm.objects.filter(index=status.index, part=NEOPLASMS)
    main = terms.filter(level=0).order_by("sequence").first()
    if main is None:
        return []
    sites = [
        site for site in terms.filter(level=1).order_by("sequence") if initial(site.title) == letter
    ]
    if not sites:
        return []
    ranges = Q(pk__in=[])
    for site in sites:
        ranges |= Q(sequence__range=(site.sequence, site.last))
    return [main, *terms.filter(ranges).order_by("sequence")]
