"""An Index XML file (root ICD10CM.index) -> one part of the Alphabetic Index, as flat terms.

Four files of a release share the format: the Index to Diseases and Injuries, the External
Cause Index, the Table of Drugs and Chemicals and the Neoplasm Table. Which one a file is comes
from its content (its <title>, or its table's first column heading), never from its name.

Pure: bytes in, frozen dataclasses out; nothing here touches Django. What the terms say is
checked against the release's codes elsewhere (codes.importer.index_data).
"""

import re
from dataclasses import dataclass

from lxml import etree

from codes.importer.errors import ImportFileError
from codes.importer.safe_xml import parse_xml

ROOT_TAG = "ICD10CM.index"

DISEASES = "diseases"
EXTERNAL_CAUSES = "external_causes"
DRUGS = "drugs"
NEOPLASMS = "neoplasms"
PARTS = (DISEASES, EXTERNAL_CAUSES, DRUGS, NEOPLASMS)
PART_NAMES = {
    DISEASES: "Index to Diseases and Injuries",
    EXTERNAL_CAUSES: "External Cause Index",
    DRUGS: "Table of Drugs and Chemicals",
    NEOPLASMS: "Neoplasm Table",
}
TABLES = (DRUGS, NEOPLASMS)

# Bounds no real file comes near (the largest, the FY2017 Index to Diseases: 77,199 terms,
# titles of at most 416 characters, 9 levels), so a hostile file cannot make us hold millions
# of terms or megabyte titles.
MAX_TERMS = 400_000
MAX_TEXT = 2_000
MAX_LEVEL = 30
MAX_COLUMNS = 9

# Elements a term may hold, besides <title> and nested <term>s (the CMS XSD's termGroup).
_REFERENCE_TAGS = ("code", "see", "seeAlso", "seecat", "subcat", "manif", "warning")
_XML_SPACE_RE = re.compile(r"[ \t\r\n]+")
_YEAR_RE = re.compile(r"[0-9]{4}")
_LEVEL_RE = re.compile(r"[0-9]{1,2}")
_COLUMN_RE = re.compile(r"[0-9]")


@dataclass(frozen=True, slots=True)
class IndexTerm:
    """A main term (level 0) or a nested term, in document order within its part."""

    sequence: int  # 1-based position in the part: the term's id
    parent: int  # sequence of the term above it; 0 for a main term
    last: int  # sequence of its last descendant (its own when it has none): its subtree
    level: int  # 0 for a main term, then 1, 2, ... as the file's level attribute says
    letter: str  # the <letter> it is filed under ("A", "#")
    title: str  # the words before the non-essential modifiers
    nemod: str  # the non-essential modifiers as printed: "(acute) (double)"
    suffix: str  # words after them ("NEC" in "Abandonment (…) NEC")
    code: str  # as printed: "J18.9", "I63.9-" (more characters required), "" for none
    manif: str  # a manifestation code printed in brackets after the code
    see: str  # "Infarct, myocardium": code it there instead
    see_also: str  # look there too
    seecat: str  # "see category M01"
    subcat: str  # "see subcategory H93.3"
    warning: str
    cells: tuple[str, ...]  # table columns 2.. as printed ("T51.3X1", "--", "C79.8-"); "" absent
    line: int

    @property
    def name(self) -> str:
        """The term as printed, non-essential modifiers in parentheses."""
        return " ".join(part for part in (self.title, self.nemod, self.suffix) if part)

    @property
    def essential(self) -> str:
        """The term without its non-essential modifiers: what a see reference names."""
        return " ".join(part for part in (self.title, self.suffix) if part)


@dataclass(frozen=True)
class IndexPart:
    part: str  # DISEASES, EXTERNAL_CAUSES, DRUGS or NEOPLASMS
    version: str  # the <version> text: the fiscal year it was published for
    title: str  # the file's <title>; "" for the tables
    columns: tuple[str, ...]  # the tables' column headings in order ("Substance", …)
    letters: tuple[str, ...]  # in file order
    terms: tuple[IndexTerm, ...]  # in file order; terms[i].sequence == i + 1
    unknown_elements: dict[str, int]  # elements the format does not have, by tag: reported

    @property
    def main_term_count(self) -> int:
        return sum(1 for term in self.terms if term.level == 0)


def part_of(title: str, first_heading: str) -> str | None:
    """Which part a file is, from its <title> or its table's first column heading."""
    title = " ".join(title.split()).casefold()
    heading = " ".join(first_heading.split()).casefold()
    if "index to diseases" in title:
        return DISEASES
    if "external cause" in title:
        return EXTERNAL_CAUSES
    if heading in ("substance", "drug", "drugs and chemicals"):
        return DRUGS
    if heading.startswith("neoplasm"):
        return NEOPLASMS
    return None


