"""The only writer of release data: one transaction, bulk writes (COPY on PostgreSQL).

Either the whole release is stored, with its changes against the release before it (and the
changes of the release after it recomputed against it) and the chapters and sections of the
releases without tabular XML borrowed anew where it is now their nearest, or nothing is.
"""

import datetime
import functools
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from codes.importer.borrowed_structure import refresh_borrowed_structures, structure_message
from codes.importer.conversion_table import ConversionRow
from codes.importer.diff import Entry, compute_changes
from codes.importer.errors import ImportFileError, ReleaseNotStored
from codes.importer.index_data import IndexData
from codes.importer.poa import PoaList as PoaListData
from codes.importer.release_data import (
    ChapterRow,
    CodeRow,
    NoteRow,
    ReleaseData,
    SectionRow,
)
from codes.importer.sources import SourceFile as SourceFileData
from codes.models import (
    Chapter,
    Code,
    CodeChange,
    ConversionEntry,
    IndexCodeReference,
    IndexTerm,
    Note,
    PoaExemptCode,
    PoaList,
    PoaListChange,
    Release,
    ReleaseIndex,
    Section,
    SourceFile,
)

Progress = Callable[[str], None]


logger = logging.getLogger(__name__)


def _refusing_database_errors(function: Callable) -> Callable:
    """A database error while storing (a lost connection, a constraint) becomes a plain refusal:
    the transaction has rolled back, so nothing of the release is visible."""

    @functools.wraps(function)
    def refusing(*args, label: str, **kwargs):
        try:
            return function(*args, label=label, **kwargs)
        except DatabaseError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            detail = f"{type(error).__name__}: {first_line}"
            if _connection_lost(error):
                raise ReleaseNotStored(
                    f"{label} was not stored: the database connection was lost while writing "
                    f"it ({detail}); nothing was stored",
                    connection_lost=True,
                ) from error
            raise ReleaseNotStored(
                f"{label} was not stored: the database refused it ({detail}); nothing was stored"
            ) from error

    return refusing


def _connection_lost(error: DatabaseError) -> bool:
    """The PostgreSQL server went away (a killed backend, a restart, a failover): SQLSTATE class
    08 or 57P, or none at all when the client saw the socket close. The connection itself cannot
    tell: as the outermost atomic block ends, Django drops a broken one and opens a new one. A
    constraint, or SQLite's "database is locked", is a refusal."""
    if connection.vendor != "postgresql" or not isinstance(
        error, OperationalError | InterfaceError
    ):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


