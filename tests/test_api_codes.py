"""API v1: one code, its history, search and autocomplete, on the bundled FY2025/FY2026 data."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


FY2026 = {"label": "FY2026", "fiscal_year": 2026, "effective_date": "2025-10-01"}
FY2025 = {"label": "FY2025", "fiscal_year": 2025, "effective_date": "2024-10-01"}


def test_z53_answers_what_a_coder_needs_in_one_response(api):
    response = api.get("/api/v1/codes/z53/")
    assert response.status_code == 200
    body = response.json()
    assert body["release"] == FY2026
    assert (body["code"], body["code_undotted"], body["input"], body["normalised"]) == (
        "Z53",
        "Z53",
        "z53",
        True,
    )
    assert body["title"].startswith("Persons encountering health services for specific")
    assert (body["billable"], body["kind"], body["exists"]) == (False, "category", True)
    assert body["chapter"]["number"] == 21
    assert (body["section"]["id"], body["section"]["title"]) == (
        "Z40-Z53",
        "Encounters for other specific health care",
    )
    assert body["parent"] is None and body["ancestors"] == []
    assert [c["code"] for c in body["children"]] == [
        "Z53.0",
        "Z53.1",
        "Z53.2",
        "Z53.3",
        "Z53.8",
        "Z53.9",
    ]
    assert (body["descendant_count"], body["billable_descendant_count"]) == (15, 12)
    assert [c["code"] for c in body["billable_below"]][:3] == ["Z53.01", "Z53.09", "Z53.1"]
    assert all(c["billable"] for c in body["billable_below"])
    origins = {(n["origin"], n["origin_code"]) for n in body["notes"]}
    assert {("section", "Z40-Z53"), ("chapter", "21")} <= origins
    assert all(n["inherited"] for n in body["notes"])
    assert body["seventh_characters"] is None


def test_a_code_in_canonical_form_is_not_marked_normalised(api):
    body = api.get("/api/v1/codes/Z53.01/").json()
    assert (body["code"], body["code_undotted"], body["normalised"]) == ("Z53.01", "Z5301", False)
    assert body["parent"]["code"] == "Z53.0"
    assert [a["code"] for a in body["ancestors"]] == ["Z53", "Z53.0"]
    assert [n["origin_code"] for n in body["notes"] if not n["inherited"]] in ([], ["Z53.01"])


def test_a_header_that_needs_a_seventh_character_lists_the_definitions(api):
    body = api.get("/api/v1/codes/S72001/").json()
    assert body["code"] == "S72.001"
    seventh = body["seventh_characters"]
    assert seventh["defined_at"] == "S72"
    assert seventh["characters"][0] == {
        "character": "A",
        "meaning": "initial encounter for closed fracture",
        "notes": [],
    }
    assert len(seventh["characters"]) == 16


def test_the_release_follows_fy_date_and_label(api):
    assert api.get("/api/v1/codes/G35/?fy=2025").json()["billable"] is True
    assert api.get("/api/v1/codes/G35/?fy=2026").json()["billable"] is False
    by_date = api.get("/api/v1/codes/G35/?date=2025-11-01").json()
    assert (by_date["release"], by_date["billable"]) == (FY2026, False)
    by_label = api.get("/api/v1/codes/G35/?release=FY2025").json()
    assert (by_label["release"], by_label["billable"]) == (FY2025, True)


def test_an_unknown_code_is_a_404_with_the_verdict_and_suggestions(api):
    response = api.get("/api/v1/codes/T78.07XA/?fy=2026")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["reason"], error["field"]) == ("code_not_found", "deleted", "code")
    assert [s["code"] for s in error["suggestions"]] == ["T78.070A", "T78.071A", "T78.079A"]
    assert (
        "valid for dates of service through September 30, 2025 (last in FY2025)"
        in (error["message"])
    )
    placeholder = api.get("/api/v1/codes/W19A/").json()["error"]
    assert placeholder["reason"] == "missing_placeholder_x"
    assert [s["code"] for s in placeholder["suggestions"]] == ["W19.XXXA"]


def test_a_malformed_code_is_a_404_that_says_so(api):
    error = api.get("/api/v1/codes/%3Cscript%3E/").json()["error"]
    assert (error["code"], error["reason"]) == ("code_not_found", "malformed")
    assert "is not an ICD-10-CM code" in error["message"]


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("fy=20x6", 400, "invalid_parameter", "fy"),
        ("fy=2030", 404, "release_not_found", "fy"),
        ("date=2025-13-01", 400, "invalid_parameter", "date"),
        ("date=2020-01-01", 404, "release_not_found", "date"),
        ("release=FY1999", 404, "release_not_found", "release"),
    ],
)
def test_a_wrong_release_parameter_names_the_field(api, query, status, code, field):
    response = api.get(f"/api/v1/codes/Z53/?{query}")
    assert response.status_code == status
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"], "field": field}
    }


def test_history_has_one_row_per_release_with_what_changed(api):
    body = api.get("/api/v1/codes/g35/history/").json()
    assert (body["code"], body["normalised"], body["release"]) == ("G35", True, FY2026)
    assert [
        (row["release"]["label"], row["present"], row["billable"], row["events"])
        for row in body["history"]
    ] == [
        ("FY2017", True, True, []),
        ("FY2025", True, True, []),
        ("FY2026", True, False, ["became_header"]),
    ]
    deleted = api.get("/api/v1/codes/T78.07XA/history/").json()["history"]
    assert [(row["present"], row["billable"], row["events"]) for row in deleted] == [
        (True, True, []),
        (True, True, []),
        (False, None, ["deleted"]),
    ]
    added = api.get("/api/v1/codes/QA0/history/").json()["history"]
    assert [(row["present"], row["events"]) for row in added] == [
        (False, []),
        (False, []),
        (True, ["added"]),
    ]


def test_history_of_a_code_no_release_has_is_a_404(api):
    response = api.get("/api/v1/codes/Z99.99/history/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "code_not_found"


def test_search_finds_an_exact_code_a_prefix_and_words(api):
    exact = api.get("/api/v1/codes/?q=z53.01").json()
    assert (exact["match"], exact["count"], exact["results"][0]["code"]) == ("exact", 1, "Z53.01")
    prefix = api.get("/api/v1/codes/?q=Z53").json()
    assert prefix["match"] in ("exact", "prefix")
    words = api.get("/api/v1/codes/?q=cholera").json()
    assert words["match"] == "words"
    assert words["count"] >= 3
    assert "cholera" in words["results"][0]["title"].lower()
    assert words["release"] == FY2026


def test_listing_filters_by_prefix_billable_and_chapter_in_tabular_order(api):
    body = api.get("/api/v1/codes/?prefix=Z53&billable=true").json()
    assert (body["match"], body["count"]) == ("prefix", 12)
    assert [r["code"] for r in body["results"]][:2] == ["Z53.01", "Z53.09"]
    assert all(r["billable"] and r["chapter"] == 21 for r in body["results"])
    chapter = api.get("/api/v1/codes/?chapter=22&fy=2026").json()
    assert {r["code"][:3] for r in chapter["results"]} <= {"U07", "U09"}
    headers = api.get("/api/v1/codes/?prefix=Z53&billable=false").json()
    assert headers["count"] == 4


def test_listing_is_paginated_with_links(api):
    first = api.get("/api/v1/codes/?page_size=100").json()
    assert first["count"] == 98_186
    assert len(first["results"]) == 100
    assert first["previous"] is None
    assert "page=2" in first["next"]
    second = api.get(first["next"]).json()
    assert second["results"][0]["code"] != first["results"][0]["code"]
    assert "page=1" in second["previous"]


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=501", "billable=maybe", "chapter=x", "prefix=Z5$"]
)
def test_bad_search_parameters_are_a_400_naming_them(api, query):
    response = api.get(f"/api/v1/codes/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["field"] == query.split("=")[0]


def every_query_serializer() -> list[type]:
    from codes.api import index_serializers  # noqa: F401 (its subclasses too)
    from codes.api.serializers import QuerySerializer

    found, pending = [], QuerySerializer.__subclasses__()
    while pending:
        found.append(pending.pop())
        pending += found[-1].__subclasses__()
    return found


@pytest.mark.parametrize("serializer_class", every_query_serializer(), ids=lambda c: c.__name__)
def test_query_parameters_are_checked_by_flat_fields_of_their_own(serializer_class):
    """QuerySerializer copies its fields shallowly: only right for fields that hold no field
    or serializer of their own."""
    from rest_framework import serializers

    declared = serializer_class._declared_fields
    for name, field in declared.items():
        assert not isinstance(field, serializers.BaseSerializer), name
        assert not hasattr(field, "child"), name
    first, second = serializer_class(data={}), serializer_class(data={})
    for name in declared:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
        assert declared[name].parent is None  # the declared one is never bound


def test_autocomplete_is_small(api):
    body = api.get("/api/v1/autocomplete/?q=Z53").json()
    assert body["release"] == FY2026
    assert body["results"][0]["code"] == "Z53"
    assert len(body["results"]) == 10
    assert set(body["results"][0]) == {"code", "code_undotted", "title", "billable", "why"}
    assert body["message"] == ""
    assert len(api.get("/api/v1/autocomplete/?q=Z53&limit=3").json()["results"]) == 3
    assert api.get("/api/v1/autocomplete/?q=").json()["results"] == []
    assert api.get("/api/v1/autocomplete/").status_code == 400


def test_autocomplete_says_why_and_when_nothing_matches(api):
    words = api.get("/api/v1/autocomplete/?q=pneu").json()
    assert words["results"][0]["code"] == "J18.9"
    assert words["results"][0]["why"] == "Index (FY2017, mapped to FY2026): Pneumonia"
    nothing = api.get("/api/v1/autocomplete/?q=qqqzz").json()
    assert nothing["results"] == []
    assert nothing["message"].startswith("Nothing matches “qqqzz”")


def test_a_word_search_says_why_each_code_was_found(api):
    body = api.get("/api/v1/codes/?q=uti").json()
    first = body["results"][0]
    assert (body["match"], first["code"]) == ("words", "N39.0")
    assert first["why"].startswith("abbreviation: UTI = urinary tract infection; Index")
    assert any("index terms from FY2017, mapped to FY2026" in note for note in body["notes"])
    assert api.get("/api/v1/codes/?q=Z53.01").json()["results"][0]["why"] == ""


@pytest.mark.parametrize(
    ("url", "most"),
    # The published releases are read on each use in tests (at most once a second in a worker:
    # one or two of each count); a code's detail, notes, history and POA exemption come from
    # what the process holds of each release (codes.release_data), its row too; suggestions
    # are entries of the code set.
    [
        ("/api/v1/codes/Z53/?fy=2026", 2),
        ("/api/v1/codes/S72.001/", 2),
        ("/api/v1/codes/T78.07XA/?fy=2026", 2),  # deleted: its last date of service
        ("/api/v1/codes/G35/history/", 2),
        ("/api/v1/codes/?q=Z53.01", 4),
        ("/api/v1/codes/?q=cholera", 4),
        ("/api/v1/codes/?prefix=Z53", 3),
        ("/api/v1/autocomplete/?q=Z53", 2),
        ("/api/v1/autocomplete/?q=fracture", 3),
    ],
)
def test_a_request_takes_a_bounded_number_of_queries(
    api, warm_code_sets, django_assert_max_num_queries, url, most
):
    with django_assert_max_num_queries(most):
        response = api.get(url)
    assert response.status_code in (200, 404)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/codes/Z53%00/", 404),
        ("/api/v1/codes/Z53%00/history/", 404),
        ("/api/v1/codes/Z53/?release=FY2026%00", 404),
        (f"/api/v1/codes/Z53/?release={'F' * 5000}", 404),
        ("/api/v1/releases/FY2026%00/", 404),
        ("/api/v1/releases/FY2026%00/changes/", 404),
        ("/api/v1/codes/?q=Z53%00", 400),
        ("/api/v1/autocomplete/?q=Z53%00", 400),
        (f"/api/v1/codes/{'Z' * 5000}/", 404),
    ],
)
def test_garbage_is_answered_without_a_server_error(api, url, status):
    # PostgreSQL refuses NUL bytes in text: such input must never reach a query.
    response = api.get(url)
    assert response.status_code == status
    assert response.json()["error"]["code"] in (
        "code_not_found",
        "release_not_found",
        "invalid_parameter",
    )
