"""Real FHIR clients against a live server: fhirpy (Beda Software) and fhirclient (SMART on FHIR,
whose R4 models refuse what R4 does not define) expand, validate and read as EHR pickers and
validators do.

The server is Django's LiveServerThread started here rather than pytest-django's live_server:
that one makes its tests transactional, and flushing the test database after them would take the
session's bundled releases away from every test that follows.
"""

import pytest
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from fhirclient import client as smart_client
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.parameters import Parameters
from fhirclient.models.valueset import ValueSet
from fhirpy import SyncFHIRClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.fixture
def server_url():
    # An in-memory SQLite test database is only seen through the test's own connection.
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread = LiveServerThread("localhost", _StaticFilesHandler, connections_override=shared)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()
    for conn in shared.values():
        conn.dec_thread_sharing()


def outputs(parameters: dict) -> dict:
    return {p["name"]: p for p in parameters["parameter"]}


def test_fhirpy_expands_with_a_filter_and_validates_a_code(server_url):
    client = SyncFHIRClient(f"{server_url}/fhir")
    expansion = client.execute(
        "ValueSet/$expand",
        method="get",
        params={"url": f"{SYSTEM}?fhir_vs", "filter": "pneumonia", "count": 5},
    )
    assert expansion["resourceType"] == "ValueSet"
    assert expansion["expansion"]["contains"][0]["code"] == "J18.9"
    assert len(expansion["expansion"]["contains"]) == 5
    billable = f"{server_url}/fhir/ValueSet/icd-10-cm-billable"
    answer = client.execute(
        "ValueSet/$validate-code",
        method="post",
        data={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "url", "valueUri": billable},
                {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "Z53"}},
            ],
        },
    )
    found = outputs(answer)
    assert found["result"]["valueBoolean"] is False
    assert "Z53.01" in found["message"]["valueString"]
    value_set = client.reference("ValueSet", "icd-10-cm-billable-fy2026").to_resource()
    assert value_set["version"] == "2026"


def test_fhirclient_reads_the_capability_statement_and_expands(server_url):
    smart = smart_client.FHIRClient(
        settings={"app_id": "icdsite-tests", "api_base": f"{server_url}/fhir/"}
    )
    server = smart.server
    server.get_capability()
    assert isinstance(server.capabilityStatement, CapabilityStatement)
    operations = {
        (resource.type, operation.name)
        for resource in server.capabilityStatement.rest[0].resource
        for operation in resource.operation
    }
    assert ("ValueSet", "expand") in operations and ("ConceptMap", "translate") in operations
    expansion = ValueSet(
        server.request_json(f"ValueSet/$expand?url={SYSTEM}?fhir_vs=isa/E11.6&count=3")
    )
    assert [item.code for item in expansion.expansion.contains] == ["E11.6", "E11.61", "E11.610"]
    response = server.post_json(
        "ValueSet/$validate-code",
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "url", "valueUri": f"{SYSTEM}?fhir_vs"},
                {"name": "code", "valueCode": "e119"},
                {"name": "system", "valueUri": SYSTEM},
            ],
        },
    )
    answer = Parameters(response.json())
    found = {p.name: p for p in answer.parameter}
    assert found["result"].valueBoolean is True
    assert found["normalized-code"].valueCode == "E11.9"
    read = ValueSet.read("icd-10-cm-billable-fy2025", server)
    assert read.compose.include[0].filter[0].property == "billable"
