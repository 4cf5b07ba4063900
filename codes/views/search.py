"""/search/: a code goes straight to its page, a prefix lists codes, words are ranked
(codes.search); /search/suggest/: the autocomplete's small JSON."""

import math

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control

from codes.api.errors import THROTTLED
from codes.api.throttling import SuggestThrottle
from codes.icd10 import dotted, undotted
from codes.release_data import release_data_for
from codes.search import EXACT, autocomplete, looks_like_code, nothing_found, search_codes
from codes.views.common import (
    LATEST_MAX_AGE,
    PINNED_MAX_AGE,
    get_site,
    get_site_with_release,
    release_page,
    render_page,
    url_with,
)

PAGE_SIZE = 50
MAX_QUERY = 200  # characters read from the search box
SUGGESTIONS = 10


@release_page()
def search_page(request: HttpRequest) -> HttpResponse:
    site = get_site_with_release(request)
    release = site.release
    query = _query(request)
    billable_only = request.GET.get("billable") == "1"
    chapter = _chapter_number(request.GET.get("chapter", ""))
    # The filter's chapters, in order, from the release held in memory: not a query.
    chapters = list(release_data_for(release).chapters.values())
    context = {
        "query": query,
        "billable_only": billable_only,
        "chapter": chapter,
        "chapters": chapters,
    }
    if not query:
        return render_page(request, "codes/search.html", site, context)
    result = search_codes(release, query, billable=True if billable_only else None, chapter=chapter)
    if result.kind == EXACT:
        code = dotted(undotted(query))
        return HttpResponseRedirect(url_with(reverse("codes:code", args=[code]), site.carried))
    page = Paginator(result.codes, PAGE_SIZE).get_page(request.GET.get("page"))
    if page.paginator.count == 0 and looks_like_code(query) and not (billable_only or chapter):
        # A whole code that is not in the release: its page says why and what to use instead.
        code = dotted(undotted(query))
        return HttpResponseRedirect(url_with(reverse("codes:code", args=[code]), site.carried))
    rows = [(code, result.reason(code.code)) for code in page.object_list]
    context.update(result=result, page=page, rows=rows)
    return render_page(request, "codes/search.html", site, context)


def suggest(request: HttpRequest) -> JsonResponse:
    """Top codes for what is typed so far: code, title, billable and the page's URL."""
    throttle = SuggestThrottle()
    if not throttle.allow_request(request, None):
        wait = math.ceil(throttle.wait() or 1)
        return JsonResponse(
            {"error": {"message": f"Too many requests: try again in {wait} s.", "code": THROTTLED}},
            status=429,
            headers={"Retry-After": str(wait)},
        )
    site = get_site(request)
    if site.error:
        error = site.error
        return JsonResponse(
            {"error": {"field": error.field, "message": error.message, "code": error.code}},
            status=400 if error.code == "invalid_parameter" else 404,
        )
    release = site.release
    query = _query(request)
    result = autocomplete(release, query, limit=SUGGESTIONS) if len(query) >= 2 else None
    codes = list(result.codes) if result else []
    response = JsonResponse(
        {
            "query": query,
            "release": release.label,
            "results": [
                {
                    "code": code.dotted,
                    "title": code.long_title,
                    "billable": code.is_billable,
                    "why": result.reason(code.code),
                    "url": url_with(reverse("codes:code", args=[code.dotted]), site.carried),
                }
                for code in codes
            ],
            "message": nothing_found(query) if result is not None and not codes else "",
        }
    )
    patch_cache_control(
        response, public=True, max_age=PINNED_MAX_AGE if site.pinned else LATEST_MAX_AGE
    )
    return response


def _query(request: HttpRequest) -> str:
    """The search box's text; without NUL bytes, which no one types and PostgreSQL refuses."""
    return request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY]


def _chapter_number(value: str) -> int | None:
    """1 to 99 in ASCII digits, else no chapter filter ("²" is a digit to str.isdigit, and
    int() refuses 5,000 digits)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 2):
        return None
    return int(value) if 0 < int(value) < 100 else None
