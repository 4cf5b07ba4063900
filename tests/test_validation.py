"""Validation reasons and suggestions on real FY2025/FY2026 codes."""

import pytest

from codes import validation
from codes.validation import validate, validate_many

pytestmark = pytest.mark.django_db


def test_a_header_is_not_billable_and_suggests_the_billable_codes_below(fy2026):
    verdict = validate("Z53", fy2026)
    assert (verdict.exists, verdict.billable, verdict.reason) == (
        True,
        False,
        validation.HEADER_NOT_BILLABLE,
    )
    assert [s.dotted for s in verdict.suggestions] == [
        "Z53.01",
        "Z53.09",
        "Z53.1",
        "Z53.20",
        "Z53.21",
        "Z53.29",
        "Z53.31",
        "Z53.32",
        "Z53.33",
        "Z53.39",
        "Z53.8",
        "Z53.9",
    ]
    assert "12 billable codes below it" in verdict.message


def test_any_input_form_of_a_billable_code_is_ok_and_normalised(fy2026):
    for text in ("Z53.01", "z5301", " z53.01 "):
        verdict = validate(text, fy2026)
        assert verdict.reason == validation.OK
        assert verdict.dotted == "Z53.01"
        assert verdict.normalised is (text != "Z53.01")


def test_status_depends_on_the_release(fy2025, fy2026):
    assert validate("G35", fy2025).reason == validation.OK
    header = validate("G35", fy2026)
    assert header.reason == validation.HEADER_NOT_BILLABLE
    assert "G35.A" in [s.dotted for s in header.suggestions]


def test_a_missing_placeholder_suggests_the_x_padded_code(fy2026):
    verdict = validate("W19A", fy2026)
    assert verdict.reason == validation.MISSING_PLACEHOLDER_X
    assert [s.dotted for s in verdict.suggestions] == ["W19.XXXA"]
    assert [s.dotted for s in validate("T45.01A", fy2026).suggestions] == ["T45.0X1A"]


def test_a_missing_seventh_character_lists_the_completions_and_their_meaning(fy2026):
    verdict = validate("S72.001", fy2026)
    assert verdict.reason == validation.MISSING_SEVENTH_CHARACTER
    assert verdict.exists and not verdict.billable
    completions = [s.dotted for s in verdict.suggestions]
    assert completions[:3] == ["S72.001A", "S72.001B", "S72.001C"]
    assert len(completions) == 16
    assert verdict.seventh_characters[0] == ("A", "initial encounter for closed fracture", ())
    assert verdict.seventh_characters[1].notes == ("initial encounter for open fracture NOS",)
    w19 = validate("W19", fy2026)
    assert w19.reason == validation.MISSING_SEVENTH_CHARACTER
    assert [s.dotted for s in w19.suggestions] == ["W19.XXXA", "W19.XXXD", "W19.XXXS"]


def test_a_wrong_seventh_character_names_the_allowed_ones(fy2026):
    verdict = validate("S72.001Z", fy2026)
    assert verdict.reason == validation.INVALID_SEVENTH_CHARACTER
    assert "allowed: A, B, C" in verdict.message


def test_a_deleted_code_points_at_its_successors(fy2026):
    verdict = validate("T78.07XA", fy2026)
    assert verdict.reason == validation.DELETED
    assert not verdict.exists
    assert [s.dotted for s in verdict.suggestions] == ["T78.070A", "T78.071A", "T78.079A"]
    assert verdict.message.startswith(
        "T78.07XA was valid for dates of service through September 30, 2025 (last in FY2025)"
    )


def test_a_code_only_in_a_later_release_is_not_in_the_earlier_one(fy2025):
    verdict = validate("QA0", fy2025)
    assert verdict.reason == validation.NOT_IN_RELEASE
    assert "exists from FY2026" in verdict.message


def test_malformed_input_is_named_malformed(fy2026):
    for text in ("", "12", "Z5", "Z53.01.1", "<script>", "ZZZZZZZZ"):
        assert validate(text, fy2026).reason == validation.MALFORMED


def test_ten_thousand_codes_take_one_query_at_most(fy2026, django_assert_max_num_queries):
    validate("T7807XA", fy2026)  # the releases' code sets and data are built once per process
    codes = ["Z5301", "Z53", "W19A", "T7807XA", "QQQ"] * 2_000
    # Only the published releases (for the codes absent from this one: where they are, a
    # deleted code's last date of service): a process reads them at most every
    # PUBLISHED_RELEASES_SECONDS, tests every time. The rest is answered from memory.
    with django_assert_max_num_queries(1):
        verdicts = validate_many(codes, fy2026)
    assert len(verdicts) == 10_000
    assert [v.reason for v in verdicts[:5]] == [
        validation.OK,
        validation.HEADER_NOT_BILLABLE,
        validation.MISSING_PLACEHOLDER_X,
        validation.DELETED,
        validation.NOT_IN_RELEASE,
    ]
