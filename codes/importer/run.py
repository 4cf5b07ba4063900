"""One import, start to end: files -> sources -> parsed members -> release data -> the loader.

Everything that can be wrong with the files is found before the loader opens its transaction,
so a refused import never touches the database.
"""

import datetime
from collections.abc import Sequence
from dataclasses import asdict

from codes.fiscal import default_label, fiscal_year_of, fiscal_year_start
from codes.importer import sources as roles
from codes.importer.addenda import parse_addenda_summary
from codes.importer.codes_file import parse_codes_file
from codes.importer.conversion_table import ConversionRow, parse_conversion_table
from codes.importer.errors import ImportFileError
from codes.importer.loader import Progress, load_release
from codes.importer.order_file import parse_order_file
from codes.importer.release_data import (
    ChapterRow,
    CodeRow,
    NoteRow,
    ReleaseData,
    SectionRow,
    build_release_data,
    check_codes_file,
)
from codes.importer.sources import ReleaseSources, read_sources
from codes.importer.tabular_xml import parse_tabular_xml
from codes.models import Code, Note, Release


def import_release(
    files: Sequence[tuple[str, bytes]],
    *,
    fiscal_year: int | None = None,
    effective_date: datetime.date | None = None,
    label: str | None = None,
    publish: bool = False,
    replace: bool = False,
    imported_by: str = "",
    progress: Progress = lambda message: None,
) -> Release:
    progress(f"Reading {len(files)} file(s)")
    sources = read_sources(files)
    order = sources.get(roles.ORDER)
    tabular = sources.get(roles.TABULAR)
    if order is None and tabular is None:
        raise ImportFileError(
            "no order file and no tabular XML among the files: nothing says which codes exist"
        )

    progress("Parsing the tabular XML" if tabular else "No tabular XML")
    parsed_tabular = parse_tabular_xml(tabular.data, filename=tabular.name) if tabular else None
    fiscal_year, effective_date = release_date(
        sources,
        fiscal_year=fiscal_year,
        effective_date=effective_date,
        xml_version=parsed_tabular.version if parsed_tabular else None,
    )
    label = label or default_label(fiscal_year, effective_date)

    progress("Parsing the order file" if order else "No order file")
    parsed_order = parse_order_file(order.data, filename=order.name) if order else None
    codes = sources.get(roles.CODES)
    codes_check = None
    if codes is not None:
        listed = parsed_order or parsed_tabular.codes
        codes_check = check_codes_file(
            {entry.code for entry in listed if entry.is_billable},
            parse_codes_file(codes.data, filename=codes.name),
            codes.name,
        )
    addenda = sources.get(roles.ORDER_ADDENDA)
    summary = parse_addenda_summary(addenda.data, filename=addenda.name) if addenda else None
    table = sources.get(roles.CONVERSION_TABLE)
    if table is not None:
        progress("Parsing the conversion table")
    conversion = parse_conversion_table(table.data, filename=table.name) if table else []

    previous = None
    if parsed_tabular is None:
        earlier = (
            Release.objects.filter(effective_date__lt=effective_date)
            .order_by("-effective_date")
            .first()
        )
        if earlier is not None:
            progress(f"No tabular XML: placing codes as in {earlier.label}")
            previous = read_release_data(earlier)

    progress("Cross-checking")
    data = build_release_data(
        order=parsed_order,
        order_name=order.name if order else "",
        tabular=parsed_tabular,
        tabular_name=tabular.name if tabular else "",
        previous=previous,
    )
    if codes_check is not None:
        data.checks.append(codes_check)
    report = {
        "files": {role: member.name for role, member in sources.members.items()},
        "ignored": list(sources.ignored),
        "addenda": asdict(summary) if summary else None,
    }
    if table is not None:
        report["conversion_table"] = _check_conversion_table(
            conversion,
            data,
            fiscal_year=fiscal_year,
            effective_date=effective_date,
            name=table.name,
        )
    return load_release(
        data,
        fiscal_year=fiscal_year,
        effective_date=effective_date,
        label=label,
        files=sources.files,
        report=report,
        imported_by=imported_by,
        publish=publish,
        replace=replace,
        progress=progress,
        conversion=conversion,
    )


