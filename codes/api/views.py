"""API v1 views: read the request, ask the shared lookup modules, answer with the release.

Every answer names the release that answered; GET answers carry ETag, Last-Modified and
Cache-Control (codes.api.caching), errors a stable code (codes.api.errors).
"""

import csv
import datetime
import io
import json
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from codes import search, validation
from codes.api import index_representations as index_rep
from codes.api import index_serializers as index_s
from codes.api import representations as rep
from codes.api import serializers as s
from codes.api.caching import Freshness
from codes.api.errors import (
    CODE_NOT_FOUND,
    INVALID_PARAMETER,
    NOT_FOUND,
    RELEASE_NOT_FOUND,
    RELEASE_NOT_LOADED,
    TOO_MANY_ITEMS,
    ApiError,
)
from codes.codeset import codeset_for
from codes.currency import missing_release_on
from codes.downloads import attachment, download_name
from codes.icd10 import dotted, is_well_formed, undotted
from codes.index_lookup import entries_leading_to
from codes.lookup import code_detail, code_history, find_code
from codes.models import Code, Release
from codes.release_data import release_data_for
from codes.response_cache import cached_response, store_response
from codes.selection import (
    PARAMETERS,
    ReleaseChoice,
    ReleaseSelectionError,
    could_be_label,
    published_releases,
    releases_in_force_on,
    select_release,
)

# --- schema fragments

# What a query string may leave empty (the parameter is then ignored): whitespace only.
BLANK = {"type": "string", "pattern": r"^\s*$"}
# Fiscal years the views accept (codes.selection): 2016-2099, as 2026, FY2026 or fy26.
FISCAL_YEAR_PATTERN = r"^\s*(?:[Ff][Yy])?(?:20)?(?:1[6-9]|[2-9][0-9])\s*$"
RELEASE_PARAMETERS = [
    OpenApiParameter(
        "release",
        str,
        description="A release label, exactly (FY2026, FY2025 April 1 update). Wins over date.",
    ),
    OpenApiParameter(
        "date",
        {"anyOf": [{"type": "string", "format": "date"}, BLANK]},
        description="Date of service: the release in force that day. Wins over fy. A malformed "
        "date is an error even when `release` wins.",
    ),
    OpenApiParameter(
        "fy",
        {"anyOf": [{"type": "string", "pattern": FISCAL_YEAR_PATTERN}, BLANK]},
        description="Fiscal year (2026, FY2026, fy26): its latest published release. A "
        "malformed one is an error even when `release` or `date` wins.",
    ),
]
# DRF's spellings of a boolean in a query string, and of none (rest_framework.fields.BooleanField).
_BOOLEAN = serializers.BooleanField
BOOLEAN_SPELLINGS = sorted(
    value
    for value in _BOOLEAN.TRUE_VALUES | _BOOLEAN.FALSE_VALUES | _BOOLEAN.NULL_VALUES
    if isinstance(value, str)
)


def query_parameters(serializer_class) -> list[OpenApiParameter]:
    """A query serializer's fields as the parameters the view reads: an optional parameter may
    be empty (DRF reads "" as not given), a boolean takes any of DRF's spellings."""
    parameters = []
    for name, field in serializer_class().fields.items():
        schema = _query_schema(field)
        if not field.required:
            schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
        parameters.append(
            OpenApiParameter(
                name, schema, required=field.required, description=field.help_text or ""
            )
        )
    return parameters


def _query_schema(field) -> dict:
    if isinstance(field, serializers.BooleanField):
        return {"type": "string", "enum": BOOLEAN_SPELLINGS}
    if isinstance(field, serializers.ChoiceField):
        return {"type": "string", "enum": list(field.choices)}
    if isinstance(field, serializers.IntegerField):
        bounds = {"minimum": field.min_value, "maximum": field.max_value}
        return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}
    schema = {"type": "string", "pattern": "^[^\\x00]*$"}  # DRF refuses NUL characters
    if isinstance(field, serializers.RegexField):
        schema["pattern"] = field.validators[-1].regex.pattern
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    return schema


