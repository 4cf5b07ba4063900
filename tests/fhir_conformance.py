"""Checks that a FHIR answer is R4 as a client reads it: valid against the R4 JSON schema (vendored
in tests/fhir_schema), and, in XML, with its elements in the order the specification defines
(fhir.resources' element sequences: R4B keeps R4's for the resources served here)."""

import functools
import gzip
import json
import re
import typing
from pathlib import Path

import jsonschema_rs
from fhir.resources.R4B import get_fhir_model_class
from lxml import etree

SCHEMA = Path(__file__).parent / "fhir_schema" / "fhir.schema.json.gz"
NAMESPACE = "{http://hl7.org/fhir}"


@functools.cache
def _definitions() -> dict:
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as file:
        schema = json.load(file)
    # The copy is 4.0.0's: the 4.0.1 technical correction added its own number to the FHIR
    # versions (CapabilityStatement.fhirVersion and the like), and changed nothing served here.
    for definition in schema["definitions"].values():
        for property_ in definition.get("properties", {}).values():
            if "4.0.0" in property_.get("enum", []):
                property_["enum"].append("4.0.1")
    return schema


@functools.cache
def _validator(resource_type: str):
    schema = _definitions()
    # Each resource against its own definition: the whole schema's oneOf over every resource
    # type is slow to check and says less when it fails.
    return jsonschema_rs.Draft6Validator(
        {
            "$schema": schema["$schema"],
            "$ref": f"#/definitions/{resource_type}",
            "definitions": schema["definitions"],
        }
    )


def r4_schema_errors(resource: dict) -> list[str]:
    validator = _validator(resource["resourceType"])
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(resource)
    ]


def xml_order_errors(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    return _order_errors(root, _local(root.tag), _local(root.tag))


def _order_errors(element, model_name: str, path: str) -> list[str]:
    model = get_fhir_model_class(model_name)
    sequence = model.elements_sequence()
    errors = []
    last = -1
    for child in element:
        name = _local(child.tag)
        if name not in sequence:
            errors.append(f"{path}: {name} is not an element of {model_name}")
            continue
        position = sequence.index(name)
        if position < last:
            errors.append(f"{path}: {name} comes after {sequence[last]}")
        last = max(last, position)
        inner = _model_of(model, name)
        if inner == "Resource":
            errors += _order_errors(child[0], _local(child[0].tag), f"{path}.{name}")
        elif inner is not None:
            errors += _order_errors(child, inner, f"{path}.{name}")
    return errors


def _model_of(model, field: str) -> str | None:
    """The complex type of a field ("Coding"), "Resource", or None for a primitive."""
    annotation = model.model_fields[field].annotation
    while typing.get_args(annotation):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    name = getattr(annotation, "__name__", "").removesuffix("Type")
    if name == "Resource":
        return name
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError):
        return None
    return name if name[0].isupper() and name not in PRIMITIVES else None


PRIMITIVES = {
    "Boolean", "String", "Code", "Uri", "Url", "Canonical", "Id", "Integer", "UnsignedInt",
    "PositiveInt", "DateTime", "Date", "Instant", "Markdown", "Decimal", "Base64Binary", "Time",
    "Oid", "Uuid", "Xhtml",
}  # fmt: skip


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# --- the HL7 terminology-ecosystem tests' comparison (tests/readme.md, testcases.md there)

TOKENS = {
    "$$": r".*",
    "$id$": r"[A-Za-z0-9\-\.]{1,64}",
    "$uuid$": r"(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "$instant$": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
    "$date$": r"\d{4}(-\d\d(-\d\d)?)?",
    "$url$": r"[a-z][a-z0-9+.-]*:\S+",
    "$token$": r"\S+",
    "$string$": r"(?s).+",
    "$version$": r"\d+\.\d+(\.\d+)?",
    "$semver$": r"\d+\.\d+\.\d+\S*",
}


def case_differences(expected, actual, path: str = "") -> list[str]:
    """How `actual` differs from an expected response of the HL7 tests: array order never
    matters; $optional$ array items and $optional-properties$ may be missing; $count-arrays$
    compares sizes only; $...$ values are patterns."""
    if isinstance(expected, str) and expected.startswith("$") and expected.endswith("$"):
        return [] if _matches_token(expected, actual) else [f"{path}: {actual!r} !~ {expected}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        optional = set(expected.get("$optional-properties$", []))
        counted = set(expected.get("$count-arrays$", []))
        found = []
        for key, value in expected.items():
            if key.startswith("$"):
                continue
            if key not in actual:
                if key not in optional:
                    found.append(f"{path}.{key}: missing")
            elif key in counted:
                if len(value) != len(actual[key]):
                    found.append(f"{path}.{key}: {len(actual[key])} items, not {len(value)}")
            else:
                found += case_differences(value, actual[key], f"{path}.{key}")
        found += [f"{path}.{key}: not expected" for key in actual if key not in expected]
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        return _list_differences(expected, actual, path)
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


def _list_differences(expected: list, actual: list, path: str) -> list[str]:
    unused = list(range(len(actual)))
    found = []
    required = [e for e in expected if not (isinstance(e, dict) and "$optional$" in e)]
    optional = [e for e in expected if isinstance(e, dict) and "$optional$" in e]
    for position, item in enumerate(required + optional):
        match = next((i for i in unused if not case_differences(item, actual[i])), None)
        if match is not None:
            unused.remove(match)
        elif item not in optional:
            closest = min(
                (case_differences(item, actual[i], f"{path}[{i}]") for i in unused),
                key=len,
                default=[f"{path}: nothing left to match item {position}"],
            )
            found.append(f"{path}: no match for item {position}: {'; '.join(closest[:3])}")
    found += [f"{path}[{i}]: not expected: {actual[i]!r:.200}" for i in unused]
    return found


def _matches_token(token: str, value) -> bool:
    if not isinstance(value, str):
        return token == "$$"
    if token in TOKENS:
        return re.fullmatch(TOKENS[token], value) is not None
    body = token[1:-1]
    if body.startswith("choice:"):
        return value in body.removeprefix("choice:").split("|")
    if body.startswith("fragments:"):
        return all(f in value for f in body.removeprefix("fragments:").split("|") if f)
    if body.startswith("external:"):
        _, _, text = body.removeprefix("external:").partition(":")
        return text in value
    return False
