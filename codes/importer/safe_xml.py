"""Parse a CMS XML file (tabular, Index, tables) safely, or refuse it naming file and line.

Pure: bytes in, an lxml tree out; nothing here touches Django. Shared by the tabular and the
Index parsers so that both refuse the same hostile input the same way.
"""

import re

from lxml import etree

from codes.importer.errors import ImportFileError

# The real files nest at most 12 levels deep; anything far beyond that is not a file we know.
MAX_DEPTH = 64

_LIBXML2_POSITION_RE = re.compile(r", line \d+, column \d+$")


def parse_xml(data: bytes, *, filename: str, root_tag: str, what: str, hint: str) -> etree._Element:
    """The root element of a UTF-8 XML file without DTD whose root is `root_tag`.

    `what` names the file in messages ("tabular XML"); `hint` follows a wrong root's name
    ("(an index XML or an ICD-10-PCS tabular?)").
    """
    # Decode first: a strict decode names the exact line of a bad byte, and it guarantees that
    # the byte scan for DTDs below sees the same characters the parser will.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            file=filename,
            line=line_at(data, exc.start),
        ) from None
    if b"\x00" in data:
        # Valid UTF-8 but with NULs: UTF-16 or UTF-32 text, which the byte scan cannot read.
        raise ImportFileError(
            f"contains NUL bytes (UTF-16?); the {what} must be UTF-8",
            file=filename,
            line=line_at(data, data.index(b"\x00")),
        )
    # The real files have no DTD. Any DOCTYPE or entity declaration is refused before lxml sees
    # the bytes, so no entity (billion laughs, quadratic blowup, external file or URL) is ever
    # expanded and no external DTD fetched. A "<!DOCTYPE" inside a comment is refused as well.
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = data.find(marker)
        if at != -1:
            raise ImportFileError(
                f"has a {marker[2:].decode()} declaration; DTDs and entities are refused",
                file=filename,
                line=line_at(data, at),
            )

    parser = etree.XMLParser(
        encoding="utf-8",  # checked above; whatever the XML declaration claims
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,  # keeps libxml2's own limits on depth and text node size
        remove_blank_text=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2 appends ", line N, column M" to its message; the line is in our own prefix.
        message = _LIBXML2_POSITION_RE.sub("", exc.msg)
        raise ImportFileError(
            f"not well-formed XML: {message}", file=filename, line=exc.lineno
        ) from None
    if root is None:
        raise ImportFileError("empty document", file=filename, line=1)

    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # Unreachable after the byte scan; here so that a change to the scan cannot silently
        # let a DTD through.
        raise ImportFileError("has a DOCTYPE; DTDs are refused", file=filename, line=1)

    if root.tag != root_tag:
        raise ImportFileError(
            f"root element is <{root.tag}>, expected <{root_tag}> {hint}",
            file=filename,
            line=root.sourceline,
            element=str(root.tag),
        )

    # One XPath step per level, evaluated in C: the first element deeper than MAX_DEPTH, if any.
    too_deep = root.xpath("/" + "/".join(["*"] * (MAX_DEPTH + 1)))
    if too_deep:
        element = too_deep[0]
        raise ImportFileError(
            f"elements nested more than {MAX_DEPTH} levels deep",
            file=filename,
            line=element.sourceline,
            element=str(element.tag),
        )
    return root


def line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
