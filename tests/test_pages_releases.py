"""/releases/ and /releases/<label>/: counts, the chart, changes with filters and CSV."""

import csv
import io
import re

import pytest

from codes.models import Release

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_releases_lists_every_published_release_with_counts_and_a_chart(client):
    response = client.get("/releases/")
    assert response.status_code == 200
    text = text_of(response)
    assert "FY2026 October 1, 2025 98,186 74,719 23,467" in text
    assert "FY2025 October 1, 2024 97,584 74,260 23,324" in text
    assert "codes +487 / −28 / 38 revised; headers +143 / −0 / 7 revised" in text
    html = response.content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)
    assert len(bars) == 3
    assert float(bars[2]) > float(bars[1]) > float(bars[0])  # FY2017, FY2025, FY2026
    # FY2025 is compared with FY2017, the release loaded before it: the gap is said.
    assert "compared with FY2017; FY2018–FY2024 are not loaded:" in text


def test_a_release_shows_its_changes_against_the_one_before(client):
    response = client.get("/releases/FY2026/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Changes against FY2025" in text
    assert "Codes (billable) 487 28 38" in text
    assert "Headers 143 0 7 0 0" in text  # W44.G's double space made single: revised, as CMS
    assert "Page 1 of" in text
    assert "max-age=86400" in response["Cache-Control"]


def test_changes_can_be_filtered(client):
    response = client.get("/releases/FY2026/", {"change": "deleted", "tally": "billable"})
    text = text_of(response)
    assert "(28 rows)" in text
    assert "G35" in text  # billable through FY2025, a header from FY2026
    response = client.get("/releases/FY2026/", {"code": "g35"})
    assert "G35" in text_of(response)
    assert "Z53" not in text_of(response).split("Download")[1]


def test_changes_download_as_csv(client):
    response = client.get("/releases/FY2026/changes.csv", {"change": "revised"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="icd10cm-FY2026-changes-revised.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 38 + 7
    assert all(row["change"] == "revised" and row["old_long_title"] for row in rows)
    everything = client.get("/releases/FY2026/changes.csv").content.decode()
    assert len(everything.strip().splitlines()) == 1 + 487 + 28 + 38 + 143 + 0 + 7


def test_the_first_release_has_nothing_to_compare(client):
    text = text_of(client.get("/releases/FY2017/"))
    assert "the first release loaded" in text


def test_changes_against_a_release_that_is_not_the_one_just_before_say_so(client):
    text = text_of(client.get("/releases/FY2025/"))
    assert "Changes against FY2017" in text
    assert (
        "Changes compared with FY2017; FY2018–FY2024 are not loaded here, so they add up every "
        "year in between" in text
    )


def test_an_unknown_or_draft_release_is_not_found(client):
    assert client.get("/releases/FY1999/").status_code == 404
    Release.objects.filter(label="FY2025").update(status=Release.Status.DRAFT)
    assert client.get("/releases/FY2025/").status_code == 404
    assert client.get("/releases/FY2025/changes.csv").status_code == 404
    assert "FY2025" not in text_of(client.get("/releases/"))


def test_release_pages_need_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        client.get("/releases/")
    # The tallies (counts, then the revisions' titles), the addenda comparison's changes and
    # the POA-exempt list with its changes.
    with django_assert_max_num_queries(7):
        client.get("/releases/FY2026/", {"change": "added"})


def code_links(html: str) -> set[str]:
    return {link.replace("&amp;", "&") for link in re.findall(r'href="(/codes/[^"]+)"', html)}


def test_no_code_link_of_a_changes_list_is_dead(client):
    """Every code a changes list links, followed: a deleted code to the release where it
    existed (FY2026's list sent 12 of them to "not in FY2026" pages). Every page of the deleted
    codes of each release, the first page of every other list."""
    links = set()
    for release in Release.objects.published():
        path = f"/releases/{release.label}/"
        for change in ("deleted", "added", "revised", ""):
            number = 1
            while True:
                html = client.get(path, {"change": change, "page": number}).content.decode()
                links |= code_links(html)
                if change != "deleted" or f"page={number + 1}" not in html:
                    break
                number += 1
    assert any("release=FY2025" in link for link in links)  # FY2026's deleted codes
    dead = [link for link in sorted(links) if client.get(link).status_code != 200]
    assert dead == []


def test_a_code_no_release_has_offers_the_code_above_it_not_a_loop(client):
    response = client.get("/codes/Q99.99/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'The nearest code above it: <a href="/codes/Q99.9/">Q99.9</a>' in html
    assert "/search/?q=Q99.99" not in html
    # Words that are no code are still offered a search.
    assert 'href="/search/?q=hello"' in client.get("/codes/hello/").content.decode()
