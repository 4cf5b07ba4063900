"""python manage.py import_release FILE [FILE ...]: import one CMS release from its files."""

import datetime
import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codes.importer.errors import ImportFileError, ReleaseNotStored
from codes.importer.run import import_release
from codes.models import Release


def iso_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--effective-date {text!r} is not a date (YYYY-MM-DD)") from None


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
    if release.compared_to is None:
        lines.append("  changes: none computed (no earlier release loaded)")
    else:
        summary = release.change_summary()
        lines.append(f"  changes against {release.compared_to.label}:")
        for tally, counts in summary.items():
            lines.append(
                f"    {tally:8} {counts['added']:5} added {counts['deleted']:5} deleted "
                f"{counts['revised']:5} revised"
            )
        agrees = release.addenda_agrees()
        if agrees is not None:
            lines.append(
                "  the CMS addenda summary "
                + ("agrees" if agrees else "DISAGREES (see the release report)")
            )
    return "\n".join(lines)


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
