import datetime

import pytest

from codes.fiscal import default_label, fiscal_year_of, fiscal_year_start
from codes.icd10 import dotted, parse_code_input, prefix_upper_bound


def test_codes_are_displayed_with_a_dot_after_the_category():
    assert [dotted(c) for c in ("Z53", "Z5301", "W19XXXA", "QA0")] == [
        "Z53",
        "Z53.01",
        "W19.XXXA",
        "QA0",
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Z53.01", "Z5301"),
        ("z5301", "Z5301"),
        (" z53.01 ", "Z5301"),
        ("Z53", "Z53"),
        ("t36ax1a", "T36AX1A"),
        ("Z53.", None),
        ("Z5.301", None),
        ("Z53.01.1", None),
        ("12", None),
        ("Z53-01", None),
        ("Z53.01234", None),
        ("", None),
    ],
)
def test_code_input_is_accepted_dotted_or_not_and_nothing_else(text, code):
    assert parse_code_input(text) == code


def test_a_prefix_bound_is_the_next_string_in_the_code_alphabet():
    assert prefix_upper_bound("Z53") == "Z54"
    assert prefix_upper_bound("Z59") == "Z5A"
    assert prefix_upper_bound("Z5Z") == "Z6"
    assert prefix_upper_bound("ZZZ") is None


def test_a_fiscal_year_runs_from_october_to_september():
    assert fiscal_year_of(datetime.date(2025, 9, 30)) == 2025
    assert fiscal_year_of(datetime.date(2025, 10, 1)) == 2026
    assert fiscal_year_start(2026) == datetime.date(2025, 10, 1)


def test_labels_name_the_update():
    assert default_label(2026, datetime.date(2025, 10, 1)) == "FY2026"
    assert default_label(2026, datetime.date(2026, 4, 1)) == "FY2026 April 1 update"
    assert default_label(2021, datetime.date(2021, 1, 1)) == "FY2021 January 1 update"
