"""The FHIR R4 facade: CodeSystem $lookup and $validate-code, CodeSystem search and read, and
metadata. Answers in application/fhir+json; errors as OperationOutcome.

`version` is a fiscal year (2026: its latest published release) or a release label; `date`
picks the release in force on that day; neither: the latest published release.
"""

import datetime
import re
from importlib import metadata

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codes.api.caching import Freshness
from codes.api.errors import (
    CODE_NOT_FOUND,
    INVALID_PARAMETER,
    NOT_FOUND,
    UNSUPPORTED_SYSTEM,
    ApiError,
    selection_error,
)
from codes.api.negotiation import RememberingContentNegotiation
from codes.api.parsers import LimitedJSONParser
from codes.codeset import codeset_for
from codes.fhir import resources
from codes.icd10 import is_well_formed, undotted
from codes.lookup import code_detail, find_code
from codes.models import Release
from codes.selection import ReleaseSelectionError, published_releases, select_release
from codes.validation import validate

FHIR_JSON = "application/fhir+json"
FISCAL_YEAR_RE = re.compile(r"(?i)(fy)?\d{2}(\d{2})?")
# The value[x] types a Parameters input may use here.
VALUE_TYPES = (
    "valueCode",
    "valueString",
    "valueUri",
    "valueDate",
    "valueDateTime",
    "valueCanonical",
)


class FHIRJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"


class FHIRContentNegotiation(RememberingContentNegotiation):
    """By the Accept header alone (application/fhir+json first): DRF's `?format=` means
    nothing to a FHIR client, and FHIR's `_format` can only ask for JSON here."""

    class settings:  # noqa: N801 (stands in for DRF's api_settings)
        URL_FORMAT_OVERRIDE = None


class FHIRJSONParser(LimitedJSONParser):
    media_type = FHIR_JSON


