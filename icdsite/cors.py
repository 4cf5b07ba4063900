"""CORS for the public API and the FHIR facade: any web page may read them.

The API needs no cookies (a token goes in the Authorization header), so the answer to every
origin is the same: `Access-Control-Allow-Origin: *`, sent on every answer under /api/ and
/fhir/ whether or not the request named an origin. That makes an answer the same for every
caller, so a CDN or a shared cache can keep one copy and hand it to a browser: django-cors-headers
(used before) sent the header only when the request had an Origin, with `Vary: Origin`, so a
cache that ignores Vary (several CDNs do) served a browser the copy fetched without an Origin,
and the browser refused it; a cache that honours it kept one copy per origin. It also cost a
cached API answer ~8 us of its ~200 us (a regex, a signal, a Vary parse per request).

Preflights (OPTIONS with Access-Control-Request-Method) are answered here, before the view:
the methods the API takes and the request headers it reads, cached by the browser for a day.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseBase

CORS_PATHS = ("/api/", "/fhir/")
ALLOWED_METHODS = "GET, HEAD, OPTIONS, POST"
# What the API reads beyond the CORS-safelisted headers: a token, a JSON body, and the
# conditional headers a client that keeps answers sends.
ALLOWED_HEADERS = (
    "Accept, Authorization, Content-Type, "
    "If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since"
)
# What a page may read of an answer beyond the safelisted headers (Last-Modified, Content-Type
# and Cache-Control are): the ETag to ask again with, when to come back after a 429, a download's
# file name.
EXPOSED_HEADERS = "ETag, Retry-After, Content-Disposition"
PREFLIGHT_MAX_AGE = "86400"


class PublicCorsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(CORS_PATHS):
            return self.get_response(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(headers={"Content-Length": "0"})
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response
