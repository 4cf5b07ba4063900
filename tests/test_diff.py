from codes.importer.addenda import parse_addenda_summary
from codes.importer.diff import (
    ADDED,
    DELETED,
    REVISED,
    Entry,
    compare_with_addenda,
    compute_changes,
)
from codes.importer.order_file import parse_order_file
from tests.conftest import APRIL_2025_ZIP, FY2024_ZIP, FY2025_ZIP, FY2026_ZIP, member


def entries(zip_path):
    name, data = member(zip_path, "order")
    return [
        Entry(e.code, e.is_billable, e.short_title, e.long_title)
        for e in parse_order_file(data, filename=name)
    ]


def addenda(zip_path):
    name, data = member(zip_path, "order-addenda")
    return parse_addenda_summary(data, filename=name)


def test_the_fy2025_to_fy2026_diff_agrees_with_the_cms_addenda():
    changes = compute_changes(entries(FY2025_ZIP), entries(FY2026_ZIP))
    assert compare_with_addenda(changes, addenda(FY2026_ZIP)).differences == []


def test_the_fy2024_to_fy2025_diff_agrees_with_the_cms_addenda():
    fy2024 = FY2024_ZIP
    changes = compute_changes(entries(fy2024), entries(FY2025_ZIP))
    assert compare_with_addenda(changes, addenda(FY2025_ZIP)).differences == []


def test_the_april_2025_update_changes_nothing():
    april = APRIL_2025_ZIP
    changes = compute_changes(entries(FY2025_ZIP), entries(april))
    assert changes == []
    assert compare_with_addenda(changes, addenda(april)).agrees


def test_a_billable_code_that_becomes_a_header_is_deleted_and_added():
    changes = compute_changes(entries(FY2025_ZIP), entries(FY2026_ZIP))
    g35 = [(c.change, c.is_billable) for c in changes if c.code == "G35"]
    assert g35 == [(DELETED, True), (ADDED, False)]


def test_a_new_title_is_a_revision_with_old_and_new():
    old = [Entry("A00", True, "Old short", "Old long")]
    new = [Entry("A00", True, "Old short", "New long")]
    [change] = compute_changes(old, new)
    assert change.change == REVISED
    assert change.old.long_title == "Old long"
    assert change.new.long_title == "New long"
