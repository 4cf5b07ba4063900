"""The API's JSON (codes.api.renderers): orjson writes the bytes DRF's own renderer writes."""

import datetime

import pytest
from rest_framework.renderers import JSONRenderer

from codes.api.renderers import FastJSONRenderer

pytestmark = pytest.mark.django_db

ANSWERS = [
    "/api/v1/codes/S72.001/?fy=2026",  # notes, 7th characters, a family
    "/api/v1/codes/T78.07XA/?fy=2026",  # deleted: an error with its reasons
    "/api/v1/releases/",  # datetimes: DRF writes UTC as "Z"
    "/api/v1/releases/FY2026/",
    "/api/v1/search/?q=heart+attack&fy=2026",
    "/api/v1/autocomplete/?q=fract",
    "/api/v1/history/G35/",
]


@pytest.mark.parametrize("path", ANSWERS)
def test_every_answer_is_the_bytes_drf_would_write(api, fy2026, path):
    response = api.get(path)
    assert response.status_code in (200, 404), response.content[:200]
    # Read back and written by DRF: the same bytes (separators, non-ASCII, escapes, key order).
    assert response.content == JSONRenderer().render(response.json())


def test_a_validation_answer_is_the_bytes_drf_would_write(api, fy2026):
    codes = ["Z53", "W19A", "T78.07XA", "S72.001", "XYZ12", "E11.9", "z5301", "S72.001A"]
    response = api.post("/api/v1/validate/", {"codes": codes * 50, "fy": "2026"}, format="json")
    assert response.status_code == 200
    assert response.content == JSONRenderer().render(response.json())
    assert len(response.json()["results"]) == 400


def test_what_orjson_writes_otherwise_is_left_to_drf():
    moment = datetime.datetime(2025, 10, 1, 4, 5, 6, 789123, tzinfo=datetime.UTC)
    data = {
        "at": moment,
        "day": moment.date(),
        1: "an int key",
        "separator": "line\u2028paragraph\u2029",
        "text": "Ménière’s",
    }
    fast = FastJSONRenderer().render(data)
    assert fast == JSONRenderer().render(data)
    assert b'"2025-10-01T04:05:06.789123Z"' in fast and b"\\u2028" in fast
    indented = FastJSONRenderer().render(data, "application/json; indent=2")
    assert indented == JSONRenderer().render(data, "application/json; indent=2")
    assert b"\n  " in indented
