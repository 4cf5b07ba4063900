"""FHIR R4 resources as plain dicts: CodeSystem, $lookup's and $subsumes' Parameters,
OperationOutcome, Bundle, CapabilityStatement and TerminologyCapabilities. Nothing here touches
the database. Properties are written in the order of the specification (XML needs it).
"""

from codes.icd10 import dotted
from codes.models import Release

from .versions import SYSTEM, resource_id, version_of

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
    "release_not_loaded": "not-found",
    "no_release": "not-found",
    "code_not_found": "not-found",
    "method_not_allowed": "not-supported",
    "not_acceptable": "not-supported",
    "unsupported_media_type": "not-supported",
    "unsupported_system": "not-supported",
    "not_supported": "not-supported",
    "request_too_large": "too-costly",
    "throttled": "throttled",
    "server_error": "exception",
}

ERROR_CODE_SYSTEM_ID = "icdsite-error"
OPERATION_DEFINITION = "http://hl7.org/fhir/OperationDefinition/"
TERMINOLOGY_SERVER = "http://hl7.org/fhir/CapabilityStatement/terminology-server"
# The $expand parameters this server reads (TerminologyCapabilities.expansion.parameter).
EXPANSION_PARAMETERS = [
    "activeOnly",
    "count",
    "date",
    "displayLanguage",
    "excludeNested",
    "filter",
    "force-system-version",
    "includeDesignations",
    "offset",
    "system-version",
]

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
        "code": "inactive",
        "uri": f"{CONCEPT_PROPERTIES}#inactive",
        "description": "Always false: a code no longer used is not in the version at all.",
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
    {
        "code": "note",
        "description": "An instructional note that applies to the code: its own, then those it "
        "inherits from the codes above it, its section, each heading section above that and its "
        "chapter; the description names the note's kind and where it is written.",
        "type": "string",
    },
    {
        "code": "poaExempt",
        "description": "Exempt from present-on-admission (POA) reporting in this version: in "
        "CMS's POA-exempt list. Absent when no POA-exempt list is imported for the version "
        "(unknown, not false).",
        "type": "boolean",
    },
    {
        "code": "notesUnavailable",
        "description": "Only in a version imported without its tabular XML: its instructional "
        "notes are unavailable (an absent note is not an answer), and the version named is the "
        "one whose notes to read.",
        "type": "string",
    },
]
PROPERTY_NAMES = [item["code"] for item in PROPERTIES]
FILTERS = [
    {
        "code": "concept",
        "description": "A code and the codes below it (is-a), or only those below it.",
        "operator": ["is-a", "descendent-of"],
        "value": "A code of ICD-10-CM",
    },
    {
        "code": "billable",
        "description": "Billable codes (true) or headers (false).",
        "operator": ["="],
        "value": "true or false",
    },
]


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
        # As terminology.hl7.org's ICD-10-CM CodeSystem says. Codes in another form (e119,
        # E119) are still read, with a `normalized-code` answer saying so.
        "caseSensitive": True,
        "valueSet": f"{SYSTEM}?fhir_vs",
        "hierarchyMeaning": "is-a",
        "content": "not-present",
        "count": release.entry_count,
        "filter": FILTERS,
        "property": PROPERTIES,
    }


def lookup_parameters(
    *,
    release: Release,
    code: str,
    title: str,
    short_title: str,
    is_billable: bool,
    kind: str,
    parent: str,
    children: list[tuple[str, str]],
    notes: list[tuple[str, str]],
    poa_exempt: bool | None,
    wanted: set[str],
) -> dict:
    """$lookup's answer; `wanted`: the properties asked for (all when empty or "*"); `notes`:
    (text, description) of each note that applies, own notes first."""
    all_wanted = not wanted or "*" in wanted
    parameter = [
        {"name": "name", "valueString": "ICD-10-CM"},
        {"name": "version", "valueString": version_of(release)},
        {"name": "display", "valueString": title},
        {"name": "system", "valueUri": SYSTEM},
        {"name": "code", "valueCode": dotted(code)},
        {"name": "abstract", "valueBoolean": not is_billable},
    ]
    if short_title and short_title != title:
        parameter.append(
            {
                "name": "designation",
                "part": [{"name": "language", "valueCode": "en"}, _part("value", short_title)],
            }
        )
    values = [
        ("billable", {"valueBoolean": is_billable}, ""),
        ("notSelectable", {"valueBoolean": not is_billable}, ""),
        ("inactive", {"valueBoolean": False}, ""),
        ("kind", {"valueString": kind}, ""),
    ]
    if parent:
        values.append(("parent", {"valueCode": dotted(parent)}, ""))
    values += [("child", {"valueCode": dotted(child)}, title_) for child, title_ in children]
    values += [("note", {"valueString": text}, description) for text, description in notes]
    if poa_exempt is not None:
        values.append(("poaExempt", {"valueBoolean": poa_exempt}, ""))
    if not release.notes_available:
        source = release.structure_from
        see = f"; see version {version_of(source)} ({source.label})" if source else ""
        unavailable = f"imported without its tabular XML: instructional notes unavailable{see}"
        values.append(("notesUnavailable", {"valueString": unavailable}, ""))
    for name, value, description in values:
        if all_wanted or name in wanted:
            part = [{"name": "code", "valueCode": name}, {"name": "value", **value}]
            if description:
                part.append(_part("description", description))
            parameter.append({"name": "property", "part": part})
    return {"resourceType": "Parameters", "parameter": parameter}


