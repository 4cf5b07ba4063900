"""CMS's own change tallies: "revised" = the long title changed in words; short-title-only and
spacing-only revisions counted apart; the order addenda compared line by line."""

import re
from collections import Counter

import pytest

from codes.importer.addenda import parse_addenda_summary
from codes.importer.diff import (
    REVISED,
    SHORT_TITLE_ONLY,
    SPACING_ONLY,
    Entry,
    compare_with_addenda,
    compute_changes,
    revision_kind,
    tally,
)
from codes.importer.order_file import parse_order_file
from tests.conftest import FY2025_ZIP, FY2026_ZIP, member, shared_file
from tests.test_pages_code import text_of

# An addenda line: its label, the flag and the code (docs/cms-formats.md section 4).
ADDENDA_LINE_RE = re.compile(r"(Add|Delete|Revise to): +([01]) (\S+)")
CHANGE_OF_LABEL = {"Add": "added", "Delete": "deleted", "Revise to": "revised"}


def entries(zip_path) -> list[Entry]:
    name, data = member(zip_path, "order")
    return [
        Entry(e.code, e.is_billable, e.short_title, e.long_title)
        for e in parse_order_file(data, filename=name)
    ]


def addenda_lines(zip_path) -> Counter:
    """(code, change, billable) of every line of the zip's order addenda, read on their own."""
    _, data = member(zip_path, "order-addenda")
    found = Counter()
    for line in data.decode("ascii").splitlines():
        match = ADDENDA_LINE_RE.match(line)
        if match:
            found[match[3], CHANGE_OF_LABEL[match[1]], match[2] == "1"] += 1
    return found


def summary_counts(zip_path) -> dict[str, dict[str, int]]:
    """The summary block that ends the addenda, read on its own."""
    _, data = member(zip_path, "order-addenda")
    counts: dict[str, dict[str, int]] = {}
    block = ""
    for line in data.decode("ascii").splitlines():
        if line.strip() in ("Codes", "Headers"):
            block = line.strip().lower()
        elif match := re.match(r" +([0-9]+) (additions|deletions|revisions)$", line):
            change = {"additions": "added", "deletions": "deleted", "revisions": "revised"}
            counts.setdefault(block, {})[change[match[2]]] = int(match[1])
    return counts


@pytest.mark.parametrize(
    ("old_zip", "new_zip"),
    [
        ("fy2024/icd10cm-CodesDescriptions-2024.zip", FY2025_ZIP),
        (FY2025_ZIP, FY2026_ZIP),
        (FY2025_ZIP, "fy2025/Code-desciptions-April-2025.zip"),
    ],
)
def test_every_addenda_line_is_a_computed_change_and_every_change_is_listed_or_apart(
    old_zip, new_zip
):
    old_zip = shared_file(old_zip) if isinstance(old_zip, str) else old_zip
    new_zip = shared_file(new_zip) if isinstance(new_zip, str) else new_zip
    changes = compute_changes(entries(old_zip), entries(new_zip))
    computed = Counter((c.code, c.change, c.is_billable) for c in changes)
    listed = addenda_lines(new_zip)
    assert listed - computed == Counter()  # every addenda line matched
    unlisted = computed - listed
    assert all(
        c.kind in (SHORT_TITLE_ONLY, SPACING_ONLY)
        for c in changes
        if unlisted[c.code, c.change, c.is_billable]
    )
    name, data = member(new_zip, "order-addenda")
    assert compare_with_addenda(changes, parse_addenda_summary(data, filename=name)).agrees
    # The tallies are CMS's summary, but for the revisions the addenda count that are
    # counted apart here.
    tallies = tally(changes)
    summary = summary_counts(new_zip)
    for name in ("codes", "headers"):
        for change in ("added", "deleted"):
            assert tallies[name][change] == summary[name][change]
        listed_apart = sum(
            1
            for c in changes
            if c.change == REVISED
            and c.kind != REVISED
            and (c.is_billable == (name == "codes"))
            and listed[c.code, c.change, c.is_billable]
        )
        assert tallies[name][REVISED] + listed_apart == summary[name]["revised"]


