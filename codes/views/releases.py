"""/releases/: every published release with its counts and a chart of billable codes;
/releases/<label>/: its changes against the release before it, filterable, and as CSV."""

import csv
import math
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from codes.downloads import attachment, download_name
from codes.icd10 import dotted, undotted
from codes.importer.diff import tally
from codes.models import CodeChange, PoaList, PoaListChange, Release
from codes.views.common import (
    get_published_or_404,
    get_site_with_release,
    release_page,
    render_page,
)

CHANGES_PAGE_SIZE = 100
TALLIES = {"billable": True, "header": False}
CSV_COLUMNS = [
    "code",
    "change",
    "tally",
    "old_short_title",
    "old_long_title",
    "new_short_title",
    "new_long_title",
]


@release_page()
def release_list(request: HttpRequest) -> HttpResponse:
    site = get_site_with_release(request)
    summaries = _summaries(site.releases)
    rows = [(release, summaries.get(release.pk)) for release in site.releases]
    return render_page(
        request,
        "codes/releases.html",
        site,
        {"rows": rows, "chart": billable_chart(list(reversed(site.releases)))},
    )


@release_page(pinned_by_path=True)
def release_changes(request: HttpRequest, label: str) -> HttpResponse:
    site = get_site_with_release(request)
    release = get_published_or_404(site, label)
    filters = _filters(request)
    changes = _changes(release, filters)
    page = Paginator(changes, CHANGES_PAGE_SIZE).get_page(request.GET.get("page"))
    previous = next((r for r in site.releases if r.pk == release.compared_to_id), None)
    return render_page(
        request,
        "codes/release.html",
        site,
        {
            "shown_release": release,
            "previous": previous,
            "summary": release.change_summary() if release.compared_to_id else None,
            "addenda": release.addenda_comparison(),
            "filters": filters,
            "page": page,
            **_poa_list(release),
        },
    )


@release_page(pinned_by_path=True)
def release_changes_csv(request: HttpRequest, label: str) -> HttpResponse:
    site = get_site_with_release(request)
    release = get_published_or_404(site, label)
    filters = _filters(request)
    name = download_name(release.label, "changes", *filters.values(), extension="csv")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment(name)
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for change in _changes(release, filters).iterator():
        writer.writerow(
            [
                dotted(change.code),
                change.change,
                "billable" if change.is_billable else "header",
                change.old_short_title,
                change.old_long_title,
                change.new_short_title,
                change.new_long_title,
            ]
        )
    return response


def _poa_list(release: Release) -> dict:
    """The release's POA-exempt list and its changes (one query: the published releases are
    read with their list)."""
    try:
        poa_list = release.poa
    except PoaList.DoesNotExist:
        return {"poa_list": None}
    changes = list(poa_list.changes.all())
    counts = {change: 0 for change in PoaListChange.Change.values}
    for change in changes:
        counts[change.change] += 1
    return {"poa_list": poa_list, "poa_changes": changes, "poa_counts": counts}


def _filters(request: HttpRequest) -> dict[str, str]:
    change = request.GET.get("change", "")
    tally = request.GET.get("tally", "")
    prefix = undotted(request.GET.get("code", ""))[:7]
    return {
        "change": change if change in CodeChange.Change.values else "",
        "tally": tally if tally in TALLIES else "",
        "code": prefix if prefix.isalnum() else "",
    }


def _changes(release: Release, filters: dict[str, str]):
    changes = release.changes.order_by("code", "change", "is_billable")
    if filters["change"]:
        changes = changes.filter(change=filters["change"])
    if filters["tally"]:
        changes = changes.filter(is_billable=TALLIES[filters["tally"]])
    if filters["code"]:
        changes = changes.filter(code__startswith=filters["code"])
    return changes


def _summaries(releases: list[Release]) -> dict[int, dict[str, dict[str, int]]]:
    """Release.change_summary() of every release compared with another, in two queries."""
    compared = [release.pk for release in releases if release.compared_to_id]
    tallies = CodeChange.objects.filter(release__in=compared).tallies()
    return {pk: tallies.get(pk, tally([])) for pk in compared}


# The chart ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: float  # y of the axis
    bars: list[Bar]
    ticks: list[Tick]
    axis_start: int


def billable_chart(releases: list[Release], *, width: int = 640, height: int = 260) -> Chart:
    """Bars of billable codes per release, oldest first, drawn server-side as SVG.

    The counts differ by a few hundred out of ~74,000, so the axis starts near the smallest
    value (the template says where) or every bar would look the same.
    """
    left, right, top, bottom = 64, 16, 24, 48
    values = [release.billable_count for release in releases] or [0]
    low, high = min(values), max(values)
    step = _tick_step(max(high - low, 1))
    start = max(0, math.floor((low - 2 * step) / step) * step)
    stop = math.ceil((high + step / 2) / step) * step
    plot_height = height - top - bottom
    slot = (width - left - right) / max(len(releases), 1)

    def y(value: float) -> float:
        return round(top + plot_height * (1 - (value - start) / (stop - start)), 1)

    bars = [
        Bar(
            label=release.label,
            value=release.billable_count,
            x=round(left + slot * index + slot * 0.2, 1),
            y=y(release.billable_count),
            width=round(slot * 0.6, 1),
            height=round(y(start) - y(release.billable_count), 1),
        )
        for index, release in enumerate(releases)
    ]
    ticks = [Tick(value, y(value)) for value in range(start, stop + 1, step)]
    return Chart(width, height, left, y(start), bars, ticks, start)


def _tick_step(span: int) -> int:
    """A round step giving a handful of ticks over the span."""
    magnitude = 10 ** math.floor(math.log10(span))
    for factor in (1, 2, 5, 10):
        if span / (magnitude * factor) <= 4:
            return max(magnitude * factor, 1)
    return magnitude * 10