def parse_index_xml(data: bytes, *, filename: str) -> IndexPart:
    """Parse one Index XML file; anything unsafe or inconsistent raises ImportFileError."""
    root = parse_xml(
        data,
        filename=filename,
        root_tag=ROOT_TAG,
        what="Index XML",
        hint="(a tabular XML, or an ICD-10-PCS index?)",
    )
    return _IndexReader(filename).read(root)


class _IndexReader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.terms: list[IndexTerm | None] = []
        self.unknown: dict[str, int] = {}
        self.columns = 0

    def error(self, message: str, *, line: int | None, element: str = "") -> ImportFileError:
        return ImportFileError(message, file=self.filename, line=line, element=element)

    def read(self, root: etree._Element) -> IndexPart:
        if root.get("isAddenda") == "true":
            raise self.error(
                'is an Index addenda file (isAddenda="true"), which lists changes only: '
                "upload the full Index file",
                line=root.sourceline,
                element=ROOT_TAG,
            )
        version_element = root.find("version")
        version = "" if version_element is None else _text(version_element)
        if _YEAR_RE.fullmatch(version) is None:
            raise self.error(
                f"<version> is {_shown(version)}, not a year like 2026",
                line=root.sourceline if version_element is None else version_element.sourceline,
                element="version",
            )
        title_element = root.find("title")
        title = "" if title_element is None else _text(title_element)
        headings = self.headings(root.find("indexHeading"))
        part = part_of(title, headings[0] if headings else "")
        if part is None:
            raise self.error(
                "is an Index XML of no known part: its <title> is "
                f"{_shown(title)} and its first column heading {_shown(headings[:1])}; expected "
                "the Index to Diseases and Injuries, the External Cause Index, the Table of "
                "Drugs and Chemicals or the Neoplasm Table",
                line=root.sourceline,
                element=ROOT_TAG,
            )
        if part in TABLES and len(headings) < 2:
            raise self.error(
                f"the {PART_NAMES[part]} has no column headings (<indexHeading>)",
                line=root.sourceline,
                element="indexHeading",
            )
        self.columns = len(headings) - 1 if part in TABLES else 0

        letters = []
        for letter_element in root.iterchildren("letter"):
            letter = _title_text(letter_element)
            if not letter or len(letter) > 10:
                raise self.error(
                    f"<letter> with the title {_shown(letter)}; letters are A to Z or #",
                    line=letter_element.sourceline,
                    element="letter",
                )
            letters.append(letter)
            for position, main in enumerate(letter_element.iterchildren("mainTerm"), start=1):
                self.term(
                    main,
                    parent=0,
                    level=0,
                    letter=letter,
                    path=f"letter {letter} / mainTerm[{position}]",
                )
        if not self.terms:
            raise self.error("no <letter> with a <mainTerm>", line=root.sourceline)
        return IndexPart(
            part=part,
            version=version,
            title=title,
            columns=tuple(headings),
            letters=tuple(letters),
            terms=tuple(self.terms),  # type: ignore[arg-type]
            unknown_elements=dict(sorted(self.unknown.items())),
        )

    def headings(self, element: etree._Element | None) -> list[str]:
        if element is None:
            return []
        found: dict[int, str] = {}
        for head in element.iterchildren("head"):
            column = self.column(head, path="indexHeading")
            if column in found:
                raise self.error(
                    f"two headings for column {column}", line=head.sourceline, element="head"
                )
            found[column] = _bounded(_text(head), self, head, "indexHeading")
        if sorted(found) != list(range(1, len(found) + 1)):
            raise self.error(
                f"column headings for columns {sorted(found)}; expected 1 to {len(found)}",
                line=element.sourceline,
                element="indexHeading",
            )
        return [found[column] for column in sorted(found)]

    def column(self, element: etree._Element, *, path: str) -> int:
        text = (element.get("col") or "").strip()
        if _COLUMN_RE.fullmatch(text) is None or not 1 <= int(text) <= MAX_COLUMNS:
            raise self.error(
                f"col={text[:20]!r} is not a column number 1 to {MAX_COLUMNS}",
                line=element.sourceline,
                element=path,
            )
        return int(text)

    def term(
        self, element: etree._Element, *, parent: int, level: int, letter: str, path: str
    ) -> None:
        """Append the term, then everything below it."""
        if len(self.terms) >= MAX_TERMS:
            raise self.error(
                f"more than {MAX_TERMS:,} terms; no Index has that many",
                line=element.sourceline,
                element=path,
            )
        if level:
            declared = (element.get("level") or "").strip()
            if _LEVEL_RE.fullmatch(declared) is None or int(declared) != level:
                raise self.error(
                    f"level={declared!r} but the term is nested {level} deep",
                    line=element.sourceline,
                    element=path,
                )
            if level > MAX_LEVEL:
                raise self.error(
                    f"terms nested more than {MAX_LEVEL} levels",
                    line=element.sourceline,
                    element=path,
                )
        title = nemod = suffix = ""
        references = dict.fromkeys(_REFERENCE_TAGS, "")
        cells = [""] * self.columns
        children: list[etree._Element] = []
        title_element = None
        for child in element:
            tag = child.tag
            if tag == "term":
                children.append(child)
            elif tag == "title":
                title_element = child
                title, nemod, suffix = _title_parts(child)
            elif tag == "nemod":  # the tables' XSD puts it beside the title
                nemod = " ".join(part for part in (nemod, _text(child)) if part)
            elif tag in references:
                references[tag] = _text(child)
            elif tag == "cell":
                column = self.column(child, path=path)
                if not 2 <= column <= self.columns + 1:
                    raise self.error(
                        f"cell of column {column}, but the table has columns 1 to "
                        f"{self.columns + 1} (column 1 is the term itself)"
                        if self.columns
                        else "a table cell in an Index that is not a table",
                        line=child.sourceline,
                        element=path,
                    )
                if cells[column - 2]:
                    raise self.error(
                        f"two cells for column {column}", line=child.sourceline, element=path
                    )
                cells[column - 2] = _text(child) or "--"
            elif tag == "diff":
                raise self.error(
                    "holds addenda markup (<diff>): upload the full Index file, not its addenda",
                    line=child.sourceline,
                    element=path,
                )
            elif isinstance(tag, str):
                self.unknown[tag] = self.unknown.get(tag, 0) + 1
        if title_element is None or not (title or nemod or suffix):
            raise self.error("a term without a <title>", line=element.sourceline, element=path)
        if level == 0:
            path = f'letter {letter} / mainTerm "{_clipped(title)}"'
        for text in (title, nemod, suffix, *references.values(), *cells):
            _bounded(text, self, element, path)

        sequence = len(self.terms) + 1
        self.terms.append(None)  # its place, filled once its subtree is known
        for position, child in enumerate(children, start=1):
            self.term(
                child,
                parent=sequence,
                level=level + 1,
                letter=letter,
                path=f"{path} / term[{position}]",
            )
        self.terms[sequence - 1] = IndexTerm(
            sequence=sequence,
            parent=parent,
            last=len(self.terms),
            level=level,
            letter=letter,
            title=title,
            nemod=nemod,
            suffix=suffix,
            code=references["code"],
            manif=references["manif"],
            see=references["see"],
            see_also=references["seeAlso"],
            seecat=references["seecat"],
            subcat=references["subcat"],
            warning=references["warning"],
            cells=tuple(cells),
            line=element.sourceline,
        )


