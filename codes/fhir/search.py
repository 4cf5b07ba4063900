"""Search of the conformance resources (CodeSystem, ValueSet, ConceptMap: one per published
release each): `url`, `version`, `_id`, then `_summary`, `_count` and `_offset` as FHIR's search
defines them (http://hl7.org/fhir/search.html).
"""

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from codes.api.caching import Freshness
from codes.api.errors import INVALID_PARAMETER, ApiError
from codes.models import Release

from .versions import release_of_version

SUMMARY_VALUES = ("true", "false", "text", "data", "count")
# The elements flagged "summary" in the R4 definitions, by resource type.
SUMMARY_ELEMENTS = {
    "CodeSystem": {
        "id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
        "experimental", "date", "publisher", "contact", "useContext", "jurisdiction",
        "caseSensitive", "valueSet", "hierarchyMeaning", "compositional", "versionNeeded",
        "content", "supplements", "count", "filter", "property",
    },
    "ValueSet": {
        "id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
        "experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "immutable",
    },
    "ConceptMap": {
        "id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
        "experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "sourceUri",
        "sourceCanonical", "targetUri", "targetCanonical",
    },
}  # fmt: skip
# What _summary=text keeps besides the narrative: the mandatory elements.
MANDATORY = {
    "CodeSystem": ("status", "content"),
    "ValueSet": ("status",),
    "ConceptMap": ("status",),
}
SUBSETTED = {
    "tag": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
            "display": "subsetted",
        }
    ]
}

SEARCH_PARAMETERS = [
    OpenApiParameter("url", str, description="The canonical URL."),
    OpenApiParameter("version", str, description="A version (2026) or a release label."),
    OpenApiParameter("_id", str, description="The resource id."),
    OpenApiParameter("_summary", str, enum=list(SUMMARY_VALUES)),
    OpenApiParameter("_count", int, description="At most this many per page."),
    OpenApiParameter("_offset", int, description="Skip this many (paging)."),
]


def answer(view, request: Request, releases: list[Release], found: list[tuple[Release, dict]]):
    """The searchset Bundle of the resources (one per release) that match the request."""
    params = request.query_params
    url = params.get("url", "").strip().rstrip("/")
    version = params.get("version", "").strip()
    wanted_ids = {i.strip() for i in params.get("_id", "").split(",") if i.strip()}
    matching = [
        resource
        for release, resource in found
        if (not url or resource["url"].rstrip("/") == url)
        and (not version or release_of_version(version, [release]) is not None)
        and (not wanted_ids or resource["id"] in wanted_ids)
    ]
    count = _whole_number(params, "_count")
    offset = _whole_number(params, "_offset") or 0
    freshness = Freshness(request, releases, pinned=False)
    if (not_modified := freshness.not_modified(request)) is not None:
        return not_modified
    page = matching[offset:] if count is None else matching[offset : offset + count]
    if params.get("_summary") == "count":
        page = []
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matching),
        "link": _links(request, total=len(matching), offset=offset, count=count),
    }
    if page:
        base = view.base_url(request)
        bundle["entry"] = [
            {
                "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
                "resource": summary(resource, params),
                "search": {"mode": "match"},
            }
            for resource in page
        ]
    return freshness.apply(Response(bundle))


def summary(resource: dict, params: QueryDict) -> dict:
    """The resource as `_summary` asks for it."""
    wanted = params.get("_summary", "false").strip()
    if wanted not in SUMMARY_VALUES:
        raise ApiError(
            f"_summary must be one of {', '.join(SUMMARY_VALUES)}",
            code=INVALID_PARAMETER,
            field="_summary",
        )
    kind = resource["resourceType"]
    if wanted == "true":
        kept = SUMMARY_ELEMENTS[kind]
    elif wanted == "text":
        kept = {"id", "meta", "text", *MANDATORY[kind]}
    else:
        return resource
    subset = {"resourceType": kind}
    for name, value in resource.items():
        if name == "id":
            subset |= {"id": value, "meta": SUBSETTED}
        elif name in kept:
            subset[name] = value
    return subset


def _whole_number(params: QueryDict, name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ApiError(f"{name} must be a whole number", code=INVALID_PARAMETER, field=name)
    return int(text)


def _links(request: Request, *, total: int, offset: int, count: int | None) -> list[dict]:
    url = request.build_absolute_uri()
    links = [{"relation": "self", "url": url}]
    if count is not None and count > 0:
        if offset + count < total:
            links.append(
                {"relation": "next", "url": replace_query_param(url, "_offset", offset + count)}
            )
        if offset > 0:
            previous = max(offset - count, 0)
            links.append(
                {
                    "relation": "previous",
                    "url": replace_query_param(url, "_offset", previous)
                    if previous
                    else remove_query_param(url, "_offset"),
                }
            )
    return links
