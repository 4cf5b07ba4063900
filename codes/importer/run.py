"""One import, start to end: files -> sources -> parsed members -> release data -> the loader.

Everything that can be wrong with the files is found before the loader opens its transaction,
so a refused import never touches the database.
"""

import datetime
import re
from collections.abc import Sequence
from dataclasses import asdict

from codes.fiscal import default_label, fiscal_year_of, fiscal_year_start, label_problem
from codes.importer import sources as roles
from codes.importer.addenda import parse_addenda_summary
from codes.importer.codes_file import parse_codes_file
from codes.importer.conversion_table import ConversionRow, parse_conversion_table
from codes.importer.errors import ImportFileError
from codes.importer.index_data import IndexData, build_index_data, index_code_map
from codes.importer.index_xml import PART_NAMES, IndexPart, parse_index_xml
from codes.importer.loader import (
    Progress,
    load_index,
    load_poa_list,
    load_release,
    refuse_clashing,
)
from codes.importer.order_file import parse_order_file
from codes.importer.poa import PoaList, check_poa_list, parse_poa_files
from codes.importer.release_data import (
    ReleaseData,
    build_release_data,
    check_codes_file,
)
from codes.importer.sources import ReleaseSources, read_sources
from codes.importer.tabular_xml import parse_tabular_xml
from codes.models import Code, PoaExemptCode, Release

_VERSION_RE = re.compile(rb"<version>\s*([0-9]{4})\s*</version>")


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
    index_of_another_year: bool = False,
) -> Release:
    """Import a release from its files; or, when the files are only Index XML, add that Index
    to a release already loaded (see import_index), and when they are only a POA-exempt list,
    add that list (see import_poa). `index_of_another_year`: accept Index files whose
    <version> is not the release's fiscal year."""
    progress(f"Reading {len(files)} file(s)")
    sources = read_sources(files)
    if label and sources.has_release_files and label_problem(label):
        raise ImportFileError(label_problem(label))
    if not sources.has_release_files and sources.poa_members:
        if sources.index_members:
            raise ImportFileError(
                "an Index and a POA-exempt list were given without the release's files: add "
                "them to a loaded release one at a time"
            )
        return import_poa(
            sources,
            fiscal_year=fiscal_year,
            effective_date=effective_date,
            label=label,
            replace=replace,
            imported_by=imported_by,
            progress=progress,
        )
    if not sources.has_release_files:
        return import_index(
            sources,
            fiscal_year=fiscal_year,
            effective_date=effective_date,
            label=label,
            publish=publish,
            imported_by=imported_by,
            progress=progress,
            index_of_another_year=index_of_another_year,
        )
    # A clash with a published release or a label is refused before seconds of parsing.
    early_year, early_date = release_date(
        sources,
        fiscal_year=fiscal_year,
        effective_date=effective_date,
        xml_version=tabular_version(sources),
    )
    refuse_clashing(
        effective_date=early_date,
        label=label or default_label(early_year, early_date),
        replace=replace,
    )
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
            {
                entry.code: entry.long_title if parsed_order else None
                for entry in listed
                if entry.is_billable
            },
            parse_codes_file(codes.data, filename=codes.name),
            codes.name,
        )
    addenda = sources.get(roles.ORDER_ADDENDA)
    summary = parse_addenda_summary(addenda.data, filename=addenda.name) if addenda else None
    table = sources.get(roles.CONVERSION_TABLE)
    if table is not None:
        progress("Parsing the conversion table")
    conversion = parse_conversion_table(table.data, filename=table.name) if table else []
    poa = None
    if sources.poa_members:
        progress("Parsing the POA-exempt list")
        poa = parse_poa_files([(member.name, member.data) for member in sources.poa_members])

    progress("Cross-checking")
    data = build_release_data(
        order=parsed_order,
        order_name=order.name if order else "",
        tabular=parsed_tabular,
        tabular_name=tabular.name if tabular else "",
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
    poa_report = None
    if poa is not None:
        progress("Cross-checking the POA-exempt list with the codes")
        poa_report = check_poa_list(
            poa,
            codes={row.code: row.is_billable for row in data.codes},
            fiscal_year=fiscal_year,
            label=label,
            **previous_poa_list(poa, effective_date=effective_date),
        )
    index = None
    if sources.index_members:
        parts = parse_index_parts(
            sources, fiscal_year=fiscal_year, another_year=index_of_another_year, progress=progress
        )
        progress("Cross-checking the Index with the codes")
        index = _index_data(parts, index_code_map(data.codes), sources)
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
        index=index,
        poa=poa,
        poa_report=poa_report,
    )


