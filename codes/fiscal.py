"""Fiscal years and release labels: FY N runs from Oct 1 of N-1 to Sep 30 of N."""

import datetime


def fiscal_year_of(day: datetime.date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


def fiscal_year_start(fiscal_year: int) -> datetime.date:
    return datetime.date(fiscal_year - 1, 10, 1)


def default_label(fiscal_year: int, effective_date: datetime.date) -> str:
    """ "FY2026" for the October release, "FY2026 April 1 update" for a mid-year one."""
    if effective_date == fiscal_year_start(fiscal_year):
        return f"FY{fiscal_year}"
    return f"FY{fiscal_year} {effective_date:%B} {effective_date.day} update"
