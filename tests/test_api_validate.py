"""API v1 POST validate/: reasons, suggestions and releases per item, limits, query counts."""

import json

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

Z53_BILLABLE = [
    "Z53.01",
    "Z53.09",
    "Z53.1",
    "Z53.20",
    "Z53.21",
    "Z53.29",
    "Z53.31",
    "Z53.32",
    "Z53.33",
    "Z53.39",
    "Z53.8",
    "Z53.9",
]


def validate(api, body, **headers):
    return api.post("/api/v1/validate/", body, format="json", **headers)


def one(api, code, **selection) -> dict:
    response = validate(api, {"codes": [code], **selection})
    assert response.status_code == 200, response.content
    return response.json()["results"][0]


def codes_of(suggestions: list[dict]) -> list[str]:
    return [s["code"] for s in suggestions]


def test_z53_is_a_header_with_the_twelve_billable_codes_below(api):
    verdict = one(api, "Z53")
    assert (verdict["reason"], verdict["exists"], verdict["billable"]) == (
        "header_not_billable",
        True,
        False,
    )
    assert codes_of(verdict["suggestions"]) == Z53_BILLABLE
    assert verdict["release"]["label"] == "FY2026"


def test_z53_01_is_ok_in_any_form(api):
    for text in ("Z53.01", "z5301"):
        verdict = one(api, text)
        assert (verdict["reason"], verdict["code"], verdict["code_undotted"]) == (
            "ok",
            "Z53.01",
            "Z5301",
        )
        assert verdict["normalised"] is (text != "Z53.01")
        assert verdict["suggestions"] == []


def test_g35_depends_on_the_release_chosen_by_fy_or_date(api):
    assert one(api, "G35", fy="2025")["reason"] == "ok"
    fy2026 = one(api, "G35", fy="2026")
    assert fy2026["reason"] == "header_not_billable"
    assert "G35.A" in codes_of(fy2026["suggestions"])
    by_date = one(api, "G35", date="2025-11-01")
    assert (by_date["reason"], by_date["release"]["label"]) == ("header_not_billable", "FY2026")
    assert one(api, "G35", date="2025-09-30")["reason"] == "ok"


def test_the_release_may_also_be_chosen_in_the_query_string(api):
    response = api.post("/api/v1/validate/?fy=2025", {"codes": ["G35"]}, format="json")
    assert response.json()["results"][0]["reason"] == "ok"
    body_wins = api.post(
        "/api/v1/validate/?fy=2025", {"codes": ["G35"], "fy": "2026"}, format="json"
    )
    assert body_wins.json()["results"][0]["reason"] == "header_not_billable"


@pytest.mark.parametrize("query", ["fy=20x5", "date=2025-13-01", "date=2025-10-01&date=soon"])
def test_a_malformed_release_in_the_query_string_is_refused_even_when_the_body_names_one(
    api, query
):
    response = api.post(
        f"/api/v1/validate/?{query}", {"codes": ["G35"], "fy": "2026", "date": " "}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] in ("fy", "date")


def test_w19a_is_missing_its_placeholder(api):
    verdict = one(api, "W19A")
    assert verdict["reason"] == "missing_placeholder_x"
    assert codes_of(verdict["suggestions"]) == ["W19.XXXA"]


def test_s72_001_is_missing_its_seventh_character_and_lists_the_completions(api):
    verdict = one(api, "S72.001")
    assert verdict["reason"] == "missing_seventh_character"
    completions = codes_of(verdict["suggestions"])
    assert completions[:3] == ["S72.001A", "S72.001B", "S72.001C"]
    assert len(completions) == 16
    assert verdict["seventh_characters"][0] == {
        "character": "A",
        "meaning": "initial encounter for closed fracture",
        "notes": [],
    }


def test_t78_07xa_is_deleted_in_fy2026_with_its_successors(api):
    verdict = one(api, "T78.07XA", fy="2026")
    assert (verdict["reason"], verdict["exists"]) == ("deleted", False)
    assert codes_of(verdict["suggestions"]) == ["T78.070A", "T78.071A", "T78.079A"]
    assert one(api, "T78.07XA", fy="2025")["reason"] == "ok"


