"""Tabular XML (icd10cm_tabular_YYYY.xml) -> chapters, sections, the full code tree and its notes.

Pure: bytes in, frozen dataclasses out; nothing here touches Django.
"""

import re
from dataclasses import dataclass, replace

from lxml import etree

from codes.icd10 import UNDOTTED_CODE_RE, dotted
from codes.importer.errors import ImportFileError
from codes.importer.safe_xml import parse_xml
from codes.importer.tabular_structure import check_structure, section_parents
from codes.importer.titles import MAX_HEADING_TITLE, MAX_LONG_TITLE, title_problem

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
    # The heading section whose range holds this one ("V00-V99" for "V00-V09"), None at the top.
    # The XML lists sections as flat siblings; the nesting follows from the ranges.
    parent: str | None = None


@dataclass(frozen=True)
class TabularAnomaly:
    """Something odd in a genuine CMS file that the import reads past, for the release report."""

    line: int
    element: str  # "diag H54.512A", "section QA0", ...
    what: str


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
class Tabular:
    version: str  # the <version> text, e.g. "2026"
    chapters: tuple[TabularChapter, ...]  # file order (chapter 22 last)
    sections: tuple[TabularSection, ...]  # file order
    codes: tuple[TabularCode, ...]  # tabular order, which is the order file's sequence
    anomalies: tuple[TabularAnomaly, ...] = ()  # CMS's own slips, read past (file order)


# The root element of a CM tabular; the index XML and the PCS tabular have other roots.
ROOT_TAG = "ICD10CM.tabular"
# ICD-10-CM has 22 chapters; later releases may add some, but not past two digits.
MAX_CHAPTER = 99
MAX_CHAPTER_DIGITS = 2

