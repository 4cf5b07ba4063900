"""ValueSet views: $expand and $validate-code of the value sets in valuesets.py (on the type with
`url`, or on one ValueSet by id), search and read of the billable value sets."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from codes.api.errors import INVALID_PARAMETER, NOT_FOUND, TOO_MANY_ITEMS, ApiError
from codes.models import Release
from codes.selection import published_releases

from . import search, valuesets
from .compose import ComposedValueSet
from .inputs import Inputs
from .validate_code import Request as ValidationRequest
from .validate_code import VersionRule, answer, check
from .valuesets import BILLABLE, ExpansionTooLarge, ValueSetRef
from .versions import SYSTEM, is_our_system, split_canonical, version_of
from .views import (
    FHIR_RESOURCE,
    NOT_SUPPORTED,
    FhirView,
    codings_to_validate,
    day_parameter,
    outcomes,
    post_schema,
)

VALUE_SET_PARAMETERS = [
    OpenApiParameter(
        "url",
        str,
        description=f"{SYSTEM}?fhir_vs (all codes), {SYSTEM}?fhir_vs=isa/E11, or "
        "[base]/ValueSet/icd-10-cm-billable; `|version` may follow.",
    ),
    OpenApiParameter("valueSetVersion", str, description="The version (2026)."),
    OpenApiParameter("date", str, description="YYYY-MM-DD: the release in force that day."),
    OpenApiParameter("_format", str, description="json or xml (or a media type)."),
]


class ValueSetView(FhirView):
    def value_set(
        self,
        inputs: Inputs,
        resource_id: str | None,
        published: list[Release],
        *,
        optional: bool = False,
    ) -> tuple[ValueSetRef | ComposedValueSet | None, str]:
        """The value set a request names, and the version it pins ("" for none); None when
        `optional` and the request names none."""
        if resource_id is not None:
            release = valuesets.release_of_resource(resource_id, published)
            if release is None:
                raise ApiError(
                    f'no ValueSet "{resource_id[:64]}"',
                    code=NOT_FOUND,
                    status_code=status.HTTP_404_NOT_FOUND,
                )
            return ValueSetRef(BILLABLE, valuesets.billable_url(self.base_url(self.request))), (
                version_of(release)
            )
        if inputs.given("context"):
            raise ApiError(
                "context is not supported: give the value set (url or valueSet)",
                code=NOT_SUPPORTED,
                field="context",
            )
        base = self.base_url(self.request)
        if inputs.given("valueSet"):
            composed = ComposedValueSet(inputs.resource("valueSet"), base=base)
            return composed, inputs.text("valueSetVersion") or composed.version
        url, pinned = split_canonical(inputs.text("url"))
        if not url and optional:
            return None, ""
        if not url:
            raise ApiError("give the value set's url", code=INVALID_PARAMETER, field="url")
        ref = valuesets.parse_url(url, base=base)
        if ref is None:
            given = _tx_resource(inputs, url)
            if given is not None:  # the client's own value set, sent with the request
                composed = ComposedValueSet(given, base=base)
                return composed, composed.version
            raise ApiError(
                f"A definition for the value set '{url[:200]}' could not be found",
                code=NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
                field="url",
            )
        return ref, inputs.text("valueSetVersion") or pinned

    def version_rule(self, inputs: Inputs, pinned: str, published: list[Release]) -> VersionRule:
        return VersionRule(
            published,
            forced=_version_for_our_system(inputs, "force-system-version"),
            pinned=pinned,
            default=_version_for_our_system(inputs, "system-version"),
            day=day_parameter(inputs.text("date")),
        )


def _tx_resource(inputs: Inputs, url: str) -> dict | None:
    """The ValueSet with this url among the resources sent with the request (tx-resource)."""
    for resource in inputs.values.get("tx-resource", []):
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "ValueSet"
            and resource.get("url") == url
        ):
            return resource
    return None


def _version_for_our_system(inputs: Inputs, name: str) -> str:
    """The version a canonical parameter (system-version=...icd-10-cm|2025) gives ICD-10-CM."""
    for canonical in inputs.texts(name):
        system, version = split_canonical(canonical)
        if is_our_system(system):
            return version
    return ""


class ExpandView(ValueSetView):
    @extend_schema(
        operation_id="fhir_valueset_expand",
        summary="ValueSet/$expand: the codes of a value set, paged, or found by a filter",
        description="`filter` finds codes as the site's search box does (the start of a code, "
        "or words ranked by the Alphabetic Index); `count` and `offset` page; `total` is "
        f"always given. More than {valuesets.MAX_EXPANSION:,} codes without `count` is a 400 "
        "(too-costly).",
        parameters=[
            *VALUE_SET_PARAMETERS,
            OpenApiParameter("filter", str, description="Words or the start of a code."),
            OpenApiParameter("count", int, description="Codes per page."),
            OpenApiParameter("offset", int, description="Codes skipped."),
            OpenApiParameter("activeOnly", bool, description="Accepted: every code is active."),
            OpenApiParameter("includeDesignations", bool, description="The short titles."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.expand(request, resource_id)

    @post_schema("fhir_valueset_expand_post", "ValueSet/$expand with a Parameters body")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.expand(request, resource_id)

    def expand(self, request: Request, resource_id: str | None) -> Response:
        inputs = self.inputs(request)
        published = published_releases()
        ref, pinned = self.value_set(inputs, resource_id, published)
        release, _, problems = self.version_rule(inputs, pinned, published).choose("", "")
        if release is None:
            raise ApiError(
                problems[0].text if problems else "no release is published yet",
                code=NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
                field="valueSetVersion",
            )
        text = inputs.text("filter")
        offset = inputs.integer("offset") or 0
        count = inputs.integer("count")
        echo = [{"name": "filter", "valueString": text}] if text else []
        for name in ("count", "offset"):
            if inputs.given(name):
                echo.append({"name": name, "valueInteger": inputs.integer(name)})
        for name in ("activeOnly", "excludeNested", "includeDesignations"):
            if inputs.given(name):
                echo.append({"name": name, "valueBoolean": inputs.boolean(name)})
        if inputs.given("displayLanguage"):
            echo.append({"name": "displayLanguage", "valueCode": inputs.text("displayLanguage")})

        def build() -> dict:
            try:
                return valuesets.expansion(
                    ref,
                    release,
                    text=text,
                    offset=offset,
                    count=count,
                    echo=echo,
                    include_designations=bool(inputs.boolean("includeDesignations")),
                )
            except ExpansionTooLarge as error:
                raise ApiError(str(error), code=TOO_MANY_ITEMS, field="count") from None

        return self.answer(request, [release], build, pinned=bool(pinned or resource_id))


class ValueSetValidateCodeView(ValueSetView):
    @extend_schema(
        operation_id="fhir_valueset_validate_code",
        summary="ValueSet/$validate-code: is the code in the value set?",
        description="The billable value set answers whether a code is valid on a claim. An "
        "unknown code, system or version is `result: false` with `issues`, not an error.",
        parameters=[
            *VALUE_SET_PARAMETERS,
            OpenApiParameter("code", str, description="The code, in any form (E11.9, e119)."),
            OpenApiParameter("system", str, description=SYSTEM),
            OpenApiParameter("systemVersion", str, description="The code system version."),
            OpenApiParameter("display", str, description="A display to check."),
            OpenApiParameter("abstract", bool, description="false: a header is not valid."),
        ],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str | None = None) -> Response:
        return self.validate_code(request, resource_id)

    @post_schema("fhir_valueset_validate_code_post", "ValueSet/$validate-code (Parameters)")
    def post(self, request: Request, resource_id: str | None = None) -> Response:
        return self.validate_code(request, resource_id)

    def validate_code(self, request: Request, resource_id: str | None) -> Response:
        inputs = self.inputs(request)
        published = published_releases()
        # Without a value set (as the HL7 validator asks of a coding with no binding), the
        # coding is checked against its code system.
        ref, pinned = self.value_set(inputs, resource_id, published, optional=True)
        rule = self.version_rule(inputs, pinned, published)
        codings, concept = codings_to_validate(
            inputs, system=inputs.text("system"), version=inputs.text("systemVersion")
        )
        release, _, _ = rule.choose("", "")
        label = ref.label(release) if ref is not None else ""
        validation = ValidationRequest(
            rule,
            valueset=ref,
            valueset_label=label,
            abstract_allowed=inputs.boolean("abstract", True),
            lenient_display=inputs.boolean("lenient-display-validation", False),
        )

        def build() -> dict:
            checked = [check(coding, validation, path=path) for coding, path in codings]
            return answer(checked, validation, codeable_concept=concept)

        pinned_answer = bool(pinned or resource_id or inputs.text("date"))
        return self.answer(request, published, build, pinned=pinned_answer)


class ValueSetSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_valueset_search",
        summary="ValueSet search: the billable codes of each published release",
        parameters=search.SEARCH_PARAMETERS,
        responses={200: FHIR_RESOURCE, **outcomes(400)},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()
        ref = ValueSetRef(BILLABLE, valuesets.billable_url(self.base_url(request)))
        found = [(release, valuesets.value_set(ref, release)) for release in releases]
        return search.answer(self, request, releases, found)


class ValueSetReadView(FhirView):
    @extend_schema(
        operation_id="fhir_valueset_read",
        summary="One ValueSet (the billable codes of a release) by id",
        parameters=[OpenApiParameter("_summary", str, enum=["true", "false", "text", "data"])],
        responses={200: FHIR_RESOURCE, **outcomes(400, 404)},
    )
    def get(self, request: Request, resource_id: str) -> Response:
        release = valuesets.release_of_resource(resource_id, published_releases())
        if release is None:
            raise ApiError(
                f'no ValueSet "{resource_id[:64]}"',
                code=NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
            )
        ref = ValueSetRef(BILLABLE, valuesets.billable_url(self.base_url(request)))
        return self.answer(
            request,
            [release],
            lambda: search.summary(valuesets.value_set(ref, release), request.query_params),
            pinned=True,
        )
