"""Tabular XML (icd10cm_tabular_YYYY.xml) -> chapters, sections, the full code tree and its notes.

Pure: bytes in, frozen dataclasses out; nothing here touches Django.
"""

import re
from dataclasses import dataclass

from lxml import etree

from codes.icd10 import UNDOTTED_CODE_RE, dotted
from codes.importer.errors import ImportFileError
from codes.importer.safe_xml import parse_xml

# XML note-block element -> the note kind we store. Order of appearance is kept.
NOTE_KINDS = {
    "inclusionTerm": "inclusion_term",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seventh_character_note",
}
# Each <extension char="c"> of a <sevenChrDef> becomes a note of this kind with `character` = c.
SEVENTH_CHARACTER = "seventh_character"
# A <note> of a <sevenChrDef> is a 7th-character note: general (character "") before the first
# <extension>, else bound to the extension it follows (character = its char), which it words
# further (H34.81: 2 "stable", then "Old central retinal vein occlusion").
SEVENTH_CHARACTER_NOTE = NOTE_KINDS["sevenChrNote"]


@dataclass(frozen=True)
class TabularNote:
    kind: str
    text: str
    character: str = ""


@dataclass(frozen=True)
class TabularChapter:
    number: int  # 1..22 today; 1..MAX_CHAPTER accepted
    title: str  # the desc without its trailing "(A00-B99)"
    first: str  # "A00" (undotted), from the desc range
    last: str  # "B99"
    notes: tuple[TabularNote, ...]
    line: int


@dataclass(frozen=True)
class TabularSection:
    id: str  # "Z40-Z53", or a single category id "T07"
    first: str  # "Z40"
    last: str  # "Z53"
    title: str  # the desc without its trailing "(Z40-Z53)"
    chapter: int
    notes: tuple[TabularNote, ...]
    line: int


@dataclass(frozen=True)
class TabularCode:
    code: str  # undotted: "Z5301", "T07XXXA"
    title: str  # the XML desc (keeps accents); expanded codes: leaf title + ", " + extension text
    is_billable: bool
    parent: str | None  # undotted code of the parent; None for a 3-character category
    chapter: int
    section: str  # TabularSection.id
    is_placeholder: bool  # the diag carries placeholder="true"
    is_expanded: bool  # made by 7th-character expansion, not a <diag> of its own
    line: int  # source line of the <diag> (of the leaf, for expanded codes)
    notes: tuple[TabularNote, ...]  # own notes, in document order


@dataclass(frozen=True)
class TabularAnomaly:
    """A slip of CMS's in a genuine file that the import works around, and how."""

    code: str  # dotted: the diag it is found in
    line: int
    text: str  # what is odd, and what was made of it


@dataclass(frozen=True)
class Tabular:
    version: str  # the <version> text, e.g. "2026"
    chapters: tuple[TabularChapter, ...]  # file order (chapter 22 last)
    sections: tuple[TabularSection, ...]  # file order
    codes: tuple[TabularCode, ...]  # tabular order, which is the order file's sequence
    anomalies: tuple[TabularAnomaly, ...] = ()  # in file order


# The root element of a CM tabular; the index XML and the PCS tabular have other roots.
ROOT_TAG = "ICD10CM.tabular"
# ICD-10-CM has 22 chapters; later releases may add some, but not past two digits.
MAX_CHAPTER = 99
MAX_CHAPTER_DIGITS = 2

# Only XML whitespace is collapsed, so a no-break space or an accent in a title survives.
_XML_SPACE_RE = re.compile(r"[ \t\r\n]+")
# "Certain infectious and parasitic diseases (A00-B99)"
_CHAPTER_DESC_RE = re.compile(
    r"(?P<title>.*?)\s*\((?P<first>[A-Z][0-9A-Z]{2})-(?P<last>[A-Z][0-9A-Z]{2})\)"
)
# "Z40-Z53", or a single category "T07"
_SECTION_ID_RE = re.compile(r"(?P<first>[A-Z][0-9A-Z]{2})(?:-(?P<last>[A-Z][0-9A-Z]{2}))?")
_TRAILING_PARENTHESES_RE = re.compile(r"\s*\([^()]*\)$")
_CHARACTER_RE = re.compile(r"[0-9A-Z]")
_YEAR_RE = re.compile(r"[0-9]{4}")