def import_poa(
    sources: ReleaseSources,
    *,
    fiscal_year: int | None = None,
    effective_date: datetime.date | None = None,
    label: str | None = None,
    replace: bool = False,
    imported_by: str = "",
    progress: Progress = lambda message: None,
) -> Release:
    """Add a POA-exempt list (CMS's zip, or its files) to a release already loaded, checked
    against that release's codes: the release named by `label`, else the one effective on
    `effective_date`, else the one release of the list's fiscal year."""
    progress("Parsing the POA-exempt list")
    poa = parse_poa_files([(member.name, member.data) for member in sources.poa_members])
    release = release_for_poa(
        poa, fiscal_year=fiscal_year, effective_date=effective_date, label=label
    )
    progress(f"Cross-checking the POA-exempt list with the codes of {release.label}")
    rows = Code.objects.filter(release=release).values_list("code", "is_billable")
    report = check_poa_list(
        poa,
        codes=dict(rows.iterator(10_000)),
        fiscal_year=release.fiscal_year,
        label=release.label,
        **previous_poa_list(poa, effective_date=release.effective_date),
    )
    report["files_given"] = [
        {"name": f.name, "sha256": f.sha256, "size": f.size} for f in sources.files
    ]
    load_poa_list(
        release,
        poa,
        label=release.label,
        report=report,
        replace=replace,
        imported_by=imported_by,
        progress=progress,
    )
    release.refresh_from_db()
    return release


def release_for_poa(
    poa: PoaList,
    *,
    fiscal_year: int | None,
    effective_date: datetime.date | None,
    label: str | None,
) -> Release:
    """The loaded release a POA-exempt list given alone is for, or a refusal saying why."""
    if label:
        release = Release.objects.filter(label__iexact=label.strip()).first()
        what = f'labelled "{label[:100]}"'
    elif effective_date is not None:
        release = Release.objects.filter(effective_date=effective_date).first()
        what = f"effective {effective_date}"
    else:
        fiscal_year = fiscal_year or poa.fiscal_year
        releases = list(Release.objects.filter(fiscal_year=fiscal_year).order_by("effective_date"))
        if len(releases) > 1:
            raise ImportFileError(
                f"FY{fiscal_year} has {len(releases)} releases loaded "
                f"({', '.join(r.label for r in releases)}): say which one the POA-exempt list "
                "is for (its label)"
            )
        release = releases[0] if releases else None
        what = f"of FY{fiscal_year}"
    if release is None:
        raise ImportFileError(
            f"only a POA-exempt list was given ({', '.join(poa.files.values())}), and no release "
            f"{what} is loaded: import the release's codes first (the list is checked against "
            "them), or give the list together with the release's files"
        )
    return release


def previous_poa_list(poa: PoaList, *, effective_date: datetime.date) -> dict:
    """The previous fiscal year's POA-exempt list, as loaded with the latest release before
    `effective_date` that has it: {"previous": its codes, "previous_label": that release}, or
    {} when none is loaded (the additions and deletions are then not checked)."""
    release = (
        Release.objects.filter(
            effective_date__lt=effective_date, poa__fiscal_year=poa.fiscal_year - 1
        )
        .order_by("-effective_date")
        .first()
    )
    if release is None:
        return {}
    codes = PoaExemptCode.objects.filter(poa_list__release=release).values_list("code", flat=True)
    return {"previous": set(codes.iterator(10_000)), "previous_label": release.label}


def import_index(
    sources: ReleaseSources,
    *,
    fiscal_year: int | None = None,
    effective_date: datetime.date | None = None,
    label: str | None = None,
    publish: bool = False,
    imported_by: str = "",
    progress: Progress = lambda message: None,
    index_of_another_year: bool = False,
) -> Release:
    """Add an Index (its XML files, one to four parts) to a release already loaded, checked
    against that release's codes: the release named by `label`, else the one effective on
    `effective_date`, else the one release of the fiscal year (given, or read from the names
    or the files' <version>). A draft release shows it at once; a published one when
    `publish`, else it waits as a draft Index for the admin to publish."""
    release = release_for_index(
        sources, fiscal_year=fiscal_year, effective_date=effective_date, label=label
    )
    parts = parse_index_parts(
        sources,
        fiscal_year=release.fiscal_year,
        another_year=index_of_another_year,
        progress=progress,
    )
    progress(f"Cross-checking the Index with the codes of {release.label}")
    rows = Code.objects.filter(release=release).values_list("code", "is_billable", "parent_code")
    codes = {code: (billable, parent) for code, billable, parent in rows.iterator(10_000)}
    data = _index_data(parts, codes, sources)
    load_index(
        release,
        data,
        label=release.label,
        publish=publish,
        imported_by=imported_by,
        progress=progress,
    )
    release.refresh_from_db()
    return release


