"""The FHIR R4 facade's shared view and its CodeSystem views: $lookup, $validate-code and
$subsumes (on the type and on one CodeSystem), search and read, metadata and $versions. The
ValueSet and ConceptMap views are in valueset_views.py and conceptmap_views.py.

Answers are JSON (application/fhir+json) or XML (application/fhir+xml, `_format=xml`); errors
are OperationOutcomes. `version` is a version string as a CodeSystem gives it (2026, or a
mid-year update's label; codes.fhir.versions); `date` picks the release in force that day;
neither: the latest published release.
"""

import datetime
from importlib import metadata

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codes.api.caching import Freshness
from codes.api.errors import (
    CODE_NOT_FOUND,
    ERROR_CODES,
    INVALID_PARAMETER,
    NO_RELEASE,
    NOT_FOUND,
    RELEASE_NOT_FOUND,
    ApiError,
)
from codes.api.negotiation import RememberingContentNegotiation
from codes.api.parsers import LimitedJSONParser
from codes.codeset import codeset_for
from codes.icd10 import dotted, parse_code_input
from codes.models import Code, Release
from codes.selection import published_releases
from codes.validation import validate

from . import resources, search
from .inputs import Coding, Inputs, from_parameters, from_query
from .validate_code import Request as ValidationRequest
from .validate_code import VersionRule, answer, check, reason_of
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


def post_schema(operation_id: str, summary: str):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=OpenApiTypes.OBJECT,
        responses={200: FHIR_RESOURCE, **outcomes(400, 404, 413, 415)},
    )


# --- CodeSystem