def _check_conversion_table(
    rows: Sequence[ConversionRow],
    data: ReleaseData,
    *,
    fiscal_year: int,
    effective_date: datetime.date,
    name: str,
) -> dict:
    """Refuse a conversion table of another release: it must not know later changes, and the
    codes it says took effect in this release must be in it."""
    later = next((row for row in rows if row.effective_date > effective_date), None)
    if later is not None:
        raise ImportFileError(
            f"the conversion table has {later.current_code} effective {later.effective_date}, "
            f"after this release (effective {effective_date}): it belongs to a later release",
            file=name,
            element=f'sheet "{later.sheet}", row {later.row}',
        )
    codes = {row.code for row in data.codes}
    missing = [
        row for row in rows if row.fiscal_year == fiscal_year and row.current_code not in codes
    ]
    if missing:
        raise ImportFileError(
            f"the conversion table lists {len(missing)} codes new in FY{fiscal_year} that are "
            "not in the release, first "
            + ", ".join(f"{row.current_code} (row {row.row})" for row in missing[:10]),
            file=name,
        )
    return {
        "file": name,
        "rows": len(rows),
        "new_in_release": sum(row.fiscal_year == fiscal_year for row in rows),
    }


def release_date(
    sources: ReleaseSources,
    *,
    fiscal_year: int | None,
    effective_date: datetime.date | None,
    xml_version: str | None,
) -> tuple[int, datetime.date]:
    """Fiscal year and effective date: given by the operator, else read from the file names.

    Also the admin's upload form's check, before anything is stored or queued.
    """
    detected = sources.fiscal_year
    # The parser only lets an ASCII year through, but the admin form passes its own reading;
    # the length bound also keeps int() below its 4,300-digit limit.
    is_year = (
        xml_version is not None
        and len(xml_version) == 4
        and xml_version.isascii()
        and xml_version.isdigit()
    )
    if detected is None and is_year:
        detected = int(xml_version)
    if fiscal_year is not None and detected is not None and fiscal_year != detected:
        raise ImportFileError(
            f"the files are for FY{detected}, not FY{fiscal_year} as given; "
            "check that these are the right files"
        )
    fiscal_year = fiscal_year or detected
    if effective_date is not None and fiscal_year is None:
        fiscal_year = fiscal_year_of(effective_date)
    if fiscal_year is None:
        raise ImportFileError(
            "no file name says which fiscal year this is: give the fiscal year explicitly"
        )
    if is_year and int(xml_version) != fiscal_year:
        tabular = sources.get(roles.TABULAR)
        raise ImportFileError(
            f"the tabular XML is version {xml_version}, but the release is FY{fiscal_year}",
            file=tabular.name if tabular else "",
            element="<version>",
        )
    if effective_date is None:
        effective_date = sources.effective_date or fiscal_year_start(fiscal_year)
    if fiscal_year_of(effective_date) != fiscal_year:
        raise ImportFileError(
            f"effective date {effective_date} is not in FY{fiscal_year} "
            f"({fiscal_year_start(fiscal_year)} to {fiscal_year}-09-30)"
        )
    return fiscal_year, effective_date


def read_release_data(release: Release) -> ReleaseData:
    """A stored release as release data: the structure an import without XML borrows."""
    chapters = {chapter.pk: chapter for chapter in release.chapters.all()}
    sections = {section.pk: section for section in release.sections.all()}
    codes = [
        CodeRow(
            code=code.code,
            short_title=code.short_title,
            long_title=code.long_title,
            is_billable=code.is_billable,
            kind=code.kind,
            parent_code=code.parent_code,
            depth=code.depth,
            chapter=chapters[code.chapter_id].number if code.chapter_id else None,
            section=sections[code.section_id].section_id if code.section_id else None,
            sequence=code.sequence,
        )
        for code in Code.objects.filter(release=release).order_by("sequence")
    ]
    notes = []
    for note in Note.objects.filter(release=release).order_by("sequence"):
        if note.chapter_id:
            owner = ("chapter", str(chapters[note.chapter_id].number))
        elif note.section_id:
            owner = ("section", sections[note.section_id].section_id)
        else:
            owner = ("code", note.code)
        notes.append(NoteRow(*owner, note.kind, note.text, note.character))
    return ReleaseData(
        chapters=[
            ChapterRow(c.number, c.title, c.first_code, c.last_code) for c in chapters.values()
        ],
        sections=[
            SectionRow(
                s.section_id, chapters[s.chapter_id].number, s.title, s.first_code, s.last_code
            )
            for s in sections.values()
        ],
        codes=codes,
        notes=notes,
        structure=release.structure,
    )
