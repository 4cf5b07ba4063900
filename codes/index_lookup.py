"""What a page or an API answer says from a release's Alphabetic Index: which parts it has (and
where to find those it lacks), a main term with everything below it, the codes each term names,
where its see references lead, and the entries that lead to a code.

A release shows its own Index only. For a part it lacks, the nearest published release whose
Index has that part is named, never shown as its own.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from codes.codeset import CodeSet
from codes.icd10 import dotted, prefix_upper_bound
from codes.importer.index_data import CATEGORY_COLUMN, CODE_COLUMN, MANIF_COLUMN
from codes.importer.index_xml import NEOPLASMS, PART_NAMES, PARTS, TABLES
from codes.index_search import index_terms_for
from codes.models import IndexCodeReference, IndexTerm, Release, ReleaseIndex

# Parts in URLs: /index/external-causes/
PART_SLUGS = {part: part.replace("_", "-") for part in PARTS}
PARTS_BY_SLUG = {slug: part for part, slug in PART_SLUGS.items()}
# Letters in URLs: the drug table files its substances starting with a digit under "#".
DIGITS_LETTER = "#"
DIGITS_SLUG = "0-9"

Status = IndexCodeReference.Status
# An entry naming one of a code's ancestors leads to it when that ancestor needs more
# characters ("I63.9-", a 6-character drug code, "see category M01").
LEADING_FROM_ABOVE = (Status.INCOMPLETE, Status.SEVENTH, Status.HEADER, Status.CATEGORY)
# Shown on a code page before "all N index entries".
ENTRIES_SHOWN = 20


def letter_slug(letter: str) -> str:
    return DIGITS_SLUG if letter == DIGITS_LETTER else letter


def letter_of_slug(slug: str) -> str:
    return DIGITS_LETTER if slug == DIGITS_SLUG else slug.upper()


@dataclass
class PartStatus:
    """One part of the Index as a release has it, or where to find it."""

    part: str
    index: ReleaseIndex | None  # the release's Index, when it has this part
    nearest: Release | None = None  # else the nearest published release whose Index has it

    @property
    def name(self) -> str:
        return PART_NAMES[self.part]

    @property
    def slug(self) -> str:
        return PART_SLUGS[self.part]

    @property
    def is_table(self) -> bool:
        return self.part in TABLES

    @property
    def report(self) -> dict:
        return self.index.report.get(self.part, {}) if self.index else {}

    @property
    def columns(self) -> list[str]:
        return self.index.columns.get(self.part, []) if self.index else []


def part_status(release: Release, part: str, published: Sequence[Release]) -> PartStatus:
    index = release.index if release.index_id else None
    if index is not None and part in index.report:
        return PartStatus(part, index)
    return PartStatus(part, None, nearest_with_part(release, part, published))


def nearest_with_part(release: Release, part: str, published: Sequence[Release]) -> Release | None:
    """The published release nearest in time whose Index has the part (the earlier on a tie)."""
    having = [
        other
        for other in published
        if other.pk != release.pk and other.index_id and part in other.index.report
    ]
    if not having:
        return None

    def distance(other: Release) -> tuple[int, int]:
        days = abs((other.effective_date - release.effective_date).days)
        return days, 0 if other.effective_date < release.effective_date else 1

    return min(having, key=distance)


def letters(status: PartStatus) -> list[str]:
    """The letters of a part, as its pages list them. The Neoplasm Table is one main term
    ("Neoplasm, neoplastic") filed under N: its sites are listed by their own first letter."""
    if status.index is None:
        return []
    terms = IndexTerm.objects.filter(index=status.index, part=status.part)
    if status.part == NEOPLASMS:
        titles = terms.filter(level=1).values_list("title", flat=True)
        return sorted({initial(title) for title in titles})
    found = terms.filter(level=0).values_list("letter", flat=True).order_by("sequence")
    return list(dict.fromkeys(found))


def initial(title: str) -> str:
    """The letter a title is listed under ("#" for a digit or a sign)."""
    first = title.strip()[:1].upper()
    return first if first.isalpha() else DIGITS_LETTER


# Terms as shown -----------------------------------------------------------------------------------


@dataclass
class ShownCode:
    """A code a term names, where it stands and what the release says of it."""

    printed: str  # as in the Index: "I63.9-"
    code: str  # undotted, without the dash; "" when the text is not a code
    status: str  # IndexCodeReference.Status
    column: int
    column_name: str  # "code", "manifestation", "see category", or a table's column heading

    @property
    def dotted(self) -> str:
        return dotted(self.code)

    @property
    def exists(self) -> bool:
        return self.status not in (Status.MISSING, Status.MALFORMED)

    @property
    def needs_more_characters(self) -> bool:
        return self.status in (Status.INCOMPLETE, Status.SEVENTH, Status.DASH_ON_BILLABLE)

    @property
    def status_label(self) -> str:
        return Status(self.status).label if self.status in Status.values else self.status


@dataclass
class Reference:
    """Where a see or see-also reference leads."""

    text: str
    status: str  # IndexTerm.See
    part: str
    target: IndexTerm | None  # None: the part itself (a table), or unresolved
    target_main: IndexTerm | None  # the main term whose page holds the target

    @property
    def part_slug(self) -> str:
        return PART_SLUGS.get(self.part, "")

    @property
    def resolved(self) -> bool:
        return self.status in (IndexTerm.See.TERM, IndexTerm.See.PARTIAL)


@dataclass
class ShownTerm:
    term: IndexTerm
    depth: int  # levels below the first term shown
    codes: list[ShownCode] = field(default_factory=list)  # code, manifestation, see category
    cells: list[ShownCode | None] = field(default_factory=list)  # tables: one per column
    see: Reference | None = None
    see_also: Reference | None = None

    @property
    def anchor(self) -> str:
        return f"t{self.term.sequence}"


def column_name(column: int, columns: Sequence[str]) -> str:
    if column == CODE_COLUMN:
        return "code"
    if column == MANIF_COLUMN:
        return "manifestation"
    if column == CATEGORY_COLUMN:
        return "see category"
    return columns[column - 1] if column - 1 < len(columns) else f"column {column}"


def shown_terms(terms: Sequence[IndexTerm], index: ReleaseIndex) -> list[ShownTerm]:
    """Terms (of one part, in file order) with their codes and resolved references: two
    queries, whatever their number."""
    if not terms:
        return []
    part = terms[0].part
    columns = index.columns.get(part, [])
    sequences = [term.sequence for term in terms]
    references: dict[int, list[IndexCodeReference]] = {}
    for reference in IndexCodeReference.objects.filter(
        index=index, part=part, term__range=(min(sequences), max(sequences))
    ).order_by("term", "column"):
        references.setdefault(reference.term, []).append(reference)
    targets = _targets(index, terms)
    top = min(term.level for term in terms)
    shown = []
    for term in terms:
        row = ShownTerm(term, term.level - top)
        by_column: dict[int, ShownCode] = {}
        for reference in references.get(term.sequence, []):
            printed = _printed(term, reference.column)
            by_column[reference.column] = ShownCode(
                printed,
                reference.code,
                reference.status,
                reference.column,
                column_name(reference.column, columns),
            )
        row.codes = [
            by_column[c] for c in (CODE_COLUMN, MANIF_COLUMN, CATEGORY_COLUMN) if c in by_column
        ]
        if part in TABLES:
            row.cells = [by_column.get(position + 2) for position in range(len(term.cells))]
        row.see = _reference(term.see, term.see_status, term.see_part, term.see_term, targets)
        row.see_also = _reference(
            term.see_also, term.see_also_status, term.see_also_part, term.see_also_term, targets
        )
        shown.append(row)
    return shown


def _printed(term: IndexTerm, column: int) -> str:
    if column == CODE_COLUMN:
        return term.code
    if column == MANIF_COLUMN:
        return term.manif
    if column == CATEGORY_COLUMN:
        return term.seecat or term.subcat
    return term.cells[column - 2]


def _targets(index: ReleaseIndex, terms: Iterable[IndexTerm]) -> dict[tuple[str, int], IndexTerm]:
    """The terms the see references lead to, with their main terms (one query)."""
    wanted = {
        (part, sequence)
        for term in terms
        for part, sequence in (
            (term.see_part, term.see_term),
            (term.see_also_part, term.see_also_term),
        )
        if part and sequence
    }
    if not wanted:
        return {}
    condition = Q(pk__in=[])
    for part, sequence in wanted:
        condition |= Q(part=part, sequence=sequence)
    found = {(t.part, t.sequence): t for t in IndexTerm.objects.filter(condition, index=index)}
    mains = {(t.part, t.main) for t in found.values() if t.main != t.sequence}
    if mains:
        condition = Q(pk__in=[])
        for part, sequence in mains:
            condition |= Q(part=part, sequence=sequence)
        for term in IndexTerm.objects.filter(condition, index=index):
            found[(term.part, term.sequence)] = term
    return found


def _reference(
    text: str, status: str, part: str, sequence: int, targets: dict[tuple[str, int], IndexTerm]
) -> Reference | None:
    if not text:
        return None
    target = targets.get((part, sequence)) if sequence else None
    main = targets.get((part, target.main)) if target is not None else None
    return Reference(text, status, part, target, main)


def main_term(index: ReleaseIndex, part: str, letter: str, slug: str) -> IndexTerm | None:
    return IndexTerm.objects.filter(
        index=index, part=part, letter=letter, slug=slug, level=0
    ).first()


def term_path(term: IndexTerm) -> list[IndexTerm]:
    """The terms from its main term down to it (one query)."""
    if term.level == 0:
        return [term]
    return [*IndexTerm.objects.above([term]), term]


# Entries that lead to a code ---------------------------------------------------------------------


@dataclass
class IndexEntry:
    """An Index term that leads to a code: its path and how it names the code."""

    term: IndexTerm
    path: list[IndexTerm]  # from the main term down to the term itself
    code: ShownCode

    @property
    def part(self) -> str:
        return self.term.part

    @property
    def part_name(self) -> str:
        return PART_NAMES[self.term.part]

    @property
    def main(self) -> IndexTerm:
        return self.path[0]


@dataclass
class CodeEntries:
    """The entries of a release's Index that lead to one code, and what is unknown."""

    release: Release
    index: ReleaseIndex | None
    entries: list[IndexEntry]  # the first `limit`, best first
    total: int
    missing_parts: list[PartStatus]  # parts the release's Index lacks, with the nearest holder

    @property
    def has_index(self) -> bool:
        return self.index is not None


