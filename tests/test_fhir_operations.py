"""CodeSystem $subsumes, ConceptMap $translate (deleted codes to their successors), operations on
one resource, and search with _summary, _count and _id, on the bundled releases."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.conceptmap import ConceptMap
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from rest_framework.test import APIClient

from codes.codeset import codeset_for
from codes.validation import successors_with_source

from .test_fhir import SYSTEM, parsed, values

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


@pytest.fixture
def fhir():
    return APIClient()


def matches(parameters: Parameters) -> list[tuple[str, str]]:
    found = []
    for parameter in parameters.parameter:
        if parameter.name == "match":
            parts = {part.name: part for part in parameter.part}
            found.append((parts["equivalence"].valueCode, parts["concept"].valueCoding.code))
    return found


@pytest.mark.parametrize(
    ("code_a", "code_b", "outcome"),
    [
        ("E11", "E11.9", "subsumes"),
        ("E11.9", "E11", "subsumed-by"),
        ("e119", "E11.9", "equivalent"),
        ("E11.9", "E10.9", "not-subsumed"),
    ],
)
def test_subsumes_says_how_two_codes_are_related(fhir, code_a, code_b, outcome):
    response = fhir.get(
        "/fhir/CodeSystem/$subsumes", {"system": SYSTEM, "codeA": code_a, "codeB": code_b}
    )
    assert values(parsed(response, Parameters))["outcome"] == outcome


def test_subsumes_across_versions_is_refused_clearly(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "codingA",
                "valueCoding": {"system": SYSTEM, "version": "2025", "code": "G35"},
            },
            {
                "name": "codingB",
                "valueCoding": {"system": SYSTEM, "version": "2026", "code": "G35"},
            },
        ],
    }
    response = fhir.post("/fhir/CodeSystem/$subsumes", body, format="json")
    assert response.status_code == 400
    issue = parsed(response, OperationOutcome).issue[0]
    assert issue.code == "not-supported"
    assert "same version" in issue.diagnostics
    unknown = fhir.get("/fhir/CodeSystem/$subsumes", {"codeA": "E11", "codeB": "QQQ"})
    assert unknown.status_code == 404
    same = fhir.get("/fhir/CodeSystem/icd-10-cm-fy2025/$subsumes", {"codeA": "G35", "codeB": "G35"})
    assert values(parsed(same, Parameters))["outcome"] == "equivalent"


def test_translate_gives_a_deleted_code_its_successors_as_the_rest_api_does(fhir, fy2026):
    response = fhir.get(
        "/fhir/ConceptMap/$translate",
        {"system": SYSTEM, "code": "T78.07XA", "targetsystem": SYSTEM, "conceptMapVersion": "2026"},
    )
    answer = parsed(response, Parameters)
    expected, _ = successors_with_source("T7807XA", codeset_for(fy2026))
    assert [code for _, code in matches(answer)] == [s.dotted for s in expected]
    assert values(answer)["result"] is True
    assert "T78.07XA" in values(answer)["message"]


def test_translate_names_the_equivalence_of_each_successor(fhir):
    billable = parsed(fhir.get("/fhir/ConceptMap/$translate", {"code": "E11.9"}), Parameters)
    assert matches(billable) == [("equal", "E11.9")]
    header = parsed(fhir.get("/fhir/ConceptMap/$translate", {"code": "Z53.0"}), Parameters)
    assert matches(header) == [("specializes", "Z53.01"), ("specializes", "Z53.09")]
    g35 = parsed(
        fhir.get("/fhir/ConceptMap/icd-10-cm-successors-fy2026/$translate", {"code": "G35"}),
        Parameters,
    )
    assert g35.parameter[0].valueBoolean is True
    assert {equivalence for equivalence, _ in matches(g35)} <= {
        "equivalent",
        "narrower",
        "specializes",
    }
    never = parsed(fhir.get("/fhir/ConceptMap/$translate", {"code": "QQQ"}), Parameters)
    assert values(never)["result"] is False and not matches(never)


def test_translate_refuses_what_it_cannot_do(fhir):
    reverse = fhir.get("/fhir/ConceptMap/$translate", {"code": "E11.9", "reverse": "true"})
    assert parsed(reverse, OperationOutcome).issue[0].code == "not-supported"
    other = fhir.get(
        "/fhir/ConceptMap/$translate", {"code": "E11.9", "targetsystem": "http://snomed.info/sct"}
    )
    assert values(parsed(other, Parameters))["result"] is False
    assert (
        fhir.get(
            "/fhir/ConceptMap/$translate", {"url": "http://x/ConceptMap/y", "code": "E11"}
        ).status_code
        == 404
    )


def test_a_concept_map_per_release_lists_the_conversion_table(fhir):
    bundle = parsed(fhir.get("/fhir/ConceptMap", {"_summary": "true"}), Bundle)
    assert bundle.total == 3
    assert all(entry.resource.group is None for entry in bundle.entry)  # not a summary element
    concept_map = parsed(fhir.get("/fhir/ConceptMap/icd-10-cm-successors-fy2026"), ConceptMap)
    assert concept_map.version == "2026"
    elements = {element.code: element for element in concept_map.group[0].element}
    assert "T78.07XA" in elements


def test_code_system_search_takes_summary_count_and_id(fhir):
    counted = parsed(fhir.get("/fhir/CodeSystem", {"_summary": "count"}), Bundle)
    assert (counted.total, counted.entry) == (3, None)
    paged = parsed(fhir.get("/fhir/CodeSystem", {"_count": "1", "_offset": "1"}), Bundle)
    assert [e.resource.id for e in paged.entry] == ["icd-10-cm-fy2025"]
    assert {link.relation for link in paged.link} == {"self", "next", "previous"}
    by_id = parsed(fhir.get("/fhir/CodeSystem", {"_id": "icd-10-cm-fy2017"}), Bundle)
    assert [e.resource.version for e in by_id.entry] == ["2017"]
    summary = parsed(
        fhir.get("/fhir/CodeSystem/icd-10-cm-fy2026", {"_summary": "true"}), CodeSystem
    )
    assert summary.description is None and summary.meta.tag[0].code == "SUBSETTED"
    assert fhir.get("/fhir/CodeSystem", {"_summary": "maybe"}).status_code == 400


def test_operations_on_one_code_system(fhir):
    lookup = fhir.get("/fhir/CodeSystem/icd-10-cm-fy2025/$lookup", {"code": "G35"})
    assert values(parsed(lookup, Parameters))["property"]["billable"] == [True]
    validate = fhir.get("/fhir/CodeSystem/icd-10-cm-fy2025/$validate-code", {"code": "G35"})
    assert values(parsed(validate, Parameters))["version"] == "2025"
    clash = fhir.get(
        "/fhir/CodeSystem/icd-10-cm-fy2025/$lookup", {"code": "G35", "version": "2026"}
    )
    assert clash.status_code == 400
    assert fhir.get("/fhir/CodeSystem/icd-10-cm-fy1999/$lookup", {"code": "G35"}).status_code == 404


def test_versions_lists_r4(fhir):
    answer = parsed(fhir.get("/fhir/$versions"), Parameters)
    assert [(p.name, p.valueCode) for p in answer.parameter] == [
        ("version", "4.0"),
        ("default", "4.0"),
    ]


def test_the_error_code_system_is_readable(fhir):
    system = parsed(fhir.get("/fhir/CodeSystem/icdsite-error"), CodeSystem)
    assert "invalid_parameter" in [concept.code for concept in system.concept]