# The one exception to 7th-character expansion exists only as prose (a <notes> on category S06,
# FY2021 to FY2026):
#   "7th characters D and S do not apply to codes in category S06 with 6th character 7 - death
#   due to brain injury prior to regaining consciousness, or 8 - death due to other cause prior
#   to regaining consciousness."
# Without it the XML yields S06.1X7D etc., which do not exist. The rule is read from the text
# (anywhere under the category it names) rather than hard-coded, so a reworded or extended rule
# is still applied and a withdrawn one stops being applied; a sentence this pattern misses shows
# up as extra codes when the result is compared with the order file.
_SEVENTH_EXCEPTION_RE = re.compile(
    r"(?i:7th\s+characters?)\s+"
    r"(?P<chars>[0-9A-Z](?:\s*,?\s*(?:(?i:and|or)\s+)?[0-9A-Z]\b)*)\s+"
    r"(?i:do(?:es)?\s+not\s+apply\s+to\s+(?:(?:all\s+)?codes?\s+)?(?:in|from|of)\s+category)\s+"
    r"(?P<category>[A-Z][0-9A-Z]{2})\s+"
    r"(?i:with\s+(?:an?\s+)?6th\s+characters?)\s+(?P<sixth>.*)",
    re.DOTALL,
)
_LONE_CHARACTER_RE = re.compile(r"\b[0-9A-Z]\b")
# The tail after "6th character": "7 - death ..., or 8 - death ..." or "7 or 8". The first
# character, then each one after ",", "or" or "and" that is followed by a dash, a comma, a full
# stop, "or"/"and" or the end (so words of the descriptions are not taken for characters).
_SIXTH_FIRST_RE = re.compile(r"([0-9A-Z])\b")
_SIXTH_MORE_RE = re.compile(
    r"(?:,|\bor\b|\band\b)\s*([0-9A-Z])(?=\s*(?:[-\u2013\u2014:,.]|$|(?:or|and)\b))"
)


@dataclass(frozen=True)
class _SeventhCharacters:
    """One <sevenChrDef>: its (character, text) pairs in order."""

    extensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _StrayNote:
    """A <note> after an <extension> that does not word it further (see _qualifies)."""

    line: int
    text: str
    character: str
    meaning: str