def entries_leading_to(
    release: Release,
    code: str,
    codeset: CodeSet,
    published: Sequence[Release],
    *,
    limit: int | None = ENTRIES_SHOWN,
    offset: int = 0,
) -> CodeEntries:
    """The Index entries that name the code, a code below it, or an ancestor that needs more
    characters ("I63.9-" leads to I63.90): the code itself first, then the codes below it,
    then its ancestors nearest first; by part and file order within each. Two queries."""
    index = release.index if release.index_id else None
    missing = [part_status(release, part, published) for part in PARTS]
    missing = [status for status in missing if status.index is None]
    if index is None:
        return CodeEntries(release, None, [], 0, missing)
    ancestors = codeset.ancestors(code)
    below = Q(code__gte=code)
    upper = prefix_upper_bound(code)
    if upper:
        below &= Q(code__lt=upper)
    references = list(
        IndexCodeReference.objects.filter(
            below | Q(code__in=ancestors, status__in=LEADING_FROM_ABOVE), index=index
        )
        .exclude(status__in=[Status.MISSING, Status.MALFORMED])
        .values_list("part", "term", "column", "code", "status", "level")
    )
    rank = {ancestor: position for position, ancestor in enumerate(ancestors, start=2)}
    part_order = {part: position for position, part in enumerate(PARTS)}

    def order(row: tuple) -> tuple:
        part, term, column, found, _, level = row
        kind = 0 if found == code else rank.get(found, 1)
        return kind, part_order[part], level, term, column

    references.sort(key=order)
    # One entry per term: a table row naming the code in two columns is one entry.
    seen: set[tuple[str, int]] = set()
    unique = []
    for row in references:
        if (row[0], row[1]) not in seen:
            seen.add((row[0], row[1]))
            unique.append(row)
    chosen = unique[offset:] if limit is None else unique[offset : offset + limit]
    return CodeEntries(release, index, _entries(index, chosen), len(unique), missing)


