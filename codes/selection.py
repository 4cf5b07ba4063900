"""Which published release answers a request: `fy`, `date` or `release`, else the latest.

Shared by the pages and the API so both read the same parameters the same way and both name the
field that was wrong.
"""

import datetime
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models.functions import Cast

from codes.currency import MissingRelease, missing_release_of_year, missing_release_on
from codes.fiscal import fiscal_year_of
from codes.models import Release

PARAMETERS = ("release", "date", "fy")


class ReleaseSelectionError(Exception):
    """A release parameter is malformed, or names no published release."""

    def __init__(
        self, field: str, message: str, *, code: str, missing: MissingRelease | None = None
    ) -> None:
        self.field = field
        self.message = message
        # stable: "invalid_parameter", "release_not_found", "release_not_loaded" (a fiscal year
        # later than every published release: `missing` says which, and what is loaded)
        self.code = code
        self.missing = missing
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class _Published:
    """The published releases as a process read them: replaced whole, so a thread sees one
    read or the other."""

    read_at: float  # time.monotonic()
    rows: list[tuple] | None  # _stored_rows() when they were read (None: read on every call)
    releases: list[Release]


_published: _Published | None = None
# What select_related reads with a release (published_releases' query and _stored_rows').
_READ_WITH = ("index", "compared_to", "poa")
# The SQL of _stored_rows() per database alias: built once by the ORM, run every second.
_stored_rows_sql: dict[str, tuple[str, tuple]] = {}


def published_releases() -> list[Release]:
    """The published releases, newest first, as this process last read them.

    Every request needs them (to choose its release, and to key its cached answer) and they
    change once or twice a year, so a process reads them at most every
    PUBLISHED_RELEASES_SECONDS instead of on every request: the one query a cached page or API
    answer made. A change this process makes (publish, unpublish, import, delete) is seen at
    once (forget_published_releases); one made elsewhere (the admin's import worker, another app
    server) within that time.

    Reading them whole each time cost ~6 ms of a worker's CPU a second (building four models'
    instances, decoding tens of KB of import reports); what is stored is compared instead, as
    it is stored, and read whole only when it changed.
    """
    global _published
    now = time.monotonic()
    snapshot = _published
    if snapshot is None or now - snapshot.read_at >= settings.PUBLISHED_RELEASES_SECONDS:
        queryset = (
            Release.objects.published().select_related(*_READ_WITH).order_by("-effective_date")
        )
        # Read on every call (tests change releases behind the ORM's back): nothing to compare.
        rows = _stored_rows(queryset) if settings.PUBLISHED_RELEASES_SECONDS else None
        if snapshot is None or rows is None or rows != snapshot.rows:
            snapshot = _Published(now, rows, list(queryset))
        else:
            snapshot = _Published(now, rows, snapshot.releases)
        _published = snapshot
    return list(snapshot.releases)


def _stored_rows(queryset) -> list[tuple]:
    """Every column of the releases and of what is read with them, JSON as text (not decoded):
    equal rows are equal releases."""
    alias = queryset.db
    if alias not in _stored_rows_sql:
        columns = []
        for prefix, model in (
            ("", Release),
            *((f"{name}__", Release._meta.get_field(name).related_model) for name in _READ_WITH),
        ):
            for field in model._meta.concrete_fields:
                if isinstance(field, models.JSONField):
                    columns.append(Cast(prefix + field.name, models.TextField()))
                else:
                    columns.append(prefix + field.attname)
        query = queryset.values_list(*columns).query
        _stored_rows_sql[alias] = query.get_compiler(alias).as_sql()
    sql, params = _stored_rows_sql[alias]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def forget_published_releases(**signal_arguments) -> None:
    """Read them again on next use; and again once the change is committed (a request served
    meanwhile by this process may have read them as they were)."""
    global _published
    _published = None
    transaction.on_commit(forget_published_releases_now)


def forget_published_releases_now() -> None:
    global _published
    _published = None


@dataclass(frozen=True)
class ReleaseChoice:
    release: Release
    parameter: str  # which parameter chose it ("" for the default)
    value: str


