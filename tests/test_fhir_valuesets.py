"""ValueSet $expand and $validate-code on ICD-10-CM's implicit value sets (?fhir_vs,
?fhir_vs=isa/E11) and the billable value set, on the bundled FY2025/FY2026 releases."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.valueset import ValueSet
from rest_framework.test import APIClient

from codes.fhir.valuesets import MAX_EXPANSION

from .test_fhir import SYSTEM, parsed, values

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

ALL = f"{SYSTEM}?fhir_vs"
BILLABLE = "http://testserver/fhir/ValueSet/icd-10-cm-billable"


@pytest.fixture
def fhir():
    return APIClient()


def expand(fhir, **params):
    return fhir.get("/fhir/ValueSet/$expand", params)


def validate(fhir, **params):
    return fhir.get("/fhir/ValueSet/$validate-code", params)


def codes(value_set: ValueSet) -> list[str]:
    return [item.code for item in value_set.expansion.contains or []]


def test_the_is_a_value_set_is_a_code_and_everything_below_it_in_tabular_order(fhir):
    value_set = parsed(expand(fhir, url=f"{ALL}=isa/Z53", valueSetVersion="2026"), ValueSet)
    assert value_set.expansion.total == 16
    assert codes(value_set)[:4] == ["Z53", "Z53.0", "Z53.01", "Z53.09"]
    abstract = {item.code for item in value_set.expansion.contains if item.abstract}
    assert abstract == {"Z53", "Z53.0", "Z53.2", "Z53.3"}
    used = {p.name: p for p in value_set.expansion.parameter}
    assert used["used-codesystem"].valueUri == f"{SYSTEM}|2026"
    assert value_set.compose.include[0].filter[0].value == "Z53"


def test_an_expansion_pages_with_count_and_offset_and_always_gives_the_total(fhir):
    first = parsed(expand(fhir, url=ALL, count="10"), ValueSet)
    assert first.expansion.total == 98_186
    assert len(codes(first)) == 10
    second = parsed(expand(fhir, url=ALL, count="10", offset="10"), ValueSet)
    assert second.expansion.offset == 10
    assert not set(codes(first)) & set(codes(second))
    counted = parsed(expand(fhir, url=f"{ALL}=isa/E11", count="0"), ValueSet)
    assert counted.expansion.total > 0 and not counted.expansion.contains


def test_an_expansion_too_large_to_send_whole_is_a_clear_error(fhir):
    response = expand(fhir, url=ALL)
    assert response.status_code == 400
    issue = parsed(response, OperationOutcome).issue[0]
    assert issue.code == "too-costly"
    assert "98,186" in issue.diagnostics and "count" in issue.diagnostics
    capped = parsed(expand(fhir, url=ALL, count="5000"), ValueSet)
    assert len(codes(capped)) == MAX_EXPANSION


def test_the_billable_value_set_has_only_billable_codes(fhir):
    value_set = parsed(expand(fhir, url=BILLABLE, filter="Z53", valueSetVersion="2026"), ValueSet)
    assert value_set.expansion.total == 12
    assert all(not item.abstract for item in value_set.expansion.contains)
    by_id = parsed(fhir.get("/fhir/ValueSet/icd-10-cm-billable-fy2025/$expand?count=1"), ValueSet)
    assert by_id.version == "2025"
    assert by_id.expansion.total == 74_260


def test_a_filter_ranks_words_as_the_site_search_does(fhir):
    value_set = parsed(expand(fhir, url=ALL, filter="pneumonia", count="5"), ValueSet)
    assert codes(value_set)[0] == "J18.9"
    heart = parsed(expand(fhir, url=BILLABLE, filter="heart attack", count="3"), ValueSet)
    assert codes(heart)[0].startswith("I21")
    partial = parsed(expand(fhir, url=ALL, filter="diabetes type 2 with", count="5"), ValueSet)
    assert all(code.startswith("E11") for code in codes(partial))


def test_an_expansion_of_another_version_or_date(fhir):
    g35 = parsed(expand(fhir, url=BILLABLE, filter="G35", valueSetVersion="2025"), ValueSet)
    assert codes(g35) == ["G35"]
    g35_2026 = parsed(expand(fhir, url=BILLABLE, filter="G35", date="2025-11-01"), ValueSet)
    assert "G35" not in codes(g35_2026)
    unknown = expand(fhir, url=f"{BILLABLE}|2030", count="1")
    assert unknown.status_code == 404


def test_an_unknown_value_set_is_a_404(fhir):
    response = expand(fhir, url="http://example.org/ValueSet/nothing")
    assert response.status_code == 404
    assert parsed(response, OperationOutcome).issue[0].code == "not-found"
    assert validate(fhir, url="http://example.org/vs", code="E11.9").status_code == 404


def test_validate_code_in_the_billable_value_set_says_why_a_header_is_not_in_it(fhir):
    answer = values(parsed(validate(fhir, url=BILLABLE, code="Z53", system=SYSTEM), Parameters))
    assert answer["result"] is False
    issue = answer["issues"].issue[0]
    assert (issue.code, issue.details.coding[0].code) == ("code-invalid", "not-in-vs")
    assert "Z53.01" in answer["message"] and "header" in answer["message"]
    ok = values(parsed(validate(fhir, url=BILLABLE, code="Z53.01", system=SYSTEM), Parameters))
    assert (ok["result"], ok["version"]) == (True, "2026")


def test_validate_code_in_an_implicit_value_set(fhir):
    inside = values(parsed(validate(fhir, url=f"{ALL}=isa/E11", code="E11.9"), Parameters))
    assert inside["result"] is True
    outside = values(parsed(validate(fhir, url=f"{ALL}=isa/E11", code="E10.9"), Parameters))
    assert outside["result"] is False
    header = values(parsed(validate(fhir, url=ALL, code="E11"), Parameters))
    assert header["result"] is True
    refused = values(parsed(validate(fhir, url=ALL, code="E11", abstract="false"), Parameters))
    assert refused["result"] is False
    kinds = [issue.details.coding[0].code for issue in refused["issues"].issue]
    assert kinds == ["code-rule", "not-in-vs"]


def test_validate_code_by_post_with_a_coding_of_another_version(fhir):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": BILLABLE},
            {"name": "valueSetVersion", "valueString": "2026"},
            {"name": "coding", "valueCoding": {"system": SYSTEM, "version": "2025", "code": "G35"}},
        ],
    }
    response = fhir.post("/fhir/ValueSet/$validate-code", body, format="json")
    answer = values(parsed(response, Parameters))
    assert answer["result"] is False
    kinds = {issue.details.coding[0].code for issue in answer["issues"].issue}
    assert "vs-invalid" in kinds


def test_validate_code_of_another_system_names_it_unknown(fhir):
    answer = values(
        parsed(
            validate(fhir, url=ALL, code="22298006", system="http://snomed.info/sct"), Parameters
        )
    )
    assert answer["result"] is False
    assert answer["x-unknown-system"] == "http://snomed.info/sct"


def test_value_sets_are_searched_and_read(fhir):
    bundle = parsed(fhir.get("/fhir/ValueSet"), Bundle)
    assert [entry.resource.id for entry in bundle.entry] == [
        "icd-10-cm-billable-fy2026",
        "icd-10-cm-billable-fy2025",
        "icd-10-cm-billable-fy2017",
    ]
    read = parsed(fhir.get("/fhir/ValueSet/icd-10-cm-billable-fy2026"), ValueSet)
    assert read.url == BILLABLE
    assert read.compose.include[0].filter[0].property == "billable"
    assert fhir.get("/fhir/ValueSet/nothing").status_code == 404


def test_expand_and_validate_code_take_a_bounded_number_of_queries(
    fhir, warm_code_sets, django_assert_max_num_queries
):
    expand(fhir, url=ALL, filter="fracture of femur", count="10")  # warm the word index
    with django_assert_max_num_queries(2):
        expand(fhir, url=ALL, filter="fracture of femur", count="10")
    with django_assert_max_num_queries(2):
        validate(fhir, url=BILLABLE, code="Z53", system=SYSTEM)


def test_validate_code_without_a_value_set_checks_the_code_system(fhir):
    """As the HL7 validator asks of a coding bound to no value set."""
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "E11.9"}},
            {"name": "default-to-latest-version", "valueBoolean": True},
        ],
    }
    answer = values(
        parsed(fhir.post("/fhir/ValueSet/$validate-code", body, format="json"), Parameters)
    )
    assert (answer["result"], answer["version"]) == (True, "2026")
    unknown = values(
        parsed(validate(fhir, code="22298006", system="http://snomed.info/sct"), Parameters)
    )
    assert unknown["x-caused-by-unknown-system"] == "http://snomed.info/sct"


def inline(*parameters) -> dict:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


DIABETES_BUT_UNSPECIFIED = {
    "resourceType": "ValueSet",
    "url": "http://example.org/fhir/ValueSet/type-2-diabetes",
    "version": "1.0.0",
    "status": "active",
    "compose": {
        "include": [
            {"system": SYSTEM, "filter": [{"property": "concept", "op": "is-a", "value": "E11"}]}
        ],
        "exclude": [{"system": SYSTEM, "concept": [{"code": "E11.9"}]}],
    },
}


def test_validate_code_in_a_value_set_sent_with_the_request(fhir):
    def check(code: str) -> dict:
        body = inline(
            {"name": "valueSet", "resource": DIABETES_BUT_UNSPECIFIED},
            {"name": "coding", "valueCoding": {"system": SYSTEM, "code": code}},
        )
        response = fhir.post("/fhir/ValueSet/$validate-code", body, format="json")
        return values(parsed(response, Parameters))

    assert check("E11.65")["result"] is True
    excluded = check("E11.9")
    assert excluded["result"] is False
    assert "type-2-diabetes|1.0.0" in excluded["message"]
    assert check("E10.9")["result"] is False


def test_a_value_set_named_by_url_and_sent_as_a_tx_resource(fhir):
    """As the HL7 validator asks about a binding of an implementation guide."""
    conditions = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/condition-code",
        "status": "active",
        "compose": {"include": [{"system": "http://snomed.info/sct"}, {"system": SYSTEM}]},
    }

    def check(system: str, code: str) -> dict:
        body = inline(
            {"name": "url", "valueUri": conditions["url"]},
            {"name": "tx-resource", "resource": conditions},
            {"name": "coding", "valueCoding": {"system": system, "code": code}},
        )
        response = fhir.post("/fhir/ValueSet/$validate-code", body, format="json")
        return values(parsed(response, Parameters))

    assert check(SYSTEM, "I21.9")["result"] is True
    snomed = check("http://snomed.info/sct", "22298006")
    assert snomed["result"] is False
    assert snomed["x-caused-by-unknown-system"] == "http://snomed.info/sct"
    body = inline(
        {"name": "url", "valueUri": conditions["url"]},
        {"name": "tx-resource", "resource": conditions},
    )
    expansion = fhir.post("/fhir/ValueSet/$expand", body, format="json")
    assert expansion.status_code == 400
    assert parsed(expansion, OperationOutcome).issue[0].code == "not-supported"


def test_expand_a_value_set_sent_with_the_request(fhir):
    listed = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": SYSTEM,
                    "version": "2025",
                    "concept": [{"code": "Z53"}, {"code": "I10"}, {"code": "G35"}],
                }
            ]
        },
    }
    value_set = parsed(
        fhir.post(
            "/fhir/ValueSet/$expand",
            inline({"name": "valueSet", "resource": listed}),
            format="json",
        ),
        ValueSet,
    )
    assert codes(value_set) == ["G35", "I10", "Z53"]  # tabular order, of FY2025
    assert [item.abstract for item in value_set.expansion.contains] == [None, None, True]
    unsupported = dict(
        listed,
        compose={
            "include": [
                {"system": SYSTEM, "filter": [{"property": "kind", "op": "=", "value": "category"}]}
            ]
        },
    )
    response = fhir.post(
        "/fhir/ValueSet/$expand",
        inline({"name": "valueSet", "resource": unsupported}),
        format="json",
    )
    assert parsed(response, OperationOutcome).issue[0].code == "not-supported"