@_refusing_database_errors
def load_release(
    data: ReleaseData,
    *,
    fiscal_year: int,
    effective_date: datetime.date,
    label: str,
    files: Sequence[SourceFileData] = (),
    report: dict | None = None,
    imported_by: str = "",
    publish: bool = False,
    replace: bool = False,
    progress: Progress = lambda message: None,
    conversion: Sequence[ConversionRow] = (),
    index: IndexData | None = None,
    poa: PoaListData | None = None,
    poa_report: dict | None = None,
) -> Release:
    """Store a release. A draft with the same date or label is replaced; a published one only
    with `replace`. `conversion`: the rows of CMS's conversion table shipped with it; `index`:
    its Alphabetic Index, which it shows at once; `poa`: its POA-exempt list, cross-checked
    (`poa_report`: what the checks found)."""
    with transaction.atomic():
        _remove_existing(effective_date=effective_date, label=label, replace=replace)
        now = timezone.now()
        release = Release.objects.create(
            fiscal_year=fiscal_year,
            effective_date=effective_date,
            label=label,
            status=Release.Status.PUBLISHED if publish else Release.Status.DRAFT,
            published_at=now if publish else None,
            structure=data.structure,
            entry_count=len(data.codes),
            billable_count=data.billable_count,
            header_count=len(data.codes) - data.billable_count,
            chapter_count=len(data.chapters),
            section_count=len(data.sections),
            note_count=len(data.notes),
            report={
                "checks": [asdict(check) for check in data.checks],
                "warnings": data.warnings,
                "unplaced": [],
                "anomalies": data.anomalies,
                **(
                    {"structure": structure_message(None)}
                    if data.structure == Release.Structure.NONE
                    else {}
                ),
                **(report or {}),
            },
            imported_at=now,
            imported_by=imported_by,
        )
        SourceFile.objects.bulk_create(
            SourceFile(release=release, name=f.name, sha256=f.sha256, size=f.size) for f in files
        )
        progress(f"Writing {len(data.chapters)} chapters and {len(data.sections)} sections")
        chapter_ids, section_ids = _write_structure(release, data.chapters, data.sections)
        progress(f"Writing {len(data.codes):,} codes")
        _write_codes(release, data.codes, chapter_ids, section_ids, _inclusion_terms(data.notes))
        if conversion:
            progress(f"Writing {len(conversion):,} rows of the conversion table")
            _write_conversion(release, conversion)
        progress(f"Writing {len(data.notes):,} notes")
        _write_notes(release, data.notes, chapter_ids, section_ids)
        if index is not None:
            release.index = _write_index(
                release, index, imported_by=imported_by, at=now, progress=progress
            )
            release.save(update_fields=["index"])
        if poa is not None:
            progress(f"Writing the POA-exempt list ({len(poa.codes):,} codes)")
            _write_poa(release, poa, report=poa_report or {}, imported_by=imported_by, at=now)

        previous = Release.objects.published().before(release).first()
        new_entries = [
            Entry(r.code, r.is_billable, r.short_title, r.long_title) for r in data.codes
        ]
        if previous is not None:
            progress(f"Comparing with {previous.label}")
        _store_changes(release, previous, new_entries)
        refresh_changes_after(effective_date, progress=progress)
        refresh_borrowed_structures(progress=progress)
        release.refresh_from_db()  # its structure, when it was borrowed just now
    written = [Code, Note, CodeChange, ConversionEntry]
    if poa is not None:
        written += [PoaExemptCode, PoaListChange]
    if index is not None:
        written += [IndexTerm, IndexCodeReference]
    _analyze(written, label=label)
    return release


@_refusing_database_errors
def load_index(
    release: Release,
    index: IndexData,
    *,
    label: str,
    publish: bool = False,
    imported_by: str = "",
    progress: Progress = lambda message: None,
) -> ReleaseIndex:
    """Store an Index for a release already loaded (`label` is its label, for messages).

    A draft release shows it at once; a published one only with `publish`, else it waits as
    the release's draft Index (replacing any earlier draft) until ReleaseIndex.publish().
    """
    with transaction.atomic():
        # Locked, so that two imports into one release cannot both become its Index.
        locked = Release.objects.select_for_update().get(pk=release.pk)
        stored = _write_index(
            locked, index, imported_by=imported_by, at=timezone.now(), progress=progress
        )
        for draft in locked.indexes.exclude(pk__in=[stored.pk, locked.index_id or 0]):
            draft.remove()
        if publish or not locked.is_published:
            stored.publish()
    _analyze([IndexTerm, IndexCodeReference], label=f"The Index of {label}")
    return stored


@_refusing_database_errors
def load_poa_list(
    release: Release,
    poa: PoaListData,
    *,
    label: str,
    report: dict,
    replace: bool = False,
    imported_by: str = "",
    progress: Progress = lambda message: None,
) -> PoaList:
    """Store a POA-exempt list for a release already loaded (`label` is its label, for
    messages); a list it already has is replaced only with `replace`."""
    from codes.selection import forget_published_releases

    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        existing = PoaList.objects.filter(release=locked).first()
        if existing is not None:
            if not replace:
                raise ImportFileError(
                    f"{label} already has a POA-exempt list (FY{existing.fiscal_year}, "
                    f"imported {existing.imported_at:%Y-%m-%d %H:%M}); replacing it needs the "
                    "explicit replace option"
                )
            existing.delete()
        now = timezone.now()
        progress(f"Writing the POA-exempt list of {label} ({len(poa.codes):,} codes)")
        stored = _write_poa(locked, poa, report=report, imported_by=imported_by, at=now)
        # Every cache of the release's answers (pages, API, code sets) is keyed by its import
        # time: its answers now say whether a code is POA-exempt.
        Release.objects.filter(pk=locked.pk).update(imported_at=now)
        forget_published_releases()
    _analyze([PoaExemptCode, PoaListChange], label=f"The POA-exempt list of {label}")
    return stored