CODE_PATH = OpenApiParameter(
    "code",
    str,
    OpenApiParameter.PATH,
    description="A code in any form: Z53.01, z5301.",
)
LABEL_PATH = OpenApiParameter(
    "label", str, OpenApiParameter.PATH, description="A release label (FY2026)."
)


def error_responses(*statuses: int, not_found=s.ErrorSerializer) -> dict:
    """Error answers an operation may give, besides the ones every operation may give."""
    descriptions = {
        400: "A parameter or the body is wrong (`field` names it).",
        401: "A token was sent and is not valid.",
        404: "No such release (or code).",
        413: "The body is too large.",
        415: "The body is not JSON.",
        429: "Over the rate limit: see Retry-After.",
    }
    answers = {}
    for code in (*statuses, 401, 429):
        serializer = not_found if code == 404 else s.ErrorSerializer
        answers[code] = OpenApiResponse(serializer, description=descriptions[code])
    return answers


# --- the shared parts of the views


class ApiView(APIView):
    """A view of the API. GET answers from one release use `answer`."""

    def choose_release(
        self, request: Request, published: list[Release] | None = None
    ) -> ReleaseChoice:
        reject_malformed_selection(request.query_params)
        return select_release(request.query_params, published)

    def answer(
        self, request: Request, releases: list[Release], build, *, pinned: bool
    ) -> HttpResponseBase:
        """304 when the client's copy is current; else the answer, rendered once and kept
        (codes.response_cache), and marked cacheable. `build` returns the answer's data, or a
        response of its own (a download), which is not kept."""
        freshness = Freshness(request, releases, pinned=pinned)
        not_modified = freshness.not_modified(request)
        if not_modified is not None:
            return not_modified
        response = cached_response(freshness.etag, request)
        if response is None:
            built = build()
            if isinstance(built, HttpResponseBase):
                return freshness.apply(built)
            response = self.rendered(request, built)
            store_response(freshness.etag, request, response)
        return freshness.apply(response)

    def rendered(self, request: Request, data: dict) -> HttpResponse:
        """The data as the negotiated renderer writes it, as DRF's Response would."""
        renderer = request.accepted_renderer
        content = renderer.render(data, request.accepted_media_type, self.get_renderer_context())
        content_type = renderer.media_type
        if renderer.charset:
            content_type = f"{content_type}; charset={renderer.charset}"
        return HttpResponse(content, content_type=content_type)

    def query(self, request: Request, serializer_class) -> dict:
        serializer = serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def page_links(request: Request, *, page: int, size: int, count: int) -> dict:
    """`page`, `page_size`, `next` and `previous` of a paginated answer."""
    url = request.build_absolute_uri()
    return {
        "page": page,
        "page_size": size,
        "next": replace_query_param(url, "page", page + 1) if page * size < count else None,
        "previous": replace_query_param(url, "page", page - 1) if page > 1 else None,
    }


def reject_malformed_selection(params) -> None:
    """A malformed `date` or `fy` is an error even when a parameter of higher precedence
    chooses the release, as the schema says."""
    for name in ("date", "fy"):
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            try:
                select_release({name: value}, [])  # checks the value; finds no release
            except ReleaseSelectionError as error:
                if error.code == INVALID_PARAMETER:
                    raise


def published_release(label: str) -> Release:
    release = (
        Release.objects.published()
        .filter(label__iexact=label.strip())
        .select_related("compared_to", "poa")
        .first()
        if could_be_label(label.strip())
        else None
    )
    if release is None:
        raise ApiError(
            f'no published release is labelled "{label[:100]}"',
            code=RELEASE_NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
            field="label",
        )
    return release


def release_url(request: Request, release: Release, name: str = "api:release-detail") -> str:
    return request.build_absolute_uri(reverse(name, kwargs={"label": release.label}))


def code_not_found(text: str, release: Release) -> ApiError:
    verdict = validation.validate(text, release)
    return ApiError(
        verdict.message,
        code=CODE_NOT_FOUND,
        status_code=status.HTTP_404_NOT_FOUND,
        field="code",
        extra={
            "reason": verdict.reason,
            "suggestions": [rep.suggestion(item) for item in verdict.suggestions],
        },
    )


