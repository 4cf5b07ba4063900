"""The FHIR R4 facade's shared view (formats, inputs, errors, caching) and what it shares with
every operation; metadata, $versions, and the answers to what is not served. The operations are
in codesystem_views.py, valueset_views.py and conceptmap_views.py.

Answers are JSON (application/fhir+json) or XML (application/fhir+xml, `_format=xml`); errors
are OperationOutcomes. `version` is a version string as a CodeSystem gives it (2026, or a
mid-year update's label; codes.fhir.versions); `date` picks the release in force that day;
neither: the latest published release.
"""

import datetime
from importlib import metadata

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codes.api.caching import Freshness
from codes.api.errors import (
    INVALID_PARAMETER,
    NO_RELEASE,
    NOT_FOUND,
    RELEASE_NOT_FOUND,
    RELEASE_NOT_LOADED,
    ApiError,
)
from codes.api.negotiation import RememberingContentNegotiation
from codes.api.parsers import LimitedJSONParser
from codes.currency import missing_release_on
from codes.models import Release
from codes.selection import published_releases

from . import resources
from .inputs import Coding, Inputs, from_parameters, from_query
from .versions import (
    SYSTEM,
    is_our_system,
    known_versions,
    parse_day,
    release_in_force,
    release_of_version,
    resource_id,
    version_of,
)
from .xml import (
    FHIR_XML,
    FHIRXMLParser,
    FHIRXMLRenderer,
    TextXMLParser,
    TextXMLRenderer,
    XMLParser,
    XMLRenderer,
)

FHIR_JSON = "application/fhir+json"
NOT_SUPPORTED = "not_supported"
# _format values (http://hl7.org/fhir/http.html#parameters) -> the media type answered.
FORMATS = {
    "json": FHIR_JSON,
    "application/json": "application/json",
    "application/fhir+json": FHIR_JSON,
    "application/json+fhir": FHIR_JSON,
    "xml": FHIR_XML,
    "text/xml": "text/xml",
    "application/xml": "application/xml",
    "application/fhir+xml": FHIR_XML,
    "application/xml+fhir": FHIR_XML,
}


class FHIRJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"


class FHIRContentNegotiation(RememberingContentNegotiation):
    """FHIR's `_format` first, else the Accept header (application/fhir+json first): DRF's
    `?format=` means nothing to a FHIR client."""

    class settings:  # noqa: N801 (stands in for DRF's api_settings)
        URL_FORMAT_OVERRIDE = None

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = request.query_params.get("_format")
        if wanted:
            media_type = FORMATS.get(wanted.strip().lower().split(";")[0])
            renderer = next((r for r in renderers if r.media_type == media_type), None)
            if renderer is None:
                raise NotAcceptable(f'_format "{wanted[:40]}" is not served here (json or xml)')
            return renderer, media_type
        return super().select_renderer(request, renderers, format_suffix)


class FHIRJSONParser(LimitedJSONParser):
    media_type = FHIR_JSON


class FhirView(APIView):
    renderer_classes = [
        FHIRJSONRenderer,
        JSONRenderer,
        FHIRXMLRenderer,
        XMLRenderer,
        TextXMLRenderer,
    ]
    parser_classes = [FHIRJSONParser, LimitedJSONParser, FHIRXMLParser, XMLParser, TextXMLParser]
    content_negotiation_class = FHIRContentNegotiation

    def render_error(self, *, status_code: int, code: str, message: str, field: str) -> dict:
        return resources.operation_outcome(
            code=code, message=message, field=field, base=self.base_url(self.request)
        )

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/")

    def inputs(self, request: Request) -> Inputs:
        """The operation's parameters: a POSTed Parameters resource, then the query string."""
        inputs = Inputs()
        if request.method == "POST" and request.data:
            inputs = from_parameters(request.data)
        return from_query(request.query_params, inputs)

    def answer(self, request: Request, releases: list[Release], build, *, pinned: bool):
        if request.method not in ("GET", "HEAD"):
            return Response(build())
        freshness = Freshness(request, releases, pinned=pinned)
        not_modified = freshness.not_modified(request)
        if not_modified is not None:
            return not_modified
        return freshness.apply(Response(build()))


