"""A fiscal year in force with no release loaded (FY2027 from October 1, 2026, while the bundle
ends at FY2026): pages show the latest loaded release under a banner, the API and FHIR answer
`release_not_loaded`, the admin's index puts the missing release first. Dates are frozen."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from codes.models import Release

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

IN_FY2027 = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC)
IN_FY2026 = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
BANNER = "FY2027 took effect on October 1, 2026; this site has not loaded it"


def text_of(response) -> str:
    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def in_fy2027():
    with time_machine.travel(IN_FY2027, tick=False):
        yield


@pytest.fixture
def in_fy2026():
    with time_machine.travel(IN_FY2026, tick=False):
        yield


def test_every_page_says_fy2027_is_not_loaded_and_which_release_it_shows(client, in_fy2027):
    for path in ("/", "/codes/Z53.01/", "/search/?q=smoking", "/releases/"):
        text = text_of(client.get(path))
        assert f"{BANNER} — pages show FY2026, the latest release loaded." in text, path
    assert "FY2026 (latest loaded; FY2027 is not loaded)" in text_of(client.get("/"))


def test_a_date_of_service_in_fy2027_shows_fy2026_under_the_banner(client, in_fy2027):
    response = client.get("/codes/Z53.01/?date=2026-12-01")
    assert response.status_code == 200
    text = text_of(response)
    assert BANNER in text
    assert "No loaded release is in force on 2026-12-01." in text
    assert "Showing FY2026" in text
    assert "the release in force on 2026-12-01" not in text  # it is not in force that day
    html = response.content.decode()
    # Browsing on keeps the date asked for.
    assert 'href="/codes/Z53/?date=2026-12-01"' in html
    assert 'name="date" type="date" value="2026-12-01"' in html


def test_the_api_names_the_fiscal_year_and_the_latest_release_loaded(client, in_fy2027):
    for query, field in (("date=2026-12-01", "date"), ("fy=2027", "fy"), ("fy=FY27", "fy")):
        response = client.get(f"/api/v1/codes/Z53.01/?{query}")
        assert response.status_code == 404, query
        error = response.json()["error"]
        assert error["code"] == "release_not_loaded"
        assert error["field"] == field
        assert error["fiscal_year"] == 2027
        assert error["latest_release"] == "FY2026"
        assert error["message"] == (
            "FY2027 took effect on October 1, 2026; no FY2027 release is loaded "
            "(the latest loaded is FY2026)"
        )
    # A fiscal year yet to begin has no release anywhere: not found, as before.
    response = client.get("/api/v1/codes/Z53.01/?fy=2028")
    assert response.json()["error"]["code"] == "release_not_found"


def test_bulk_validation_gives_each_item_of_fy2027_its_reason(client, in_fy2027):
    answer = client.post(
        "/api/v1/validate/",
        {"items": [{"code": "I10", "date": "2026-12-01"}, {"code": "I10", "date": "2026-09-30"}]},
        content_type="application/json",
    ).json()
    first, second = answer["results"]
    assert first["reason"] == "release_not_loaded"
    assert "FY2027 took effect on October 1, 2026" in first["message"]
    assert second["reason"] == "ok"


def test_fhir_says_fy2027_is_not_loaded(client, in_fy2027):
    lookup = client.get(
        "/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=I10&date=2026-12-01"
    )
    assert lookup.status_code == 404
    outcome = lookup.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "FY2027 took effect on October 1, 2026" in outcome["issue"][0]["diagnostics"]
    validated = client.get(
        "/fhir/CodeSystem/$validate-code?url=http://hl7.org/fhir/sid/icd-10-cm&code=I10"
        "&date=2026-12-01"
    ).json()
    parameters = {p["name"]: p for p in validated["parameter"]}
    assert parameters["result"]["valueBoolean"] is False
    assert "FY2027 took effect on October 1, 2026" in parameters["message"]["valueString"]


def test_the_admin_index_puts_the_missing_release_first(admin_client, in_fy2027):
    html = admin_client.get("/admin/").content.decode()
    assert "First: FY2027 is in force and not published" in html
    assert html.index("First: FY2027") < html.index('id="content-main"')  # before the models
    assert 'href="/admin/codes/release/import/"' in html
    draft = Release.objects.create(
        fiscal_year=2027,
        effective_date=datetime.date(2026, 10, 1),
        label="FY2027",
        structure=Release.Structure.NONE,
        imported_at=timezone.now(),
    )
    html = admin_client.get("/admin/").content.decode()
    link = f'href="/admin/codes/release/{draft.pk}/change/">FY2027</a>'
    assert f"{link} is imported as a draft" in html


def test_within_a_loaded_fiscal_year_nothing_is_said(client, admin_client, in_fy2026):
    assert "took effect" not in text_of(client.get("/"))
    assert "(latest)" in text_of(client.get("/"))
    assert "First: FY" not in admin_client.get("/admin/").content.decode()
    # A date in a fiscal year yet to begin is not a missing release: no release exists.
    response = client.get("/api/v1/codes/Z53.01/?date=2026-12-01")
    assert response.json()["error"]["code"] == "release_not_found"
    assert client.get("/codes/Z53.01/?date=2026-12-01").status_code == 404


def test_the_selector_keeps_a_date_of_service(client, in_fy2026):
    html = client.get("/codes/Z53.01/?date=2025-11-01").content.decode()
    assert 'name="date" type="date" value="2025-11-01"' in html
    assert '<option value="" selected>In force on the date</option>' in html
    assert 'href="/codes/Z53/?date=2025-11-01"' in html
    html = client.get("/codes/Z53.01/?release=FY2025").content.decode()
    assert '<option value="FY2025" selected>' in html
    assert 'name="date" type="date" value=""' in html