def _write_poa(
    release: Release, poa: PoaListData, *, report: dict, imported_by: str, at
) -> PoaList:
    stored = PoaList.objects.create(
        release=release,
        fiscal_year=poa.fiscal_year,
        code_count=len(poa.codes),
        report=report,
        imported_at=at,
        imported_by=imported_by,
    )
    _bulk_insert(
        PoaExemptCode,
        ["poa_list", "code", "sequence"],
        ((stored.pk, row.code, sequence) for sequence, row in enumerate(poa.codes, start=1)),
    )
    changes = [
        *((row.code, PoaListChange.Change.ADDED, "", row.title) for row in poa.added or ()),
        *((row.code, PoaListChange.Change.DELETED, row.title, "") for row in poa.deleted or ()),
        *(
            (row.code, PoaListChange.Change.REVISED, row.old_title, row.new_title)
            for row in poa.revised or ()
        ),
    ]
    _bulk_insert(
        PoaListChange,
        ["poa_list", "code", "change", "old_title", "new_title", "sequence"],
        ((stored.pk, *change, sequence) for sequence, change in enumerate(changes, start=1)),
    )
    return stored


def _write_index(
    release: Release, index: IndexData, *, imported_by: str, at, progress: Progress
) -> ReleaseIndex:
    stored = ReleaseIndex.objects.create(
        release=release,
        report=index.report,
        columns={name: list(part.columns) for name, part in index.parts.items() if part.columns},
        imported_at=at,
        imported_by=imported_by,
    )
    see = index.see()
    terms = sum(len(part.terms) for part in index.parts.values())
    progress(f"Writing {terms:,} Index terms")

    def cross(name: str, sequence: int, kind: str) -> tuple[str, str, int]:
        found = see.get((name, sequence, kind))
        return (found.status, found.target_part, found.target_term) if found else ("", "", 0)

    def rows():
        for name, part in index.parts.items():
            slugs = index.slugs(name)
            mains = [0] * (len(part.terms) + 1)
            for term in part.terms:
                mains[term.sequence] = mains[term.parent] if term.parent else term.sequence
                yield (
                    stored.pk,
                    name,
                    term.sequence,
                    term.parent,
                    mains[term.sequence],
                    term.last,
                    term.level,
                    term.letter,
                    slugs.get(term.sequence, ""),
                    term.title,
                    term.nemod,
                    term.suffix,
                    term.code,
                    term.manif,
                    term.seecat,
                    term.subcat,
                    term.warning,
                    _json(list(term.cells)),
                    term.see,
                    *cross(name, term.sequence, "see"),
                    term.see_also,
                    *cross(name, term.sequence, "see_also"),
                )

    _bulk_insert(
        IndexTerm,
        [
            "index",
            "part",
            "sequence",
            "parent",
            "main",
            "last",
            "level",
            "letter",
            "slug",
            "title",
            "nemod",
            "suffix",
            "code",
            "manif",
            "seecat",
            "subcat",
            "warning",
            "cells",
            "see",
            "see_status",
            "see_part",
            "see_term",
            "see_also",
            "see_also_status",
            "see_also_part",
            "see_also_term",
        ],
        rows(),
    )
    progress(f"Writing {len(index.references):,} Index code references")
    _bulk_insert(
        IndexCodeReference,
        ["index", "part", "term", "level", "column", "code", "status"],
        (
            (stored.pk, r.part, r.term, r.level, r.column, r.code, r.status)
            for r in index.references
        ),
    )
    return stored


