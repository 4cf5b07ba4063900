"""Whether the site has loaded the release in force.

A fiscal year's code set takes effect every October 1, and until staff import it the site can
only show the latest release it has. A coder must be told, not shown last year's codes as
"latest": pages show the latest loaded release under a banner naming the missing year, the API
and FHIR answer `release_not_loaded` for a date or fiscal year past it, and the admin's index
puts the missing release first.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from codes.fiscal import fiscal_year_of, fiscal_year_start
from codes.models import Release


@dataclass(frozen=True)
class MissingRelease:
    """A fiscal year that has begun with no published release of it, and what is shown instead."""

    fiscal_year: int
    latest: Release  # the latest published release

    @property
    def took_effect(self) -> datetime.date:
        return fiscal_year_start(self.fiscal_year)

    @property
    def message(self) -> str:
        day = self.took_effect
        return (
            f"FY{self.fiscal_year} took effect on {day:%B} {day.day}, {day.year}; "
            f"no FY{self.fiscal_year} release is loaded (the latest loaded is "
            f"{self.latest.label})"
        )

    def as_error_fields(self) -> dict:
        return {"fiscal_year": self.fiscal_year, "latest_release": self.latest.label}


def today() -> datetime.date:
    """Today in the site's time zone (TIME_ZONE; no request activates another). Asked a few
    times by every page: reading the active time zone (an asgiref Local) was most of the call."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def missing_release_of_year(
    fiscal_year: int, published: Sequence[Release]
) -> MissingRelease | None:
    """The fiscal year when it has begun and is later than every published release's (published
    newest first). A year before the latest with no release of its own is not "missing", only
    absent; a year yet to begin has no release anywhere to load."""
    if not published or fiscal_year > fiscal_year_of(today()):
        return None
    if fiscal_year <= max(release.fiscal_year for release in published):
        return None
    return MissingRelease(fiscal_year, published[0])


def missing_release_on(day: datetime.date, published: Sequence[Release]) -> MissingRelease | None:
    return missing_release_of_year(fiscal_year_of(day), published)


def missing_release_today(published: Sequence[Release]) -> MissingRelease | None:
    return missing_release_on(today(), published)
