"""The REST API, version 1 (/api/v1/): thin DRF views over codes.lookup, codes.search,
codes.validation and codes.selection. See README.md, "API"."""
