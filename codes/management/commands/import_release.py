"""python manage.py import_release FILE [FILE ...]: import one CMS release from its files."""

import argparse
import datetime
import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codes.importer.errors import ImportFileError, ReleaseNotStored
from codes.importer.run import import_release
from codes.models import PoaList, Release


def iso_date(text: str) -> datetime.date:
    """argparse's own error (a message and the usage, no traceback) for a date that is none."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Import an ICD-10-CM release from the files CMS/CDC publish: the Code Descriptions zip, "
        "the tabular XML (or its zip), or the members themselves."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--fiscal-year", type=int, help="e.g. 2026 (default: from the names)")
        parser.add_argument("--effective-date", type=iso_date, help="YYYY-MM-DD")
        parser.add_argument("--label", help='default "FY2026" or "FY2026 April 1 update"')
        parser.add_argument("--publish", action="store_true", help="publish once imported")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="allow replacing a published release with the same date",
        )
        parser.add_argument(
            "--index-of-another-year",
            action="store_true",
            help="accept Index files whose <version> is not the release's fiscal year",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stderr.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        files = []
        for path in options["files"]:
            try:
                files.append((path.name, path.read_bytes()))
            except OSError as error:
                raise CommandError(f"{path}: {error.strerror}") from None
        try:
            release = import_release(
                files,
                fiscal_year=options["fiscal_year"],
                effective_date=options["effective_date"],
                label=options["label"],
                publish=options["publish"],
                replace=options["replace"],
                imported_by=f"{getpass.getuser()} (command line)",
                progress=progress,
                index_of_another_year=options["index_of_another_year"],
            )
        except ReleaseNotStored as error:
            # Not a refusal: the files were fine and the database failed (a lost connection).
            raise CommandError(f"Import failed, nothing was changed. {error}") from None
        except ImportFileError as error:
            raise CommandError(f"Import refused, nothing was changed. {error}") from None
        progress("Done")
        self.stdout.write(release_summary(release))


def release_summary(release: Release) -> str:
    lines = [
        f"{release.label} (FY{release.fiscal_year}, effective {release.effective_date}), "
        f"{release.get_status_display()}",
        f"  {release.entry_count:,} entries: {release.billable_count:,} billable, "
        f"{release.header_count:,} headers",
        f"  {release.chapter_count} chapters, {release.section_count} sections, "
        f"{release.note_count:,} notes; structure from {release.get_structure_display()}",
    ]
    if release.report.get("structure"):
        lines.append(f"  structure: {release.report['structure']}")
    if release.report.get("unplaced"):
        lines.append(f"  categories in no section: {', '.join(release.report['unplaced'])}")
    for check in release.report.get("checks", []):
        lines.append(
            f"  check: {check['name']}: {'ok' if check['ok'] else 'FAILED'}, {check['detail']}"
        )
    for warning in release.report.get("warnings", []):
        lines.append(f"  warning: {warning}")
    lines += index_summary(release)
    lines.append(poa_summary(release))
    if release.compared_to is None:
        lines.append("  changes: none computed (no earlier release loaded)")
    else:
        summary = release.change_summary()
        note = release.comparison_note()
        lines.append(
            f"  changes against {release.compared_to.label}"
            + (f" ({note.split('; ', 1)[1]})" if note else "")
            + ":"
        )
        for tally, counts in summary.items():
            lines.append(
                f"    {tally:8} {counts['added']:5} added {counts['deleted']:5} deleted "
                f"{counts['revised']:5} revised; apart: {counts['short_title_only']} "
                f"short title only, {counts['spacing_only']} spacing only"
            )
        comparison = release.addenda_comparison()
        if comparison is not None and comparison.agrees:
            lines.append("  the CMS order addenda agree, code by code")
        elif comparison is not None:
            lines.append(
                f"  the CMS order addenda DISAGREE on {len(comparison.differences)} codes: "
                + "; ".join(comparison.differences[:20])
            )
    return "\n".join(lines)


def poa_summary(release: Release) -> str:
    poa_list = PoaList.objects.filter(release=release).first()
    if poa_list is None:
        return "  POA-exempt list: not imported"
    counts = poa_list.change_counts()
    compared = poa_list.report.get("compared_with")
    return (
        f"  POA-exempt list FY{poa_list.fiscal_year}: {poa_list.code_count:,} codes; CMS lists "
        f"{counts['added']} added, {counts['deleted']} deleted, {counts['revised']} revised "
        + (
            f"(checked against the list of {compared})"
            if compared
            else "(not checked: the previous year's list is not loaded)"
        )
    )


def index_summary(release: Release) -> list[str]:
    """The release's Index, and a draft Index waiting to be published, part by part."""
    lines = []
    drafts = release.indexes.exclude(pk=release.index_id or 0)
    shown = [(index, "Index") for index in ([release.index] if release.index else [])]
    shown += [(index, "draft Index (publish it in the admin)") for index in drafts]
    if not shown:
        lines.append("  Index: none imported")
    for index, what in shown:
        lines.append(f"  {what}, imported {index.imported_at:%Y-%m-%d %H:%M}:")
        for part in index.parts:
            report = index.report[part]
            lines.append(
                f"    {report['name']} (FY{report['version']}): {report['main_terms']:,} main "
                f"terms, {report['nested_terms']:,} nested; {report['code_references']:,} code "
                f"references, {report['unresolved_codes']:,} not resolved; "
                f"{sum(report['cross_references'].values()):,} see/see also, "
                f"{report['unresolved_cross_references']:,} not resolved"
            )
    return lines
