"""OpenAPI schema hook for the FHIR facade."""

OPERATIONS = ("lookup", "validate-code")


def restore_operation_names(result: dict, generator, request, public) -> dict:
    """drf-spectacular drops the "$" of FHIR operation paths (/fhir/CodeSystem/$lookup): put
    it back, so that the schema names the URLs that answer."""
    paths = result.get("paths", {})
    for name in OPERATIONS:
        stripped = f"/fhir/CodeSystem/{name}"
        if stripped in paths:
            paths[f"/fhir/CodeSystem/${name}"] = paths.pop(stripped)
    return result