def test_other_reasons(api):
    assert one(api, "S72.001Z")["reason"] == "invalid_seventh_character"
    assert one(api, "QA0", fy="2025")["reason"] == "not_in_release"
    for text in ("", "12", "<script>", "Z53.01.1"):
        malformed = one(api, text)
        assert (malformed["reason"], malformed["code"], malformed["exists"]) == (
            "malformed",
            "",
            False,
        )


def test_each_item_is_validated_against_the_release_in_force_on_its_date(api):
    body = {
        "items": [
            {"code": "G35", "date": "2025-09-30"},
            {"code": "G35", "date": "2025-10-01"},
            {"code": "G35"},
            {"code": "G35", "date": "2019-06-01"},
        ],
        "fy": "2025",
    }
    answer = validate(api, body).json()
    assert answer["release"]["label"] == "FY2025"  # for items without a date
    assert [
        (r["reason"], r["release"] and r["release"]["label"], r["date"]) for r in answer["results"]
    ] == [
        ("ok", "FY2025", "2025-09-30"),
        ("header_not_billable", "FY2026", "2025-10-01"),
        ("ok", "FY2025", None),
        ("release_not_found", None, "2019-06-01"),
    ]
    assert answer["summary"] == {"ok": 2, "header_not_billable": 1, "release_not_found": 1}
    assert (answer["count"], answer["valid"]) == (4, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "codes"),
        ({"codes": ["Z53"], "items": []}, "codes"),
        ({"codes": "Z53"}, "codes"),
        ({"codes": [53]}, "codes[0]"),
        ({"codes": ["Z" * 101]}, "codes[0]"),
        ({"items": ["Z53"]}, "items[0]"),
        ({"items": [{"date": "2025-01-01"}]}, "items[0]"),
        ({"items": [{"code": "Z53", "date": "01/02/2025"}]}, "items[0].date"),
        ({"items": [{"code": "Z53", "date": 20250101}]}, "items[0].date"),
        ({"codes": ["Z53"], "fy": "20x6"}, "fy"),
        ({"codes": ["Z53"], "date": "tomorrow"}, "date"),
        ({"codes": ["Z53"], "fy": ["2026"]}, "fy"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(api, body, field):
    response = validate(api, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_parameter", field)


def test_a_release_that_does_not_exist_is_a_404(api):
    response = validate(api, {"codes": ["Z53"], "release": "FY1999"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "release_not_found"


def test_more_than_ten_thousand_items_is_a_400_with_a_clear_message(api):
    response = validate(api, {"codes": ["Z53"] * 10_001})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("too_many_items", "codes")
    assert "10,000" in error["message"]


def test_a_body_over_the_limit_is_a_413(api, settings):
    settings.API_MAX_BODY_BYTES = 1_000
    response = validate(api, {"codes": ["Z53.01"] * 200})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_body_that_is_not_json_is_a_400_or_415(api):
    response = api.post("/api/v1/validate/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "malformed_json",
        "message": "the request body is not valid JSON",
        "field": "",
    }
    form = api.post("/api/v1/validate/", {"codes": "Z53"})
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    assert (
        api.post("/api/v1/validate/", "[1, 2]", content_type="application/json").status_code == 400
    )


def test_validate_is_post_only(api):
    response = api.get("/api/v1/validate/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_ten_thousand_codes_with_dates_take_a_bounded_number_of_queries(
    api, warm_code_sets, django_assert_max_num_queries
):
    codes = ["Z5301", "Z53", "W19A", "T7807XA", "QQQ", "S72001", "G35", "Z53.9"]
    items = [
        {"code": codes[n % len(codes)], "date": f"2025-{1 + n % 12:02}-{1 + n % 28:02}"}
        for n in range(10_000)
    ]
    body = json.dumps({"items": items})
    assert len(body) < 500_000
    # The default release, the releases of the dates, then per release the published releases
    # (for the codes absent from it: read on each use in tests, once a second in a worker);
    # the codes, their presence elsewhere and POA exemptions come from memory.
    with django_assert_max_num_queries(5):
        response = api.post("/api/v1/validate/", body, content_type="application/json")
    answer = response.json()
    assert answer["count"] == 10_000
    assert {r["release"]["label"] for r in answer["results"]} == {"FY2025", "FY2026"}
    assert answer["summary"]["ok"] > 0
