"""The search page, /search/, and the autocomplete endpoint, /search/suggest/."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("warm_code_sets")]


def result_codes(response) -> list[str]:
    html = response.content.decode()
    table = html[html.index('<table class="results-table">') :]
    return re.findall(r'<a class="code" href="/codes/([^/]+)/', table)


def test_an_exact_code_in_any_form_goes_straight_to_its_page(client):
    for query in ("z53", "Z53", "z5301", "Z53.01"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 302
    assert client.get("/search/", {"q": "z5301"})["Location"] == "/codes/Z53.01/"
    pinned = client.get("/search/", {"q": "z53", "fy": "2025"})
    assert pinned["Location"] == "/codes/Z53/?fy=2025"


def test_a_whole_code_absent_from_the_release_goes_to_its_helpful_page(client):
    response = client.get("/search/", {"q": "w19a"})
    assert response.status_code == 302
    assert response["Location"] == "/codes/W19.A/"


def test_a_code_prefix_lists_codes_in_tabular_order(client):
    response = client.get("/search/", {"q": "Z53-"})
    assert response.status_code == 200
    assert "16 codes starting with Z53-" in " ".join(response.content.decode().split())
    assert result_codes(response)[:4] == ["Z53", "Z53.0", "Z53.01", "Z53.09"]


def test_words_are_ranked_and_each_result_says_why(client):
    response = client.get("/search/", {"q": "smoking"})
    assert response.status_code == 200
    codes = result_codes(response)
    assert len(codes) == 50  # one page
    assert {"Z72.0", "F17.210"} <= set(codes)
    html = response.content.decode()
    assert "lay: smoking = tobacco use" in html
    assert "index terms from FY2017, mapped to FY2026" in html
    heart = client.get("/search/", {"q": "heart attack"}).content.decode()
    assert "Attack, attacks, heart → see Infarct, infarction, myocardium" in heart


def test_filters_and_paging(client):
    response = client.get("/search/", {"q": "smoking", "billable": "1", "chapter": "5"})
    codes = result_codes(response)
    assert codes and all(code.startswith("F17") for code in codes)
    assert 'name="billable" value="1" checked' in response.content.decode()
    first = result_codes(client.get("/search/", {"q": "fracture femur"}))
    second_page = client.get("/search/", {"q": "fracture femur", "page": "2"})
    assert "Page 2 of" in second_page.content.decode()
    assert not set(first) & set(result_codes(second_page))


def test_a_misspelling_is_forgiven(client):
    response = client.get("/search/", {"q": "diabetis"})
    assert response.status_code == 200
    assert "Spelling corrected: diabetis → diabetes." in response.content.decode()
    assert result_codes(response)[0] == "E11.9"


def test_an_empty_search_shows_what_can_be_typed(client):
    response = client.get("/search/")
    assert response.status_code == 200
    assert "What you can type" in response.content.decode()


def test_the_search_page_needs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    # The published releases (read on each use in tests); a word search's rows and count come
    # from memory, a code prefix's from the database (the rows shown and their count); the
    # chapters are held in memory.
    with django_assert_max_num_queries(2):
        client.get("/search/", {"q": "smoking"})
    with django_assert_max_num_queries(4):
        client.get("/search/", {"q": "Z53-", "billable": "1"})


def test_suggestions_are_small_json(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # suggestions are entries of the code set
        response = client.get("/search/suggest/", {"q": "smok"})
    assert response.status_code == 200
    data = response.json()
    assert data["release"] == "FY2026"
    assert 0 < len(data["results"]) <= 10
    first = data["results"][0]
    assert set(first) == {"code", "title", "billable", "url", "why"}
    assert first["url"] == f"/codes/{first['code']}/"
    assert "public" in response["Cache-Control"]


def test_suggestions_for_a_code_keep_the_release(client):
    data = client.get("/search/suggest/", {"q": "g35", "fy": "2025"}).json()
    assert data["release"] == "FY2025"
    assert data["results"][0] == {
        "code": "G35",
        "title": "Multiple sclerosis",
        "billable": True,
        "why": "",
        "url": "/codes/G35/?fy=2025",
    }
    assert data["message"] == ""
    assert client.get("/search/suggest/", {"q": "g"}).json()["results"] == []
    assert client.get("/search/suggest/", {"q": "g35", "fy": "x"}).status_code == 400
