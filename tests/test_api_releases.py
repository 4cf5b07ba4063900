"""API v1: releases, their changes (JSON and CSV) and whole-release downloads; HTTP caching."""

import csv
import io
import json

import pytest

from codes import codeset
from codes.models import ConversionEntry, Release

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


@pytest.fixture
def fy2026_without_conversion_table(fy2026):
    """FY2026 as if it had been imported without CMS's conversion table (the bundled one has
    it): successors then come from the hierarchy."""
    ConversionEntry.objects.filter(release=fy2026).delete()
    codeset.codeset_for.clear()  # the in-memory index of FY2026 was built with the table
    yield fy2026
    codeset.codeset_for.clear()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_list_has_every_published_release_newest_first_with_counts(api):
    body = api.get("/api/v1/releases/").json()
    assert body["release"]["label"] == "FY2026"
    assert body["count"] == 3
    assert [r["label"] for r in body["results"]] == ["FY2026", "FY2025", "FY2017"]
    fy2026 = body["results"][0]
    assert fy2026["counts"] == {
        "entries": 98_186,
        "billable": 74_719,
        "headers": 23_467,
        "chapters": 22,
        "sections": 297,
        "notes": fy2026["counts"]["notes"],
    }
    assert fy2026["url"].endswith("/api/v1/releases/FY2026/")


def test_drafts_are_not_listed_nor_found(api, fy2026):
    Release.objects.filter(pk=fy2026.pk).update(status=Release.Status.DRAFT)
    listed = [r["label"] for r in api.get("/api/v1/releases/").json()["results"]]
    assert listed == ["FY2025", "FY2017"]
    response = api.get("/api/v1/releases/FY2026/")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "release_not_found",
        "message": 'no published release is labelled "FY2026"',
        "field": "label",
    }


def test_a_release_says_what_changed_and_how_it_was_checked(api):
    body = api.get("/api/v1/releases/fy2026/").json()
    assert body["release"] == {
        "label": "FY2026",
        "fiscal_year": 2026,
        "effective_date": "2025-10-01",
    }
    assert body["compared_to"]["label"] == "FY2025"
    assert body["changes"] == {
        "codes": {
            "added": 487,
            "deleted": 28,
            "revised": 38,
            "short_title_only": 0,
            "spacing_only": 0,
        },
        # CMS's 7 header revisions, W44.G's (a double space made single) among them.
        "headers": {
            "added": 143,
            "deleted": 0,
            "revised": 7,
            "short_title_only": 0,
            "spacing_only": 0,
        },
    }
    assert body["addenda_agrees"] is True
    assert body["addenda_differences"] == []
    assert body["addenda_revisions_counted_apart"] == []
    assert body["conversion_table"] is True  # bundled with FY2026
    assert body["links"]["changes_csv"].endswith("/api/v1/releases/FY2026/changes.csv")


def test_the_changes_are_cms_s_numbers_and_deleted_codes_have_successors(api):
    body = api.get("/api/v1/releases/FY2026/changes/").json()
    assert body["count"] == 487 + 28 + 38 + 143 + 7
    deleted = api.get("/api/v1/releases/FY2026/changes/?type=deleted").json()["results"]
    assert len(deleted) == 28
    by_code = {row["code"]: row for row in deleted}
    t78 = by_code["T78.07XA"]
    assert [s["code"] for s in t78["successors"]] == ["T78.070A", "T78.071A", "T78.079A"]
    assert t78["successors_source"] == "conversion_table"
    g35 = by_code["G35"]  # became a header: deleted as billable, added as header
    assert [s["code"] for s in g35["successors"]][:2] == ["G35.A", "G35.B0"]
    added = api.get("/api/v1/releases/FY2026/changes/?type=added&billable=false").json()
    assert added["count"] == 143
    assert all(row["successors"] == [] for row in added["results"])
    revised = api.get("/api/v1/releases/FY2026/changes/?type=revised&billable=true").json()
    assert revised["count"] == 38
    assert all(
        r["old_title"] != r["new_title"] or r["old_short_title"] != r["new_short_title"]
        for r in revised["results"]
    )


def test_without_a_conversion_table_successors_come_from_the_hierarchy(
    api, fy2026_without_conversion_table
):
    assert api.get("/api/v1/releases/FY2026/").json()["conversion_table"] is False
    deleted = api.get("/api/v1/releases/FY2026/changes/?type=deleted").json()["results"]
    t78 = {row["code"]: row for row in deleted}["T78.07XA"]
    assert t78["successors_source"] == "hierarchy"
    assert [s["code"] for s in t78["successors"]] == ["T78.070A", "T78.071A", "T78.079A"]


def test_successors_come_from_the_conversion_table_imported_with_the_release(api):
    assert api.get("/api/v1/releases/FY2026/").json()["conversion_table"] is True
    deleted = api.get("/api/v1/releases/FY2026/changes/?type=deleted").json()["results"]
    by_code = {row["code"]: row for row in deleted}
    assert all(row["successors_source"] == "conversion_table" for row in deleted)
    assert [s["code"] for s in by_code["T78.07XA"]["successors"]] == [
        "T78.070A",
        "T78.071A",
        "T78.079A",
    ]
    assert [s["code"] for s in by_code["T78.1XXD"]["successors"]] == [
        "T78.110D",
        "T78.111D",
        "T78.119D",
        "T78.120D",
        "T78.121D",
        "T78.129D",
        "T78.19XD",
    ]
    assert [s["code"] for s in by_code["Z91.011"]["successors"]] == [
        "Z91.0110",
        "Z91.0111",
        "Z91.0112",
    ]


