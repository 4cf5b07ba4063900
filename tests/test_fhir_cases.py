"""The HL7 terminology-ecosystem tests that apply to ICD-10-CM (simple, notSelectable, display,
version, case, unknown system, codeableConcept, expand, lookup), adapted to ICD-10-CM codes and
run against this server with the suite's own comparison.

tests/fhir_cases/cases.json lists each adapted case: the HL7 test it comes from (its request and
response copied, unchanged, under tests/fhir_cases/hl7/), the ICD-10-CM request, the expected
response (tests/fhir_cases/icd10cm/) and what differs from the HL7 test and why (`deviations`;
`omits`: the parameters it leaves out). Each adapted
expectation is also checked against its HL7 original: the same parameters, the same issues
(severity, type, tx-issue-type), the same result, but for the differences it states.
"""

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from .fhir_conformance import case_differences, r4_schema_errors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

CASES_DIR = Path(__file__).parent / "fhir_cases"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "fhir-tx-tests" / "tests"
CASES = json.loads((CASES_DIR / "cases.json").read_text())["cases"]
URLS = {
    "lookup": "/fhir/CodeSystem/$lookup",
    "cs-validate-code": "/fhir/CodeSystem/$validate-code",
    "validate-code": "/fhir/ValueSet/$validate-code",
    "expand": "/fhir/ValueSet/$expand",
}
# What the adaptations add to the HL7 tests' answers, by design (see each case's deviations).
ADDED_PARAMETERS = {"message", "issues", "normalized-code"}
LOOKUP_PARAMETERS = {"definition"}  # ICD-10-CM has no definitions


def read(relative: str):
    return json.loads((CASES_DIR / relative).read_text(encoding="utf-8-sig"))


@pytest.fixture
def fhir():
    return APIClient()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_server_answers_the_adapted_hl7_case(fhir, case):
    response = fhir.post(URLS[case["operation"]], case["request"], format="json")
    if case.get("http-code") == "4xx":
        assert 400 <= response.status_code < 500
    else:
        assert response.status_code == 200
    answer = response.json()
    assert r4_schema_errors(answer) == []
    assert case_differences(read(case["response"]), answer) == []


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_adapted_case_keeps_the_shape_of_the_hl7_one(case):
    original, adapted = read(case["hl7"]["response"]), read(case["response"])
    assert adapted["resourceType"] == original["resourceType"]
    if original["resourceType"] == "Parameters":
        ours, theirs = _parameter_names(adapted), _parameter_names(original)
        allowed = ADDED_PARAMETERS if case.get("deviations") else set()
        if case["operation"] == "lookup":
            allowed = LOOKUP_PARAMETERS | {"designation", "abstract"}
        assert theirs - ours <= allowed | set(case.get("omits", [])), case.get("deviations")
        every = _parameter_names(original, optional_too=True)
        assert ours - every <= allowed | {"code", "system", "version", "display", "abstract"}
        assert _result(adapted) == _result(original)
        if case["operation"] != "lookup" and not case.get("deviations"):
            assert _issue_kinds(adapted) == _issue_kinds(original)
        else:  # a deviation adds an information issue, never loses an error
            assert {k for k in _issue_kinds(original) if k[0] == "error"} <= _issue_kinds(adapted)
    elif original["resourceType"] == "ValueSet":
        assert set(adapted["expansion"]) >= {k for k in original["expansion"] if k[0] != "$"} - {
            "property",  # R5's expansion.property
            "id",
        }
    else:
        assert [i["code"] for i in adapted["issue"]] == [
            i["code"] for i in original["issue"] if "$optional$" not in i
        ]


def test_the_copies_are_the_hl7_files():
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not here (../shared is only on CI and developer machines)")
    for case in CASES:
        for key in ("request", "response"):
            relative = case["hl7"][key].removeprefix("hl7/")
            assert (CASES_DIR / case["hl7"][key]).read_bytes() == (SHARED / relative).read_bytes()


def _parameter_names(parameters: dict, *, optional_too: bool = False) -> set[str]:
    return {
        p["name"]
        for p in parameters["parameter"]
        if optional_too or p.get("$optional$") is not True
    }


def _result(parameters: dict):
    return next(
        (p.get("valueBoolean") for p in parameters["parameter"] if p["name"] == "result"), None
    )


def _issue_kinds(parameters: dict) -> set[tuple[str, str, str]]:
    issues = next(
        (p["resource"]["issue"] for p in parameters["parameter"] if p["name"] == "issues"), []
    )
    return {
        (i["severity"], i["code"], (i.get("details", {}).get("coding") or [{}])[0].get("code", ""))
        for i in issues
    }