def _title_parts(title: etree._Element) -> tuple[str, str, str]:
    """(words before the nemod, the nemod, words after it) of a <title>."""
    before = [title.text or ""]
    nemods: list[str] = []
    after: list[str] = []
    for child in title:
        if child.tag == "nemod":
            nemods.append("".join(child.itertext()))
            after.append(child.tail or "")
        else:
            # Markup the format does not have inside a title: keep its words where they stand.
            (after if nemods else before).append("".join(child.itertext()) + (child.tail or ""))
    return _clean("".join(before)), _clean(" ".join(nemods)), _clean("".join(after))


def _title_text(element: etree._Element) -> str:
    title = element.find("title")
    return "" if title is None else _text(title)


def _text(element: etree._Element) -> str:
    return _clean("".join(element.itertext()) if len(element) else (element.text or ""))


def _clean(text: str) -> str:
    """XML whitespace runs collapsed to one space; a no-break space or an accent survives."""
    if "  " in text or "\n" in text or "\r" in text or "\t" in text:
        text = _XML_SPACE_RE.sub(" ", text)
    return text.strip(" ")


def _bounded(text: str, reader: _IndexReader, element: etree._Element, path: str) -> str:
    if len(text) > MAX_TEXT:
        raise reader.error(
            f"a text of {len(text):,} characters; the Index has none over {MAX_TEXT:,}",
            line=element.sourceline,
            element=path,
        )
    return text


def _clipped(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _shown(text, limit: int = 60) -> str:
    if isinstance(text, list):
        return repr(text[0][:limit]) if text else "(none)"
    return repr(text[:limit]) + ("…" if len(text) > limit else "") if text else "(none)"