# --- releases


class ReleaseListView(ApiView):
    """Every published release, with its counts."""

    @extend_schema(
        operation_id="release_list",
        summary="Published releases, newest first, with their counts",
        responses={200: s.ReleaseListSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        releases = published_releases()

        def build() -> dict:
            return {
                "release": rep.release_ref(releases[0] if releases else None),
                "count": len(releases),
                "results": [
                    {
                        **rep.release_ref(release),
                        "published_at": release.published_at.isoformat()
                        if release.published_at
                        else None,
                        "counts": rep.release_counts(release),
                        "url": release_url(request, release),
                    }
                    for release in releases
                ],
            }

        return self.answer(request, releases, build, pinned=False)


class ReleaseDetailView(ApiView):
    """One published release by label: counts, changes, provenance, links."""

    @extend_schema(
        operation_id="release_detail",
        summary="One published release: counts, what changed, where it came from",
        parameters=[LABEL_PATH],
        responses={200: s.ReleaseDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, label: str) -> Response:
        release = published_release(label)

        def build() -> dict:
            compared_to = release.compared_to
            addenda = release.addenda_comparison()
            return {
                "release": rep.release_ref(release),
                **rep.release_ref(release),
                "published_at": release.published_at.isoformat() if release.published_at else None,
                "counts": rep.release_counts(release),
                "url": release_url(request, release),
                "structure": release.structure,
                "structure_from": rep.release_ref(release.structure_from),
                "compared_to": rep.release_ref(compared_to),
                "comparison_note": release.comparison_note(),
                "changes": release.change_summary(),
                "addenda_agrees": addenda.agrees if addenda else None,
                "addenda_differences": addenda.differences if addenda else None,
                "addenda_revisions_counted_apart": addenda.listed_apart if addenda else None,
                "conversion_table": release.conversions.exists(),
                "poa_exempt_list": rep.poa_list_summary(release),
                "links": {
                    "changes": release_url(request, release, "api:release-changes"),
                    "changes_csv": release_url(request, release, "api:release-changes-csv"),
                    "download_csv": release_url(request, release, "api:release-download-csv"),
                    "download_json": release_url(request, release, "api:release-download-json"),
                },
            }

        return self.answer(request, [release], build, pinned=True)


# --- codes


class CodeDetailView(ApiView):
    """A code in any input form, answered in canonical form from the chosen release."""

    @extend_schema(
        operation_id="code_detail",
        summary="One code: what it is, where it sits, its notes and 7th characters",
        parameters=[CODE_PATH, *RELEASE_PARAMETERS],
        responses={
            200: index_s.CodeDetailWithIndexSerializer,
            **error_responses(400, 404, not_found=s.CodeNotFoundSerializer),
        },
    )
    def get(self, request: Request, code: str) -> Response:
        choice = self.choose_release(request)

        def build() -> dict:
            # Malformed input (a NUL byte, 500 characters) is answered without a query.
            release = choice.release
            found = find_code(release, code) if is_well_formed(undotted(code)) else None
            if found is None:
                raise code_not_found(code, release)
            entries = entries_leading_to(
                release, found.code, codeset_for(release), published_releases()
            )
            return {
                **rep.code_detail(code_detail(found), text=code),
                **rep.poa_exemption(release_data_for(release).is_poa_exempt(found.code)),
                "index_entries": index_rep.code_entries(request, entries, code=found.dotted),
            }

        return self.answer(request, [choice.release], build, pinned=bool(choice.parameter))


class CodeListView(ApiView):
    """Search or list the codes of a release, paginated."""

    @extend_schema(
        operation_id="code_list",
        summary="Search (q) or list (prefix, billable, chapter) the codes of a release",
        description="`q`: a code, a code prefix or words of a title, ranked. Without `q`, the "
        "release's codes in tabular order, filtered by `prefix`, `billable` and `chapter`.",
        parameters=[*query_parameters(s.SearchQuerySerializer), *RELEASE_PARAMETERS],
        responses={200: s.CodeListSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        params = self.query(request, s.SearchQuerySerializer)
        choice = self.choose_release(request)

        def build() -> dict:
            release = choice.release
            billable, chapter = params["billable"], params.get("chapter")
            prefix = undotted(params.get("prefix", ""))
            result = None
            if query := params.get("q", "").strip():
                result = search.search_codes(release, query, billable=billable, chapter=chapter)
                match, codes = result.kind, result.codes
                if prefix:
                    codes = codes.with_prefix(prefix)
            else:
                match = search.PREFIX if prefix else "list"
                codes = Code.objects.in_release(release).select_related("chapter", "section")
                if prefix:
                    codes = codes.with_prefix(prefix)
                if billable is not None:
                    codes = codes.filter(is_billable=billable)
                if chapter is not None:
                    codes = codes.filter(chapter__number=chapter)
                codes = codes.order_by("sequence")
            page, size = params["page"], params["page_size"]
            count = codes.count()
            rows = list(codes[(page - 1) * size : page * size])
            return {
                "release": rep.release_ref(release),
                "match": match,
                "count": count,
                **page_links(request, page=page, size=size, count=count),
                "notes": result.notes if result else [],
                "results": [rep.code_summary(code, result) for code in rows],
            }

        # A word search may read other releases' Index: their identities key the answer too.
        return (
            self.answer(request, published_releases(), build, pinned=bool(choice.parameter))
            if params.get("q", "").strip()
            else self.answer(request, [choice.release], build, pinned=bool(choice.parameter))
        )


class AutocompleteView(ApiView):
    """Type-ahead suggestions: small and fast."""

    @extend_schema(
        operation_id="autocomplete",
        summary="Type-ahead: a few codes for what has been typed so far",
        parameters=[*query_parameters(s.AutocompleteQuerySerializer), *RELEASE_PARAMETERS],
        responses={200: s.AutocompleteSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        choice = self.choose_release(request)

        def build() -> dict:
            # Validated here: a kept answer was valid, and a type-ahead is mostly kept answers.
            params = self.query(request, s.AutocompleteQuerySerializer)
            query = params["q"].strip()
            result = (
                search.autocomplete(choice.release, query, limit=params["limit"]) if query else None
            )
            codes = list(result.codes) if result else []
            return {
                "release": rep.release_ref(choice.release),
                "results": [
                    {**rep.code_ref(code), "why": result.reason(code.code)} for code in codes
                ],
                "message": search.nothing_found(query) if query and not codes else "",
            }

        return self.answer(request, published_releases(), build, pinned=bool(choice.parameter))


class CodeHistoryView(ApiView):
    """One row per published release for a code."""

    @extend_schema(
        operation_id="code_history",
        summary="A code across every published release: present, billable, what changed",
        parameters=[CODE_PATH, *RELEASE_PARAMETERS],
        responses={
            200: s.HistorySerializer,
            **error_responses(400, 404, not_found=s.CodeNotFoundSerializer),
        },
    )
    def get(self, request: Request, code: str) -> Response:
        published = published_releases()
        choice = self.choose_release(request, published)

        def build() -> dict:
            rows = code_history(undotted(code)) if is_well_formed(undotted(code)) else []
            if not any(row.present for row in rows):
                raise code_not_found(code, choice.release)
            canonical = dotted(undotted(code))
            return {
                "release": rep.release_ref(choice.release),
                "input": code,
                "normalised": code != canonical,
                "code": canonical,
                "code_undotted": undotted(code),
                "history": [rep.history_row(row) for row in rows],
            }

        # A new publication adds a row, so the answer depends on every published release.
        return self.answer(request, published, build, pinned=bool(choice.parameter))


# --- validation


def _or_blank(schema: dict) -> dict:
    return {"anyOf": [schema, BLANK], "nullable": True}


_CODE = {"type": "string", "maxLength": 100}
# The body as ValidateView reads it (by hand, for speed: see _items): `codes` or `items`, never
# both; a date may be empty or null (no date).
VALIDATE_REQUEST = {
    "type": "object",
    "properties": {
        "codes": {
            "type": "array",
            "maxItems": settings.API_MAX_VALIDATE_ITEMS,
            "items": _CODE,
            "description": "Codes to check against one release (give `codes` or `items`).",
        },
        "items": {
            "type": "array",
            "maxItems": settings.API_MAX_VALIDATE_ITEMS,
            "items": {
                "type": "object",
                "properties": {
                    "code": _CODE,
                    "date": {
                        "anyOf": [
                            {"type": "string", "format": "date"},
                            {"type": "string", "maxLength": 0},
                        ],
                        "nullable": True,
                    },
                },
                "required": ["code"],
            },
            "description": "Codes each with an optional date of service.",
        },
        "release": {"type": "string", "nullable": True, "description": "A release label."},
        "date": _or_blank({"type": "string", "format": "date"}),
        "fy": _or_blank({"type": "string", "pattern": FISCAL_YEAR_PATTERN}),
    },
    "oneOf": [{"required": ["codes"]}, {"required": ["items"]}],
}


class BodyRequiredSchema(AutoSchema):
    """The schema of a view that needs its body: a POST without one is a 400."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class ValidateView(ApiView):
    """Bulk validation; each item against the release in force on its date."""

    schema = BodyRequiredSchema()

    @extend_schema(
        operation_id="validate",
        summary="Validate up to 10,000 codes, each against the release in force on its date",
        description="Give `codes` (checked against the release chosen by `release`, `date` or "
        "`fy`, default the latest) or `items`, each a code with an optional date of service. "
        "Each answer has a stable `reason`: ok, header_not_billable, "
        "missing_seventh_character, invalid_seventh_character, missing_placeholder_x, deleted, "
        "not_in_release, malformed, release_not_found (no release covers the item's date) or "
        "release_not_loaded (the item's date is in a fiscal year whose release is not loaded).",
        request={"application/json": VALIDATE_REQUEST},
        parameters=RELEASE_PARAMETERS,
        responses={200: s.ValidateResponseSerializer, **error_responses(400, 404, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise ApiError(
                "the body must be a JSON object with `codes` or `items`", code=INVALID_PARAMETER
            )
        items = _items(body)
        # The release for items without a date: from the body, else from the query string. A
        # malformed query parameter is an error even when the body names the release, as the
        # schema says (and as on every GET).
        reject_malformed_selection(request.query_params)
        selection = {n: request.query_params[n] for n in PARAMETERS if n in request.query_params}
        selection.update({name: _text(body, name) for name in PARAMETERS if name in body})
        reject_malformed_selection(selection)
        choice = select_release(selection)
        days = {day for _, day in items if day is not None}
        in_force = releases_in_force_on(days) if days else {}
        groups: dict[int, tuple[Release, list[int]]] = {}
        results: list[dict | None] = [None] * len(items)
        for position, (text, day) in enumerate(items):
            release = in_force[day] if day is not None else choice.release
            if release is None:
                missing = missing_release_on(day, published_releases())
                results[position] = rep.no_release_verdict(
                    text,
                    day=day,
                    reason=RELEASE_NOT_LOADED if missing else RELEASE_NOT_FOUND,
                    message=missing.message
                    if missing
                    else f"no published release is in force on {day}",
                )
                continue
            groups.setdefault(release.pk, (release, []))[1].append(position)
        for release, positions in groups.values():
            verdicts = validation.validate_many([items[p][0] for p in positions], release)
            answers = rep.verdicts(verdicts, days=[items[p][1] for p in positions])
            for position, answer in zip(positions, answers, strict=True):
                results[position] = answer
        summary = Counter(result["reason"] for result in results)
        return Response(
            {
                "release": rep.release_ref(choice.release),
                "count": len(results),
                "valid": summary.get(validation.OK, 0),
                "summary": dict(summary),
                "results": results,
            }
        )


def _text(body: dict, name: str) -> str:
    value = body[name]
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ApiError(f"`{name}` must be a string", code=INVALID_PARAMETER, field=name)
    return str(value)


def _items(body: dict) -> list[tuple[str, datetime.date | None]]:
    """(code, date of service) of each item, checked by hand: a serializer takes longer than
    validating 10,000 codes does."""
    if ("codes" in body) == ("items" in body):
        raise ApiError("give either `codes` or `items`", code=INVALID_PARAMETER, field="codes")
    name = "codes" if "codes" in body else "items"
    given = body[name]
    if not isinstance(given, list):
        raise ApiError(f"`{name}` must be a list", code=INVALID_PARAMETER, field=name)
    limit = settings.API_MAX_VALIDATE_ITEMS
    if len(given) > limit:
        raise ApiError(
            f"{len(given):,} items: one request may hold {limit:,} at most; split the batch",
            code=TOO_MANY_ITEMS,
            field=name,
        )
    items = []
    for position, item in enumerate(given):
        day = None
        if name == "items":
            if not isinstance(item, dict) or "code" not in item:
                raise ApiError(
                    "each item must be an object with a `code`",
                    code=INVALID_PARAMETER,
                    field=f"items[{position}]",
                )
            day = _day(item.get("date"), field=f"items[{position}].date")
            item = item["code"]
        if not isinstance(item, str) or len(item) > 100:
            raise ApiError(
                "a code must be a string of at most 100 characters",
                code=INVALID_PARAMETER,
                field=f"{name}[{position}]" + (".code" if name == "items" else ""),
            )
        items.append((item, day))
    return items


def _day(value: object, *, field: str) -> datetime.date | None:
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            f"{str(value)[:30]!r} is not a date (YYYY-MM-DD)", code=INVALID_PARAMETER, field=field
        ) from None


# --- changes and downloads


class ReleaseChangesView(ApiView):
    """What changed in a release since the one before it, as JSON or CSV."""

    csv = False

    def perform_content_negotiation(self, request, force=False):
        # A CSV answer is not negotiated; errors are JSON whatever the Accept header says.
        return super().perform_content_negotiation(request, force=force or self.csv)

    @extend_schema(
        operation_id="release_changes",
        summary="What changed in a release since the previous one (CMS's definitions)",
        description="Added, deleted, revised, each in CMS's tally of codes or of headers. A "
        "deleted code lists its successors: from CMS's conversion table when one was imported "
        "(with this release or a later one), else from the hierarchy.",
        parameters=[LABEL_PATH, *query_parameters(s.ChangesQuerySerializer)],
        responses={200: s.ChangeListSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, label: str) -> Response:
        params = self.query(request, s.ChangesQuerySerializer)
        release = published_release(label)
        return self.answer(request, [release], lambda: self.build(release, params), pinned=True)

    def build(self, release: Release, params: dict):
        changes = release.changes.all()
        if kind := params.get("type"):
            changes = changes.filter(change=kind)
        if params["billable"] is not None:
            changes = changes.filter(is_billable=params["billable"])
        codeset = codeset_for(release)
        results = []
        for item in changes.order_by("code", "change"):
            successors, source = [], ""
            if item.change == "deleted":
                successors, source = validation.successors_with_source(item.code, codeset)
            results.append(rep.change(item, successors=successors, source=source))
        if self.csv:
            billable = {True: "codes", False: "headers", None: ""}[params["billable"]]
            name = download_name(
                release.label, "changes", params.get("type") or "", billable, extension="csv"
            )
            return _changes_csv(name, results)
        return {
            "release": rep.release_ref(release),
            "compared_to": rep.release_ref(release.compared_to),
            "comparison_note": release.comparison_note(),
            "summary": release.change_summary(),
            "count": len(results),
            "results": results,
        }


class ReleaseChangesCSVView(ReleaseChangesView):
    csv = True

    @extend_schema(
        operation_id="release_changes_csv",
        summary="What changed in a release, as CSV",
        parameters=[LABEL_PATH, *query_parameters(s.ChangesQuerySerializer)],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One change a row."),
            **error_responses(400, 404),
        },
    )
    def get(self, request: Request, label: str) -> Response:
        return super().get(request, label)


def _changes_csv(name: str, results: list[dict]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["change", "tally", "code", "code_undotted", "old_title", "new_title", "successors"]
    )
    for row in results:
        writer.writerow(
            [
                row["change"],
                "codes" if row["billable"] else "headers",
                row["code"],
                row["code_undotted"],
                row["old_title"],
                row["new_title"],
                " ".join(item["code"] for item in row["successors"]),
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment(name)
    return response


DOWNLOAD_COLUMNS = (
    "code",
    "is_billable",
    "short_title",
    "long_title",
    "parent_code",
    "chapter__number",
    "section__section_id",
    "sequence",
)
DOWNLOAD_CHUNK = 5_000


class ReleaseDownloadView(ApiView):
    """The whole release, streamed: CSV or JSON."""

    format = "csv"

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, label: str):
        release = published_release(label)
        return self.answer(request, [release], lambda: self.stream(request, release), pinned=True)

    def stream(self, request: Request, release: Release) -> HttpResponse:
        content_type = "text/csv; charset=utf-8" if self.format == "csv" else "application/json"
        if request.method == "HEAD":
            return HttpResponse(content_type=content_type)
        rows = (
            Code.objects.filter(release=release)
            .order_by("sequence")
            .values_list(*DOWNLOAD_COLUMNS)
            .iterator(chunk_size=DOWNLOAD_CHUNK)
        )
        body = _csv_lines(rows) if self.format == "csv" else _json_chunks(release, rows)
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = attachment(
            download_name(release.label, extension=self.format)
        )
        return response


class ReleaseDownloadCSVView(ReleaseDownloadView):
    format = "csv"

    @extend_schema(
        operation_id="release_download_csv",
        summary="The whole release as CSV, streamed",
        description="Columns: code (undotted), dotted, billable (1/0), short_title, long_title, "
        "parent (undotted), chapter, section, sequence (tabular order).",
        parameters=[LABEL_PATH],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One code a row."),
            **error_responses(404),
        },
    )
    def get(self, request: Request, label: str):
        return super().get(request, label)


class ReleaseDownloadJSONView(ReleaseDownloadView):
    format = "json"

    @extend_schema(
        operation_id="release_download_json",
        summary="The whole release as JSON, streamed",
        parameters=[LABEL_PATH],
        responses={200: s.DownloadSerializer, **error_responses(404)},
    )
    def get(self, request: Request, label: str):
        return super().get(request, label)


def _csv_lines(rows) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "code",
            "dotted",
            "billable",
            "short_title",
            "long_title",
            "parent",
            "chapter",
            "section",
            "sequence",
        ]
    )
    for count, (code, billable, short, long, parent, chapter, section, sequence) in enumerate(
        rows, start=1
    ):
        writer.writerow(
            [code, dotted(code), int(billable), short, long, parent, chapter, section, sequence]
        )
        if count % 1_000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(release: Release, rows) -> Iterator[str]:
    yield '{"release": ' + json.dumps(rep.release_ref(release)) + ',\n"codes": [\n'
    chunk: list[str] = []
    separator = ""
    for code, billable, short, long, parent, chapter, section, sequence in rows:
        item = {
            "code": dotted(code),
            "code_undotted": code,
            "billable": billable,
            "short_title": short,
            "title": long,
            "parent": dotted(parent) if parent else None,
            "chapter": chapter,
            "section": section,
            "sequence": sequence,
        }
        chunk.append(json.dumps(item))
        if len(chunk) == 1_000:
            yield separator + ",\n".join(chunk)
            chunk, separator = [], ",\n"
    yield (separator + ",\n".join(chunk) if chunk else "") + "\n]}\n"


# --- anything else under /api/


class NotFoundView(ApiView):
    """A JSON 404 for a URL under /api/ that names no endpoint."""

    schema = None

    def get(self, request: Request, *args, **kwargs) -> Response:
        raise ApiError("no such endpoint", code=NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND)

    post = put = patch = delete = get