def _json(value) -> str:
    # A JSONField column written by COPY or executemany takes the JSON text itself.
    return json.dumps(value, separators=(",", ":"))


def _analyze(models: list[type[Model]], *, label: str) -> None:
    """Fresh statistics on PostgreSQL, or the planner guesses from the empty tables it last
    saw. The rows are committed by now: a failure here is logged, not a "not stored"
    (autovacuum analyzes the tables later anyway)."""
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    except DatabaseError:
        logger.warning("%s is stored, but ANALYZE after it failed", label, exc_info=True)


def _remove_existing(*, effective_date: datetime.date, label: str, replace: bool) -> None:
    for existing in refuse_clashing(effective_date=effective_date, label=label, replace=replace):
        existing.delete()


def refuse_clashing(*, effective_date: datetime.date, label: str, replace: bool) -> list[Release]:
    """The releases a new one with this date and label replaces (a draft, or a published one
    with `replace`); a label taken by another date, or a published release without `replace`,
    refused. Also run before any file is parsed, to refuse in a moment rather than seconds."""
    clashing = Release.objects.filter(effective_date=effective_date) | Release.objects.filter(
        label__iexact=label
    )
    for existing in clashing:
        if existing.effective_date != effective_date:
            raise ImportFileError(
                f'the label "{label}" is already used by {existing.label} (effective '
                f"{existing.effective_date}; labels are the same whatever the case): give "
                "another label"
            )
        if existing.is_published and not replace:
            raise ImportFileError(
                f"{existing.label} (effective {existing.effective_date}) is published; "
                "re-importing it needs the explicit replace option (--replace)"
            )
    return list(clashing)


def _write_structure(
    release: Release, chapters: Sequence[ChapterRow], sections: Sequence[SectionRow]
) -> tuple[dict[int, int], dict[str, int]]:
    created_chapters = Chapter.objects.bulk_create(
        Chapter(
            release=release,
            number=row.number,
            title=row.title,
            first_code=row.first_code,
            last_code=row.last_code,
            sequence=position,
        )
        for position, row in enumerate(chapters, start=1)
    )
    chapter_ids = {chapter.number: chapter.pk for chapter in created_chapters}
    created_sections = Section.objects.bulk_create(
        Section(
            release=release,
            chapter_id=chapter_ids[row.chapter],
            section_id=row.section_id,
            title=row.title,
            first_code=row.first_code,
            last_code=row.last_code,
            sequence=position,
        )
        for position, row in enumerate(sections, start=1)
    )
    section_ids = {section.section_id: section.pk for section in created_sections}
    # Parents are set once every section has its id (a heading comes before what it holds).
    held = []
    for section, row in zip(created_sections, sections, strict=True):
        if row.parent is not None:
            section.parent_id = section_ids[row.parent]
            held.append(section)
    Section.objects.bulk_update(held, ["parent"])
    return chapter_ids, section_ids


def _write_codes(
    release: Release,
    rows: Sequence[CodeRow],
    chapter_ids: dict[int, int],
    section_ids: dict[str, int],
    inclusion_terms: dict[str, str],
) -> None:
    _bulk_insert(
        Code,
        [
            "release",
            "code",
            "short_title",
            "long_title",
            "is_billable",
            "kind",
            "parent_code",
            "depth",
            "chapter",
            "section",
            "sequence",
            "inclusion_terms",
        ],
        (
            (
                release.pk,
                row.code,
                row.short_title,
                row.long_title,
                row.is_billable,
                row.kind,
                row.parent_code,
                row.depth,
                chapter_ids.get(row.chapter),
                section_ids.get(row.section),
                row.sequence,
                inclusion_terms.get(row.code, ""),
            )
            for row in rows
        ),
    )


