"""How django-axes counts and refuses failed logins (settings: AXES_*): by the name Django
authenticates, by the address the API's throttles see, refused with 429 and Retry-After."""

import unicodedata

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle


def login_name(request: HttpRequest, credentials: dict | None) -> str:
    """The user name a login attempt is counted under (django-axes): the form Django's login
    form authenticates (NFKC, so "ｎｏｐｅｒｍ" and "ⁿoperm" are "noperm"), case folded, so that no
    spelling of a name escapes the count that name has."""
    name = (credentials or {}).get("username")
    if name is None:
        name = request.POST.get("username", "")
    return unicodedata.normalize("NFKC", str(name)).strip().casefold()[:150]


def client_address(request: HttpRequest) -> str:
    """The address a login attempt is counted under: the API throttles' (REMOTE_ADDR, or the
    X-Forwarded-For entry API_NUM_PROXIES proxies in front of the app set)."""
    return BaseThrottle().get_ident(request)


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    response = HttpResponse(
        "Too many failed login attempts. Try again later.", status=429, content_type="text/plain"
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