def operation_outcome(*, code: str, message: str, field: str = "", base: str = "") -> dict:
    issue = {
        "severity": "error",
        "code": ISSUE_TYPES.get(code, "processing"),
        "details": {
            "coding": [{"system": f"{base}CodeSystem/{ERROR_CODE_SYSTEM_ID}", "code": code}],
            "text": message,
        },
        "diagnostics": message,
    }
    if field:
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def error_code_system(base: str, codes: tuple[str, ...]) -> dict:
    """The CodeSystem of the error codes OperationOutcome.issue.details carries."""
    return {
        "resourceType": "CodeSystem",
        "id": ERROR_CODE_SYSTEM_ID,
        "url": f"{base}CodeSystem/{ERROR_CODE_SYSTEM_ID}",
        "name": "IcdsiteErrorCodes",
        "title": "icdsite error codes",
        "status": "active",
        "experimental": False,
        "publisher": "icdsite",
        "description": "The stable error codes of the REST API and the FHIR facade.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(codes),
        "concept": [{"code": code} for code in codes],
    }


def _operation(name: str, definition: str) -> dict:
    return {"name": name, "definition": OPERATION_DEFINITION + definition}


def capability_statement(*, base: str, date: str, software_version: str) -> dict:
    read_and_search = [{"code": "read"}, {"code": "search-type"}]
    search_parameters = [
        {"name": "_id", "type": "token"},
        {"name": "url", "type": "uri"},
        {"name": "version", "type": "token"},
    ]
    return {
        "resourceType": "CapabilityStatement",
        "id": "icdsite",
        "url": f"{base}metadata",
        "version": software_version,
        "name": "ICD10CMTerminologyService",
        "title": "ICD-10-CM terminology service",
        "status": "active",
        "date": date,
        "publisher": "icdsite",
        "description": (
            "ICD-10-CM, every published release, as a FHIR R4 terminology server: CodeSystem "
            "$lookup, $validate-code and $subsumes; ValueSet $expand and $validate-code on the "
            "implicit value sets and the billable codes; ConceptMap $translate from deleted "
            "codes to their successors."
        ),
        "kind": "instance",
        "instantiates": [TERMINOLOGY_SERVER],
        "software": {"name": "icdsite", "version": software_version, "releaseDate": date},
        "implementation": {"description": "ICD-10-CM code sets by release", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "CodeSystem",
                        "interaction": read_and_search,
                        "searchParam": search_parameters,
                        "operation": [
                            _operation("lookup", "CodeSystem-lookup"),
                            _operation("validate-code", "CodeSystem-validate-code"),
                            _operation("subsumes", "CodeSystem-subsumes"),
                        ],
                    },
                    {
                        "type": "ValueSet",
                        "interaction": read_and_search,
                        "searchParam": search_parameters,
                        "operation": [
                            _operation("expand", "ValueSet-expand"),
                            _operation("validate-code", "ValueSet-validate-code"),
                        ],
                    },
                    {
                        "type": "ConceptMap",
                        "interaction": read_and_search,
                        "searchParam": search_parameters,
                        "operation": [_operation("translate", "ConceptMap-translate")],
                    },
                ],
                "operation": [_operation("versions", "CapabilityStatement-versions")],
            }
        ],
    }


def terminology_capabilities(
    releases: list[Release], *, base: str, date: str, software_version: str
) -> dict:
    return {
        "resourceType": "TerminologyCapabilities",
        "id": "icdsite",
        "url": f"{base}metadata?mode=terminology",
        "version": software_version,
        "name": "ICD10CMTerminologyService",
        "title": "ICD-10-CM terminology service",
        "status": "active",
        "date": date,
        "publisher": "icdsite",
        "kind": "instance",
        "software": {"name": "icdsite", "version": software_version},
        "implementation": {"description": "ICD-10-CM code sets by release", "url": base},
        "lockedDate": False,
        "codeSystem": [
            {
                "uri": SYSTEM,
                "version": [
                    {
                        "code": version_of(release),
                        "isDefault": position == 0,
                        "compositional": False,
                        "language": ["en"],
                        "filter": [
                            {"code": item["code"], "op": item["operator"]} for item in FILTERS
                        ],
                        "property": PROPERTY_NAMES,
                    }
                    for position, release in enumerate(releases)
                ],
                "subsumption": True,
            }
        ],
        "expansion": {
            "hierarchical": False,
            "paging": True,
            "incomplete": False,
            "parameter": [{"name": name} for name in EXPANSION_PARAMETERS],
            "textFilter": (
                "filter: the start of a code (E11, S72.0) gives that code and the codes below "
                "it in tabular order; words are ranked as the site's search box ranks them "
                "(the Alphabetic Index first, the last word may be unfinished)."
            ),
        },
        "codeSearch": "all",
        "validateCode": {"translations": False},
        "translation": {"needsMap": True},
        "closure": {"translation": False},
    }


def versions_parameters() -> dict:
    """$versions: the FHIR versions this server speaks."""
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "version", "valueCode": "4.0"},
            {"name": "default", "valueCode": "4.0"},
        ],
    }


def _part(name: str, value: str) -> dict:
    return {"name": name, "valueString": value}
