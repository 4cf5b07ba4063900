"""axe-core (the engine of Lighthouse and axe DevTools) on the main pages: no violation of the
WCAG 2.x A and AA rules it checks, at desktop and phone width, with the autocomplete open."""

import pytest

pytestmark = pytest.mark.browser

MAIN_PAGES = [
    "/",
    "/codes/Z53/",
    "/codes/S72.001A/",
    "/codes/Q99.99/",
    "/search/?q=heart+attack",
    "/chapters/",
    "/chapters/21/",
    "/sections/Z40-Z53/",
    "/releases/",
    "/releases/FY2026/",
    "/index/",
    "/index/diseases/P/pneumonia/?release=FY2017",
    "/index/drugs/A/?release=FY2017",
]


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_main_pages_have_no_axe_violation(page, site_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    for path in MAIN_PAGES:
        page.goto(site_server + path)
        if problems := violations(page):
            found[path] = problems
    assert found == {}


def test_the_open_autocomplete_has_no_axe_violation(page, site_server):
    page.goto(site_server + "/")
    page.get_by_role("combobox", name="Search codes, titles and inclusion terms").fill("pneu")
    page.locator("[role=listbox] [role=option]").first.wait_for()
    assert violations(page) == []