def test_fy2025_to_fy2026_tallies_are_cms_s_with_w44g_counted_apart():
    changes = compute_changes(entries(FY2025_ZIP), entries(FY2026_ZIP))
    tallies = tally(changes)
    assert tallies["codes"] == {
        "added": 487,
        "deleted": 28,
        "revised": 38,
        "short_title_only": 0,
        "spacing_only": 0,
    }
    assert tallies["headers"] == {
        "added": 143,
        "deleted": 0,
        "revised": 7,
        "short_title_only": 0,
        "spacing_only": 0,
    }
    # W44.G only lost a double space, and CMS counts it revised: so do the tallies.
    [w44g] = [c for c in changes if c.code == "W44G"]
    assert "natural  orifice" in w44g.old.long_title and w44g.kind == REVISED
    name, data = member(FY2026_ZIP, "order-addenda")
    comparison = compare_with_addenda(changes, parse_addenda_summary(data, filename=name))
    assert comparison.agrees and comparison.listed_apart == []


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (("BMI 30-30.9", "Body mass index [BMI]30.0-30.9, adult"),
         ("BMI 30-30.9", "Body mass index [BMI] 30.0-30.9, adult"), SPACING_ONLY),
        # CMS's FY2026 addenda count a double space made single as a revision (W44.G).
        (("Other", "entering into or through a natural  orifice"),
         ("Other", "entering into or through a natural orifice"), REVISED),
        (("Craniosynostosis unsp", "Craniosynostosis unspecified"),
         ("Craniosynostosis, unsp", "Craniosynostosis unspecified"), SHORT_TITLE_ONLY),
        (("Craniosynostosis unsp", "Craniosynostosis unspecified"),
         ("Craniosynostosis unsp", "Craniosynostosis, unspecified"), REVISED),
        (("Loose body in toe", "Loose body in unspecified toe joints"),
         ("Loose body in toe", "Loose body in unspecified toe joint(s)"), REVISED),
        (("Menieres", "Ménière's disease"),
         ("Menieres dis", "Meniere's disease"), SHORT_TITLE_ONLY),
    ],
)  # fmt: skip
def test_a_revision_is_tallied_by_what_changed(old, new, kind):
    assert (
        revision_kind(old_short=old[0], old_long=old[1], new_short=new[0], new_long=new[1]) == kind
    )


def test_a_computed_change_the_addenda_do_not_list_is_named():
    old = [Entry("A00", True, "Cholera", "Cholera"), Entry("A01", True, "Typhoid", "Typhoid")]
    new = [Entry("A00", True, "Cholera", "Cholera, new"), Entry("A02", True, "Other", "Other")]
    name, data = member(FY2026_ZIP, "order-addenda")
    comparison = compare_with_addenda(
        compute_changes(old, new), parse_addenda_summary(data, filename=name)
    )
    assert not comparison.agrees
    assert "A00 (code): revised as computed, not in the addenda" in comparison.differences
    assert "A01 (code): deleted as computed, not in the addenda" in comparison.differences
    assert any(
        d.startswith("B88.0 (code): deleted in the addenda (line 1)")
        for d in comparison.differences
    )


@pytest.mark.django_db
def test_the_release_page_shows_the_tallies_and_the_addenda_check(client):
    response = client.get("/releases/FY2026/")
    text = text_of(response)
    assert "Added Deleted Revised Short title only Spacing only" in text
    assert "Codes (billable) 487 28 38 0 0" in text
    assert "Headers 143 0 7 0 0" in text
    assert "CMS's order addenda for FY2026 list the same changes, code by code" in text.replace(
        "&#x27;", "'"
    )
    revised = text_of(client.get("/releases/FY2026/", {"change": "revised", "code": "W44G"}))
    assert "W44.G" in revised and "(spacing only)" not in revised
