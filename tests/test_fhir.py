"""The FHIR facade: every answer is valid against the R4 JSON schema (tests/fhir_schema), parses
as a FHIR resource (fhir.resources, R4B models: 8.x ships no R4 package; R4B keeps R4's
CodeSystem, Parameters, OperationOutcome, Bundle and capability resources unchanged) and says the
right thing about real FY2025/FY2026 codes."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.terminologycapabilities import TerminologyCapabilities
from rest_framework.test import APIClient

from .fhir_conformance import r4_schema_errors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def fhir():
    return APIClient()


def parsed(response, model):
    """The answer as a FHIR model, once it has passed the R4 JSON schema."""
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    data = response.json()
    assert r4_schema_errors(data) == []
    return model.model_validate(data)


def values(parameters: Parameters) -> dict:
    """name -> value of the simple parameters; properties as code -> [values]."""
    found: dict = {"property": {}}
    for parameter in parameters.parameter:
        if parameter.name == "property":
            parts = {part.name: part for part in parameter.part}
            value = parts["value"]
            found["property"].setdefault(parts["code"].valueCode, []).append(
                value.valueCode
                if value.valueCode is not None
                else value.valueBoolean
                if value.valueBoolean is not None
                else value.valueString
            )
            continue
        if parameter.part:  # designation
            found[parameter.name] = {
                part.name: part.valueString or part.valueCode for part in parameter.part
            }
            continue
        if parameter.resource is not None:  # issues
            found[parameter.name] = parameter.resource
            continue
        found[parameter.name] = next(
            v
            for v in (
                parameter.valueString,
                parameter.valueBoolean,
                parameter.valueCode,
                parameter.valueUri,
                parameter.valueCanonical,
                parameter.valueCodeableConcept,
            )
            if v is not None
        )
    return found


def lookup(fhir, **params):
    return fhir.get("/fhir/CodeSystem/$lookup", {"system": SYSTEM, **params})


def validate_code(fhir, **params):
    return fhir.get("/fhir/CodeSystem/$validate-code", {"url": SYSTEM, **params})


def test_lookup_gives_display_version_and_properties(fhir):
    answer = values(parsed(lookup(fhir, code="Z53", version="2026"), Parameters))
    assert answer["name"] == "ICD-10-CM"
    assert answer["version"] == "2026"
    assert answer["display"].startswith("Persons encountering health services")
    properties = answer["property"]
    assert properties["billable"] == [False]
    assert properties["notSelectable"] == [True]
    assert properties["child"] == ["Z53.0", "Z53.1", "Z53.2", "Z53.3", "Z53.8", "Z53.9"]
    assert "parent" not in properties
    assert answer["abstract"] is True
    assert answer["designation"] == {
        "language": "en",
        "value": "Persons encntr hlth serv for spec proc & trtmt, not crd out",
    }
    z5301 = values(parsed(lookup(fhir, code="z5301"), Parameters))
    assert z5301["property"]["parent"] == ["Z53.0"]
    assert z5301["property"]["billable"] == [True]


def test_lookup_reads_version_as_fiscal_year_or_label_and_date(fhir):
    assert values(parsed(lookup(fhir, code="G35", version="2025"), Parameters))["property"][
        "billable"
    ] == [True]
    by_label = values(parsed(lookup(fhir, code="G35", version="FY2025"), Parameters))
    assert by_label["version"] == "2025"
    by_date = values(parsed(lookup(fhir, code="G35", date="2025-11-01"), Parameters))
    assert (by_date["version"], by_date["property"]["billable"]) == ("2026", [False])


def test_lookup_returns_only_the_properties_asked_for(fhir):
    answer = values(parsed(lookup(fhir, code="Z53.01", property="billable"), Parameters))
    assert set(answer["property"]) == {"billable"}
    every = values(parsed(lookup(fhir, code="Z53.01", property="*"), Parameters))
    assert set(every["property"]) == {
        "billable",
        "notSelectable",
        "inactive",
        "kind",
        "parent",
        "note",
        "poaExempt",  # FY2026 comes with its POA-exempt list
    }


def test_version_2025_reaches_the_release_its_code_system_describes(fhir):
    """What CodeSystem/icd-10-cm-fy2025 advertises as its version names that release back."""
    for system in parsed(fhir.get("/fhir/CodeSystem"), Bundle).entry:
        version = system.resource.version
        answer = values(parsed(lookup(fhir, code="Z53", version=version), Parameters))
        assert answer["version"] == version
        instance = fhir.get(f"/fhir/CodeSystem/{system.resource.id}/$lookup", {"code": "Z53"})
        assert values(parsed(instance, Parameters))["version"] == version


def test_lookup_by_post_with_parameters(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "W19.XXXA"}},
            {"name": "version", "valueString": "2026"},
        ],
    }
    response = fhir.post("/fhir/CodeSystem/$lookup", body, format="json")
    answer = values(parsed(response, Parameters))
    assert answer["display"] == "Unspecified fall, initial encounter"


def test_lookup_of_an_unknown_code_is_a_404_operation_outcome(fhir):
    response = lookup(fhir, code="T78.07XA", version="2026")
    assert response.status_code == 404
    outcome = parsed(response, OperationOutcome)
    assert outcome.issue[0].code == "not-found"
    assert "T78.070A" in outcome.issue[0].diagnostics


def test_validate_code_is_true_for_a_code_of_the_version_and_says_when_it_is_a_header(fhir):
    ok = values(parsed(validate_code(fhir, code="Z53.01"), Parameters))
    assert (ok["result"], ok["display"], ok["version"]) == (
        True,
        "Procedure and treatment not carried out due to patient smoking",
        "2026",
    )
    assert "message" not in ok and "issues" not in ok
    header = values(parsed(validate_code(fhir, code="Z53"), Parameters))
    assert header["result"] is True  # a notSelectable code is still a code of ICD-10-CM
    assert "header" in header["message"] and "Z53.01" in header["message"]
    issue = header["issues"].issue[0]
    assert (issue.severity, issue.code, issue.details.coding[0].code) == (
        "information",
        "business-rule",
        "code-rule",
    )
    refused = values(parsed(validate_code(fhir, code="Z53", abstract="false"), Parameters))
    assert refused["result"] is False
    assert refused["issues"].issue[0].severity == "error"
    g35 = values(parsed(validate_code(fhir, code="G35", date="2025-11-01"), Parameters))
    assert (g35["result"], g35["version"]) == (True, "2026")
    assert "header" in g35["message"]
    deleted = values(parsed(validate_code(fhir, code="T78.07XA", version="2026"), Parameters))
    assert deleted["result"] is False
    assert "T78.070A" in deleted["message"]
    assert deleted["issues"].issue[0].details.coding[0].code == "invalid-code"


def test_validate_code_of_an_unknown_code_is_false_not_an_error(fhir):
    for code in ("QQQ", "<script>"):
        response = validate_code(fhir, code=code)
        assert response.status_code == 200
        answer = values(parsed(response, Parameters))
        assert answer["result"] is False
        assert "display" not in answer
        assert f"'{code}'" in answer["message"]  # quoted as sent


def test_validate_code_reports_a_display_that_does_not_match(fhir):
    answer = values(parsed(validate_code(fhir, code="Z53.01", display="Broken leg"), Parameters))
    assert answer["result"] is False
    assert "Broken leg" in answer["message"]
    assert answer["issues"].issue[0].details.coding[0].code == "invalid-display"
    lenient = values(
        parsed(
            validate_code(
                fhir, code="Z53.01", display="Broken leg", **{"lenient-display-validation": "true"}
            ),
            Parameters,
        )
    )
    assert lenient["result"] is True
    assert lenient["issues"].issue[0].severity == "warning"
    short = values(
        parsed(
            validate_code(
                fhir, code="Z53.01", display="Proc/trtmt not carried out due to patient smoking"
            ),
            Parameters,
        )
    )
    assert short["result"] is True


def test_validate_code_says_when_it_read_a_code_in_another_form(fhir):
    answer = values(parsed(validate_code(fhir, code="e119"), Parameters))
    assert (answer["result"], answer["code"], answer["normalized-code"]) == (True, "e119", "E11.9")
    issue = answer["issues"].issue[0]
    assert (issue.severity, issue.details.coding[0].code) == ("information", "code-rule")


def test_validate_code_by_post_with_a_codeable_concept(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": "22298006"},
                        {"system": SYSTEM, "code": "W19A"},
                    ]
                },
            },
            {"name": "date", "valueDateTime": "2025-11-01T10:00:00Z"},
        ],
    }
    response = fhir.post(
        "/fhir/CodeSystem/$validate-code", body, format="json", HTTP_ACCEPT=FHIR_JSON
    )
    answer = values(parsed(response, Parameters))
    assert answer["result"] is False
    assert "W19.XXXA" in answer["message"]
    assert "code" not in answer  # no coding was valid


def test_a_codeable_concept_is_valid_when_any_of_its_codings_is(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": "22298006"},
                        {"system": SYSTEM, "code": "I21.9"},
                    ]
                },
            }
        ],
    }
    answer = values(
        parsed(fhir.post("/fhir/CodeSystem/$validate-code", body, format="json"), Parameters)
    )
    assert (answer["result"], answer["code"]) == (True, "I21.9")
    assert {issue.severity for issue in answer["issues"].issue} == {"information"}


def test_code_and_coding_together_are_an_error(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "code", "valueCode": "E11.9"},
            {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "E11.9"}},
        ],
    }
    response = fhir.post("/fhir/CodeSystem/$validate-code", body, format="json")
    assert response.status_code == 400
    assert parsed(response, OperationOutcome).issue[0].code == "invalid"


@pytest.mark.parametrize(
    ("params", "kind", "caused_by"),
    [
        (
            {"url": "http://snomed.info/sct", "code": "22298006"},
            "not-found",
            "http://snomed.info/sct",
        ),
        ({"code": "Z53", "version": "2030"}, "not-found", f"{SYSTEM}|2030"),
        ({"code": "Z53", "version": "FY2099 special"}, "not-found", f"{SYSTEM}|FY2099%20special"),
    ],
)
def test_an_unknown_system_or_version_is_false_with_an_issue(fhir, params, kind, caused_by):
    response = fhir.get("/fhir/CodeSystem/$validate-code", params)
    assert response.status_code == 200
    answer = values(parsed(response, Parameters))
    assert answer["result"] is False
    assert answer["issues"].issue[0].details.coding[0].code == kind
    assert answer["x-caused-by-unknown-system"] == caused_by


@pytest.mark.parametrize(
    ("params", "status", "issue"),
    [
        ({"system": SYSTEM}, 400, "invalid"),
        ({"system": "http://snomed.info/sct", "code": "22298006"}, 404, "not-found"),
        ({"code": "Z53", "version": "2030"}, 404, "not-found"),
        ({"code": "Z53", "version": "FY2099 special"}, 404, "not-found"),
        ({"code": "Z53", "date": "someday"}, 400, "invalid"),
    ],
)
def test_a_lookup_that_cannot_be_answered_is_an_operation_outcome(fhir, params, status, issue):
    response = fhir.get("/fhir/CodeSystem/$lookup", params)
    assert response.status_code == status
    outcome = parsed(response, OperationOutcome)
    assert outcome.issue[0].code == issue
    assert outcome.issue[0].details.coding[0].system.endswith("/fhir/CodeSystem/icdsite-error")


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": "code"},
        {"resourceType": "Parameters", "parameter": [{"valueCode": "Z53"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": 53}]},
        [1, 2, 3],
    ],
)
def test_a_post_that_is_not_parameters_is_a_400_operation_outcome(fhir, body):
    response = fhir.post("/fhir/CodeSystem/$validate-code", body, format="json")
    assert response.status_code == 400
    assert parsed(response, OperationOutcome).issue[0].code == "invalid"


def test_a_post_that_is_not_json_is_an_operation_outcome(fhir):
    response = fhir.post("/fhir/CodeSystem/$lookup", "{", content_type=FHIR_JSON)
    assert response.status_code == 400
    assert parsed(response, OperationOutcome).issue[0].code == "structure"


def test_code_system_search_lists_one_code_system_per_published_release(fhir):
    bundle = parsed(fhir.get("/fhir/CodeSystem"), Bundle)
    assert bundle.type == "searchset"
    assert bundle.total == 3
    systems = [entry.resource for entry in bundle.entry]
    assert [(s.id, s.version, s.count) for s in systems] == [
        ("icd-10-cm-fy2026", "2026", 98_186),
        ("icd-10-cm-fy2025", "2025", 97_584),
        ("icd-10-cm-fy2017", "2017", 93_830),
    ]
    assert all(s.url == SYSTEM and s.content == "not-present" for s in systems)
    only = parsed(fhir.get("/fhir/CodeSystem", {"url": SYSTEM, "version": "2025"}), Bundle)
    assert [entry.resource.version for entry in only.entry] == ["2025"]
    none = parsed(fhir.get("/fhir/CodeSystem", {"url": "http://snomed.info/sct"}), Bundle)
    assert none.total == 0


def test_a_code_system_can_be_read_by_id(fhir):
    system = parsed(fhir.get("/fhir/CodeSystem/icd-10-cm-fy2026"), CodeSystem)
    assert (system.version, system.identifier[0].value) == (
        "2026",
        "urn:oid:2.16.840.1.113883.6.90",
    )
    missing = fhir.get("/fhir/CodeSystem/icd-10-cm-fy1999")
    assert missing.status_code == 404
    parsed(missing, OperationOutcome)


def test_metadata_is_a_capability_statement(fhir):
    statement = parsed(fhir.get("/fhir/metadata"), CapabilityStatement)
    assert statement.fhirVersion == "4.0.1"
    resource = statement.rest[0].resource[0]
    assert resource.type == "CodeSystem"
    assert {op.name for op in resource.operation} == {"lookup", "validate-code", "subsumes"}
    assert statement.instantiates == ["http://hl7.org/fhir/CapabilityStatement/terminology-server"]
    assert [r.type for r in statement.rest[0].resource] == ["CodeSystem", "ValueSet", "ConceptMap"]
    assert all(op.definition for r in statement.rest[0].resource for op in r.operation)
    terminology = parsed(
        fhir.get("/fhir/metadata", {"mode": "terminology"}), TerminologyCapabilities
    )
    assert [v.code for v in terminology.codeSystem[0].version] == ["2026", "2025", "2017"]


def test_plain_json_is_served_when_asked_for(fhir):
    response = fhir.get("/fhir/metadata", HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json"
    assert fhir.get("/fhir/metadata", {"format": "xml"}).status_code == 200


def test_an_unknown_fhir_url_is_an_operation_outcome(fhir):
    response = fhir.get("/fhir/Patient/1")
    assert response.status_code == 404
    parsed(response, OperationOutcome)


def test_an_operation_not_done_here_is_not_supported(fhir):
    for url in ("/fhir/CodeSystem/$closure", "/fhir/ConceptMap/$closure", "/fhir/ValueSet/x/$foo"):
        response = fhir.get(url)
        assert response.status_code == 400
        assert parsed(response, OperationOutcome).issue[0].code == "not-supported"


def test_fhir_operations_take_a_bounded_number_of_queries(
    fhir, warm_code_sets, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        lookup(fhir, code="S72.001", version="2026")
    with django_assert_max_num_queries(2):
        validate_code(fhir, code="Z53", date="2025-11-01")
    with django_assert_max_num_queries(1):
        fhir.get("/fhir/CodeSystem")


def test_garbage_is_an_answer_not_a_server_error(fhir):
    assert lookup(fhir, code="Z53\x00").status_code == 404
    assert lookup(fhir, code="Z53", version="FY2026\x00").status_code == 404
    assert values(parsed(validate_code(fhir, code="Z53\x00"), Parameters))["result"] is False