class Inputs:
    """An operation's input parameters, from the query string (GET) or a Parameters body."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.properties: set[str] = set()

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def add(self, name: str, value: str) -> None:
        if name == "property":
            self.properties.add(value)
        else:
            self.values.setdefault(name, value)

    def add_coding(self, coding: object, *, field: str) -> None:
        if not isinstance(coding, dict):
            raise ApiError("a Coding must be an object", code=INVALID_PARAMETER, field=field)
        for name in ("system", "code", "version", "display"):
            value = coding.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise ApiError(
                        f"{field}.{name} must be a string", code=INVALID_PARAMETER, field=field
                    )
                self.add(name, value)


class FhirView(APIView):
    renderer_classes = [FHIRJSONRenderer, JSONRenderer]
    parser_classes = [FHIRJSONParser, LimitedJSONParser]
    content_negotiation_class = FHIRContentNegotiation

    def render_error(self, *, status_code: int, code: str, message: str, field: str) -> dict:
        return resources.operation_outcome(code=code, message=message, field=field)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/")

    def inputs(self, request: Request) -> Inputs:
        inputs = Inputs()
        if request.method == "POST":
            _read_parameters(request.data, inputs)
        for name in request.query_params:
            for value in request.query_params.getlist(name):
                inputs.add(name, value)
        return inputs

    def release_for(self, inputs: Inputs) -> tuple[Release, bool]:
        """The release asked for, and whether it was asked for (pinned) or the default."""
        system = inputs.get("url") or inputs.get("system")
        if system and system.rstrip("/") != resources.SYSTEM:
            raise ApiError(
                f'this server knows only ICD-10-CM ({resources.SYSTEM}), not "{system[:100]}"',
                code=UNSUPPORTED_SYSTEM,
                field="system",
            )
        version, day = inputs.get("version").strip(), inputs.get("date").strip()
        try:
            if version:
                name = "fy" if FISCAL_YEAR_RE.fullmatch(version) else "release"
                return select_release({name: version}).release, True
            if day:
                return select_release({"date": day[:10]}).release, True
            return select_release({}).release, False
        except ReleaseSelectionError as error:
            api_error = selection_error(error)
            api_error.field = "version" if error.field in ("fy", "release") else error.field
            raise api_error from None

    def answer(self, request: Request, release: Release, build, *, pinned: bool):
        if request.method != "GET" and request.method != "HEAD":
            return Response(build())
        freshness = Freshness(request, [release], pinned=pinned)
        not_modified = freshness.not_modified(request)
        if not_modified is not None:
            return not_modified
        return freshness.apply(Response(build()))


def _read_parameters(body: object, inputs: Inputs) -> None:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise ApiError(
            "the body must be a FHIR Parameters resource", code=INVALID_PARAMETER, field="body"
        )
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise ApiError(
            "Parameters.parameter must be a list", code=INVALID_PARAMETER, field="parameter"
        )
    for position, parameter in enumerate(parameters):
        field = f"parameter[{position}]"
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise ApiError("each parameter needs a name", code=INVALID_PARAMETER, field=field)
        name = parameter["name"]
        if "valueCoding" in parameter:
            inputs.add_coding(parameter["valueCoding"], field=f"{field}.valueCoding")
            continue
        if "valueCodeableConcept" in parameter:
            concept = parameter["valueCodeableConcept"]
            codings = concept.get("coding", []) if isinstance(concept, dict) else None
            if not isinstance(codings, list):
                raise ApiError(
                    "a CodeableConcept needs a list of codings",
                    code=INVALID_PARAMETER,
                    field=f"{field}.valueCodeableConcept",
                )
            ours = [
                c
                for c in codings
                if isinstance(c, dict) and c.get("system", resources.SYSTEM) == resources.SYSTEM
            ]
            if ours:
                inputs.add_coding(ours[0], field=f"{field}.valueCodeableConcept.coding")
            continue
        value = next((parameter[key] for key in VALUE_TYPES if key in parameter), None)
        if value is None:
            continue  # an input we do not use (e.g. displayLanguage as valueCode: handled above)
        if not isinstance(value, str):
            raise ApiError(f"{name} must be a string", code=INVALID_PARAMETER, field=field)
        inputs.add(name, value)


def _code(inputs: Inputs) -> str:
    code = inputs.get("code").strip()
    if not code:
        raise ApiError(
            "give the code to look up (code or coding)", code=INVALID_PARAMETER, field="code"
        )
    return code


# --- schema fragments

OPERATION_PARAMETERS = [
    OpenApiParameter("code", str, description="The code, in any form (Z53.01, z5301)."),
    OpenApiParameter("system", str, description=f"{resources.SYSTEM} (the default)."),
    OpenApiParameter("url", str, description="Same as system ($validate-code's name for it)."),
    OpenApiParameter("version", str, description="Fiscal year (2026) or release label."),
    OpenApiParameter("date", str, description="YYYY-MM-DD: the release in force that day."),
]
FHIR_RESOURCE = OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 resource.")
OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome.")


def outcomes(*statuses: int) -> dict:
    return {code: OUTCOME for code in (*statuses, 401, 429)}


# --- views


class LookupView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_lookup",
        summary="CodeSystem/$lookup: display, version and properties of a code",
        parameters=[
            *OPERATION_PARAMETERS,
            OpenApiParameter("property", str, many=True, description="Properties wanted."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.lookup(request)

    @extend_schema(
        operation_id="fhir_codesystem_lookup_post",
        summary="CodeSystem/$lookup with a Parameters body",
        request=OpenApiTypes.OBJECT,
        responses={200: FHIR_RESOURCE, **outcomes(400, 404, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        return self.lookup(request)

    def lookup(self, request: Request) -> Response:
        inputs = self.inputs(request)
        code = _code(inputs)
        release, pinned = self.release_for(inputs)

        def build() -> dict:
            found = find_code(release, code) if is_well_formed(undotted(code)) else None
            if found is None:
                verdict = validate(code, release)
                message = verdict.message
                if verdict.suggestions:
                    message += (
                        " Did you mean "
                        + ", ".join(s.dotted for s in verdict.suggestions[:10])
                        + "?"
                    )
                raise ApiError(
                    message,
                    code=CODE_NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                    field="code",
                )
            return resources.lookup_parameters(code_detail(found), properties=inputs.properties)

        return self.answer(request, release, build, pinned=pinned)


class ValidateCodeView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_validate_code",
        summary="CodeSystem/$validate-code: is the code valid on a claim in that version?",
        description="`result` is true when the code exists in the version and is billable "
        "there; otherwise `message` says why (a header, a missing 7th character, deleted...) "
        "and what to use instead. An unknown code is result false, not an error.",
        parameters=[
            *OPERATION_PARAMETERS,
            OpenApiParameter("display", str, description="A display to check."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.validate_code(request)

    @extend_schema(
        operation_id="fhir_codesystem_validate_code_post",
        summary="CodeSystem/$validate-code with a Parameters body",
        request=OpenApiTypes.OBJECT,
        responses={200: FHIR_RESOURCE, **outcomes(400, 404, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        return self.validate_code(request)

    def validate_code(self, request: Request) -> Response:
        inputs = self.inputs(request)
        code = _code(inputs)
        release, pinned = self.release_for(inputs)

        def build() -> dict:
            verdict = validate(code, release)
            entry = codeset_for(release).get(verdict.code) if verdict.exists else None
            return resources.validate_parameters(
                verdict, display=inputs.get("display"), title=entry.title if entry else ""
            )

        return self.answer(request, release, build, pinned=pinned)


class CodeSystemSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_search",
        summary="CodeSystem search: one CodeSystem per published release",
        parameters=[
            OpenApiParameter("url", str, description=f"Only {resources.SYSTEM} matches."),
            OpenApiParameter("version", str, description="Fiscal year or release label."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes()},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        url = request.query_params.get("url", "").rstrip("/")
        version = request.query_params.get("version", "").strip().lower()
        matching = [
            release
            for release in releases
            if (not url or url == resources.SYSTEM)
            and (
                not version
                or version
                in (
                    resources.version_of(release).lower(),
                    release.label.lower(),
                    str(release.fiscal_year),
                    f"fy{release.fiscal_year}",
                )
            )
        ]
        freshness = Freshness(request, releases, pinned=False)
        if (not_modified := freshness.not_modified(request)) is not None:
            return not_modified
        bundle = resources.search_bundle(
            matching, base=self.base_url(request), self_url=request.build_absolute_uri()
        )
        return freshness.apply(Response(bundle))


class CodeSystemReadView(FhirView):
    @extend_schema(
        operation_id="fhir_codesystem_read",
        summary="One CodeSystem (a published release) by id",
        responses={200: FHIR_RESOURCE, **outcomes(404)},
    )
    def get(self, request: Request, resource_id: str) -> Response:
        releases = published_releases()
        release = next((r for r in releases if resources.resource_id(r) == resource_id), None)
        if release is None:
            raise ApiError(
                f'no CodeSystem "{resource_id[:64]}"',
                code=NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return self.answer(request, release, lambda: resources.code_system(release), pinned=True)


class MetadataView(FhirView):
    @extend_schema(
        operation_id="fhir_metadata",
        summary="CapabilityStatement (mode=terminology: TerminologyCapabilities)",
        parameters=[OpenApiParameter("mode", str, enum=["full", "normative", "terminology"])],
        responses={200: FHIR_RESOURCE, **outcomes()},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        date = (
            (releases[0].published_at or releases[0].imported_at).date()
            if releases
            else datetime.date.today()
        ).isoformat()
        if request.query_params.get("mode") == "terminology":
            return Response(resources.terminology_capabilities(releases, date=date))
        return Response(
            resources.capability_statement(
                base=self.base_url(request), date=date, software_version=_software_version()
            )
        )


class NotFoundView(FhirView):
    schema = None

    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        raise ApiError(
            "no such FHIR endpoint", code=NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND
        )

    post = put = patch = delete = get


def _software_version() -> str:
    try:
        return metadata.version("icdsite")
    except metadata.PackageNotFoundError:
        return "unknown"
