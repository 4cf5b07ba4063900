"""What every page shares: the release a request asks for, its error pages, and HTTP caching.

Release selection is kept while browsing by the URL, not a cookie: the page's own `release`,
`fy` or `date` parameter is carried by every link it renders (the templates' `page_url`) and by the
header's release selector, a plain GET form. So every URL says which release it shows, can be
shared and bookmarked, and can be cached by anyone (no `Vary: Cookie`).

Caching: a published release never changes, so a page changes only when the set of published
releases does (a new one, a re-import) or the site is redeployed. The ETag hashes those and the
URL; Last-Modified is the latest of them. A page pinned to a release (`?release=`, `?fy=`,
`?date=`, or a release in its path) may be cached for a day, "latest" for five minutes.
"""

import datetime
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import get_script_prefix
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition

from codes.build import build_fingerprint
from codes.currency import MissingRelease, missing_release_today, today
from codes.fiscal import fiscal_year_of
from codes.models import Release
from codes.response_cache import cached_response, store_response
from codes.selection import (
    PARAMETERS,
    ReleaseChoice,
    ReleaseSelectionError,
    published_releases,
    select_release,
)

PINNED_MAX_AGE = 24 * 60 * 60
LATEST_MAX_AGE = 5 * 60
CACHED_STATUSES = {200, 301, 302, 304, 404}


@dataclass
class Site:
    """The published releases and the one this request asked for (or why it could not be had)."""

    releases: list[Release]  # published, newest first
    choice: ReleaseChoice | None = None
    error: ReleaseSelectionError | None = None
    carried: dict[str, str] = field(default_factory=dict)  # the parameter links carry
    # The fiscal year asked for (or today's, when none is) has no release loaded yet: the page
    # shows the latest loaded release under a banner that says so.
    missing: MissingRelease | None = None

    @property
    def release(self) -> Release:
        assert self.choice is not None, "check site.error first"
        return self.choice.release

    @property
    def pinned(self) -> bool:
        return bool(self.carried)


def get_site(request: HttpRequest) -> Site:
    """Once per request (the caching decorator and the view share it)."""
    site = getattr(request, "_codes_site", None)
    if site is None:
        releases = published_releases()
        site = Site(releases=releases)
        try:
            site.choice = select_release(request.GET, releases)
        except ReleaseSelectionError as error:
            if error.missing is None:
                site.error = error
            else:
                value = request.GET[error.field]
                site.choice = ReleaseChoice(error.missing.latest, error.field, value)
                site.missing = error.missing
        else:
            if not site.choice.parameter:
                site.missing = missing_release_today(releases)
        if site.choice and site.choice.parameter:
            site.carried = {site.choice.parameter: site.choice.value}
        request._codes_site = site
    return site


def get_site_with_release(request: HttpRequest) -> Site:
    """The site with the release the request asked for, for a view under `release_page`.

    A release parameter in error is raised, as get_object_or_404 raises Http404, for release_page
    to answer with the release error page (as the API's exception handler answers it in JSON).
    """
    site = get_site(request)
    if site.error:
        raise site.error
    return site


def get_published_or_404(site: Site, label: str) -> Release:
    """The published release with this label, in any case; release_page answers the 404."""
    release = next((r for r in site.releases if r.label.lower() == label.lower()), None)
    if release is None:
        raise Http404(f'No published release is labelled "{label}".')
    return release


def page_context(request: HttpRequest, site: Site, **context) -> dict:
    """The context base.html needs: the release selector, and the parameter links carry."""
    kept = [
        (name, value)
        for name, values in request.GET.lists()
        if name not in PARAMETERS and name != "page"
        for value in values
    ]
    return {
        "site": site,
        "release": site.choice.release if site.choice else None,
        "choice": site.choice,
        "release_params": site.carried,
        # What every link of the page adds (codes.templatetags.codes_site.page_url), once.
        "release_query": url_with("", site.carried),
        "script_prefix": get_script_prefix(),
        # The selector shows the release asked for by label or fiscal year; by date it shows the
        # date, so that choosing another date is not overridden by the release it last chose.
        "release_named": bool(site.choice and site.choice.parameter in ("release", "fy")),
        "published_releases": site.releases,
        "latest_release": site.releases[0] if site.releases else None,
        "kept_params": kept,
        **context,
    }