def code_system_release(
    *, system: str, version: str, day: str, resource_id_: str | None, published: list[Release]
) -> Release:
    """The release a $lookup or $subsumes reads: by CodeSystem id, version or date, else the
    latest. An unknown system or version is a 404."""
    if system and not is_our_system(system):
        raise ApiError(
            f"A definition for CodeSystem '{system[:200]}' could not be found",
            code=NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
            field="system",
        )
    if resource_id_ is not None:
        release = release_by_id(resource_id_, published)
        if version and release_of_version(version, published) != release:
            raise ApiError(
                f"version '{version[:100]}' is not the version of CodeSystem/{resource_id_} "
                f"({version_of(release)})",
                code=INVALID_PARAMETER,
                field="version",
            )
        return release
    if version:
        release = release_of_version(version, published)
        if release is None:
            raise ApiError(
                f"A definition for CodeSystem '{SYSTEM}' version '{version[:100]}' could not be "
                f"found. Valid versions: {', '.join(known_versions(published))}",
                code=RELEASE_NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
                field="version",
            )
        return release
    if day:
        parsed = parse_day(day)
        if parsed is None:
            raise ApiError(
                f'"{day[:40]}" is not a date (YYYY-MM-DD)', code=INVALID_PARAMETER, field="date"
            )
        release = release_in_force(parsed, published)
        if release is None and (missing := missing_release_on(parsed, published)):
            raise ApiError(
                missing.message,
                code=RELEASE_NOT_LOADED,
                status_code=status.HTTP_404_NOT_FOUND,
                field="date",
                extra=missing.as_error_fields(),
            )
        if release is None:
            raise ApiError(
                f"no published release is in force on {parsed}",
                code=RELEASE_NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
                field="date",
            )
        return release
    if not published:
        raise ApiError(
            "no release is published yet", code=NO_RELEASE, status_code=status.HTTP_404_NOT_FOUND
        )
    return published[0]


def release_by_id(resource_id_: str, published: list[Release]) -> Release:
    release = next((r for r in published if resource_id(r) == resource_id_), None)
    if release is None:
        raise ApiError(
            f'no CodeSystem "{resource_id_[:64]}"',
            code=NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return release


def one_coding(inputs: Inputs, *, code_name: str, coding_name: str, system_names) -> Coding:
    """The code a $lookup reads (or one side of $subsumes): `code` (+ system, version) or a
    Coding, not both."""
    coding = inputs.coding(coding_name)
    code = inputs.text(code_name).strip()
    if coding is not None and code:
        raise ApiError(
            f"give {code_name} or {coding_name}, not both", code=INVALID_PARAMETER, field=code_name
        )
    if coding is None:
        system = next((inputs.text(name) for name in system_names if inputs.text(name)), "")
        coding = Coding(system=system or None, version=inputs.text("version") or None, code=code)
    if not (coding.code or "").strip():
        raise ApiError(
            f"give the code ({code_name} or {coding_name})",
            code=INVALID_PARAMETER,
            field=code_name,
        )
    return coding


def codings_to_validate(
    inputs: Inputs, *, system: str, version: str
) -> tuple[list[tuple[Coding, str]], list[Coding] | None]:
    """(coding, path) pairs and the CodeableConcept, of code, coding or codeableConcept."""
    given = [name for name in ("code", "coding", "codeableConcept") if inputs.given(name)]
    if len(given) > 1:
        raise ApiError(
            f"give one of code, coding or codeableConcept, not {' and '.join(given)}",
            code=INVALID_PARAMETER,
            field=given[1],
        )
    if not given:
        raise ApiError(
            "give the code to validate (code, coding or codeableConcept)",
            code=INVALID_PARAMETER,
            field="code",
        )
    if given[0] == "code":
        code = inputs.text("code")
        display = inputs.text("display") if inputs.given("display") else None
        return [(Coding(system or None, version or None, code, display), "")], None
    if given[0] == "coding":
        return [(inputs.coding("coding"), "Coding")], None
    concept = inputs.codeable_concept("codeableConcept")
    if not concept:
        raise ApiError(
            "the codeableConcept has no coding", code=INVALID_PARAMETER, field="codeableConcept"
        )
    paths = [f"CodeableConcept.coding[{n}]" for n in range(len(concept))]
    return list(zip(concept, paths, strict=True)), concept


def day_parameter(text: str) -> datetime.date | None:
    if not text:
        return None
    day = parse_day(text)
    if day is None:
        raise ApiError(
            f'"{text[:40]}" is not a date (YYYY-MM-DD)', code=INVALID_PARAMETER, field="date"
        )
    return day


# --- schema fragments

OPERATION_PARAMETERS = [
    OpenApiParameter("code", str, description="The code, in any form (Z53.01, z5301)."),
    OpenApiParameter("system", str, description=f"{SYSTEM} (the default)."),
    OpenApiParameter("url", str, description="Same as system ($validate-code's name for it)."),
    OpenApiParameter("version", str, description="A version (2026) or a release label."),
    OpenApiParameter("date", str, description="YYYY-MM-DD: the release in force that day."),
    OpenApiParameter("_format", str, description="json or xml (or a media type)."),
]
FHIR_RESOURCE = OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 resource.")
OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome.")


def outcomes(*statuses: int) -> dict:
    return {code: OUTCOME for code in (*statuses, 401, 406, 429)}


def on_one_resource(view_class: type[APIView], operation_id: str) -> type[APIView]:
    """The view of an operation on one resource (CodeSystem/[id]/$lookup): the type's view,
    with operation ids of its own in the schema."""
    view = type(f"Instance{view_class.__name__}", (view_class,), {})
    return extend_schema_view(
        get=extend_schema(operation_id=f"{operation_id}_instance"),
        post=extend_schema(operation_id=f"{operation_id}_post_instance"),
    )(view)


def post_schema(operation_id: str, summary: str):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=OpenApiTypes.OBJECT,
        responses={200: FHIR_RESOURCE, **outcomes(400, 404, 413, 415)},
    )


