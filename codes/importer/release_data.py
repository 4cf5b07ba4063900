"""Parsed files -> the rows of one release, cross-checked: what the loader writes. Pure.

The order file says which codes exist, their flags, titles and tabular sequence. The tabular
XML says where each code sits (chapter, section, parent) and carries the notes. Without XML, the
hierarchy comes from the codes themselves, and the loader borrows chapters and sections from
another release (codes.importer.borrowed_structure); without an order file, the XML's derived
code set stands in for it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from codes.importer.codes_file import CodesEntry
from codes.importer.errors import ImportFileError
from codes.importer.order_file import OrderEntry
from codes.importer.tabular_xml import Tabular, TabularNote

TABULAR = "tabular"
NONE = "none"  # until borrowed: codes.importer.borrowed_structure

# How many differing codes an error message lists before "and N more".
LISTED_DIFFERENCES = 20


@dataclass(frozen=True)
class ChapterRow:
    number: int
    title: str
    first_code: str
    last_code: str


@dataclass(frozen=True)
class SectionRow:
    section_id: str
    chapter: int
    title: str
    first_code: str
    last_code: str
    parent: str | None = None  # the id of the heading section that holds it


@dataclass(frozen=True)
class CodeRow:
    code: str
    short_title: str
    long_title: str
    is_billable: bool
    kind: str
    parent_code: str
    depth: int
    chapter: int | None
    section: str | None
    sequence: int


@dataclass(frozen=True)
class NoteRow:
    owner_kind: str  # "chapter", "section" or "code"
    owner: str  # chapter number as text, section id, or undotted code
    kind: str
    text: str
    character: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ReleaseData:
    chapters: list[ChapterRow]
    sections: list[SectionRow]
    codes: list[CodeRow]
    notes: list[NoteRow]
    structure: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # CMS's own slips in the tabular XML, read past: {"file", "line", "element", "what"}.
    anomalies: list[dict] = field(default_factory=list)

    @property
    def billable_count(self) -> int:
        return sum(row.is_billable for row in self.codes)


def build_release_data(
    *,
    order: Sequence[OrderEntry] | None,
    order_name: str = "",
    tabular: Tabular | None = None,
    tabular_name: str = "",
) -> ReleaseData:
    # run.import_release refuses files with neither, naming them, before parsing anything.
    assert order is not None or tabular is not None
    if order is not None and tabular is not None:
        data = _from_order_and_tabular(order, order_name, tabular, tabular_name)
    elif order is not None:
        data = _from_order_alone(order)
    else:
        data = _from_tabular_alone(tabular)
    if tabular is not None:
        data.anomalies = [
            {"file": tabular_name, "line": a.line, "element": a.element, "what": a.what}
            for a in tabular.anomalies
        ]
    return data


def _kind(code: str, is_billable: bool) -> str:
    if len(code) == 3:
        return "category"
    return "code" if is_billable else "subcategory"


def _depths(parents: dict[str, str]) -> dict[str, int]:
    """Depth of every code; parents come before children in tabular order."""
    depth: dict[str, int] = {}
    for code, parent in parents.items():
        depth[code] = depth[parent] + 1 if parent else 0
    return depth


def _structure_from_tabular(tabular: Tabular) -> tuple[list, list, list]:
    chapters = [ChapterRow(c.number, c.title, c.first, c.last) for c in tabular.chapters]
    sections = [
        SectionRow(s.id, s.chapter, s.title, s.first, s.last, s.parent) for s in tabular.sections
    ]
    notes: list[NoteRow] = []
    for chapter in tabular.chapters:
        notes += _note_rows("chapter", str(chapter.number), chapter.notes)
    for section in tabular.sections:
        notes += _note_rows("section", section.id, section.notes)
    for code in tabular.codes:
        notes += _note_rows("code", code.code, code.notes)
    return chapters, sections, notes


def _note_rows(owner_kind: str, owner: str, notes: Sequence[TabularNote]) -> list[NoteRow]:
    return [NoteRow(owner_kind, owner, n.kind, n.text, n.character) for n in notes]


def _from_order_and_tabular(
    order: Sequence[OrderEntry], order_name: str, tabular: Tabular, tabular_name: str
) -> ReleaseData:
    _check_same_codes(order, order_name, tabular, tabular_name)
    placed = {code.code: code for code in tabular.codes}
    parents = {entry.code: placed[entry.code].parent or "" for entry in order}
    depth = _depths(parents)
    rows = [
        CodeRow(
            code=entry.code,
            short_title=entry.short_title,
            long_title=entry.long_title,
            is_billable=entry.is_billable,
            kind=_kind(entry.code, entry.is_billable),
            parent_code=parents[entry.code],
            depth=depth[entry.code],
            chapter=placed[entry.code].chapter,
            section=placed[entry.code].section,
            sequence=entry.sequence,
        )
        for entry in order
    ]
    chapters, sections, notes = _structure_from_tabular(tabular)
    data = ReleaseData(chapters, sections, rows, notes, structure=TABULAR)
    data.checks.append(
        Check(
            "order file vs tabular XML",
            True,
            f"the XML derives the same {len(rows):,} codes with the same flags",
        )
    )
    return data


def _check_same_codes(
    order: Sequence[OrderEntry], order_name: str, tabular: Tabular, tabular_name: str
) -> None:
    """Refuse order file and XML that do not describe the same codes with the same flags."""
    in_order = {entry.code: entry for entry in order}
    in_xml = {code.code: code for code in tabular.codes}
    problems = []
    for code in sorted(in_order.keys() | in_xml.keys()):
        entry, derived = in_order.get(code), in_xml.get(code)
        if derived is None:
            problems.append(f"{code} (order file line {entry.line}) is not in the XML")
        elif entry is None:
            problems.append(f"{code} (XML line {derived.line}) is not in the order file")
        elif entry.is_billable != derived.is_billable:
            problems.append(
                f"{code} is {_flag(entry.is_billable)} in the order file (line {entry.line}) "
                f"but {_flag(derived.is_billable)} in the XML (line {derived.line})"
            )
    if problems:
        raise ImportFileError(
            f"the order file and the tabular XML disagree on {len(problems)} codes: "
            + _listed(problems),
            file=f"{order_name} / {tabular_name}",
        )


def _flag(is_billable: bool) -> str:
    return "billable" if is_billable else "a header"


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:LISTED_DIFFERENCES])
    if len(problems) > LISTED_DIFFERENCES:
        shown += f"; and {len(problems) - LISTED_DIFFERENCES} more"
    return shown


def _from_order_alone(order: Sequence[OrderEntry]) -> ReleaseData:
    """Codes without XML: parents from the codes themselves. Chapters and sections are
    borrowed once stored (codes.importer.borrowed_structure); notes are not."""
    parents: dict[str, str] = {}
    for entry in order:
        # The nearest existing shorter prefix; X-padded stems (E08.37X) are never listed,
        # so E08.37X1 lands under E08.37.
        parent = ""
        for length in range(len(entry.code) - 1, 2, -1):
            if entry.code[:length] in parents:
                parent = entry.code[:length]
                break
        parents[entry.code] = parent
    depth = _depths(parents)
    rows = [
        CodeRow(
            code=entry.code,
            short_title=entry.short_title,
            long_title=entry.long_title,
            is_billable=entry.is_billable,
            kind=_kind(entry.code, entry.is_billable),
            parent_code=parents[entry.code],
            depth=depth[entry.code],
            chapter=None,
            section=None,
            sequence=entry.sequence,
        )
        for entry in order
    ]
    return ReleaseData([], [], rows, [], structure=NONE)


def _from_tabular_alone(tabular: Tabular) -> ReleaseData:
    parents = {code.code: code.parent or "" for code in tabular.codes}
    depth = _depths(parents)
    rows = [
        CodeRow(
            code=code.code,
            short_title="",
            long_title=code.title,
            is_billable=code.is_billable,
            kind=_kind(code.code, code.is_billable),
            parent_code=parents[code.code],
            depth=depth[code.code],
            chapter=code.chapter,
            section=code.section,
            sequence=position,
        )
        for position, code in enumerate(tabular.codes, start=1)
    ]
    chapters, sections, notes = _structure_from_tabular(tabular)
    data = ReleaseData(chapters, sections, rows, notes, structure=TABULAR)
    data.warnings.append(
        "no order file: the code set is derived from the tabular XML (no short titles)"
    )
    return data


def check_codes_file(
    billable: dict[str, str | None], codes: Sequence[CodesEntry], codes_name: str
) -> Check:
    """The codes file must list exactly the billable codes of the order file (or the XML), and
    with the order file's long titles. `billable`: code -> the order file's long title, or
    None when the codes come from the XML alone (whose titles keep accents the CMS text files
    fold, so they are not compared)."""
    listed = {entry.code: entry for entry in codes}
    problems = [
        f"{code} (line {listed[code].line}) is not a billable code of the release"
        for code in sorted(listed.keys() - billable)
    ] + [f"billable code {code} is missing" for code in sorted(billable - listed.keys())]
    problems += [
        f"{code} (line {entry.line}) is titled {_shown(entry.long_title)} in the codes file but "
        f"{_shown(billable[code])} in the order file"
        for code, entry in sorted(listed.items())
        if billable.get(code) is not None and entry.long_title != billable[code]
    ]
    if problems:
        raise ImportFileError(
            f"the codes file disagrees with the release on {len(problems)} codes: "
            + _listed(problems),
            file=codes_name,
        )
    detail = f"the same {len(billable):,} billable codes"
    if any(title is not None for title in billable.values()):
        detail += ", with the same titles"
    return Check("codes file vs order file", True, detail)


def _shown(title: str) -> str:
    return repr(title if len(title) <= 80 else f"{title[:77]}...")