def render_page(
    request: HttpRequest, template: str, site: Site, context: dict | None = None, *, status=200
) -> HttpResponse:
    return render(request, template, page_context(request, site, **(context or {})), status=status)


def release_error_page(request: HttpRequest, site: Site) -> HttpResponse:
    """A release parameter that is malformed (400) or names no published release (404)."""
    error = site.error
    assert error is not None
    status = 400 if error.code == "invalid_parameter" else 404
    return render_page(request, "codes/release_error.html", site, {"error": error}, status=status)


def not_found_page(request: HttpRequest, site: Site, message: str) -> HttpResponse:
    return render_page(request, "codes/not_found.html", site, {"message": message}, status=404)


def redirect_keeping_query(request: HttpRequest, path: str) -> HttpResponsePermanentRedirect:
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{path}?{query}" if query else path)


def url_with(path: str, params: dict[str, str]) -> str:
    params = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path


# HTTP caching ------------------------------------------------------------------------------------


def _etag(request: HttpRequest, *args, **kwargs) -> str | None:
    """Once per request: the conditional GET and the server cache both ask."""
    if not hasattr(request, "_codes_etag"):
        request._codes_etag = _etag_of(request)
    return request._codes_etag


def _etag_of(request: HttpRequest) -> str | None:
    site = get_site(request)
    if site.error is not None:
        return None
    digest = hashlib.sha256(build_fingerprint()[0].encode())
    digest.update(request.get_full_path().encode())
    # The banner of a fiscal year not loaded yet appears on October 1 without any other change.
    digest.update(f"FY{fiscal_year_of(today())};".encode())
    for release in site.releases:
        digest.update(
            _release_identity(
                release.pk,
                release.imported_at,
                release.published_at,
                release.index_id,
                release.structure_from_id,
            )
        )
    return digest.hexdigest()[:32]


# A handful of releases are published: each one's part of the ETag is formatted once (two
# timestamps a release, on every request, cached or not).
@functools.lru_cache(maxsize=256)
def _release_identity(
    pk: int,
    imported_at: datetime.datetime,
    published_at: datetime.datetime | None,
    index_id: int | None,
    structure_from_id: int | None,
) -> bytes:
    # The Index a release shows is part of it: one published into it changes the pages; so is
    # the release it borrows its chapters and sections from.
    return f"{pk}:{imported_at}:{published_at}:{index_id}:{structure_from_id};".encode()


def _last_modified(request: HttpRequest, *args, **kwargs) -> datetime.datetime | None:
    site = get_site(request)
    if site.error is not None:
        return None
    moments = [build_fingerprint()[1]]
    moments += [release.published_at or release.imported_at for release in site.releases]
    return max(moments)


def release_page(*, pinned_by_path: bool = False) -> Callable:
    """A page of the site: its error pages, conditional GET, the server cache, Cache-Control.

    The view raises what it cannot show: a release parameter in error (get_site_with_release) is
    answered with the release error page, Http404 with the not-found page and its message.
    Conditional GET: ETag and Last-Modified, so a client's copy is answered 304.

    `pinned_by_path`: the URL names its release itself (/releases/FY2026/), so it is pinned.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def answered(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except ReleaseSelectionError:
                return release_error_page(request, get_site(request))
            except Http404 as missing:
                return not_found_page(request, get_site(request), str(missing))

        @wraps(view)
        def cached(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            etag = _etag(request)
            if etag is None:  # a release parameter in error: answered, not kept
                return answered(request, *args, **kwargs)
            response = cached_response(etag, request)
            if response is None:
                response = answered(request, *args, **kwargs)
                store_response(etag, request, response)
            return response

        conditional = condition(etag_func=_etag, last_modified_func=_last_modified)(cached)

        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = conditional(request, *args, **kwargs)
            if response.status_code in CACHED_STATUSES and not response.has_header("Cache-Control"):
                site = get_site(request)
                pinned = pinned_by_path or site.pinned
                patch_cache_control(
                    response, public=True, max_age=PINNED_MAX_AGE if pinned else LATEST_MAX_AGE
                )
            return response

        return wrapped

    return decorator