class LookupView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_lookup",
        summary="CodeSystem/$lookup: display, version and properties of a code",
        parameters=[
            *OPERATION_PARAMETERS,
            OpenApiParameter("property", str, many=True, description="Properties wanted (*)."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.lookup(request, resource_id)

    @post_schema("fhir_codesystem_lookup_post", "CodeSystem/$lookup with a Parameters body")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.lookup(request, resource_id)

    def lookup(self, request: Request, resource_id_: str | None) -> Response:
        inputs = self.inputs(request)
        coding = one_coding(inputs, code_name="code", coding_name="coding", system_names=["system"])
        published = published_releases()
        release = code_system_release(
            system=coding.system or "",
            version=coding.version or "",
            day=inputs.text("date"),
            resource_id_=resource_id_,
            published=published,
        )

        def build() -> dict:
            code = coding.code or ""
            undotted_code = parse_code_input(code)
            codeset = codeset_for(release)
            entry = codeset.get(undotted_code) if undotted_code else None
            if entry is None:
                raise ApiError(
                    reason_of(validate(code, release)),
                    code=CODE_NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                    field="code",
                )
            row = Code.objects.filter(release=release, code=entry.code).only("short_title", "kind")
            row = row.first()
            return resources.lookup_parameters(
                release=release,
                code=entry.code,
                title=entry.title,
                short_title=row.short_title,
                is_billable=entry.is_billable,
                kind=row.kind,
                parent=entry.parent,
                children=[
                    (child, codeset.entries[child].title)
                    for child in codeset.children.get(entry.code, [])
                ],
                wanted=set(inputs.texts("property")),
            )

        pinned = bool(resource_id_ or coding.version or inputs.text("date"))
        return self.answer(request, [release], build, pinned=pinned)


class ValidateCodeView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_validate_code",
        summary="CodeSystem/$validate-code: is it a code of ICD-10-CM in that version?",
        description="`result` is true when the code exists in the version (a header too, unless "
        "`abstract=false`); an unknown code, system or version is `result: false` with "
        "`issues`, not an error. For a header, `message` says it is not valid on a claim and "
        "what to use instead (the billable value set answers that directly).",
        parameters=[
            *OPERATION_PARAMETERS,
            OpenApiParameter("display", str, description="A display to check."),
            OpenApiParameter("abstract", bool, description="false: a header is not valid."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.validate_code(request, resource_id)

    @post_schema("fhir_codesystem_validate_code_post", "CodeSystem/$validate-code (Parameters)")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.validate_code(request, resource_id)

    def validate_code(self, request: Request, resource_id_: str | None) -> Response:
        inputs = self.inputs(request)
        published = published_releases()
        version = inputs.text("version")
        if resource_id_ is not None:
            version = version_of(
                code_system_release(
                    system="",
                    version=version,
                    day="",
                    resource_id_=resource_id_,
                    published=published,
                )
            )
        system = inputs.text("url") or inputs.text("system") or SYSTEM
        day = inputs.text("date")
        codings, concept = codings_to_validate(inputs, system=system, version=version)
        rule = VersionRule(published, default=version, day=_day(day))
        validation = ValidationRequest(
            rule,
            valueset=None,
            valueset_label="",
            abstract_allowed=inputs.boolean("abstract", True),
            lenient_display=inputs.boolean("lenient-display-validation", False),
        )

        def build() -> dict:
            checked = [check(coding, validation, path=path) for coding, path in codings]
            return answer(checked, validation, codeable_concept=concept)

        pinned = bool(version or day)
        return self.answer(request, published, build, pinned=pinned)


def _day(text: str) -> datetime.date | None:
    if not text:
        return None
    day = parse_day(text)
    if day is None:
        raise ApiError(
            f'"{text[:40]}" is not a date (YYYY-MM-DD)', code=INVALID_PARAMETER, field="date"
        )
    return day


class SubsumesView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_subsumes",
        summary="CodeSystem/$subsumes: is codeA above, below or the same as codeB?",
        parameters=[
            OpenApiParameter("codeA", str, description="A code (E11)."),
            OpenApiParameter("codeB", str, description="Another code (E11.9)."),
            *OPERATION_PARAMETERS[1:],
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.subsumes(request, resource_id)

    @post_schema("fhir_codesystem_subsumes_post", "CodeSystem/$subsumes with a Parameters body")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.subsumes(request, resource_id)

    def subsumes(self, request: Request, resource_id_: str | None) -> Response:
        inputs = self.inputs(request)
        first = one_coding(
            inputs, code_name="codeA", coding_name="codingA", system_names=["system"]
        )
        second = one_coding(
            inputs, code_name="codeB", coding_name="codingB", system_names=["system"]
        )
        for coding, field in ((first, "codingA"), (second, "codingB")):
            if coding.system and not is_our_system(coding.system):
                raise ApiError(
                    f"A definition for CodeSystem '{coding.system[:200]}' could not be found",
                    code=NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                    field=field,
                )
        published = published_releases()
        if first.version and second.version:
            pair = [release_of_version(c.version, published) for c in (first, second)]
            if pair[0] != pair[1] or pair[0] is None:
                raise ApiError(
                    f"codingA (version {first.version[:40]}) and codingB (version "
                    f"{second.version[:40]}) are not of the same version: subsumption is only "
                    "tested within one version of ICD-10-CM",
                    code=NOT_SUPPORTED,
                    field="codingB",
                )
        release = code_system_release(
            system="",
            version=first.version or second.version or "",
            day=inputs.text("date"),
            resource_id_=resource_id_,
            published=published,
        )

        def build() -> dict:
            codeset = codeset_for(release)
            found = []
            for coding, field in ((first, "codeA"), (second, "codeB")):
                code = parse_code_input(coding.code or "")
                if code is None or code not in codeset:
                    raise ApiError(
                        f"Unknown code '{coding.code}' in the CodeSystem '{SYSTEM}' version "
                        f"'{version_of(release)}'",
                        code=CODE_NOT_FOUND,
                        status_code=status.HTTP_404_NOT_FOUND,
                        field=field,
                    )
                found.append(code)
            a, b = found
            if a == b:
                outcome = "equivalent"
            elif a in codeset.ancestors(b):
                outcome = "subsumes"
            elif b in codeset.ancestors(a):
                outcome = "subsumed-by"
            else:
                outcome = "not-subsumed"
            return {
                "resourceType": "Parameters",
                "parameter": [{"name": "outcome", "valueCode": outcome}],
            }

        pinned = bool(resource_id_ or first.version or second.version or inputs.text("date"))
        return self.answer(request, [release], build, pinned=pinned)


class CodeSystemSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_search",
        summary="CodeSystem search: one CodeSystem per published release",
        parameters=search.SEARCH_PARAMETERS,
        responses={200: FHIR_RESOURCE, **outcomes(400)},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        found = [(release, resources.code_system(release)) for release in releases]
        return search.answer(self, request, releases, found)


class CodeSystemReadView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_read",
        summary="One CodeSystem (a published release) by id",
        parameters=[OpenApiParameter("_summary", str, enum=["true", "false", "text", "data"])],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str) -> Response:
        if resource_id == resources.ERROR_CODE_SYSTEM_ID:
            return Response(resources.error_code_system(self.base_url(request), ERROR_CODES))
        release = release_by_id(resource_id, published_releases())
        return self.answer(
            request,
            [release],
            lambda: search.summary(resources.code_system(release), request.query_params),
            pinned=True,
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


__all__ = ["FhirView", "dotted"]