def _inclusion_terms(rows: Sequence[NoteRow]) -> dict[str, str]:
    """Each code's inclusion terms, one a line, for the word search (Code.inclusion_terms)."""
    terms: dict[str, list[str]] = {}
    for row in rows:
        if row.owner_kind == "code" and row.kind == Note.Kind.INCLUSION_TERM:
            terms.setdefault(row.owner, []).append(row.text)
    return {code: "\n".join(texts) for code, texts in terms.items()}


def _write_notes(
    release: Release,
    rows: Sequence[NoteRow],
    chapter_ids: dict[int, int],
    section_ids: dict[str, int],
) -> None:
    def owner(row: NoteRow) -> tuple[int | None, int | None, str]:
        if row.owner_kind == "chapter":
            return chapter_ids[int(row.owner)], None, ""
        if row.owner_kind == "section":
            return None, section_ids[row.owner], ""
        return None, None, row.owner

    _bulk_insert(
        Note,
        ["release", "chapter", "section", "code", "kind", "text", "character", "sequence"],
        (
            (release.pk, *owner(row), row.kind, row.text, row.character, position)
            for position, row in enumerate(rows, start=1)
        ),
    )


def _entries(release: Release) -> list[Entry]:
    return [
        Entry(*values)
        for values in Code.objects.filter(release=release).values_list(
            "code", "is_billable", "short_title", "long_title"
        )
    ]


def _write_conversion(release: Release, rows: Sequence[ConversionRow]) -> None:
    """One entry per previous code (or range) of each row, in table order."""
    _bulk_insert(
        ConversionEntry,
        [
            "release",
            "current_code",
            "previous_code",
            "previous_code_last",
            "fiscal_year",
            "effective_date",
            "sequence",
        ],
        (
            (
                release.pk,
                row.current_code,
                previous.first,
                previous.last,
                row.fiscal_year,
                row.effective_date,
                sequence,
            )
            for sequence, (row, previous) in enumerate(
                ((row, previous) for row in rows for previous in row.previous), start=1
            )
        ),
    )


def refresh_changes_after(day: datetime.date, *, progress: Progress = lambda message: None) -> None:
    """Recompute the changes of the releases after `day` whose previous published release is no
    longer the one they were compared to: after a release is imported published, published,
    unpublished or deleted. A draft never becomes anyone's base, so importing one disturbs
    nothing that is public."""
    for release in Release.objects.filter(effective_date__gt=day).order_by("effective_date"):
        base = Release.objects.published().before(release).first()
        # A deleted base leaves compared_to empty (SET_NULL) but its changes in place.
        stale = base is None and release.changes.exists()
        if (base.pk if base else None) != release.compared_to_id or stale:
            progress(f"Comparing {release.label} with {base.label if base else 'nothing'}")
            _store_changes(release, base, _entries(release))


def _store_changes(release: Release, previous: Release | None, entries: list[Entry]) -> None:
    """Replace the stored changes of `release` by its diff against `previous`."""
    CodeChange.objects.filter(release=release).delete()
    release.compared_to = previous
    release.save(update_fields=["compared_to"])
    if previous is None:
        return
    changes = compute_changes(_entries(previous), entries)
    _bulk_insert(
        CodeChange,
        [
            "release",
            "code",
            "change",
            "is_billable",
            "old_short_title",
            "old_long_title",
            "new_short_title",
            "new_long_title",
        ],
        (
            (
                release.pk,
                change.code,
                change.change,
                change.is_billable,
                change.old.short_title if change.old else "",
                change.old.long_title if change.old else "",
                change.new.short_title if change.new else "",
                change.new.long_title if change.new else "",
            )
            for change in changes
        ),
    )


def _bulk_insert(model: type[Model], fields: list[str], rows: Iterable[tuple]) -> None:
    """Insert plain tuples without building model instances: COPY on PostgreSQL."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's cursor wrapper does not see COPY: map psycopg's errors to Django's here.
            with (
                connection.wrap_database_errors,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(rows)
            )
