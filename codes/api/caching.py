"""HTTP caching of answers: a published release never changes, so neither does an answer from it.

An answer from a release carries an ETag made of the release's identity (id and import time),
the request's path and query and the API revision, so a client or a proxy can ask again with
If-None-Match and get a 304 before any work is done. Answers pinned to a release (`release`,
`fy`, `date` or a label in the path) may be cached for a day; answers from "the latest release"
for minutes, since publishing a release changes them.
"""

import datetime
import functools
import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from codes.models import Release

# Bump when the shape or content of answers changes, so that cached answers are not reused.
API_REVISION = "1"


# The request headers that can make an answer a 304 or a 412 (RFC 9110, 13.1).
CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)


# A handful of releases are published, so their identities and dates are formatted once each.
@functools.lru_cache(maxsize=256)
def release_identity(
    pk: int,
    imported_at: datetime.datetime,
    status: str,
    index_id: int | None,
    structure_from_id: int | None,
) -> str:
    # The Index it shows is part of it: one published into it changes its answers; so is the
    # release it borrows its chapters and sections from.
    return f"{pk}:{imported_at.isoformat()}:{status}:{index_id}:{structure_from_id}"


@functools.lru_cache(maxsize=256)
def last_modified_header(timestamp: int) -> str:
    return http_date(timestamp)


class Freshness:
    """What an answer's caching headers are made of.

    Every cached API answer goes through here, so it does as little as it can: a request without
    a conditional header is not parsed for one, and the headers are written as they are (nothing
    else in the API sets Cache-Control or Vary)."""

    def __init__(self, request: HttpRequest, releases: Iterable[Release], *, pinned: bool) -> None:
        releases = list(releases)
        identity = "|".join(
            release_identity(
                release.pk,
                release.imported_at,
                release.status,
                release.index_id,
                release.structure_from_id,
            )
            for release in releases
        )
        key = (
            f"{API_REVISION}|{identity}|{request.get_full_path()}|{request.META.get('HTTP_ACCEPT')}"
        )
        self.etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'
        stamps = [r.published_at or r.imported_at for r in releases]
        # Whole seconds, as the header says: a fraction would make If-Modified-Since with the
        # header's own value look older than the answer (a 200, not a 304).
        self.last_modified = int(max(stamps).timestamp()) if stamps else None
        self.pinned = pinned

    def not_modified(self, request: HttpRequest) -> HttpResponseBase | None:
        """A 304 (or 412) when the client's copy is current, else None."""
        if CONDITIONAL_HEADERS.isdisjoint(request.META):
            return None
        response = get_conditional_response(
            request, etag=self.etag, last_modified=self.last_modified
        )
        if response is not None:
            self.apply(response)
        return response

    def apply(self, response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code not in (200, 304):
            return response
        response["ETag"] = self.etag
        if self.last_modified is not None:
            response["Last-Modified"] = last_modified_header(self.last_modified)
        seconds = (
            settings.API_CACHE_SECONDS_PINNED if self.pinned else settings.API_CACHE_SECONDS_LATEST
        )
        response["Cache-Control"] = f"public, max-age={seconds}"
        response["Vary"] = "Accept"
        return response
