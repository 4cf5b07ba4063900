"""GET /health/: a fixed answer through the whole middleware stack and no database.

For load balancers (is this app server up?) and for the serving benchmark, where it is the
ceiling every page is measured against.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
