"""XML, as tx.fhir.org serves it: every resource in application/fhir+xml (Accept or _format),
elements in the specification's order, the same content as the JSON answer, and Parameters
bodies read from XML."""

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.valueset import ValueSet
from rest_framework.test import APIClient

from .fhir_conformance import r4_schema_errors, xml_order_errors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_XML = "application/fhir+xml"
URLS = [
    "/fhir/metadata",
    "/fhir/metadata?mode=terminology",
    "/fhir/$versions",
    "/fhir/CodeSystem",
    "/fhir/CodeSystem/icd-10-cm-fy2026",
    "/fhir/CodeSystem/$lookup?code=Z53",
    "/fhir/CodeSystem/$validate-code?code=z53&display=Broken%20leg",
    "/fhir/CodeSystem/$validate-code?code=T78.07XA",
    "/fhir/CodeSystem/$subsumes?codeA=E11&codeB=E11.9",
    "/fhir/ValueSet",
    f"/fhir/ValueSet/$expand?url={SYSTEM}?fhir_vs=isa/Z53&includeDesignations=true",
    "/fhir/ValueSet/$validate-code?url=http://testserver/fhir/ValueSet/icd-10-cm-billable&code=Z53",
    "/fhir/ConceptMap/icd-10-cm-successors-fy2026",
    "/fhir/ConceptMap/$translate?code=T78.07XA",
    "/fhir/CodeSystem/$lookup?code=QQQ",  # an OperationOutcome
    "/fhir/Patient/1",
]


@pytest.fixture
def fhir():
    return APIClient()


def comparable(resource) -> dict:
    """A parsed resource without what changes from one answer to the next (an expansion's id
    and time)."""
    data = resource.model_dump()
    if data.get("expansion"):
        data["expansion"] |= {"identifier": None, "timestamp": None}
    return data


@pytest.mark.parametrize("url", URLS)
def test_every_answer_is_served_in_xml_in_the_order_fhir_defines(fhir, url):
    as_json = fhir.get(url, HTTP_ACCEPT="application/fhir+json")
    as_xml = fhir.get(url, HTTP_ACCEPT=FHIR_XML)
    assert as_xml.status_code == as_json.status_code
    assert as_xml["Content-Type"] == f"{FHIR_XML}; charset=utf-8"
    assert as_xml.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<")
    assert r4_schema_errors(as_json.json()) == []
    assert xml_order_errors(as_xml.content) == []
    # A FHIR library reads the same resource from both.
    model = get_fhir_model_class(as_json.json()["resourceType"])
    from_json = model.model_validate(as_json.json())
    assert comparable(model.model_validate_xml(as_xml.content)) == comparable(from_json)


def test_format_asks_for_xml_or_json_whatever_the_accept_header(fhir):
    for wanted in ("xml", "application/fhir+xml", "text/xml"):
        response = fhir.get("/fhir/metadata", {"_format": wanted}, HTTP_ACCEPT="application/json")
        assert response["Content-Type"].split(";")[0] in (FHIR_XML, "text/xml")
    response = fhir.get("/fhir/metadata", {"_format": "json"}, HTTP_ACCEPT=FHIR_XML)
    assert response["Content-Type"] == "application/fhir+json"
    assert fhir.get("/fhir/metadata", {"_format": "turtle"}).status_code == 406


def test_xml_parses_as_fhir(fhir):
    expansion = fhir.get(
        "/fhir/ValueSet/$expand", {"url": f"{SYSTEM}?fhir_vs=isa/E11.6", "_format": "xml"}
    )
    value_set = ValueSet.model_validate_xml(expansion.content)
    assert value_set.expansion.contains[0].code == "E11.6"


def test_a_parameters_body_in_xml_is_read(fhir):
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<Parameters xmlns="http://hl7.org/fhir">
  <parameter><name value="url"/><valueUri value="{SYSTEM}?fhir_vs"/></parameter>
  <parameter>
    <name value="codeableConcept"/>
    <valueCodeableConcept>
      <coding><system value="http://snomed.info/sct"/><code value="22298006"/></coding>
      <coding><system value="{SYSTEM}"/><code value="I21.9"/></coding>
    </valueCodeableConcept>
  </parameter>
  <parameter><name value="abstract"/><valueBoolean value="false"/></parameter>
</Parameters>"""
    response = fhir.post(
        "/fhir/ValueSet/$validate-code", body, content_type=FHIR_XML, HTTP_ACCEPT=FHIR_XML
    )
    answer = Parameters.model_validate_xml(response.content)
    found = {p.name: p for p in answer.parameter}
    assert found["result"].valueBoolean is True
    assert found["code"].valueCode == "I21.9"


def test_xml_that_is_not_well_formed_or_dangerous_is_a_400(fhir):
    for body in ("<Parameters", '<!DOCTYPE x [<!ENTITY e "e">]><Parameters/>'):
        response = fhir.post("/fhir/CodeSystem/$lookup", body, content_type=FHIR_XML)
        assert response.status_code == 400


def test_characters_xml_cannot_carry_are_replaced(fhir):
    response = fhir.get("/fhir/CodeSystem/$validate-code", {"code": "Z53\x01", "_format": "xml"})
    assert response.status_code == 200
    assert "Z53\ufffd".encode() in response.content
