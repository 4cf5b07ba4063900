"""Home and browsing: /, /chapters/, /chapters/<n>/, /sections/<id>/."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("warm_code_sets")]


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_home_has_the_search_box_the_current_release_and_the_chapters(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="search"' in html and 'name="q"' in html
    text = text_of(response)
    assert "FY2026 (latest" in text  # "(latest loaded; …)" once FY2027 has begun
    assert "Effective October 1, 2025" in text
    assert "98,186" in text and "74,719" in text and "23,467" in text
    assert "487 codes added, 28 deleted, 38 revised" in text
    assert "headers 143 added, 0 deleted, 7 revised." in text
    assert len(re.findall(r'href="/chapters/\d+/"', html)) >= 22


def test_home_for_an_earlier_release(client):
    text = text_of(client.get("/?fy=2025"))
    assert "FY2025" in text and "97,584" in text and "74,260" in text
    assert "(latest)" not in text


def test_chapters_list_every_chapter_with_its_range(client):
    text = text_of(client.get("/chapters/"))
    assert "21 Z00-Z99 Factors influencing health status and contact with health services" in text
    assert "22 chapters, 297 sections" in text


def test_a_chapter_lists_its_sections_and_notes(client):
    response = client.get("/chapters/21/")
    text = text_of(response)
    assert "Chapter 21 · Z00-Z99" in text
    assert "Z40-Z53 Encounters for other specific health care" in text
    assert "Instructional notes" in text
    assert 'href="/sections/Z40-Z53/"' in response.content.decode()


def test_a_section_lists_its_categories_with_their_families(client):
    response = client.get("/sections/Z40-Z53/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Z53 Persons encountering health services" in text
    assert "15 codes, 12 billable" in text
    assert "Chapter 21" in text


def test_unknown_chapters_and_sections_are_not_found(client):
    assert client.get("/chapters/99/").status_code == 404
    assert client.get("/sections/Q99-Q99/").status_code == 404


def test_browsing_keeps_the_chosen_release(client):
    html = client.get("/chapters/?release=FY2025").content.decode()
    assert 'href="/chapters/21/?release=FY2025"' in html
    # The header's selector is a GET form to the same page.
    assert '<form class="release-form" action="/chapters/" method="get">' in html
    assert '<option value="FY2025" selected>' in html


def test_browse_pages_need_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for path in ("/", "/chapters/", "/chapters/19/", "/sections/S70-S79/"):
        with django_assert_max_num_queries(6):
            assert client.get(path).status_code == 200


def test_pages_are_accessible_html(client):
    for path in ("/", "/chapters/", "/sections/Z40-Z53/", "/codes/Z53/", "/search/?q=smoking"):
        html = client.get(path).content.decode()
        assert html.startswith("<!doctype html>")
        assert '<html lang="en">' in html
        assert 'name="viewport"' in html
        assert '<a class="skip-link" href="#main">' in html
        for landmark in ("<header", '<main id="main"', "<footer", '<nav aria-label="Main">'):
            assert landmark in html
        assert len(re.findall(r"<h1[ >]", html)) == 1
        # Every form control has a label.
        for control_id in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html):
            assert f'for="{control_id}"' in html, control_id
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), "duplicate ids"