# Words that say nothing of their own when a note is compared with an extension or a title.
_FUNCTION_WORDS = frozenset(
    "a an and as at by for from in into of on or the to with without nos".split()  # noqa: SIM905
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def parse_tabular_xml(data: bytes, *, filename: str) -> Tabular:
    """Parse a CM tabular XML; anything unsafe or inconsistent raises ImportFileError."""
    root = parse_xml(
        data,
        filename=filename,
        root_tag=ROOT_TAG,
        what="tabular XML",
        hint="(an index XML or an ICD-10-PCS tabular?)",
    )
    return _TabularReader(filename).read(root)


class _TabularReader:
    """Walks the parsed tree once, in document order, collecting codes as it goes."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.codes: list[TabularCode] = []
        self.code_lines: dict[str, int] = {}  # code -> line of its first occurrence
        self.anomalies: list[TabularAnomaly] = []

    def error(self, message: str, *, line: int | None, element: str = "") -> ImportFileError:
        return ImportFileError(message, file=self.filename, line=line, element=element)

    def read(self, root: etree._Element) -> Tabular:
        version_element = root.find("version")
        version = "" if version_element is None else _text(version_element)
        if not version:
            raise self.error("no <version>", line=root.sourceline, element="version")
        # The release date is checked against it; "٢٠٢٦" would otherwise pass as 2026.
        if _YEAR_RE.fullmatch(version) is None:
            raise self.error(
                f"<version> is {version!r}, not a year like 2026",
                line=version_element.sourceline,
                element="version",
            )

        chapters: list[TabularChapter] = []
        sections: list[TabularSection] = []
        section_ids: set[str] = set()
        for chapter_element in root.iterchildren("chapter"):
            chapter = self.chapter(chapter_element)
            if any(seen.number == chapter.number for seen in chapters):
                raise self.error(
                    f"chapter {chapter.number} appears twice",
                    line=chapter.line,
                    element=f"chapter {chapter.number}",
                )
            chapters.append(chapter)
            for section_element in chapter_element.iterchildren("section"):
                section = self.section(section_element, chapter=chapter.number)
                if section.id in section_ids:
                    raise self.error(
                        f"section {section.id} appears twice",
                        line=section.line,
                        element=f"section {section.id}",
                    )
                section_ids.add(section.id)
                sections.append(section)
                for diag_element in section_element.iterchildren("diag"):
                    self.category(diag_element, chapter=chapter.number, section=section.id)
        if not chapters:
            raise self.error("no <chapter> in the file", line=root.sourceline, element=ROOT_TAG)
        return Tabular(
            version=version,
            chapters=tuple(chapters),
            sections=tuple(sections),
            codes=tuple(self.codes),
            anomalies=tuple(self.anomalies),
        )

    def chapter(self, element: etree._Element) -> TabularChapter:
        number_text = _child_text(element, "name")
        # isdigit() alone takes "²" (which int() refuses) and "٣" (which int() reads as 3).
        if not (number_text.isascii() and number_text.isdigit()):
            raise self.error(
                f"chapter without a number (<name> is {_shown(number_text)})",
                line=element.sourceline,
                element="chapter",
            )
        # Bounded before int(), which refuses more than 4,300 digits with a bare ValueError.
        if len(number_text) > MAX_CHAPTER_DIGITS:
            raise self.error(
                f"chapter number of {len(number_text):,} digits; chapters are numbered "
                f"1 to {MAX_CHAPTER}",
                line=element.sourceline,
                element="chapter",
            )
        number = int(number_text)
        if not 1 <= number <= MAX_CHAPTER:
            raise self.error(
                f"chapter number {number_text!r} is not between 1 and {MAX_CHAPTER}",
                line=element.sourceline,
                element="chapter",
            )
        label = f"chapter {number}"
        desc = _child_text(element, "desc")
        match = _CHAPTER_DESC_RE.fullmatch(desc)
        if match is None:
            raise self.error(
                f"chapter <desc> does not end with a code range like (A00-B99): {desc!r}",
                line=element.sourceline,
                element=label,
            )
        return TabularChapter(
            number=number,
            title=match["title"],
            first=match["first"],
            last=match["last"],
            notes=_element_notes(element),
            line=element.sourceline,
        )

    def section(self, element: etree._Element, *, chapter: int) -> TabularSection:
        section_id = (element.get("id") or "").strip()
        match = _SECTION_ID_RE.fullmatch(section_id)
        if match is None:
            raise self.error(
                f"section id {section_id!r} is not a category or a range like Z40-Z53",
                line=element.sourceline,
                element="section",
            )
        label = f"section {section_id}"
        desc = _child_text(element, "desc")
        if not desc:
            raise self.error("section without a <desc>", line=element.sourceline, element=label)
        return TabularSection(
            id=section_id,
            first=match["first"],
            last=match["last"] or match["first"],
            title=_TRAILING_PARENTHESES_RE.sub("", desc),
            chapter=chapter,
            notes=_element_notes(element),
            line=element.sourceline,
        )

    def category(self, element: etree._Element, *, chapter: int, section: str) -> None:
        name = _child_text(element, "name")
        exceptions = _seventh_exceptions(element, name=name)
        self.diag(
            element,
            parent=None,
            inherited=None,
            exceptions=exceptions,
            chapter=chapter,
            section=section,
        )

    def diag(
        self,
        element: etree._Element,
        *,
        parent: str | None,
        inherited: _SeventhCharacters | None,
        exceptions: dict[str, frozenset[str]],
        chapter: int,
        section: str,
    ) -> None:
        line = element.sourceline
        # One pass over the children: this runs for every one of ~47,000 diags.
        name = title = ""
        notes: list[TabularNote] = []
        own: _SeventhCharacters | None = None
        children: list[etree._Element] = []
        for child in element:
            tag = child.tag
            if tag == "diag":
                children.append(child)
            elif tag == "name":
                name = name or _text(child)
            elif tag == "desc":
                title = title or _text(child)
            elif tag == "sevenChrDef":
                own = self.seventh_characters(child, label=f"diag {name}")
                notes.extend(self.seventh_character_notes(child, name=name, title=title))
            else:
                _add_notes(notes, child)

        if not name:
            raise self.error("diag without a <name>", line=line, element="diag")
        label = f"diag {name}"
        code = name.replace(".", "")
        # The canonical dotted form only: "Z53.01", never "Z530.1" or "z53.01".
        if UNDOTTED_CODE_RE.fullmatch(code) is None or dotted(code) != name:
            raise self.error(f"{name!r} is not a well-formed code", line=line, element=label)
        if parent is None and len(code) != 3:
            raise self.error(
                f"{name} sits directly in a section but is not a 3-character category",
                line=line,
                element=label,
            )
        if parent is not None and (not code.startswith(parent) or len(code) <= len(parent)):
            raise self.error(
                f"{name} does not extend its parent {dotted(parent)}", line=line, element=label
            )
        if not title:
            raise self.error("diag without a <desc>", line=line, element=label)

        # The nearest definition wins: a subcategory's own sevenChrDef overrides its category's.
        seventh = own or inherited
        is_leaf = not children
        self.add(
            TabularCode(
                code=code,
                title=title,
                is_billable=is_leaf and seventh is None,
                parent=parent,
                chapter=chapter,
                section=section,
                is_placeholder=element.get("placeholder") == "true",
                is_expanded=False,
                line=line,
                notes=tuple(notes),
            ),
            label=label,
        )
        if not is_leaf:
            for child in children:
                self.diag(
                    child,
                    parent=code,
                    inherited=seventh,
                    exceptions=exceptions,
                    chapter=chapter,
                    section=section,
                )
        elif seventh is not None:
            self.expand(
                code,
                title,
                seventh,
                exceptions=exceptions,
                line=line,
                label=label,
                chapter=chapter,
                section=section,
            )

    def expand(
        self,
        code: str,
        title: str,
        seventh: _SeventhCharacters,
        *,
        exceptions: dict[str, frozenset[str]],
        line: int,
        label: str,
        chapter: int,
        section: str,
    ) -> None:
        """Emit the billable 7th-character codes of a leaf, right after it (tabular order).

        The X-padded stem (W21.89 -> W2189X) is not a code of its own: the order file does not
        list it, so the expanded codes hang directly under the leaf.
        """
        if len(code) > 6:
            raise self.error(
                f"{dotted(code)} already has 7 characters but falls under a sevenChrDef",
                line=line,
                element=label,
            )
        stem = code.ljust(6, "X")
        excluded = exceptions.get(stem[5], frozenset())
        for character, text in seventh.extensions:
            if character in excluded:
                continue
            self.add(
                TabularCode(
                    code=stem + character,
                    title=f"{title}, {text}",
                    is_billable=True,
                    parent=code,
                    chapter=chapter,
                    section=section,
                    is_placeholder=False,
                    is_expanded=True,
                    line=line,
                    notes=(),
                ),
                label=label,
            )

    def add(self, code: TabularCode, *, label: str) -> None:
        first_line = self.code_lines.get(code.code)
        if first_line is not None:
            raise self.error(
                f"duplicate code {dotted(code.code)} (first seen at line {first_line})",
                line=code.line,
                element=label,
            )
        self.code_lines[code.code] = code.line
        self.codes.append(code)

    def seventh_character_notes(
        self, definition: etree._Element, *, name: str, title: str
    ) -> list[TabularNote]:
        """The definition's notes; a stray one (W08: "Fall from stool" after S "sequela") is
        reported as an anomaly and kept as an inclusion term of the diag, which is what it
        reads as, rather than as the meaning of a character."""
        notes, strays = _seventh_character_notes(definition, title=title)
        for stray in strays:
            self.anomalies.append(
                TabularAnomaly(
                    code=name,
                    line=stray.line,
                    text=(
                        f"the 7th-character note {stray.text!r} follows character "
                        f"{stray.character} ({stray.meaning!r}) but does not word it further: "
                        f"kept as an inclusion term of {name}"
                    ),
                )
            )
            notes.append(TabularNote(kind=NOTE_KINDS["inclusionTerm"], text=stray.text))
        return notes

    def seventh_characters(self, element: etree._Element, *, label: str) -> _SeventhCharacters:
        extensions = []
        for extension in element.iterchildren("extension"):
            character = (extension.get("char") or "").strip()
            text = _text(extension)
            if _CHARACTER_RE.fullmatch(character) is None or not text:
                raise self.error(
                    f"sevenChrDef extension char={character!r} needs one character 0-9/A-Z "
                    "and a text",
                    line=extension.sourceline,
                    element=label,
                )
            extensions.append((character, text))
        if not extensions:
            # A leaf under it would become a header with nothing below it.
            raise self.error(
                "sevenChrDef without <extension>", line=element.sourceline, element=label
            )
        return _SeventhCharacters(extensions=tuple(extensions))


def _shown(text: str, limit: int = 40) -> str:
    """repr() of a file's text for a message, cut short when it is long."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def _text(element: etree._Element) -> str:
    """The element's text content, XML whitespace runs collapsed to one space."""
    # Most elements (name, desc, note) are plain text without children; skip itertext for them.
    text = (element.text or "") if len(element) == 0 else "".join(element.itertext())
    if "  " in text or "\n" in text or "\r" in text or "\t" in text:
        text = _XML_SPACE_RE.sub(" ", text)
    return text.strip(" ")


def _child_text(element: etree._Element, tag: str) -> str:
    child = element.find(tag)
    return "" if child is None else _text(child)


def _element_notes(element: etree._Element) -> tuple[TabularNote, ...]:
    """The note blocks of a chapter or a section, in document order."""
    notes: list[TabularNote] = []
    for child in element:
        _add_notes(notes, child)
    return tuple(notes)


def _add_notes(notes: list[TabularNote], child: etree._Element) -> None:
    kind = NOTE_KINDS.get(child.tag)
    if kind is not None:
        notes.extend(_block_notes(child, kind))
    elif child.tag == "sevenChrDef":
        # On a chapter or a section (the schema allows it; no file has one) nothing is stray.
        notes.extend(_seventh_character_notes(child)[0])
    elif child.tag == "visualImpairment":
        notes.extend(_visual_impairment_notes(child))
    # Anything else (name, desc, sectionIndex, diag, section) is read by the caller or, like
    # sectionIndex (a table of contents repeating the sections), deliberately ignored.


def _block_notes(block: etree._Element, kind: str) -> list[TabularNote]:
    notes = []
    for note in block.iterchildren("note"):
        text = _text(note)
        if text:  # the files carry a few empty <note/>s
            notes.append(TabularNote(kind=kind, text=text))
    return notes


def _seventh_character_notes(
    definition: etree._Element, *, title: str = ""
) -> tuple[list[TabularNote], list[_StrayNote]]:
    """One note per extension; each <note> before the first extension is general (character
    ""), each after one is bound to it (its character), unless it is stray (see _qualifies).

    `title`: the desc of the diag that holds the definition ("" on a chapter or a section,
    where CMS's files have none: every note after an extension is then bound to it)."""
    notes: list[TabularNote] = []
    strays: list[_StrayNote] = []
    character = meaning = ""
    for child in definition:
        text = _text(child)
        if not text:
            continue
        if child.tag == "extension":
            character, meaning = child.get("char", ""), text
            notes.append(TabularNote(kind=SEVENTH_CHARACTER, text=text, character=character))
        elif child.tag == "note" and not character:
            notes.append(TabularNote(kind=SEVENTH_CHARACTER_NOTE, text=text))
        elif child.tag == "note" and _qualifies(text, meaning=meaning, title=title):
            notes.append(TabularNote(kind=SEVENTH_CHARACTER_NOTE, text=text, character=character))
        elif child.tag == "note":
            strays.append(_StrayNote(child.sourceline, text, character, meaning))
    return notes, strays


def _qualifies(note: str, *, meaning: str, title: str) -> bool:
    """Whether a note after an extension words that extension further.

    It does when it shares a word with the extension's meaning (B "initial encounter for open
    fracture type I or II", then "initial encounter for open fracture NOS"; H35.31 3 "advanced
    atrophic ...", then "advanced dry stage"), or when it restates the code's whole title with
    the state the character stands for (H34.81 "Central retinal vein occlusion", 2 "stable",
    then "Old central retinal vein occlusion"). A note with neither names something else:
    under W08 "Fall from other furniture", S "sequela" is followed by "Fall from stool", a kind
    of fall, not a kind of sequela."""
    words = _content_words(note)
    return bool(words & _content_words(meaning)) or _content_words(title) <= words


def _content_words(text: str) -> frozenset[str]:
    return frozenset(_WORD_RE.findall(text.lower())) - _FUNCTION_WORDS


def _visual_impairment_notes(table: etree._Element) -> list[TabularNote]:
    """Flatten the WHO table under H54 (H54.8 in FY2026) into one readable note per category.

    The first <visCategory> holds only column headings; each other holds a category number and
    up to three ranges of visual acuity, the same limits in metres, decimal and feet notation.
    A maximum that is not a number ("No light perception") is the category's whole definition.
    """
    heading = "Category of visual impairment (visual acuity with best possible correction):"
    lines = []
    for category in table.iterchildren("visCategory"):
        number = _child_text(category, "value")
        if not number:
            continue  # the heading row
        ranges = []
        for acuity in category.iterchildren("visRange"):
            maximum = _child_text(acuity, "visMax")
            minimum = _child_text(acuity, "visMin")
            parts = []
            if maximum:
                parts.append(f"less than {maximum}" if maximum[0].isdigit() else maximum)
            if minimum:
                parts.append(f"equal to or better than {minimum}")
            if parts:
                ranges.append(" and ".join(parts))
        lines.append(f"Category {number}: " + "; ".join(ranges))
    if not lines:
        return []
    return [TabularNote(kind=NOTE_KINDS["notes"], text=text) for text in [heading, *lines]]


def _seventh_exceptions(category: etree._Element, *, name: str) -> dict[str, frozenset[str]]:
    """6th character -> the 7th characters that do not apply, from prose under a category.

    Only a rule that names this very category counts; notes elsewhere describe other codes.
    """
    excluded: dict[str, set[str]] = {}
    for note in category.iter("note"):
        match = _SEVENTH_EXCEPTION_RE.search(_text(note))
        if match is None or match["category"] != name:
            continue
        characters = _LONE_CHARACTER_RE.findall(match["chars"])
        for sixth in _sixth_characters(match["sixth"]):
            excluded.setdefault(sixth, set()).update(characters)
    return {sixth: frozenset(characters) for sixth, characters in excluded.items()}


def _sixth_characters(tail: str) -> list[str]:
    first = _SIXTH_FIRST_RE.match(tail)
    if first is None:
        return []
    return [first[1], *_SIXTH_MORE_RE.findall(tail, first.end())]
