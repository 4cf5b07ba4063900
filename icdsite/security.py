"""Response hardening that Django 5.2 does not do by itself: a Content-Security-Policy header and
brute-force throttling of the admin login."""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

# No inline script or style anywhere: every script and stylesheet is a static file.
DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class AdminLoginThrottleMiddleware:
    """Refuse admin login attempts for a while after repeated failures from one address or for
    one user name (429 with Retry-After), whatever the passwords tried.

    A failed login re-renders the form (200); a successful one redirects (302) and clears the
    address's count. Counts live in the cache, so several app servers share them through Redis.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path != settings.ADMIN_LOGIN_PATH:
            return self.get_response(request)
        keys = [
            f"login-failures:address:{request.META.get('REMOTE_ADDR', '')}",
            f"login-failures:user:{request.POST.get('username', '').strip().lower()[:150]}",
        ]
        limit = settings.ADMIN_LOGIN_MAX_FAILURES
        window = settings.ADMIN_LOGIN_LOCKOUT_SECONDS
        if any(cache.get(key, 0) >= limit for key in keys):
            response = HttpResponse(
                "Too many failed login attempts. Try again later.",
                status=429,
                content_type="text/plain",
            )
            response["Retry-After"] = str(window)
            return response
        response = self.get_response(request)
        if response.status_code == 200:  # the form again: a failed attempt
            for key in keys:
                cache.add(key, 0, window)
                cache.incr(key)
        elif response.status_code in (301, 302):
            cache.delete(keys[0])
        return response
