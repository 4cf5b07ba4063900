"""Fiscal years and release labels: FY N runs from Oct 1 of N-1 to Sep 30 of N."""

import datetime
import re

# A release label is part of page and API addresses (/releases/<label>/) and of download file
# names: what they can all carry as it is. Unique whatever the case (?release= reads any case).
MAX_LABEL = 60
LABEL_RULE = (
    f"1 to {MAX_LABEL} characters: letters A-Z, digits, single spaces and . _ - ( ), "
    "starting with a letter or digit and not ending with a space"
)
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._()-]| (?! ))*")


def fiscal_year_of(day: datetime.date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


def fiscal_year_start(fiscal_year: int) -> datetime.date:
    return datetime.date(fiscal_year - 1, 10, 1)


def no_year_between(earlier_fiscal_year: int, later_fiscal_year: int) -> bool:
    """Two releases follow each other (a mid-year update is in its year): the day before the
    later took effect is the last day of the earlier's codes. Not so across a missing year."""
    return later_fiscal_year - earlier_fiscal_year <= 1


def last_day_before(release_effective: datetime.date) -> datetime.date:
    return release_effective - datetime.timedelta(days=1)


def default_label(fiscal_year: int, effective_date: datetime.date) -> str:
    """ "FY2026" for the October release, "FY2026 April 1 update" for a mid-year one."""
    if effective_date == fiscal_year_start(fiscal_year):
        return f"FY{fiscal_year}"
    return f"FY{fiscal_year} {effective_date:%B} {effective_date.day} update"


def label_problem(label: str) -> str | None:
    """Why a release label cannot be used, or None."""
    if len(label) <= MAX_LABEL and _LABEL_RE.fullmatch(label) and not label.endswith(" "):
        return None
    shown = label if len(label) <= 80 else f"{label[:80]}…"
    return f"the release label {shown!r} is not allowed: {LABEL_RULE}"
