"""python manage.py load_bundled_releases [FOLDER ...]: import and publish the releases shipped in
data/cms, oldest first, so that each one's changes are computed against the one before it.

One folder per release: `fy2025` holds the files of the October release of FY2025,
`fy2025-april` those of its April 1 update. The folder names the effective date, since the files
cannot always tell (an October release ships with the April printing of its tabular XML).

Idempotent: a release whose effective date is already loaded is left alone, so `make run`
starts at once the second time. FOLDER names limit the import to those folders (the tests load
a few releases, not the whole bundle).
"""

import datetime
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from codes.importer.run import import_release
from codes.management.commands.import_release import release_summary
from codes.models import Release

BUNDLED_DIR = settings.BASE_DIR / "data" / "cms"
_FOLDER_RE = re.compile(r"fy(20[0-9]{2})(-april)?")


def effective_date_of(folder: Path) -> datetime.date:
    """fy2025 -> 2024-10-01; fy2025-april -> 2025-04-01."""
    match = _FOLDER_RE.fullmatch(folder.name)
    if match is None:
        raise CommandError(
            f"{folder}: a folder of data/cms is named fyYYYY (an October release) or "
            "fyYYYY-april (its April 1 update)"
        )
    year = int(match.group(1))
    return datetime.date(year, 4, 1) if match.group(2) else datetime.date(year - 1, 10, 1)


class Command(BaseCommand):
    help = "Import and publish the CMS releases bundled in data/cms, oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folders", nargs="*", help="only these folders (fy2026, ...)")

    def handle(self, *args, **options) -> None:
        folders = [p for p in BUNDLED_DIR.iterdir() if p.is_dir()]
        if options["folders"]:
            unknown = set(options["folders"]) - {p.name for p in folders}
            if unknown:
                raise CommandError(f"no such folder in {BUNDLED_DIR}: {', '.join(sorted(unknown))}")
            folders = [p for p in folders if p.name in options["folders"]]
        started_all = time.monotonic()
        for folder in sorted(folders, key=effective_date_of):
            effective_date = effective_date_of(folder)
            loaded = Release.objects.filter(effective_date=effective_date).first()
            if loaded is not None:
                self.stdout.write(f"{loaded.label}: already loaded")
                continue
            started = time.monotonic()
            files = sorted(p for p in folder.iterdir() if p.is_file())
            release = import_release(
                [(path.name, path.read_bytes()) for path in files],
                effective_date=effective_date,
                publish=True,
                imported_by="load_bundled_releases",
            )
            self.stdout.write(release_summary(release))
            self.stdout.write(f"  imported in {time.monotonic() - started:.1f}s")
        self.stdout.write(f"Bundled releases loaded in {time.monotonic() - started_all:.1f}s")
