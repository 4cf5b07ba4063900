"""What a code's title may be, for every file that gives one (order, codes, tabular XML).

The limits are the database columns' (codes.models uses these constants), checked here so that
SQLite, which would store any length, and PostgreSQL, which would refuse it at the end of a long
write, refuse the same titles at once, by file and line. Pure.
"""

import re

MAX_SHORT_TITLE = 60  # the order file's fixed-width column
MAX_LONG_TITLE = 400  # the longest real one (FY2026) is 228
MAX_HEADING_TITLE = 255  # chapters and sections

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_NAMES = {"\t": "a TAB", "\r": "a carriage return", "\x1b": "ESC", "\x07": "BEL"}


def title_problem(title: str, *, limit: int, what: str = "title") -> str | None:
    """Why this cannot be a title (with its trailing spaces already removed), or None."""
    if found := _CONTROL_RE.search(title):
        character = found.group()
        name = _CONTROL_NAMES.get(character, f"control character 0x{ord(character):02x}")
        return f"the {what} holds {name} (column {found.start() + 1}), which no title has"
    if title[:1].isspace():
        return f"the {what} starts with a space: the columns of this line look shifted"
    if not title:
        return f"the {what} is empty"
    if len(title) > limit:
        return f"the {what} is {len(title):,} characters long, more than the {limit} allowed"
    return None
