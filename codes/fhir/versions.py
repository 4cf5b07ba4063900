"""Code system versions: each published release is one version of ICD-10-CM, addressed by the
version string its CodeSystem resource gives, so that what the server advertises round-trips.

An October release is version "2026" (its fiscal year); a mid-year update is its label with
hyphens for spaces ("FY2025-April-1-update": a canonical reference, system|version, has no
spaces). A version may also be given as the release's label ("FY2026", "FY2025 April 1 update")
or as another spelling of the fiscal year ("FY2026", "fy26"), which names the October release:
"2025" never lands on the April update.
"""

import datetime
from collections.abc import Sequence
from urllib.parse import quote

from codes.fiscal import fiscal_year_of, fiscal_year_start
from codes.models import Release
from codes.selection import published_releases

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


def version_of(release: Release) -> str:
    """The fiscal year ("2026") for an October release; the label for a mid-year update."""
    if release.effective_date == fiscal_year_start(release.fiscal_year):
        return str(release.fiscal_year)
    return "-".join(release.label.split())


def resource_id(release: Release) -> str:
    return "icd-10-cm-" + "-".join(release.label.lower().split())


def release_of_version(version: str, published: Sequence[Release] | None = None) -> Release | None:
    """The published release that `version` names, or None."""
    if published is None:
        published = published_releases()
    wanted = version.strip().casefold()
    for release in published:
        if wanted in (version_of(release).casefold(), release.label.casefold()):
            return release
    fiscal_year = _fiscal_year(wanted)
    if fiscal_year is not None:
        return next((r for r in published if version_of(r) == str(fiscal_year)), None)
    return None


def release_in_force(day: datetime.date, published: Sequence[Release] | None = None):
    """The latest published release effective on or before the day, within its fiscal year."""
    if published is None:
        published = published_releases()
    return next(
        (r for r in published if r.fiscal_year == fiscal_year_of(day) and r.effective_date <= day),
        None,
    )


def known_versions(published: Sequence[Release] | None = None) -> list[str]:
    return [version_of(release) for release in published or published_releases()]


def parse_day(text: str) -> datetime.date | None:
    """A FHIR date or dateTime ("2025-11-01", "2025-11-01T10:00:00Z") as the day it names."""
    try:
        return datetime.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def split_canonical(canonical: str) -> tuple[str, str]:
    """ "http://hl7.org/fhir/sid/icd-10-cm|2026" -> (url, "2026"); no version: (url, "")."""
    url, _, version = canonical.partition("|")
    return url, version


def canonical(url: str, version: str) -> str:
    """url|version, whitespace in the version percent-encoded (a canonical has none)."""
    return f"{url}|{''.join(quote(c) if c.isspace() else c for c in version)}"


def is_our_system(url: str | None) -> bool:
    return url is not None and url.rstrip("/") == SYSTEM


def _fiscal_year(text: str) -> int | None:
    """2026 for "fy2026", "fy26"; None for anything else."""
    digits = text.removeprefix("fy")
    if not (digits.isascii() and digits.isdigit() and len(digits) in (2, 4)):
        return None
    return int(digits) if len(digits) == 4 else 2000 + int(digits)
