"""python manage.py load_bundled_releases: import and publish the releases shipped in data/cms.

Idempotent: a release whose effective date is already loaded is left alone, so `make run`
starts at once the second time.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from codes.importer.run import import_release
from codes.management.commands.import_release import release_summary
from codes.models import Release

BUNDLED_DIR = settings.BASE_DIR / "data" / "cms"


class Command(BaseCommand):
    help = "Import and publish the CMS releases bundled in data/cms (FY2017, FY2025, FY2026)."

    def handle(self, *args, **options) -> None:
        for folder in sorted(p for p in BUNDLED_DIR.iterdir() if p.is_dir()):
            files = sorted(p for p in folder.iterdir() if p.is_file())
            fiscal_year = int(folder.name.removeprefix("fy"))
            if Release.objects.filter(fiscal_year=fiscal_year).exists():
                self.stdout.write(f"FY{fiscal_year}: already loaded")
                continue
            started = time.monotonic()
            release = import_release(
                [(path.name, path.read_bytes()) for path in files],
                publish=True,
                imported_by="load_bundled_releases",
            )
            self.stdout.write(release_summary(release))
            self.stdout.write(f"  imported in {time.monotonic() - started:.1f}s")