# Only XML whitespace is collapsed, so a no-break space or an accent in a title survives.
_XML_SPACE_RE = re.compile(r"[ \t\r\n]+")
# The "(A00-B99)" that ends a chapter's desc, matched on those parentheses alone (found with
# str.rfind): a pattern over the whole desc backtracks quadratically on long runs of spaces.
_CHAPTER_RANGE_RE = re.compile(r"\((?P<first>[A-Z][0-9A-Z]{2})-(?P<last>[A-Z][0-9A-Z]{2})\)")
# "Z40-Z53", or a single category "T07"
_SECTION_ID_RE = re.compile(r"(?P<first>[A-Z][0-9A-Z]{2})(?:-(?P<last>[A-Z][0-9A-Z]{2}))?")
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
        # Diags nested under a code they do not extend (CMS's slip), by (line, code), and the
        # code that takes each of them as a child instead.
        self.misplaced: set[tuple[int, str]] = set()
        self.adopted: dict[str, list[etree._Element]] = {}

    def odd(self, what: str, *, line: int, element: str) -> None:
        self.anomalies.append(TabularAnomaly(line=line, element=element, what=what))

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

        self.find_misplaced_diags(root)
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
        parents = section_parents(sections)
        sections = [replace(section, parent=parents[section.id]) for section in sections]
        categories = [code for code in self.codes if code.parent is None]
        for problem in check_structure(chapters, sections, categories):
            if problem.is_odd:
                self.odd(problem.what, line=problem.line, element=problem.element)
            else:
                raise self.error(problem.what, line=problem.line, element=problem.element)
        return Tabular(
            version=version,
            chapters=tuple(chapters),
            sections=tuple(sections),
            codes=tuple(self.codes),
            anomalies=tuple(sorted(self.anomalies, key=lambda anomaly: anomaly.line)),
        )

    def find_misplaced_diags(self, root: etree._Element) -> None:
        """Find the diags CMS nested under a code of their category that they do not extend.

        FY2021 has H54.512A under H54.511. The file's own names say where such a code belongs
        (its longest prefix that is a code of the file), and the order file agrees; a diag
        nested under another category is broken, not odd, and is refused by diag().
        """
        names: set[str] = set()
        slips: list[tuple[etree._Element, str, str]] = []
        for element in root.iter("diag"):
            code = _child_text(element, "name").replace(".", "")
            names.add(code)
            holder = element.getparent()
            if holder is None or holder.tag != "diag":
                continue
            nested_under = _child_text(holder, "name").replace(".", "")
            if code.startswith(nested_under) and len(code) > len(nested_under):
                continue
            if len(code) > 3 and code[:3] == nested_under[:3]:
                slips.append((element, code, nested_under))
        for element, code, nested_under in slips:
            prefixes = (code[:length] for length in range(len(code) - 1, 2, -1))
            owner = next((prefix for prefix in prefixes if prefix in names), None)
            if owner is None:
                continue  # diag() refuses it
            self.misplaced.add((element.sourceline, code))
            self.adopted.setdefault(owner, []).append(element)
            self.odd(
                f"{dotted(code)} is nested under {dotted(nested_under)}, which it does not "
                f"extend; read as a child of {dotted(owner)}",
                line=element.sourceline,
                element=f"diag {dotted(code)}",
            )

    def desc(self, element: etree._Element, *, label: str) -> str:
        """The <desc> text; stray spaces are read past (and reported), and so is a line break
        (XML layout); other control characters, a TAB or a carriage return among them, are left
        for title_problem to refuse."""
        child = element.find("desc")
        if child is None:
            return ""
        raw = (child.text or "") if len(child) == 0 else "".join(child.itertext())
        text = raw.strip(" \t\r\n").replace("\n", " ")
        if text != raw:
            self.odd("the desc starts or ends with spaces", line=child.sourceline, element=label)
        if "  " in text:
            self.odd(
                "the desc holds a run of spaces, read as one", line=child.sourceline, element=label
            )
            text = " ".join(part for part in text.split(" ") if part)
        return text

    def check_title(self, title: str, *, limit: int, what: str, line: int, label: str) -> None:
        problem = title_problem(title, limit=limit, what=what)
        if problem is not None:
            raise self.error(problem, line=line, element=label)

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
        desc = self.desc(element, label=label)
        range_start = desc.rfind("(")
        match = _CHAPTER_RANGE_RE.fullmatch(desc, range_start) if range_start >= 0 else None
        if match is None:
            raise self.error(
                f"chapter <desc> does not end with a code range like (A00-B99): {_shown(desc)}",
                line=element.sourceline,
                element=label,
            )
        title = desc[:range_start].rstrip()
        self.check_title(
            title,
            limit=MAX_HEADING_TITLE,
            what="chapter title",
            line=element.sourceline,
            label=label,
        )
        return TabularChapter(
            number=number,
            title=title,
            first=match["first"],
            last=match["last"],
            notes=self.element_notes(element, label=label),
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
        desc = self.desc(element, label=label)
        if not desc:
            raise self.error("section without a <desc>", line=element.sourceline, element=label)
        title = desc
        # A trailing "(Z40-Z53)" (anything without parentheses inside) is not part of the title.
        range_start = desc.rfind("(")
        if desc.endswith(")") and range_start >= 0 and ")" not in desc[range_start + 1 : -1]:
            title = desc[:range_start].rstrip()
        self.check_title(
            title,
            limit=MAX_HEADING_TITLE,
            what="section title",
            line=element.sourceline,
            label=label,
        )
        return TabularSection(
            id=section_id,
            first=match["first"],
            last=match["last"] or match["first"],
            title=title,
            chapter=chapter,
            notes=self.element_notes(element, label=label),
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
        name = ""
        desc: etree._Element | None = None
        notes: list[TabularNote] = []
        own: _SeventhCharacters | None = None
        # The sevenChrDef and where its notes go among the others: they are read once the desc
        # is (a stray note is told by comparing it with the title).
        definition: etree._Element | None = None
        definition_at = 0
        children: list[etree._Element] = []
        for child in element:
            tag = child.tag
            if tag == "diag":
                children.append(child)
            elif tag == "name":
                name = name or _text(child)
            elif tag == "desc":
                desc = child if desc is None else desc
            elif tag == "sevenChrDef":
                own = self.seventh_characters(child, label=f"diag {name}")
                definition, definition_at = child, len(notes)
            else:
                self.add_notes(notes, child, label=f"diag {name}")

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
        if self.misplaced:
            children = [
                child
                for child in children
                if (child.sourceline, _child_text(child, "name").replace(".", ""))
                not in self.misplaced
            ]
        children += self.adopted.get(code, [])
        title = "" if desc is None else self.desc(element, label=label)
        if not title:
            raise self.error("diag without a <desc>", line=line, element=label)
        self.check_title(title, limit=MAX_LONG_TITLE, what="desc", line=line, label=label)
        if definition is not None:
            notes[definition_at:definition_at] = self.seventh_character_notes(
                definition, name=name, title=title
            )

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
            expanded_title = f"{title}, {text}"
            self.check_title(
                expanded_title,
                limit=MAX_LONG_TITLE,
                what=f"title of {dotted(stem + character)} (desc, 7th character {character})",
                line=line,
                label=label,
            )
            self.add(
                TabularCode(
                    code=stem + character,
                    title=expanded_title,
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
            self.odd(
                f"the 7th-character note {stray.text!r} follows character {stray.character} "
                f"({stray.meaning!r}) but does not word it further: kept as an inclusion term "
                f"of {name}",
                line=stray.line,
                element=f"diag {name}",
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

    def element_notes(self, element: etree._Element, *, label: str) -> tuple[TabularNote, ...]:
        """The note blocks of a chapter or a section, in document order."""
        notes: list[TabularNote] = []
        for child in element:
            self.add_notes(notes, child, label=label)
        return tuple(notes)

    def add_notes(self, notes: list[TabularNote], child: etree._Element, *, label: str) -> None:
        kind = NOTE_KINDS.get(child.tag)
        if kind is not None:
            notes.extend(self.block_notes(child, kind, label=label))
        elif child.tag == "sevenChrDef":
            # On a chapter or a section (the schema allows it; no file has one) nothing is stray.
            notes.extend(_seventh_character_notes(child)[0])
        elif child.tag == "visualImpairment":
            notes.extend(_visual_impairment_notes(child))
        # Anything else (name, desc, sectionIndex, diag, section) is read by the caller or,
        # like sectionIndex (a table of contents repeating the sections), deliberately ignored.

    def block_notes(self, block: etree._Element, kind: str, *, label: str) -> list[TabularNote]:
        notes = []
        for note in block.iterchildren("note"):
            text = _text(note)
            if not text:
                self.odd(f"an empty note in <{block.tag}>", line=note.sourceline, element=label)
                continue
            if _unbalanced(text):
                self.odd(
                    f"unbalanced brackets in a note: {_shown(text, 80)}",
                    line=note.sourceline,
                    element=label,
                )
            notes.append(TabularNote(kind=kind, text=text))
        return notes


def _unbalanced(text: str) -> bool:
    """A note whose brackets do not pair up ("(E87.8}"); its text is kept as CMS wrote it.
    A list marker ("a) direct infection ...") is not a bracket."""
    if text[1:2] == ")" and text[:1].isalnum():
        text = text[2:]
    return (
        text.count("(") != text.count(")")
        or text.count("[") != text.count("]")
        or "{" in text
        or "}" in text
    )


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
        # Every whitespace run made one space first: the pattern's "\s*,?\s*" would otherwise
        # try each split of a long run, quadratic in its length.
        match = _SEVENTH_EXCEPTION_RE.search(" ".join(_text(note).split()))
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
