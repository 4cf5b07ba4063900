"""FHIR's XML form, written from and read into the JSON form the views build (http://hl7.org/fhir/
xml.html): an element per property, primitives as `value` attributes, a resource inside another
wrapped in an element named by its type, `url` of an extension and `id` of a datatype as
attributes.

Resources are built with their properties in the order the specification lists them (a Python
dict keeps it), which is the order XML requires; tests/test_fhir_xml.py checks every answer's
elements against the specification's order.
"""

import re

from defusedxml import ElementTree
from django.conf import settings
from lxml import etree
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

NAMESPACE = "http://hl7.org/fhir"
FHIR_XML = "application/fhir+xml"
# Properties that are repeated elements when read back from XML (the ones the operations'
# Parameters bodies can hold).
REPEATING = frozenset(
    {
        "parameter",
        "part",
        "coding",
        "extension",
        "include",
        "exclude",
        "concept",
        "filter",
        "contains",
        "designation",
        "issue",
        "entry",
        "link",
        "property",
        "element",
        "target",
        "group",
        "location",
        "expression",
    }
)
BOOLEAN_VALUES = frozenset({"valueBoolean", "abstract", "inactive", "caseSensitive"})
INTEGER_VALUES = frozenset({"valueInteger", "valueUnsignedInt", "valuePositiveInt", "count"})
# Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF).
NOT_XML_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_xml(resource: dict) -> bytes:
    root = etree.Element(f"{{{NAMESPACE}}}{resource['resourceType']}", nsmap={None: NAMESPACE})
    _write_children(root, resource, resource=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _write_children(parent, data: dict, *, resource: bool, extension: bool = False) -> None:
    for name, value in data.items():
        if name == "resourceType":
            continue
        if (name == "id" and not resource) or (name == "url" and extension):
            parent.set(name, _text(value))
            continue
        for item in value if isinstance(value, list) else [value]:
            _write(parent, name, item)


def _write(parent, name: str, value) -> None:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if isinstance(value, dict):
        if "resourceType" in value:  # a resource inside another: Bundle.entry.resource...
            inner = etree.SubElement(element, f"{{{NAMESPACE}}}{value['resourceType']}")
            _write_children(inner, value, resource=True)
        else:
            _write_children(element, value, resource=False, extension=name.endswith("xtension"))
    else:
        element.set("value", _text(value))


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML_RE.sub("\ufffd", str(value))


def from_xml(data: bytes) -> dict:
    """A resource in XML as its JSON form (the parts the operations read)."""
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except Exception:  # defusedxml's and the parser's errors alike: not XML we accept
        raise ParseError("the request body is not valid FHIR XML") from None
    return {"resourceType": _local(root.tag), **_read_children(root)}


def _read_children(element) -> dict:
    data: dict = dict(element.attrib)
    data.pop("value", None)
    for child in element:
        name = _local(child.tag)
        value = _read(name, child)
        if name in REPEATING:
            data.setdefault(name, []).append(value)
        else:
            data[name] = value
    return data


def _read(name: str, element):
    if "value" in element.attrib and len(element) == 0:
        text = element.attrib["value"]
        if name in BOOLEAN_VALUES:
            return {"true": True, "false": False}.get(text, text)
        if name in INTEGER_VALUES and text.lstrip("-").isdigit():
            return int(text)
        return text
    if name in ("resource", "contained") and len(element) == 1:
        inner = element[0]
        return {"resourceType": _local(inner.tag), **_read_children(inner)}
    return _read_children(element)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class FHIRXMLRenderer(BaseRenderer):
    media_type = FHIR_XML
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return to_xml(data)


class XMLRenderer(FHIRXMLRenderer):
    """The same XML for clients that ask for plain application/xml."""

    media_type = "application/xml"


class TextXMLRenderer(FHIRXMLRenderer):
    media_type = "text/xml"


class FHIRXMLParser(BaseParser):
    """Parameters bodies in XML, with the same size limit as JSON bodies."""

    media_type = FHIR_XML

    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: codes.api.errors imports DRF's views, whose settings import the parsers.
        from codes.api.errors import too_large

        limit = settings.API_MAX_BODY_BYTES
        if stream is None:
            raise ParseError("the request body is empty")
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit)
        return from_xml(data)


class XMLParser(FHIRXMLParser):
    media_type = "application/xml"


class TextXMLParser(FHIRXMLParser):
    media_type = "text/xml"
