"""ConceptMap views: $translate (on the type, or on one ConceptMap by id), search and read of the
successors map of each release (conceptmaps.py)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from codes.api.errors import NOT_FOUND, ApiError
from codes.models import Release
from codes.selection import published_releases

from . import conceptmaps, search
from .inputs import Inputs
from .versions import SYSTEM, is_our_system, release_of_version, split_canonical
from .views import (
    FHIR_RESOURCE,
    NOT_SUPPORTED,
    FhirView,
    code_system_release,
    one_coding,
    outcomes,
    post_schema,
)


class TranslateView(FhirView):
    @extend_schema(
        operation_id="fhir_conceptmap_translate",
        summary="ConceptMap/$translate: the billable codes of a release to use for a code",
        description="A deleted code or a header goes to its successors (CMS's conversion "
        "table, else the hierarchy), each with its R4 `equivalence`; a billable code to "
        "itself (equal).",
        parameters=[
            OpenApiParameter("url", str, description="[base]/ConceptMap/icd-10-cm-successors"),
            OpenApiParameter("conceptMapVersion", str, description="The target version (2026)."),
            OpenApiParameter("code", str, description="The code to translate (T78.07XA)."),
            OpenApiParameter("system", str, description=SYSTEM),
            OpenApiParameter("version", str, description="The version the code comes from."),
            OpenApiParameter("targetsystem", str, description=SYSTEM),
            OpenApiParameter("_format", str, description="json or xml (or a media type)."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.translate(request, resource_id)

    @post_schema("fhir_conceptmap_translate_post", "ConceptMap/$translate (Parameters)")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.translate(request, resource_id)

    def translate(self, request: Request, resource_id: str | None) -> Response:
        inputs = self.inputs(request)
        published = published_releases()
        release = self.target_release(inputs, resource_id, published)
        if inputs.boolean("reverse", False):
            raise ApiError(
                "reverse translation is not supported", code=NOT_SUPPORTED, field="reverse"
            )
        coding = _coding(inputs)
        base = self.base_url(request)
        target_system = inputs.text("targetsystem") or inputs.text("targetSystem")

        def build() -> dict:
            if coding.system and not is_our_system(coding.system):
                translation = conceptmaps.Translation(
                    message=f"No map from the code system '{coding.system}' here (only {SYSTEM})"
                )
            elif target_system and not is_our_system(target_system):
                translation = conceptmaps.Translation(
                    message=f"No map to the code system '{target_system}' here (only {SYSTEM})"
                )
            else:
                if coding.version:  # the version the code comes from must be one we know
                    code_system_release(
                        system="", version=coding.version, day="", resource_id_=None,
                        published=published,
                    )  # fmt: skip
                translation = conceptmaps.translate(coding.code or "", release)
            return conceptmaps.translate_parameters(translation, release, base=base)

        pinned = bool(resource_id or inputs.text("conceptMapVersion") or "|" in inputs.text("url"))
        return self.answer(request, [release], build, pinned=pinned)

    def target_release(
        self, inputs: Inputs, resource_id: str | None, published: list[Release]
    ) -> Release:
        if resource_id is not None:
            release = conceptmaps.release_of_map(resource_id, published)
            if release is None:
                raise _no_concept_map(resource_id)
            return release
        url, version = split_canonical(inputs.text("url"))
        if url and not conceptmaps.is_map_url(url, self.base_url(self.request)):
            raise _no_concept_map(url)
        version = inputs.text("conceptMapVersion") or version
        if version:
            release = release_of_version(version, published)
            if release is None:
                raise _no_concept_map(f"{url or conceptmaps.MAP_ID}|{version}")
            return release
        return code_system_release(
            system="", version="", day="", resource_id_=None, published=published
        )


def _coding(inputs: Inputs):
    concept = (
        inputs.codeable_concept("codeableConcept") if inputs.given("codeableConcept") else None
    )
    if concept:
        ours = [c for c in concept if c.system is None or is_our_system(c.system)]
        return (ours or concept)[0]
    return one_coding(inputs, code_name="code", coding_name="coding", system_names=["system"])


def _no_concept_map(name: str) -> ApiError:
    return ApiError(
        f"A definition for the ConceptMap '{name[:200]}' could not be found",
        code=NOT_FOUND,
        status_code=status.HTTP_404_NOT_FOUND,
        field="url",
    )


class ConceptMapSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_conceptmap_search",
        summary="ConceptMap search: the successors map of each published release",
        parameters=search.SEARCH_PARAMETERS,
        responses={200: FHIR_RESOURCE, **outcomes(400)},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        base = self.base_url(request)
        found = [(r, conceptmaps.concept_map(r, base=base)) for r in releases]
        return search.answer(self, request, releases, found)


class ConceptMapReadView(FhirView):
    @extend_schema(
        operation_id="fhir_conceptmap_read",
        summary="One ConceptMap (the successors map of a release) by id",
        parameters=[OpenApiParameter("_summary", str, enum=["true", "false", "text", "data"])],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str) -> Response:
        release = conceptmaps.release_of_map(resource_id, published_releases())
        if release is None:
            raise _no_concept_map(resource_id)
        base = self.base_url(request)
        return self.answer(
            request,
            [release],
            lambda: search.summary(
                conceptmaps.concept_map(release, base=base), request.query_params
            ),
            pinned=True,
        )
