"""One normalisation of a typed code for every entry point (codes.icd10): NFKC, then ASCII only.
A fullwidth or compatibility letter is the letter (Ｉ１０ is I10, ſ72.0 is S72.0); a letter that
only str.upper() turns into an ASCII one (ı, dotless i) is no code anywhere."""

from urllib.parse import quote

import pytest

from codes.icd10 import parse_code_input, undotted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

FHIR_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Ｉ１０", "I10"), ("ſ72.0", "S720"), ("ｚ５３．０１", "Z5301"), ("ı10", None), ("İ10", None)],
)
def test_the_normalisation(typed, code):
    assert parse_code_input(typed) == code
    assert (undotted(typed) == code) if code else (undotted(typed).isascii() is False)


def answers(client, typed: str) -> dict:
    quoted = quote(typed)
    validated = client.post(
        "/api/v1/validate/", {"codes": [typed]}, content_type="application/json"
    ).json()["results"][0]
    lookup = client.get(f"/fhir/CodeSystem/$lookup?system={FHIR_SYSTEM}&code={quoted}")
    fhir_valid = client.get(f"/fhir/CodeSystem/$validate-code?url={FHIR_SYSTEM}&code={quoted}")
    result = next(p for p in fhir_valid.json()["parameter"] if p["name"] == "result")
    return {
        "page": client.get(f"/codes/{quoted}/").status_code,
        "api": client.get(f"/api/v1/codes/{quoted}/").status_code,
        "validate": validated["code"],
        "fhir lookup": lookup.status_code,
        "fhir validate": result["valueBoolean"],
    }


def test_every_entry_point_reads_a_look_alike_the_same_way(client):
    assert answers(client, "ı10") == {
        "page": 404,
        "api": 404,
        "validate": "",
        "fhir lookup": 404,
        "fhir validate": False,
    }
    for typed in ("Ｉ１０", "I10"):
        assert answers(client, typed) == {
            "page": 301 if typed != "I10" else 200,  # to the canonical address
            "api": 200,
            "validate": "I10",
            "fhir lookup": 200,
            "fhir validate": True,
        }
    assert answers(client, "ſ72.0")["validate"] == "S72.0"
