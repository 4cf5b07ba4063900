"""FHIR R4 resources as plain dicts: CodeSystem, Parameters, OperationOutcome, Bundle,
CapabilityStatement and TerminologyCapabilities. Nothing here touches the database.
"""

from codes.fiscal import fiscal_year_start
from codes.lookup import CodeDetail
from codes.models import Release
from codes.validation import Verdict

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
OID = "urn:oid:2.16.840.1.113883.6.90"
FHIR_VERSION = "4.0.1"
PUBLISHER = "National Center for Health Statistics (NCHS), Centers for Disease Control"
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"

# Our stable error codes -> FHIR IssueType (http://hl7.org/fhir/issue-type).
ISSUE_TYPES = {
    "invalid_parameter": "invalid",
    "malformed_json": "structure",
    "too_many_items": "too-costly",
    "authentication_failed": "login",
    "permission_denied": "forbidden",
    "not_found": "not-found",
    "release_not_found": "not-found",
    "no_release": "not-found",
    "code_not_found": "not-found",
    "method_not_allowed": "not-supported",
    "not_acceptable": "not-supported",
    "unsupported_media_type": "not-supported",
    "unsupported_system": "not-supported",
    "request_too_large": "too-costly",
    "throttled": "throttled",
    "server_error": "exception",
}

PROPERTIES = [
    {
        "code": "billable",
        "description": "Valid for HIPAA transactions in this version (the order file's flag 1).",
        "type": "boolean",
    },
    {
        "code": "notSelectable",
        "uri": f"{CONCEPT_PROPERTIES}#notSelectable",
        "description": "A header: not valid on a claim; use a billable code below it.",
        "type": "boolean",
    },
    {
        "code": "parent",
        "uri": f"{CONCEPT_PROPERTIES}#parent",
        "description": "The code directly above.",
        "type": "code",
    },
    {
        "code": "child",
        "uri": f"{CONCEPT_PROPERTIES}#child",
        "description": "A code directly below.",
        "type": "code",
    },
    {
        "code": "kind",
        "description": "category, subcategory or code.",
        "type": "string",
    },
]


def version_of(release: Release) -> str:
    """The fiscal year ("2026") for an October release; the label for a mid-year update."""
    if release.effective_date == fiscal_year_start(release.fiscal_year):
        return str(release.fiscal_year)
    return release.label


def resource_id(release: Release) -> str:
    return "icd-10-cm-" + "-".join(release.label.lower().split())


def code_system(release: Release) -> dict:
    return {
        "resourceType": "CodeSystem",
        "id": resource_id(release),
        "url": SYSTEM,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": OID}],
        "version": version_of(release),
        "name": "ICD10CM",
        "title": f"ICD-10-CM {release.label}",
        "status": "active",
        "experimental": False,
        "date": release.effective_date.isoformat(),
        "publisher": PUBLISHER,
        "description": (
            f"ICD-10-CM {release.label}, fiscal year {release.fiscal_year}, in force from "
            f"{release.effective_date.isoformat()}: {release.entry_count} codes, "
            f"{release.billable_count} of them billable."
        ),
        "caseSensitive": False,
        "hierarchyMeaning": "is-a",
        "content": "not-present",
        "count": release.entry_count,
        "property": PROPERTIES,
    }


def search_bundle(releases: list[Release], *, base: str, self_url: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(releases),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base}CodeSystem/{resource_id(release)}",
                "resource": code_system(release),
                "search": {"mode": "match"},
            }
            for release in releases
        ],
    }


def lookup_parameters(detail: CodeDetail, *, properties: set[str]) -> dict:
    """$lookup's answer. `properties`: those asked for (all when empty)."""
    code = detail.code
    wanted = (lambda name: name in properties) if properties else (lambda name: True)
    parameter = [
        {"name": "name", "valueString": "ICD-10-CM"},
        {"name": "version", "valueString": version_of(detail.release)},
        {"name": "display", "valueString": code.long_title},
    ]
    if code.short_title and code.short_title != code.long_title:
        parameter.append({"name": "designation", "part": [_part("value", code.short_title)]})
    values = [
        ("billable", {"valueBoolean": code.is_billable}),
        ("notSelectable", {"valueBoolean": not code.is_billable}),
        ("kind", {"valueString": code.kind}),
    ]
    if detail.ancestors:
        values.append(("parent", {"valueCode": detail.ancestors[-1].dotted}))
    values += [("child", {"valueCode": child.dotted}) for child in detail.children]
    for name, value in values:
        if wanted(name):
            parameter.append(
                {
                    "name": "property",
                    "part": [{"name": "code", "valueCode": name}, {"name": "value", **value}],
                }
            )
    return {"resourceType": "Parameters", "parameter": parameter}


def validate_parameters(verdict: Verdict, *, display: str, title: str) -> dict:
    """$validate-code's answer: result is true when the code exists in the version and is
    billable there (valid on a claim); message says why not, and what to use instead."""
    message = verdict.message
    if verdict.suggestions:
        message += " Suggestions: " + ", ".join(item.dotted for item in verdict.suggestions) + "."
    if display and title and display.strip().lower() != title.lower():
        message += f' The display "{display[:200]}" is not the title of the code, "{title}".'
    parameter = [
        {"name": "result", "valueBoolean": verdict.is_valid},
        {"name": "message", "valueString": message},
    ]
    if title:
        parameter.append({"name": "display", "valueString": title})
    if verdict.code:
        parameter.append({"name": "code", "valueCode": verdict.dotted})
    parameter += [
        {"name": "system", "valueUri": SYSTEM},
        {"name": "version", "valueString": version_of(verdict.release)},
    ]
    return {"resourceType": "Parameters", "parameter": parameter}


def operation_outcome(*, code: str, message: str, field: str = "") -> dict:
    issue = {
        "severity": "error",
        "code": ISSUE_TYPES.get(code, "processing"),
        "details": {"coding": [{"code": code}], "text": message},
        "diagnostics": message,
    }
    if field:
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def capability_statement(*, base: str, date: str, software_version: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "id": "icdsite",
        "name": "ICD10CMTerminologyService",
        "title": "ICD-10-CM terminology service",
        "status": "active",
        "date": date,
        "publisher": "icdsite",
        "kind": "instance",
        "software": {"name": "icdsite", "version": software_version},
        "implementation": {"description": "ICD-10-CM code sets by release", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "CodeSystem",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "url", "type": "uri"},
                            {"name": "version", "type": "token"},
                        ],
                        "operation": [
                            {
                                "name": "lookup",
                                "definition": "http://hl7.org/fhir/OperationDefinition/"
                                "CodeSystem-lookup",
                            },
                            {
                                "name": "validate-code",
                                "definition": "http://hl7.org/fhir/OperationDefinition/"
                                "CodeSystem-validate-code",
                            },
                        ],
                    }
                ],
            }
        ],
    }


def terminology_capabilities(releases: list[Release], *, date: str) -> dict:
    return {
        "resourceType": "TerminologyCapabilities",
        "id": "icdsite",
        "name": "ICD10CMTerminologyService",
        "status": "active",
        "date": date,
        "kind": "instance",
        "codeSystem": [
            {
                "uri": SYSTEM,
                "version": [
                    {"code": version_of(release), "isDefault": position == 0}
                    for position, release in enumerate(releases)
                ],
            }
        ],
    }


def _part(name: str, value: str) -> dict:
    return {"name": name, "valueString": value}