def release_for_index(
    sources: ReleaseSources,
    *,
    fiscal_year: int | None,
    effective_date: datetime.date | None,
    label: str | None,
) -> Release:
    """The loaded release an Index given alone belongs to, or a refusal saying why.

    Also the admin's upload form's check, before anything is stored or queued."""
    names = ", ".join(member.name for member in sources.index_members.values())
    if label:
        release = Release.objects.filter(label__iexact=label.strip()).first()
        if release is None:
            raise ImportFileError(
                f'only Index files were given ({names}), and no release labelled "{label[:100]}" '
                "is loaded: import the release's codes first (the Index is checked against "
                "them), or give the Index together with the release's files"
            )
        return release
    if effective_date is not None:
        release = Release.objects.filter(effective_date=effective_date).first()
        if release is None:
            raise ImportFileError(
                f"only Index files were given ({names}), and no release effective "
                f"{effective_date} is loaded: import the release's codes first, or give the "
                "Index together with the release's files"
            )
        return release
    fiscal_year = fiscal_year or sources.fiscal_year or _index_version(sources)
    releases = list(Release.objects.filter(fiscal_year=fiscal_year).order_by("effective_date"))
    if not releases:
        raise ImportFileError(
            f"only Index files were given ({names}), for FY{fiscal_year}, and no FY{fiscal_year} "
            "release is loaded: import the release's codes first (the Index is checked against "
            "them), or give the Index together with the release's files"
        )
    if len(releases) > 1:
        raise ImportFileError(
            f"FY{fiscal_year} has {len(releases)} releases loaded "
            f"({', '.join(r.label for r in releases)}): say which one the Index is for (its "
            "label)"
        )
    return releases[0]


def _index_version(sources: ReleaseSources) -> int:
    """The fiscal year the Index files' <version> says (the same in all of them)."""
    versions = {}
    for member in sources.index_members.values():
        match = _VERSION_RE.search(member.data[:4096])
        if match is None:
            raise ImportFileError(
                "no <version> near the start of the file, and no file name says which fiscal "
                "year it is: give the fiscal year or the release's label explicitly",
                file=member.name,
            )
        versions[member.name] = int(match.group(1))
    if len(set(versions.values())) > 1:
        raise ImportFileError(
            "the Index files are of different years: "
            + ", ".join(f"{name} is {year}" for name, year in versions.items())
        )
    return next(iter(versions.values()))


def check_index_versions(sources: ReleaseSources, *, fiscal_year: int, another_year: bool) -> None:
    """The <version> near the start of each Index file must be the release's fiscal year,
    unless the operator says another year's is wanted: the admin form's check, before anything
    is stored (the import checks the parsed files again)."""
    if another_year:
        return
    for part, member in sources.index_members.items():
        match = _VERSION_RE.search(member.data[:4096])
        if match is not None and int(match.group(1)) != fiscal_year:
            raise ImportFileError(
                _another_year(part, match.group(1).decode(), fiscal_year), file=member.name
            )


def _another_year(part: str, version: str, fiscal_year: int) -> str:
    return (
        f"the {PART_NAMES[part]} is version {version}, but the release is FY{fiscal_year}: give "
        f"the Index of FY{fiscal_year}, or say explicitly that this FY{version} Index is wanted "
        '(--index-of-another-year; in the admin, "The Index is of another fiscal year")'
    )


def parse_index_parts(
    sources: ReleaseSources, *, fiscal_year: int, another_year: bool, progress: Progress
) -> dict[str, IndexPart]:
    """Each Index file given, parsed; refused when its <version> is not the release's fiscal
    year, unless the operator says it is wanted (`another_year`)."""
    parts = {}
    for part, member in sources.index_members.items():
        progress(f"Parsing the {PART_NAMES[part]}")
        parsed = parse_index_xml(member.data, filename=member.name)
        if parsed.part != part:
            raise ImportFileError(
                f"starts like the {PART_NAMES[part]} but its content is the "
                f"{PART_NAMES[parsed.part]}",
                file=member.name,
            )
        if parsed.version != str(fiscal_year) and not another_year:
            raise ImportFileError(
                _another_year(part, parsed.version, fiscal_year),
                file=member.name,
                element="<version>",
            )
        parts[part] = parsed
    return parts


def _index_data(
    parts: dict[str, IndexPart], codes: dict[str, tuple[bool, str]], sources: ReleaseSources
) -> IndexData:
    data = build_index_data(parts, codes)
    for part, member in sources.index_members.items():
        data.report[part]["file"] = member.name
    data.report["files"] = [
        {"name": f.name, "sha256": f.sha256, "size": f.size} for f in sources.files
    ]
    return data


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


def tabular_version(sources: ReleaseSources) -> str | None:
    """The <version> near the top of the tabular XML, without parsing 10 MB of it."""
    tabular = sources.get(roles.TABULAR)
    if tabular is None:
        return None
    match = _VERSION_RE.search(tabular.data[:65536])
    return match.group(1).decode() if match else None


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
