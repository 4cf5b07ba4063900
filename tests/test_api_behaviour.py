"""API behaviour shared by every endpoint: rate limits, tokens, CORS, errors, the schema."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import Http404
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from codes.api import views
from codes.api.negotiation import RememberingContentNegotiation
from codes.fhir.views import FhirView

pytestmark = pytest.mark.django_db


counters = caches["throttle"]


@pytest.fixture
def rate_limits(settings):
    counters.clear()
    settings.API_ANON_RATE = "3/minute"
    settings.API_USER_RATE = "6/minute"
    yield
    counters.clear()


@pytest.fixture
def token():
    user = User.objects.create_user("ehr-vendor")
    return Token.objects.create(user=user).key


def test_anonymous_callers_are_throttled_with_retry_after(api, rate_limits):
    for _ in range(3):
        assert api.get("/api/v1/codes/Z53/").status_code == 200
    response = api.get("/api/v1/codes/Z53/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "Cache-Control" not in response
    assert api.post("/api/v1/validate/", {"codes": ["Z53"]}, format="json").status_code == 429
    assert api.get("/fhir/metadata").status_code == 429


def test_the_sites_type_ahead_is_throttled_apart_from_the_api(api, client, rate_limits):
    for _ in range(3):
        assert client.get("/search/suggest/?q=pneu").status_code == 200
    refused = client.get("/search/suggest/?q=pneu")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    # The API's allowance from the same address is untouched.
    assert api.get("/api/v1/codes/Z53/").status_code == 200


def test_a_token_gets_the_higher_rate(api, rate_limits, token):
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for _ in range(6):
        assert api.get("/api/v1/autocomplete/?q=Z53").status_code == 200
    assert api.get("/api/v1/autocomplete/?q=Z53").status_code == 429


def test_each_caller_is_counted_once_by_the_limit_that_applies(api, rate_limits, token):
    """Anonymous callers by address (anon scope) only, token holders by user (user scope) only:
    a second count would cost cache round trips on every request and limit nothing."""
    api.get("/api/v1/releases/")
    assert counters.get("throttle_anon_127.0.0.1") and not counters.get("throttle_user_127.0.0.1")
    user_id = Token.objects.get(key=token).user_id
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.get("/api/v1/releases/")
    assert len(counters.get(f"throttle_user_{user_id}")) == 1
    assert len(counters.get("throttle_anon_127.0.0.1")) == 1


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(api, rate_limits):
    for number in range(4):
        response = api.get("/api/v1/releases/", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
    assert response.status_code == 429


def test_a_wrong_token_is_a_401(api, settings):
    settings.API_ANON_RATE = settings.API_USER_RATE = ""
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/releases/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_reads_are_open_to_any_origin(api, settings):
    settings.API_ANON_RATE = ""
    response = api.get("/api/v1/codes/Z53/", HTTP_ORIGIN="https://ehr.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    preflight = api.options(
        "/api/v1/validate/",
        HTTP_ORIGIN="https://ehr.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "DELETE" not in preflight["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization", "if-none-match"} <= allowed
    fhir = api.get("/fhir/metadata", HTTP_ORIGIN="https://ehr.example")
    assert fhir["Access-Control-Allow-Origin"] == "*"
    admin = api.get("/admin/login/", HTTP_ORIGIN="https://ehr.example")
    assert "Access-Control-Allow-Origin" not in admin
    page = api.get("/codes/Z53/", HTTP_ORIGIN="https://ehr.example")
    assert "Access-Control-Allow-Origin" not in page


def test_an_answer_is_the_same_for_every_origin_so_a_shared_cache_may_keep_one_copy(api, settings):
    """A CDN that ignores Vary hands the copy it fetched without an Origin to browsers too."""
    settings.API_ANON_RATE = ""
    without_origin = api.get("/api/v1/codes/Z53.01/?fy=2026")
    from_a_page = api.get("/api/v1/codes/Z53.01/?fy=2026", HTTP_ORIGIN="https://ehr.example")
    for response in (without_origin, from_a_page):
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "origin" not in response["Vary"].lower()
    assert without_origin["ETag"] == from_a_page["ETag"]
    refused = api.get("/api/v1/codes/Z99.999/", HTTP_ORIGIN="https://ehr.example")
    assert refused.status_code == 404
    assert refused["Access-Control-Allow-Origin"] == "*"  # a page may read why


def test_an_unexpected_failure_is_a_500_that_tells_no_internals(api, monkeypatch, settings):
    settings.API_ANON_RATE = ""

    def broken(*args, **kwargs):
        raise RuntimeError('SELECT * FROM "codes_code" at /work/main/codes/lookup.py')

    monkeypatch.setattr(views, "find_code", broken)
    response = api.get("/api/v1/codes/Z53/")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "server_error", "message": "the server failed to answer", "field": ""}
    }


def test_an_unknown_api_url_is_a_json_404(api, settings):
    settings.API_ANON_RATE = ""
    for url in ("/api/v1/nothing/", "/api/v1/codes/Z53/nothing/"):
        response = api.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_head_answers_without_a_body(api, settings):
    settings.API_ANON_RATE = ""
    response = api.head("/api/v1/releases/FY2026/download.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content == b""


def test_the_schema_and_its_docs_are_served(api):
    schema = api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/releases/",
        "/api/v1/releases/{label}/",
        "/api/v1/releases/{label}/changes/",
        "/api/v1/releases/{label}/changes.csv",
        "/api/v1/releases/{label}/download.csv",
        "/api/v1/releases/{label}/download.json",
        "/api/v1/codes/",
        "/api/v1/codes/{code}/",
        "/api/v1/codes/{code}/history/",
        "/api/v1/autocomplete/",
        "/api/v1/validate/",
        "/fhir/CodeSystem/$lookup",
        "/fhir/CodeSystem/$validate-code",
        "/fhir/CodeSystem",
        "/fhir/metadata",
    ):
        assert path in paths, path
    token_scheme = schema.json()["components"]["securitySchemes"]["tokenAuth"]
    assert token_scheme["in"] == "header" and token_scheme["name"] == "Authorization"
    assert {"tokenAuth": []} in schema.json()["paths"]["/api/v1/codes/{code}/"]["get"]["security"]
    assert api.get("/api/docs/").status_code == 200


def test_a_cached_api_answer_is_the_same_bytes_and_headers(api, django_assert_num_queries):
    first = api.get("/api/v1/codes/Z53.01/?fy=2026")
    assert first.status_code == 200
    with django_assert_num_queries(1):  # the published releases (read every time in tests)
        second = api.get("/api/v1/codes/Z53.01/?fy=2026")
    assert second.content == first.content
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary", "Allow"):
        assert second[header] == first[header], header
    assert first["Content-Type"] == "application/json"
    assert first.json()["code"] == "Z53.01"


def test_a_cached_answer_is_not_served_to_an_accept_it_does_not_meet(api):
    assert api.get("/api/v1/codes/Z53.01/").status_code == 200
    refused = api.get("/api/v1/codes/Z53.01/", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert refused.json()["error"]["code"] == "not_acceptable"


ACCEPT_HEADERS = [
    None,
    "",
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/csv",
    "application/fhir+json",
    "application/fhir+json, application/json;q=0.5",
    "application/json;q=0.1, application/fhir+json",
    "garbage",
    ",,,",
    "application/json" + "x" * 300,  # longer than what is remembered
]


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
@pytest.mark.parametrize("wanted_format", [None, "json", "csv"])
@pytest.mark.parametrize("view_class", [views.CodeDetailView, FhirView])
def test_remembered_negotiation_chooses_as_drf_does(rf, accept, wanted_format, view_class):
    """Every header twice (the second from memory), against DRF's own choice or refusal."""
    query = {"format": wanted_format} if wanted_format else {}
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    view = view_class()
    renderers = view.get_renderers()
    remembering = view.get_content_negotiator()
    assert isinstance(remembering, RememberingContentNegotiation)

    def choice(negotiator):
        request = Request(rf.get("/", query, **headers))
        try:
            renderer, media_type = negotiator.select_renderer(request, renderers)
        except (NotAcceptable, Http404) as refusal:
            return type(refusal)
        return renderers.index(renderer), media_type

    drf = DefaultContentNegotiation()
    drf.settings = remembering.settings
    expected = choice(drf)
    assert choice(remembering) == expected
    assert choice(remembering) == expected


def test_each_accept_header_gets_its_own_answer_from_the_same_url(api):
    plain = api.get("/fhir/metadata", HTTP_ACCEPT="application/json")
    fhir = api.get("/fhir/metadata", HTTP_ACCEPT="application/fhir+json")
    default = api.get("/fhir/metadata")
    assert plain["Content-Type"] == "application/json"
    assert fhir["Content-Type"] == "application/fhir+json"
    assert default["Content-Type"] == "application/fhir+json"
    assert api.get("/fhir/metadata", HTTP_ACCEPT="text/html").status_code == 406
    assert api.get("/fhir/metadata", HTTP_ACCEPT="application/json")["Content-Type"] == (
        "application/json"
    )
