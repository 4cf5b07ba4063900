"""A header whose 7-character children are codes of their own (C44.102 -> C44.1021) is a header to
code below, not a code missing a 7th character: that reason is for 7th-character definitions.

Issue #18 took E08.321 for such a header; it is not: E08.32 has a <sevenChrDef> (laterality 1, 2,
3, 9), so E08.321 misses a 7th character as S72.001 does. The 52 headers (37 in FY2025) the issue
counted are the C44.102 kind."""

import dataclasses

import pytest

from codes import validation
from codes.codeset import codeset_for
from codes.icd10 import dotted
from codes.validation import validate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


def seventh_position_headers(codeset) -> list[str]:
    """Headers of 6 characters or fewer with 7-character codes right below them and no
    7th-character definition: C44.102 (C44.1021), C44.109..."""
    return [
        code
        for code, entry in codeset.entries.items()
        if not entry.is_billable
        and codeset.seventh_characters_for(code) is None
        and any(
            len(child) == 7 and child[:6] == code.ljust(6, "X")
            for child in codeset.children.get(code, [])
        )
    ]


def test_c44_102_is_a_header_listing_its_billable_codes(fy2026):
    verdict = validate("C44.102", fy2026)
    assert verdict.reason == validation.HEADER_NOT_BILLABLE
    assert [s.dotted for s in verdict.suggestions] == ["C44.1021", "C44.1022"]
    assert verdict.seventh_characters == ()


def test_e08_321_misses_the_laterality_its_definition_puts_in_the_7th_character(fy2026):
    verdict = validate("E08.321", fy2026)
    assert verdict.reason == validation.MISSING_SEVENTH_CHARACTER
    assert [s.dotted for s in verdict.suggestions] == [
        "E08.3211",
        "E08.3212",
        "E08.3213",
        "E08.3219",
    ]
    assert [(c.character, c.meaning) for c in verdict.seventh_characters] == [
        ("1", "right eye"),
        ("2", "left eye"),
        ("3", "bilateral"),
        ("9", "unspecified eye"),
    ]


def test_s72_001_still_misses_its_seventh_character(fy2026):
    verdict = validate("S72.001", fy2026)
    assert verdict.reason == validation.MISSING_SEVENTH_CHARACTER
    assert [c.character for c in verdict.seventh_characters][:3] == ["A", "B", "C"]


def test_a_wrong_seventh_position_of_a_header_without_a_definition_is_no_7th_character(fy2026):
    verdict = validate("C44.1025", fy2026)
    assert verdict.reason == validation.NOT_IN_RELEASE
    assert validate("S72.001Z", fy2026).reason == validation.INVALID_SEVENTH_CHARACTER


@pytest.mark.parametrize(("label", "count"), [("FY2026", 52), ("FY2025", 37)])
def test_every_header_with_a_seventh_position_but_no_definition_is_header_not_billable(
    label, count
):
    from codes.models import Release

    release = Release.objects.get(label=label)
    headers = seventh_position_headers(codeset_for(release))
    assert len(headers) == count  # as issue #18 counted them
    reasons = {v.reason for v in validation.validate_many([dotted(c) for c in headers], release)}
    assert reasons == {validation.HEADER_NOT_BILLABLE}


def test_without_definitions_a_header_is_header_not_billable(fy2026):
    """A release imported from its order file alone has no 7th-character definitions: S72.001
    is then answered as the header it is, with the same billable codes."""
    codeset = dataclasses.replace(codeset_for(fy2026), seventh_characters={})
    verdict = validation._verdict("S72.001", "S72001", fy2026, codeset, [], [], poa_exempt=None)
    assert verdict.reason == validation.HEADER_NOT_BILLABLE
    assert [s.dotted for s in verdict.suggestions][:2] == ["S72.001A", "S72.001B"]


def test_the_rest_api_answers_both_reasons(api):
    body = {"codes": ["C44.102", "S72.001", "E08.321"], "release": "FY2026"}
    c44, s72, e08 = api.post("/api/v1/validate/", body, format="json").json()["results"]
    assert c44["reason"] == "header_not_billable"
    assert [s["code"] for s in c44["suggestions"]] == ["C44.1021", "C44.1022"]
    assert c44["seventh_characters"] == []
    assert s72["reason"] == "missing_seventh_character"
    assert e08["reason"] == "missing_seventh_character"
    assert e08["seventh_characters"][0] == {"character": "1", "meaning": "right eye", "notes": []}


def test_the_fhir_validate_code_message_carries_the_reason(api):
    def message(code: str) -> str:
        response = api.get(
            "/fhir/CodeSystem/$validate-code",
            {"url": SYSTEM, "code": code, "version": "2026"},
            HTTP_ACCEPT="application/fhir+json",
        )
        parameters = response.json()["parameter"]
        return next(p["valueString"] for p in parameters if p["name"] == "message")

    c44 = message("C44.102")
    assert "is a header in FY2026" in c44 and "C44.1021" in c44
    assert "7th character" not in c44
    assert "needs a 7th character" in message("S72.001")