class MetadataView(FhirView):
    @extend_schema(
        operation_id="fhir_metadata",
        summary="CapabilityStatement (mode=terminology: TerminologyCapabilities)",
        parameters=[OpenApiParameter("mode", str, enum=["full", "normative", "terminology"])],
        responses={200: FHIR_RESOURCE, **outcomes(400)},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        date = (
            (releases[0].published_at or releases[0].imported_at).date()
            if releases
            else datetime.date.today()
        ).isoformat()
        base = self.base_url(request)
        mode = request.query_params.get("mode", "full")
        if mode not in ("full", "normative", "terminology"):
            raise ApiError(
                "mode must be full, normative or terminology", code=INVALID_PARAMETER, field="mode"
            )
        if mode == "terminology":
            return Response(
                resources.terminology_capabilities(
                    releases, base=base, date=date, software_version=_software_version()
                )
            )
        return Response(
            resources.capability_statement(
                base=base, date=date, software_version=_software_version()
            )
        )


class VersionsView(FhirView):
    @extend_schema(
        operation_id="fhir_versions",
        summary="$versions: the FHIR versions served (4.0)",
        responses={200: FHIR_RESOURCE, **outcomes()},
    )
    def get(self, request: Request) -> Response:
        return Response(resources.versions_parameters())


class NotSupportedView(FhirView):
    """An operation of a resource type served here that this server does not do."""

    schema = None

    def get(self, request: Request, resource_type: str, operation: str, **kwargs) -> Response:
        raise ApiError(
            f"${operation[:40]} is not supported on {resource_type} by this server (see "
            "/fhir/metadata)",
            code=NOT_SUPPORTED,
        )

    post = put = patch = delete = get


class NotFoundView(FhirView):
    schema = None

    def get(self, request: Request, *args, **kwargs) -> Response:
        raise ApiError(
            "no such FHIR endpoint (see /fhir/metadata)",
            code=NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
        )

    post = put = patch = delete = get


def _software_version() -> str:
    try:
        return metadata.version("icdsite")
    except metadata.PackageNotFoundError:
        return "unknown"