def test_the_changes_as_csv(api):
    response = api.get("/api/v1/releases/FY2026/changes.csv?type=deleted")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # The file names the release and the filter.
    assert 'filename="icd10cm-FY2026-changes-deleted.csv"' in response["Content-Disposition"]
    headers = api.get("/api/v1/releases/FY2026/changes.csv?billable=false")
    assert 'filename="icd10cm-FY2026-changes-headers.csv"' in headers["Content-Disposition"]
    whole = api.get("/api/v1/releases/FY2026/download.csv")
    assert 'filename="icd10cm-FY2026.csv"' in whole["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 28
    t78 = next(row for row in rows if row["code"] == "T78.07XA")
    assert (t78["change"], t78["tally"], t78["successors"]) == (
        "deleted",
        "codes",
        "T78.070A T78.071A T78.079A",
    )


def test_a_wrong_change_type_is_a_400(api):
    response = api.get("/api/v1/releases/FY2026/changes/?type=renamed")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "type"
    assert api.get("/api/v1/releases/FY2026/changes.csv?type=renamed").status_code == 400


def test_the_whole_release_streams_as_csv(api):
    response = api.get("/api/v1/releases/FY2026/download.csv")
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(body_of(response).decode())))
    assert rows[0] == [
        "code",
        "dotted",
        "billable",
        "short_title",
        "long_title",
        "parent",
        "chapter",
        "section",
        "sequence",
    ]
    assert len(rows) == 1 + 98_186
    z5301 = next(row for row in rows if row[0] == "Z5301")
    assert z5301[1:3] == ["Z53.01", "1"]
    assert z5301[5:8] == ["Z530", "21", "Z40-Z53"]
    assert [int(row[8]) for row in rows[1:6]] == [1, 2, 3, 4, 5]


def test_the_whole_release_streams_as_json(api):
    response = api.get("/api/v1/releases/FY2025/download.json")
    assert response.streaming
    body = json.loads(body_of(response))
    assert body["release"]["label"] == "FY2025"
    assert len(body["codes"]) == 97_584
    g35 = next(code for code in body["codes"] if code["code"] == "G35")
    assert (g35["billable"], g35["parent"], g35["chapter"]) == (True, None, 6)
    assert sum(code["billable"] for code in body["codes"]) == 74_260


def test_a_download_of_an_unknown_release_is_a_json_404(api):
    response = api.get("/api/v1/releases/FY1999/download.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "release_not_found"


def test_answers_pinned_to_a_release_are_cacheable_for_a_day_and_revalidate(api):
    response = api.get("/api/v1/codes/Z53/?fy=2026")
    assert response["Cache-Control"] == "public, max-age=86400"
    assert response["ETag"] and response["Last-Modified"]
    again = api.get("/api/v1/codes/Z53/?fy=2026", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == response["ETag"]
    other = api.get("/api/v1/codes/Z53/?fy=2025", HTTP_IF_NONE_MATCH=response["ETag"])
    assert other.status_code == 200
    assert other["ETag"] != response["ETag"]
    for url in (
        "/api/v1/releases/FY2026/",
        "/api/v1/releases/FY2026/changes/",
        "/api/v1/releases/FY2026/download.csv",
    ):
        assert api.get(url)["Cache-Control"] == "public, max-age=86400"


def test_every_precondition_header_is_honoured(api):
    """If-Modified-Since, If-Match and If-Unmodified-Since as well as If-None-Match, each alone."""
    url = "/api/v1/codes/Z53.01/?fy=2026"
    response = api.get(url)
    etag, modified = response["ETag"], response["Last-Modified"]
    assert api.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert api.get(url, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code == 200
    assert api.get(url, HTTP_IF_MATCH=etag).status_code == 200
    assert api.get(url, HTTP_IF_MATCH='"another"').status_code == 412
    assert api.get(url, HTTP_IF_UNMODIFIED_SINCE=modified).status_code == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert api.get(url, HTTP_IF_UNMODIFIED_SINCE=old).status_code == 412


def test_answers_from_the_latest_release_are_cached_briefly(api, settings):
    settings.API_CACHE_SECONDS_LATEST = 120
    response = api.get("/api/v1/codes/Z53/")
    assert response["Cache-Control"] == "public, max-age=120"
    assert api.get("/api/v1/releases/")["Cache-Control"] == "public, max-age=120"
    assert api.get("/api/v1/codes/Z53/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_republished_release_changes_the_etag(api, fy2026):
    first = api.get("/api/v1/codes/Z53/?release=FY2026")["ETag"]
    Release.objects.filter(pk=fy2026.pk).update(imported_at=fy2026.imported_at.replace(year=2030))
    codeset.codeset_for.clear()
    try:
        assert api.get("/api/v1/codes/Z53/?release=FY2026")["ETag"] != first
    finally:
        codeset.codeset_for.clear()


def test_errors_are_not_cacheable(api):
    response = api.get("/api/v1/codes/QQQ/?fy=2026")
    assert response.status_code == 404
    assert "ETag" not in response and "Cache-Control" not in response


@pytest.mark.parametrize(
    ("url", "most"),
    [
        ("/api/v1/releases/", 1),
        # The tallies (counts, then the revisions' titles), the changes to compare, and the
        # POA-exempt list's changes.
        ("/api/v1/releases/FY2026/", 6),
        ("/api/v1/releases/FY2026/changes/", 4),
        ("/api/v1/releases/FY2026/changes.csv?type=deleted", 3),
        ("/api/v1/releases/FY2026/download.csv", 2),
        ("/api/v1/releases/FY2026/download.json", 2),
    ],
)
def test_a_request_takes_a_bounded_number_of_queries(
    api, warm_code_sets, django_assert_max_num_queries, url, most
):
    with django_assert_max_num_queries(most):
        body_of(api.get(url))
