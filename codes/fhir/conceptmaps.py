"""The successors map of a release: any code of ICD-10-CM -> the billable codes of the release to
use for it, as the REST API gives them (codes.validation.successors_with_source): a billable code
is itself; a deleted code or a header goes to its successors from CMS's conversion table when it
names them, else to the billable codes below it or below its nearest surviving ancestor.

One ConceptMap per release (`ConceptMap/icd-10-cm-successors-fy2026`), answered by $translate.
Equivalences are R4's (http://hl7.org/fhir/concept-map-equivalence).
"""

from dataclasses import dataclass, field

from codes.codeset import CodeSet, codeset_for
from codes.icd10 import dotted, parse_code_input
from codes.models import Release
from codes.validation import (
    DELETED,
    FROM_CONVERSION_TABLE,
    FROM_HIERARCHY,
    successors_with_source,
    validate,
)

from .versions import SYSTEM, resource_id, version_of

MAP_ID = "icd-10-cm-successors"
SOURCES = {
    FROM_CONVERSION_TABLE: "CMS's conversion table",
    FROM_HIERARCHY: "the hierarchy (the billable codes below the nearest code that remains)",
}


def map_url(base: str) -> str:
    return f"{base}ConceptMap/{MAP_ID}"


def map_resource_id(release: Release) -> str:
    return resource_id(release).replace("icd-10-cm-", f"{MAP_ID}-", 1)


def release_of_map(map_id: str, published: list[Release]) -> Release | None:
    return next((r for r in published if map_resource_id(r) == map_id), None)


def is_map_url(url: str, base: str) -> bool:
    return url == map_url(base) or url.rstrip("/").endswith(f"/ConceptMap/{MAP_ID}")


@dataclass
class Match:
    equivalence: str
    code: str  # undotted
    title: str


@dataclass
class Translation:
    matches: list[Match] = field(default_factory=list)
    message: str = ""


def translate(text: str, release: Release) -> Translation:
    """The billable codes of `release` to use for the code `text` (as sent)."""
    code = parse_code_input(text)
    if code is None:
        return Translation(message=f"'{text[:40]}' is not an ICD-10-CM code")
    codeset = codeset_for(release)
    entry = codeset.get(code)
    label = release.label
    if entry is not None and entry.is_billable:
        return Translation(
            [Match("equal", code, entry.title)], f"{dotted(code)} is billable in {label}."
        )
    if entry is None:
        verdict = validate(text, release)
        if verdict.reason != DELETED:
            return Translation(message=verdict.message)
        why = verdict.message.split(";")[0]
    else:
        why = f"{dotted(code)} is a header in {label}, not valid on a claim"
    matches, source = successor_matches(code, codeset)
    if not matches:
        return Translation(message=f"{why}; no successor is known.")
    return Translation(
        matches,
        f"{why}; use {', '.join(dotted(m.code) for m in matches)} (from {SOURCES[source]}).",
    )


def successor_matches(code: str, codeset: CodeSet) -> tuple[list[Match], str]:
    """The successors of a deleted code or a header, each with its equivalence."""
    successors, source = successors_with_source(code, codeset)
    if source == FROM_CONVERSION_TABLE:
        equivalence = "equivalent" if len(successors) == 1 else "narrower"
        return [Match(equivalence, s.code, s.title) for s in successors], source
    return [
        Match("specializes" if s.code.startswith(code) else "inexact", s.code, s.title)
        for s in successors
    ], source


def translate_parameters(translation: Translation, release: Release, *, base: str) -> dict:
    parameter = [
        {"name": "result", "valueBoolean": bool(translation.matches)},
        {"name": "message", "valueString": translation.message},
    ]
    for match in translation.matches:
        parameter.append(
            {
                "name": "match",
                "part": [
                    {"name": "equivalence", "valueCode": match.equivalence},
                    {
                        "name": "concept",
                        "valueCoding": {
                            "system": SYSTEM,
                            "version": version_of(release),
                            "code": dotted(match.code),
                            "display": match.title,
                        },
                    },
                    {"name": "source", "valueUri": f"{map_url(base)}|{version_of(release)}"},
                ],
            }
        )
    return {"resourceType": "Parameters", "parameter": parameter}


def concept_map(release: Release, *, base: str) -> dict:
    """The map as a resource: its elements are the previous codes of the conversion table that
    apply to the release ($translate also answers headers and codes the table does not name)."""
    version = version_of(release)
    resource = {
        "resourceType": "ConceptMap",
        "id": map_resource_id(release),
        "url": map_url(base),
        "version": version,
        "name": "ICD10CMSuccessors",
        "title": f"ICD-10-CM codes to the billable codes of {release.label}",
        "status": "active",
        "experimental": False,
        "date": release.effective_date.isoformat(),
        "publisher": "icdsite",
        "description": (
            f"For any ICD-10-CM code, the billable codes of {release.label} to use: a billable "
            "code is itself (equal); a deleted code or a header goes to its successors, from "
            "CMS's conversion table when it names them (equivalent, or narrower when there are "
            "several), else to the billable codes below it (specializes) or below its nearest "
            "surviving ancestor (inexact). The elements listed are the conversion table's; "
            "$translate answers every code."
        ),
        "sourceUri": f"{SYSTEM}?fhir_vs",
        "targetCanonical": f"{base}ValueSet/icd-10-cm-billable|{version}",
    }
    elements = _table_elements(release)
    if elements:
        resource["group"] = [
            {"source": SYSTEM, "target": SYSTEM, "targetVersion": version, "element": elements}
        ]
    return resource


def _table_elements(release: Release) -> list[dict]:
    codeset = codeset_for(release)
    elements = []
    for previous in sorted(codeset.replaced_by):
        entry = codeset.get(previous)
        if entry is not None and entry.is_billable:
            continue
        matches, _ = successor_matches(previous, codeset)
        if matches:
            elements.append(
                {
                    "code": dotted(previous),
                    "target": [
                        {
                            "code": dotted(match.code),
                            "display": match.title,
                            "equivalence": match.equivalence,
                        }
                        for match in matches
                    ],
                }
            )
    return elements
