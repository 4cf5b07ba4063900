"""OpenAPI schema hook for the FHIR facade."""

import re

OPERATIONS = (
    "lookup",
    "validate-code",
    "subsumes",
    "expand",
    "translate",
    "versions",
)
_OPERATION_SEGMENT = re.compile(r"/(" + "|".join(map(re.escape, OPERATIONS)) + r")$")


def restore_operation_names(result: dict, generator, request, public) -> dict:
    """drf-spectacular drops the "$" of FHIR operation paths (/fhir/CodeSystem/$lookup): put
    it back, so that the schema names the URLs that answer. It also lists DRF's `format`
    parameter, which FHIR views do not read (FHIR's is `_format`): take it out."""
    paths = result.get("paths", {})
    for stripped in [p for p in paths if p.startswith("/fhir/")]:
        for operation in paths[stripped].values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    p for p in operation["parameters"] if p.get("name") != "format"
                ]
        restored = _OPERATION_SEGMENT.sub(r"/$\1", stripped)
        if restored != stripped:
            paths[restored] = paths.pop(stripped)
    return result
