"""Errors as a program reads them: {"error": {"code", "message", "field"}} with a stable code.

Every failure of an API or FHIR view goes through api_exception_handler: DRF's own exceptions,
release selection errors, our ApiError, and anything unexpected (logged, answered with a plain
500 that names no file, query or traceback). FHIR views get an OperationOutcome instead.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from codes.selection import ReleaseSelectionError

logger = logging.getLogger(__name__)

# The stable error codes, with the HTTP status each comes with.
INVALID_PARAMETER = "invalid_parameter"  # 400: a parameter or body field is wrong (`field`)
MALFORMED_JSON = "malformed_json"  # 400: the body is not JSON
TOO_MANY_ITEMS = "too_many_items"  # 400: more items than one request may hold
AUTHENTICATION_FAILED = "authentication_failed"  # 401: a token was sent and is not valid
PERMISSION_DENIED = "permission_denied"  # 403
NOT_FOUND = "not_found"  # 404: no such URL
RELEASE_NOT_FOUND = "release_not_found"  # 404: no published release matches release/fy/date
# 404: the date or fiscal year is later than every published release's; names both
RELEASE_NOT_LOADED = "release_not_loaded"
NO_RELEASE = "no_release"  # 404: nothing is published yet
CODE_NOT_FOUND = "code_not_found"  # 404: the code is not in the release (with suggestions)
INDEX_NOT_FOUND = "index_not_found"  # 404: the release has no Index (or not that part of it)
TERM_NOT_FOUND = "term_not_found"  # 404: no such term in the release's Index
METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
NOT_ACCEPTABLE = "not_acceptable"  # 406: the Accept header asks for a format we do not serve
REQUEST_TOO_LARGE = "request_too_large"  # 413: the body is over API_MAX_BODY_BYTES
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415: the body is not JSON
UNSUPPORTED_SYSTEM = "unsupported_system"  # 400 (FHIR): a code system other than ICD-10-CM
THROTTLED = "throttled"  # 429: over the rate limit; Retry-After says when to come back
SERVER_ERROR = "server_error"  # 500

ERROR_CODES = (
    INVALID_PARAMETER,
    MALFORMED_JSON,
    TOO_MANY_ITEMS,
    AUTHENTICATION_FAILED,
    PERMISSION_DENIED,
    NOT_FOUND,
    RELEASE_NOT_FOUND,
    RELEASE_NOT_LOADED,
    NO_RELEASE,
    CODE_NOT_FOUND,
    INDEX_NOT_FOUND,
    TERM_NOT_FOUND,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    REQUEST_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    UNSUPPORTED_SYSTEM,
    THROTTLED,
    SERVER_ERROR,
)

_CODES_OF_DRF_EXCEPTIONS: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, MALFORMED_JSON),
    (exceptions.AuthenticationFailed, AUTHENTICATION_FAILED),
    (exceptions.NotAuthenticated, AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, PERMISSION_DENIED),
    (exceptions.NotFound, NOT_FOUND),
    (exceptions.MethodNotAllowed, METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, THROTTLED),
    (exceptions.ValidationError, INVALID_PARAMETER),
]


class ApiError(exceptions.APIException):
    """An answer that is an error: a status, a stable code, a message, the field concerned and,
    for an unknown code, what to use instead (`extra` is merged into the error object)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        field: str = "",
        extra: dict | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.field = field
        self.extra = extra or {}


def selection_error(error: ReleaseSelectionError) -> ApiError:
    """A release that cannot be chosen: 400 for a malformed value, else 404."""
    status_code = (
        status.HTTP_400_BAD_REQUEST
        if error.code == INVALID_PARAMETER
        else status.HTTP_404_NOT_FOUND
    )
    extra = error.missing.as_error_fields() if error.missing else None
    return ApiError(
        error.message, code=error.code, status_code=status_code, field=error.field, extra=extra
    )


def too_large(limit: int) -> ApiError:
    return ApiError(
        f"the request body is larger than {limit:,} bytes",
        code=REQUEST_TOO_LARGE,
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def api_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, ReleaseSelectionError):
        exc = selection_error(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(
            "the request body is too large",
            code=REQUEST_TOO_LARGE,
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("no such resource")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)  # status, Retry-After, WWW-Authenticate
    if response is None:
        request = context.get("request")
        logger.error(
            "API error on %s",
            request.get_full_path() if request is not None else "?",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        response = Response(status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        code, message, field, extra = SERVER_ERROR, "the server failed to answer", "", {}
    else:
        code, message, field, extra = _describe(exc)
    view = context.get("view")
    render_error = getattr(view, "render_error", None)
    if render_error is not None:
        response.data = render_error(
            status_code=response.status_code, code=code, message=message, field=field
        )
    else:
        response.data = {"error": {"code": code, "message": message, "field": field, **extra}}
    return response


def _describe(exc: Exception) -> tuple[str, str, str, dict]:
    """(code, message, field, extra) of a handled exception."""
    if isinstance(exc, ApiError):
        return exc.error_code, exc.message, exc.field, exc.extra
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_problem(exc.detail)
        return INVALID_PARAMETER, message, field, {}
    code = next(
        (code for kind, code in _CODES_OF_DRF_EXCEPTIONS if isinstance(exc, kind)), NOT_FOUND
    )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
    if isinstance(exc, exceptions.ParseError):
        # DRF's message quotes the parser's exception; say what is wrong without it.
        detail = "the request body is not valid JSON"
    return code, str(detail), "", {}


def _first_problem(detail, path: str = "") -> tuple[str, str]:
    """The first field path (items[3].code) and message of a DRF validation error."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():
                return _first_problem(value, f"{path}[{key}]")
            name = "" if key == "non_field_errors" else str(key)
            return _first_problem(value, f"{path}.{name}" if path and name else path or name)
    if isinstance(detail, list):
        for position, value in enumerate(detail):
            if value:
                if isinstance(value, dict | list) and not isinstance(value, str):
                    return _first_problem(value, f"{path}[{position}]")
                return path, str(value)
    return path, str(detail)