def select_release(
    params: Mapping[str, str], published: Sequence[Release] | None = None
) -> ReleaseChoice:
    """Precedence when several are given: release, then date, then fy.

    The choice is made among `published` (the published releases, newest first), by default
    published_releases(): a page that lists the releases and shows one of them reads both from
    the same snapshot, so a release published meanwhile can never make it show two.
    """
    if published is None:
        published = published_releases()
    # The parameters given, in a plain dict: QueryDict.get raises and catches two exceptions for
    # a name that is missing, and most requests miss two of the three (or all).
    given = {name: params[name] for name in PARAMETERS if name in params}
    if value := given.get("release", "").strip():
        wanted = value.casefold()
        release = next((r for r in published if r.label.casefold() == wanted), None)
        if release is None:
            raise ReleaseSelectionError(
                "release",
                f'no published release is labelled "{value[:100]}"',
                code="release_not_found",
            )
        return ReleaseChoice(release, "release", value)
    if value := given.get("date", "").strip():
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise ReleaseSelectionError(
                "date", f'"{value}" is not a date (YYYY-MM-DD)', code="invalid_parameter"
            ) from None
        release = _in_force_on(day, published)
        if release is None and (missing := missing_release_on(day, published)):
            raise ReleaseSelectionError(
                "date", missing.message, code="release_not_loaded", missing=missing
            )
        if release is None:
            raise ReleaseSelectionError(
                "date",
                f"no published release is in force on {day} (FY{fiscal_year_of(day)})",
                code="release_not_found",
            )
        return ReleaseChoice(release, "date", value)
    if value := given.get("fy", "").strip():
        fiscal_year = _fiscal_year(value)
        release = next((r for r in published if r.fiscal_year == fiscal_year), None)
        if release is None and (missing := missing_release_of_year(fiscal_year, published)):
            raise ReleaseSelectionError(
                "fy", missing.message, code="release_not_loaded", missing=missing
            )
        if release is None:
            raise ReleaseSelectionError(
                "fy", f"no published release for FY{fiscal_year}", code="release_not_found"
            )
        return ReleaseChoice(release, "fy", value)
    if not published:
        raise ReleaseSelectionError("release", "no release is published yet", code="no_release")
    return ReleaseChoice(published[0], "", "")


def _in_force_on(day: datetime.date, published: Sequence[Release]) -> Release | None:
    """ReleaseQuerySet.in_force_on's rule on releases newest first: the latest release effective
    on or before the day, within the day's fiscal year."""
    return next(
        (
            release
            for release in published
            if release.fiscal_year == fiscal_year_of(day) and release.effective_date <= day
        ),
        None,
    )


def could_be_label(value: str) -> bool:
    """False for what no label can be, so that it is never sent to the database: longer than
    Release.label allows, or with a NUL byte (PostgreSQL refuses those in text)."""
    return len(value) <= 100 and "\x00" not in value


def _fiscal_year(value: str) -> int:
    """Accept 2026, FY2026 and fy26."""
    digits = value.upper().removeprefix("FY")
    # ASCII only: str.isdigit() is also true of "²⁶", which int() refuses.
    ascii_digits = digits.isascii() and digits.isdigit()
    if ascii_digits and len(digits) == 2:
        digits = "20" + digits
    if not (ascii_digits and len(digits) == 4 and 2015 < int(digits) < 2100):
        raise ReleaseSelectionError(
            "fy", f'"{value}" is not a fiscal year (e.g. 2026)', code="invalid_parameter"
        )
    return int(digits)


def releases_in_force_on(days: Iterable[datetime.date]) -> dict[datetime.date, Release | None]:
    """The release in force on each day (the rule of ReleaseQuerySet.in_force_on), in one query
    for any number of days: bulk validation may carry a date of service per item."""
    days = set(days)
    published = list(
        Release.objects.published()
        .filter(fiscal_year__in={fiscal_year_of(day) for day in days})
        .order_by("-effective_date")
    )
    return {day: _in_force_on(day, published) for day in days}
