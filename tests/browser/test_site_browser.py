"""The public site in a real browser: search, release switching, autocomplete, phone width.

Run with `make test-browser`; fixtures in tests/browser/conftest.py.
"""

import re

import pytest

pytestmark = pytest.mark.browser


def test_searching_z53_lands_on_its_page_with_status_sub_codes_and_section(
    page, site_server, screenshot
):
    page.goto(site_server + "/")
    page.get_by_role("combobox", name="Search codes, titles and inclusion terms").fill("z53")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/codes/Z53/$"))
    status = page.locator("section.status")
    assert "Non-billable header — use a more specific code" in status.inner_text()
    assert page.locator("ul.tree > li").count() == 6
    assert "6 sub-codes, 12 billable codes below" in page.locator("p.family").inner_text()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    assert "Z40-Z53" in breadcrumb.inner_text()
    screenshot("code-z53-desktop")


def test_switching_releases_on_g35_changes_its_status(page, site_server, screenshot):
    page.goto(site_server + "/codes/G35/")
    page.get_by_label("Release").select_option("FY2025")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"/codes/G35/\?release=FY2025$"))
    assert page.locator(".validity .answer").inner_text() == "Yes — billable"
    screenshot("code-g35-fy2025")
    # The choice is kept while browsing: the chapter link carries it.
    assert (
        page.get_by_role("link", name=re.compile(r"^Chapter 6"))
        .get_attribute("href")
        .endswith("?release=FY2025")
    )
    page.get_by_label("Release").select_option("FY2026")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"release=FY2026$"))
    assert page.locator(".validity .answer").inner_text() == "No — header"
    assert "Non-billable header" in page.locator("section.status").inner_text()
    screenshot("code-g35-fy2026")


def test_typing_in_the_search_box_offers_suggestions_by_keyboard(page, site_server, screenshot):
    page.goto(site_server + "/")
    box = page.get_by_role("combobox", name="Search codes, titles and inclusion terms")
    box.press_sequentially("smok", delay=60)
    options = page.get_by_role("listbox", name="Suggested codes").get_by_role("option")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert 0 < options.count() <= 10
    texts = " ".join(options.all_inner_texts()).lower()
    assert "smok" in texts and "tobacco" in texts
    screenshot("search-suggestions")
    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/codes/[A-Z0-9.]+/$"))
    assert page.locator("h1 .code").is_visible()


def test_the_search_box_says_when_nothing_matches_and_reads_a_slip(page, site_server, screenshot):
    page.goto(site_server + "/")
    box = page.get_by_role("combobox", name="Search codes, titles and inclusion terms")
    box.press_sequentially("qqqzz", delay=40)
    listbox = page.get_by_role("listbox", name="Suggested codes")
    nothing = listbox.locator("li.nothing")
    nothing.wait_for()
    assert "Nothing matches “qqqzz”" in nothing.inner_text()
    box.fill("")
    box.press_sequentially("pnue", delay=60)
    code = listbox.locator("li .code").first
    code.wait_for()
    assert code.inner_text() == "J18.9"
    assert "spelling corrected: pnue → pneu…" in listbox.locator("li .why").first.inner_text()
    screenshot("search-suggestions-slip")


@pytest.mark.parametrize(
    "path",
    [
        "/codes/Z53/",
        "/codes/S72.001/",
        "/search/?q=smoking",
        "/",
        "/index/diseases/P/pneumonia/?release=FY2017",
        "/index/drugs/A/?release=FY2017",
        "/codes/J18.9/?release=FY2017",
    ],
)
def test_pages_fit_a_phone_without_horizontal_scrolling(page, site_server, screenshot, path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site_server + path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    screenshot(f"phone-{name}")


def test_a_date_of_service_chooses_the_release_in_force_and_is_kept(page, site_server, screenshot):
    page.goto(site_server + "/codes/G35/")
    page.get_by_label("or date of service").fill("2025-03-15")
    page.get_by_role("button", name="Show").click()
    # Only the date is sent: an empty release choice is not part of the address.
    page.wait_for_url(re.compile(r"/codes/G35/\?date=2025-03-15$"))
    assert page.locator(".validity .answer").inner_text() == "Yes — billable"  # FY2025
    assert (
        page.get_by_role("link", name=re.compile(r"^Chapter 6"))
        .get_attribute("href")
        .endswith("?date=2025-03-15")
    )
    screenshot("code-g35-date-of-service")


def test_the_api_docs_load_under_the_content_security_policy(page, site_server):
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(site_server + "/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "ICD-10-CM code-set API" in page.locator(".swagger-ui .info .title").inner_text()
    assert refused == []


def right_edge(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"]


def test_on_a_phone_selects_fit_and_the_suggestions_span_the_screen(page, site_server, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site_server + "/releases/FY2026/")
    for control in ("#release-select", "#date-of-service", "#change", "#tally", "#code-prefix"):
        assert right_edge(page, control) <= 390, control
    # Each select sits beside its own label, on one row.
    tally, label = page.locator("#tally").bounding_box(), page.locator("label[for=tally]")
    assert abs(label.bounding_box()["y"] - tally["y"]) < tally["height"]
    screenshot("phone-release-filters")
    page.goto(site_server + "/codes/Z53/")
    page.locator("#header-q").fill("heart att")
    options = page.locator("[role=listbox] [role=option]")
    options.first.wait_for()
    listbox = page.locator("[role=listbox]").bounding_box()
    assert listbox["width"] >= 390 - 2 * 20  # the page's margins
    visible = [
        box
        for box in (options.nth(i).bounding_box() for i in range(options.count()))
        if box["y"] + box["height"] <= listbox["y"] + listbox["height"] + 1
    ]
    assert len(visible) > 2
    screenshot("phone-autocomplete")


def test_the_release_chart_labels_are_readable_on_a_phone(page, site_server):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site_server + "/releases/")
    label = page.locator(".chart text.label").first.bounding_box()
    assert label["height"] >= 11  # drawn at 12px, about 6px when the chart was shrunk to fit
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the chart scrolls
