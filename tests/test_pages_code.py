"""The code page, /codes/<code>/, on the bundled FY2025 and FY2026 releases."""

import datetime
import json
import re

import pytest
import time_machine
from django.utils import timezone

from codes.icd10 import dotted
from codes.models import Release

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("warm_code_sets")]


def text_of(response) -> str:
    """The page's visible text, tags dropped and whitespace squeezed."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_z53_page_tells_a_coder_everything_in_one_glance(client):
    response = client.get("/codes/Z53/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Persons encountering health services for specific procedures and treatment" in text
    assert "Non-billable header — use a more specific code" in text
    assert "12 billable codes below Z53" in text
    assert "6 sub-codes, 12 billable codes below (15 codes in all)" in text
    assert "Valid for FY2026 claims? No — header" in text
    # Where it sits: chapter 21, section Z40-Z53.
    assert "Chapter 21 Z00-Z99 Factors influencing health status" in text
    assert "Z40-Z53 Encounters for other specific health care" in text
    # Notes inherited from the section and the chapter, labelled.
    assert "From section Z40-Z53" in text
    assert "From chapter 21" in text
    # The same data as JSON.
    assert 'href="/api/v1/codes/Z53/?release=FY2026"' in response.content.decode()


def test_the_z53_page_lists_its_six_sub_codes_with_their_status(client):
    html = client.get("/codes/Z53/").content.decode()
    tree = html[html.index('<ul class="tree">') :]
    top = re.findall(r'<li><a href="/codes/(Z53\.\d)/"', tree)
    assert top == ["Z53.0", "Z53.1", "Z53.2", "Z53.3", "Z53.8", "Z53.9"]
    assert "Z53.01" in tree and "Z53.39" in tree


def test_any_input_form_redirects_to_the_canonical_url_keeping_the_query(client):
    # One redirect, with or without the trailing slash.
    for path in (
        "/codes/z5301/",
        "/codes/Z5301/",
        "/codes/z53.01/",
        "/codes/z5301",
        "/codes/Z53.01",
    ):
        response = client.get(path + "?fy=2025")
        assert response.status_code == 301
        assert response["Location"] == "/codes/Z53.01/?fy=2025"
    assert client.get("/codes/Z53.01/").status_code == 200
    assert client.get("/codes/hello")["Location"] == "/codes/hello/"
    assert client.post("/codes/z5301").status_code == 405


def test_g35_is_billable_in_fy2025_and_a_header_in_fy2026(client):
    fy2025 = text_of(client.get("/codes/G35/?fy=2025"))
    assert "Valid for FY2025 claims? Yes — billable" in fy2025
    fy2026 = text_of(client.get("/codes/G35/?fy=2026"))
    assert "Valid for FY2026 claims? No — header" in fy2026
    assert "Non-billable header" in fy2026
    # The timeline says what happened.
    assert "Became a header (no longer billable)" in fy2026


def test_the_release_is_chosen_by_release_fiscal_year_or_date(client):
    by_label = text_of(client.get("/codes/G35/?release=FY2025"))
    by_date = text_of(client.get("/codes/G35/?date=2025-03-15"))
    for text in (by_label, by_date):
        assert "Valid for FY2025 claims? Yes — billable" in text
    assert "the release in force on 2025-03-15" in by_date
    # Links on the page keep the choice while browsing.
    html = client.get("/codes/G35/?date=2025-03-15").content.decode()
    assert 'href="/chapters/6/?date=2025-03-15"' in html


def test_a_bad_release_parameter_is_explained(client):
    response = client.get("/codes/Z53/?fy=banana")
    assert response.status_code == 400
    assert "not a fiscal year" in text_of(response)
    response = client.get("/codes/Z53/?fy=2019")
    assert response.status_code == 404
    assert "no published release for FY2019" in text_of(response)
    assert "FY2025" in text_of(response)  # what there is instead


def test_a_revised_title_shows_old_and_new_in_the_history(client):
    revised = (
        Release.objects.get(label="FY2026")
        .changes.filter(change="revised", is_billable=True)
        .first()
    )
    from codes.icd10 import dotted

    text = text_of(client.get(f"/codes/{dotted(revised.code)}/"))
    assert f"Title revised: {revised.old_long_title} → {revised.new_long_title}" in text


def test_the_seventh_character_table_and_x_padded_examples(client):
    text = text_of(client.get("/codes/W19/"))
    assert "It needs a 7th character, with placeholder X up to 6 characters" in text
    assert "A initial encounter" in text
    assert "W19.XXXA" in text and "W19.XXXS" in text
    s72 = text_of(client.get("/codes/S72.001/"))
    assert "7th characters defined at S72" in s72
    assert "S72.001A" in s72


def test_notes_link_the_codes_they_name(client):
    html = client.get("/codes/Z72.0/").content.decode()
    assert '<a href="/codes/Z87.891/">Z87.891</a>' in html
    assert '<a href="/codes/F17.2/">F17.2-</a>' in html


def test_the_faq_is_aware_of_the_release_and_marked_up_as_json_ld(client):
    html = client.get("/codes/Z53/?fy=2025").content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "FAQPage"
    assert data["about"]["codeValue"] == "Z53"
    questions = {q["name"]: q["acceptedAnswer"]["text"] for q in data["mainEntity"]}
    assert questions["Is Z53 billable?"].startswith("No. Z53 is a header in FY2025")
    assert "Z53.01" in questions["Is Z53 billable?"]
    assert "Is Z53 valid for FY2025 claims?" in questions
    assert "6 direct sub-codes" in questions["How many sub-codes does Z53 have?"]
    assert "section Z40-Z53" in questions["Where is Z53 in ICD-10-CM?"]
    assert "FY2026: a header" in questions["Was Z53 valid in other releases?"]


def test_a_code_missing_its_placeholder_gets_a_helpful_page(client):
    response = client.get("/codes/W19A/", follow=True)
    assert response.status_code == 404
    text = text_of(response)
    assert "needs placeholder X" in text
    assert "W19.XXXA Unspecified fall, initial encounter" in text


def test_a_code_missing_its_seventh_character_lists_the_allowed_ones(client):
    response = client.get("/codes/S72.001Z/")
    assert response.status_code == 404
    text = text_of(response)
    assert "Allowed 7th characters" in text
    assert "S72.001A" in text


def test_a_code_of_another_release_says_where_it_exists(client):
    fy2026 = Release.objects.get(label="FY2026")
    added = fy2026.changes.filter(change="added", is_billable=True).order_by("code").first()
    from codes.icd10 import dotted

    response = client.get(f"/codes/{dotted(added.code)}/?fy=2025")
    assert response.status_code == 404
    text = text_of(response)
    assert f"{dotted(added.code)} is not in FY2025" in text
    assert "Releases it exists in FY2026" in text
    assert "it exists from FY2026 on" in text


def test_a_word_that_is_no_code_is_sent_to_search(client):
    response = client.get("/codes/hello/")
    assert response.status_code == 404
    text = text_of(response)
    assert "“hello” is not an ICD-10-CM code" in text
    assert 'href="/search/?q=hello"' in response.content.decode()


@time_machine.travel(datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC), tick=False)
def test_a_draft_release_is_never_shown(client):
    """In FY2026: from October 1, 2026 pages name FY2027 as not loaded (test_release_currency)."""
    Release.objects.create(
        fiscal_year=2027,
        effective_date=datetime.date(2026, 10, 1),
        label="FY2027",
        structure=Release.Structure.NONE,
        imported_at=timezone.now(),
    )
    assert client.get("/codes/Z53/?release=FY2027").status_code == 404
    assert client.get("/codes/Z53/?fy=2027").status_code == 404
    html = client.get("/codes/Z53/").content.decode()
    assert "FY2027" not in html
    assert "Latest (FY2026)" in html


def test_the_code_page_needs_a_bounded_number_of_queries(
    client, warm_code_sets, django_assert_max_num_queries
):
    # The published releases (read on each use in tests, at most once a second in a worker);
    # the code's row, family, notes and history come from memory (codes.release_data); FY2025
    # has an Index part lent by FY2017 to name (one more read of the published releases); W19A
    # is no code: its page (404) reads the published releases four times. With an Index of its
    # own, a release's page reads the entries too (tests/test_pages_index.py).
    for path, most in (("/codes/Z53/", 2), ("/codes/S72.001/?fy=2025", 3), ("/codes/W19A/", 4)):
        with django_assert_max_num_queries(most):
            client.get(path, follow=True)


def test_pages_are_cacheable_and_answer_conditional_requests(client):
    latest = client.get("/codes/Z53/")
    assert "max-age=300" in latest["Cache-Control"] and "public" in latest["Cache-Control"]
    pinned = client.get("/codes/Z53/?fy=2025")
    assert "max-age=86400" in pinned["Cache-Control"]
    assert latest["ETag"] != pinned["ETag"]
    assert latest["Last-Modified"]
    again = client.get("/codes/Z53/", headers={"if-none-match": latest["ETag"]})
    assert again.status_code == 304
    assert "max-age=300" in again["Cache-Control"]
    since = client.get("/codes/Z53/", headers={"if-modified-since": latest["Last-Modified"]})
    assert since.status_code == 304


def reading_of(response) -> str:
    """The visible text as read: inline tags (links, emphasis) joined to their words."""
    html = re.sub(r"</?(?:a|strong|span|em|code)\b[^>]*>", "", response.content.decode())
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_an_older_release_says_at_the_top_what_came_later(client):
    deleted = reading_of(client.get("/codes/T78.07XA/?release=FY2025"))
    assert (
        "Deleted in FY2026 — valid for dates of service through September 30, 2025; "
        "use T78.070A, T78.071A, T78.079A." in deleted
    )
    header = reading_of(client.get("/codes/G35/?release=FY2025"))
    assert (
        "Became a header in FY2026 — billable for dates of service through September 30, 2025, "
        "then use a code below it: G35.A" in header
    )
    # The latest release has nothing later to say.
    assert 'class="later-change"' not in client.get("/codes/G35/").content.decode()


def test_a_title_revised_later_is_quoted_with_its_date(client):
    fy2026 = Release.objects.get(label="FY2026")
    revised = fy2026.changes.filter(change="revised").order_by("code").first()
    text = reading_of(client.get(f"/codes/{dotted(revised.code)}/?release=FY2025"))
    assert f"Title revised in FY2026: “{revised.new_long_title}”, from October 1, 2025." in text


def test_across_releases_not_loaded_no_date_is_claimed(client):
    """FY2018–FY2024 are not loaded: a code of FY2017 gone by FY2025 went on a date unknown."""
    fy2025 = Release.objects.get(label="FY2025")
    gone = (
        fy2025.changes.filter(change="deleted")
        .exclude(code__in=fy2025.codes.values("code"))  # not a code that became a header
        .order_by("code")
        .first()
    )
    text = reading_of(client.get(f"/codes/{dotted(gone.code)}/?release=FY2017"))
    assert (
        "Deleted in FY2025 — FY2017 is the last loaded release with it (the releases between "
        "it and FY2025 are not loaded)" in text
    )
    assert "valid for dates of service through" not in text


def test_validation_gives_the_last_date_of_service_of_a_deleted_code(client):
    verdict = client.post(
        "/api/v1/validate/?release=FY2026", {"codes": ["T78.07XA"]}, content_type="application/json"
    )
    message = verdict.json()["results"][0]["message"]
    assert message.startswith(
        "T78.07XA was valid for dates of service through September 30, 2025 (last in FY2025) "
        "and is not in FY2026"
    )


def neighbour_links(html: str) -> dict[str, str]:
    """The previous and next links of a code page: rel -> href."""
    nav = html[html.index('<nav class="code-neighbours"') :]
    nav = nav[: nav.index("</nav>")]
    return dict(re.findall(r'rel="(prev|next)" href="([^"]+)"', nav))


@pytest.mark.parametrize("label", ["FY2025", "FY2026"])
def test_previous_and_next_follow_the_tabular_order_in_the_pages_release(client, label):
    from codes.models import Code

    release = Release.objects.get(label=label)
    here = Code.objects.get(release=release, code="S72001A")
    in_release = Code.objects.filter(release=release)
    before = in_release.filter(sequence__lt=here.sequence).order_by("-sequence").first()
    after = in_release.filter(sequence__gt=here.sequence).order_by("sequence").first()
    html = client.get(f"/codes/S72.001A/?release={label}").content.decode()
    assert neighbour_links(html) == {
        "prev": f"/codes/{before.dotted}/?release={label}",
        "next": f"/codes/{after.dotted}/?release={label}",
    }


def test_the_first_code_has_no_previous_and_the_last_no_next(client, fy2026):
    from codes.models import Code

    in_release = Code.objects.filter(release=fy2026)
    first = in_release.order_by("sequence").first()
    last = in_release.order_by("-sequence").first()
    assert set(neighbour_links(client.get(f"/codes/{first.dotted}/").content.decode())) == {"next"}
    assert set(neighbour_links(client.get(f"/codes/{last.dotted}/").content.decode())) == {"prev"}


@pytest.mark.parametrize("code", ["S72.001A", "Z53.01"])
def test_a_leaf_code_shows_no_empty_family_sections(client, code):
    html = client.get(f"/codes/{code}/").content.decode()
    text = text_of(client.get(f"/codes/{code}/"))
    assert 'id="below-heading"' not in html and f"Codes below {code}" not in text
    assert f"Every code starting with {code}" not in text
    # A header keeps them.
    parent = text_of(client.get(f"/codes/{code[:-1]}/"))
    assert f"Codes below {code[:-1]}" in parent
    assert f"Every code starting with {code[:-1]}" in parent


def test_a_code_with_a_7th_character_says_what_it_means_and_lists_its_siblings(client, fy2026):
    from codes.models import Code, Note

    meaning = Note.objects.get(
        release=fy2026, code="S72", kind=Note.Kind.SEVENTH_CHARACTER, character="D"
    ).text
    html = client.get("/codes/S72.001D/").content.decode()
    text = text_of(client.get("/codes/S72.001D/"))
    assert f"7th character D D — {meaning} (7th characters defined at S72 )" in text
    siblings = [
        c
        for c in Code.objects.filter(release=fy2026, code__startswith="S72001").order_by("sequence")
        if len(c.code) == 7 and c.code != "S72001D"
    ]
    assert len(siblings) == 15
    section = html[html.index('id="own-seventh-heading"') :]
    section = section[: section.index("</section>")]
    assert re.findall(r'href="/codes/([^/]+)/"', section)[1:] == [c.dotted for c in siblings]
    assert "S72.001A</a> initial encounter for closed fracture" in section
    # A code without a 7th character has no such section.
    assert 'id="own-seventh-heading"' not in client.get("/codes/Z53.01/").content.decode()


def test_a_header_lists_its_billable_codes_once(client, fy2026):
    from codes.models import Code

    html = client.get("/codes/S72.001/").content.decode()
    main = html[html.index("</nav>", html.index('<nav class="code-neighbours"')) :]
    billable = Code.objects.filter(release=fy2026, code__startswith="S72001", is_billable=True)
    assert billable.count() == 16
    for code in billable:
        assert main.count(f">{code.dotted}</a>") == 1, code.dotted
    assert "16 billable codes below S72.001: see the codes below ." in text_of(
        client.get("/codes/S72.001/")
    )
    # A family too big to draw whole still lists its billable codes in the status box.
    s72 = text_of(client.get("/codes/S72/"))
    assert "The direct sub-codes only" in s72
    assert "list every billable code below S72" in s72


def test_inclusion_terms_are_labelled_as_coders_call_them(client):
    text = text_of(client.get("/codes/Z72.0/"))
    assert "Applicable to (inclusion terms) Tobacco use NOS" in text
    # The Index's terms for the code, in a release that has an Index, under their own heading.
    fy2017 = text_of(client.get("/codes/Z72.0/?release=FY2017"))
    assert "Alphabetic Index terms that lead here" in fy2017