def _entries(index: ReleaseIndex, rows: list[tuple]) -> list[IndexEntry]:
    paths = _paths(index, [(part, sequence) for part, sequence, *_ in rows])
    entries = []
    for part, sequence, column, code, status, _ in rows:
        path = paths[(part, sequence)]
        term = path[-1]
        columns = index.columns.get(part, [])
        shown = ShownCode(
            _printed(term, column), code, status, column, column_name(column, columns)
        )
        entries.append(IndexEntry(term, path, shown))
    return entries


def _paths(
    index: ReleaseIndex, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], list[IndexTerm]]:
    """(part, sequence) -> the terms from its main term down to it, in one query: the terms
    above each are known from the Index the process holds (its parents, codes.index_search),
    so only they are read, by their numbers (IndexTermQuerySet.above reads whole ranges)."""
    if not keys:
        return {}
    held = index_terms_for(index)
    chains = {}
    wanted: dict[str, set[int]] = {}
    for part, sequence in keys:
        parent = held[part].parent
        chain = [sequence]
        while parent[chain[-1]]:
            chain.append(parent[chain[-1]])
        chains[(part, sequence)] = chain[::-1]
        wanted.setdefault(part, set()).update(chain)
    condition = Q(pk__in=[])
    for part, sequences in wanted.items():
        condition |= Q(part=part, sequence__in=sorted(sequences))
    terms = {(t.part, t.sequence): t for t in IndexTerm.objects.filter(condition, index=index)}
    return {key: [terms[(key[0], s)] for s in chain] for key, chain in chains.items()}


def paths_of(terms: Iterable[IndexTerm]) -> dict[tuple[str, int], list[IndexTerm]]:
    """(part, id) -> the terms from its main term down to it, for each term (one query)."""
    terms = list({(t.part, t.sequence): t for t in terms}.values())
    above = {(t.part, t.sequence): t for t in IndexTerm.objects.above(terms)} if terms else {}
    found = {}
    for term in terms:
        path = [term]
        while path[0].parent:
            path.insert(0, above[(term.part, path[0].parent)])
        found[(term.part, term.sequence)] = path
    return found
