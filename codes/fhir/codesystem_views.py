"""CodeSystem views: $lookup, $validate-code and $subsumes (on the type and on one CodeSystem,
a published release), search and read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from codes.api.errors import CODE_NOT_FOUND, ERROR_CODES, NOT_FOUND, ApiError
from codes.codeset import codeset_for
from codes.icd10 import parse_code_input
from codes.lookup import find_code, note_origin, notes_for
from codes.release_data import release_data_for
from codes.selection import published_releases
from codes.validation import validate

from . import resources, search
from .validate_code import Request as ValidationRequest
from .validate_code import VersionRule, answer, check, reason_of
from .versions import SYSTEM, is_our_system, release_of_version, version_of
from .views import (
    FHIR_RESOURCE,
    NOT_SUPPORTED,
    OPERATION_PARAMETERS,
    FhirView,
    code_system_release,
    codings_to_validate,
    day_parameter,
    one_coding,
    outcomes,
    post_schema,
    release_by_id,
)


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
            row = find_code(release, entry.code)
            wanted = set(inputs.texts("property"))
            notes = []
            if not wanted or "*" in wanted or "note" in wanted:
                notes = [
                    (item.note.text, f"{item.note.kind_label}, from {note_origin(item)}")
                    for item in notes_for(row, codeset)
                ]
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
                notes=notes,
                poa_exempt=release_data_for(release).is_poa_exempt(entry.code),
                wanted=wanted,
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
        rule = VersionRule(published, default=version, day=day_parameter(day))
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
