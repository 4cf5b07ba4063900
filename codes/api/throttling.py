"""Rate limits for the API and the FHIR facade: per client address for anonymous callers, per
token for authenticated ones (a higher rate). Counters live in Django's default cache.

The rates are read from settings (API_ANON_RATE, API_USER_RATE) on every request rather than
once at import as DRF does, so that a deployment or a test can change them.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_ANON_RATE or None


class UserThrottle(UserRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_USER_RATE or None

    def get_cache_key(self, request, view) -> str | None:
        # DRF's counts anonymous callers too, by address, beside AnonThrottle's own count: two
        # more cache round trips per request for a limit ten times looser than the one that binds.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
