"""HTTP caching of answers: a published release never changes, so neither does an answer from it.

An answer from a release carries an ETag made of the release's identity (id and import time),
the request's path and query and the API revision, so a client or a proxy can ask again with
If-None-Match and get a 304 before any work is done. Answers pinned to a release (`release`,
`fy`, `date` or a label in the path) may be cached for a day; answers from "the latest release"
for minutes, since publishing a release changes them.
"""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from codes.models import Release

# Bump when the shape or content of answers changes, so that cached answers are not reused.
API_REVISION = "1"


class Freshness:
    """What an answer's caching headers are made of."""

    def __init__(self, request: HttpRequest, releases: Iterable[Release], *, pinned: bool) -> None:
        releases = list(releases)
        identity = "|".join(
            f"{release.pk}:{release.imported_at.isoformat()}:{release.status}"
            for release in releases
        )
        key = f"{API_REVISION}|{identity}|{request.get_full_path()}|{request.headers.get('Accept')}"
        self.etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'
        stamps = [r.published_at or r.imported_at for r in releases]
        self.last_modified = max(stamps).timestamp() if stamps else None
        self.pinned = pinned

    def not_modified(self, request: HttpRequest) -> HttpResponseBase | None:
        """A 304 (or 412) when the client's copy is current, else None."""
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
            response["Last-Modified"] = http_date(self.last_modified)
        seconds = (
            settings.API_CACHE_SECONDS_PINNED if self.pinned else settings.API_CACHE_SECONDS_LATEST
        )
        patch_cache_control(response, public=True, max_age=seconds)
        patch_vary_headers(response, ["Accept"])
        return response
