"""Rate limits for the API and the FHIR facade: per client address for anonymous callers, per
token for authenticated ones (a higher rate). Counters live in the "throttle" cache, which every
worker of a server shares (Redis, else files; settings.CACHES).

The rates are read from settings (API_ANON_RATE, API_USER_RATE) on every request rather than
once at import as DRF does, so that a deployment or a test can change them.
"""

from django.conf import settings
from django.core.cache import caches
from django.utils.connection import ConnectionProxy
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

shared_counters = ConnectionProxy(caches, "throttle")


class AnonThrottle(AnonRateThrottle):
    cache = shared_counters

    def get_rate(self) -> str | None:
        return settings.API_ANON_RATE or None


class UserThrottle(UserRateThrottle):
    cache = shared_counters

    def get_rate(self) -> str | None:
        return settings.API_USER_RATE or None

    def get_cache_key(self, request, view) -> str | None:
        # DRF's counts anonymous callers too, by address, beside AnonThrottle's own count: two
        # more cache round trips per request for a limit ten times looser than the one that binds.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class SuggestThrottle(AnonThrottle):
    """The site's type-ahead (/search/suggest/) at the anonymous API rate, counted apart from
    the API: a coder typing does not spend an integration's allowance from the same office."""

    scope = "suggest"
