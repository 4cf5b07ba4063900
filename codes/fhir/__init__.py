"""A FHIR R4 terminology facade over the code sets (/fhir/). See README.md, "API"."""
