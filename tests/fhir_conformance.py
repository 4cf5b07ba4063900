"""Checks that a FHIR answer is R4 as a client reads it: valid against the R4 JSON schema (vendored
in tests/fhir_schema), and, in XML, with its elements in the order the specification defines
(fhir.resources' element sequences: R4B keeps R4's for the resources served here)."""

import functools
import gzip
import json
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
