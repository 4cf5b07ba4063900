"""The public pages fuzzed with hostile text (hypothesis): the search box, the code path, the
browse and release paths, and every parameter they read (q, page, billable, chapter, the
release selection release/fy/date, the changes filters).

Whatever comes in, a page answers without a 5xx, shows what it was given only escaped (nothing of
the input becomes a tag, an attribute, a script or a javascript: link), and never shows a stack
trace, a query or a path of the server.
"""

from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("warm_code_sets")]

# Every payload that could become markup carries this word, so anything of it found inside a
# tag or a script came from the input.
MARK = "zqx"
PAYLOADS = [
    f"<script>{MARK}(1)</script>",
    f'"><img src=x onerror={MARK}(1)>',
    f"'><svg onload={MARK}(1)>",
    f"</title></textarea><script>{MARK}(1)</script>",
    f"javascript:{MARK}(1)",
    f"<a href='javascript:{MARK}(1)'>{MARK}</a>",
    f"&lt;script&gt;{MARK}",
    f"{{{{ {MARK} }}}}{{% debug %}}",
    "' OR 1=1--",
    '" OR ""="',
    "'; DROP TABLE codes_code;--",
    "%",
    "_",
    "%%",
    "\\",
    "\\'",
    "\x00",
    "%00",
    "../../../etc/passwd",
    "..\\..\\windows",
    "%s%(x)s{0}",
    "Z53",
    "z53.01",
    "G35-",
    "fracture femur",
    "diab",
    "W19A",
    "S72.001A",
    "FY2026",
    "fy26",
    "2025-10-01",
    "9999-99-99",
    "-1",
    "0",
    "99999999999999999999",
    "9" * 5_000,  # more digits than int() reads
    "²⁶",  # digits to str.isdigit(), not to int()
    "٢٠٢٦",
    "1e309",
    "NaN",
    "\u202e",  # right-to-left override
    "\ufeff",
    "é ß ı",
    "漢字",
    "🦠",
    " \t\r\n",
]
INJECTED_TAGS = [
    f"<script>{MARK}",
    f"<img src=x onerror={MARK}",
    f"<svg onload={MARK}",
    f"<a href='javascript:{MARK}",
]
# Any text but lone surrogates (which no client can send as UTF-8).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
HOSTILE = st.one_of(
    st.lists(st.one_of(st.sampled_from(PAYLOADS), ANY_TEXT), max_size=5).map("".join),
    # Very long: beyond the search box's 200 characters, a label's 100, a header's limits.
    st.tuples(st.sampled_from(PAYLOADS), st.integers(100, 2_000)).map(lambda p: p[0] * p[1]),
)
# The release selection: mostly absent or valid, so that most examples reach the page itself.
RELEASE_SELECTION = st.one_of(
    st.just({}),
    st.sampled_from([{"release": "FY2025"}, {"fy": "26"}, {"date": "2025-10-01"}]),
    st.fixed_dictionaries({}, optional={name: HOSTILE for name in ("release", "fy", "date")}),
)
# The paging and the filters of the pages, each absent, valid or hostile.
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "page": st.one_of(st.sampled_from(["1", "2", "last"]), HOSTILE),
        "billable": st.one_of(st.just("1"), HOSTILE),
        "chapter": st.one_of(st.sampled_from(["2", "21"]), HOSTILE),
        "change": st.one_of(st.sampled_from(["added", "deleted", "revised"]), HOSTILE),
        "tally": st.one_of(st.sampled_from(["billable", "header"]), HOSTILE),
    },
)
PARAMETERS = st.tuples(RELEASE_SELECTION, FILTERS).map(lambda both: {**both[0], **both[1]})
# Tokens that say something of the server; only searched for when the input does not hold them.
LEAKS = [
    "Traceback",
    'File "/',
    str(REPO),
    "site-packages",
    "/usr/lib/python",
    "psycopg",
    "sqlite3",
    "django.db",
    "OperationalError",
    "ProgrammingError",
    "DataError",
    "IntegrityError",
    "syntax error at or near",
    'FROM "codes_',
]
# Derandomized: the same examples on every run and machine. Not shrunk: each example is a
# request or several, and shrinking a long one takes minutes; the failure shows it as generated.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Markup(HTMLParser):
    """Collects what of the input became markup rather than text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.injected: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_script = tag == "script"
        if MARK in tag:
            self.injected.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            # The site has no inline event handlers (its CSP forbids them): any is injected.
            if name.startswith("on") or MARK in name:
                self.injected.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and value.startswith("javascript:"):
                self.injected.append(f"<{tag} {name}={value[:40]}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and MARK in data:
            self.injected.append(f"script content {data[:60]!r}")


def check(response, sent: str) -> None:
    """What every answer to hostile input must be."""
    assert response.status_code < 500, response.status_code
    body = response.content.decode("utf-8", errors="replace")
    for leak in LEAKS:
        if leak.lower() not in sent.lower():
            assert leak not in body, leak
    if response["Content-Type"].startswith("text/html"):
        # The payloads' tags as they would read unescaped (|upper would make them <SCRIPT>).
        lowered = body.lower()
        for tag in INJECTED_TAGS:
            assert tag not in lowered, tag
        parser = Markup()
        parser.feed(body)
        parser.close()
        assert not parser.injected, parser.injected


def everything_sent(*parts) -> str:
    return " ".join(str(part) for part in parts)


@FUZZ
@given(query=HOSTILE, params=PARAMETERS)
def test_the_search_page_answers_any_query_escaped(client, query, params):
    response = client.get("/search/", {"q": query, **params})
    check(response, everything_sent(query, params))


@FUZZ
@given(query=HOSTILE, params=PARAMETERS)
def test_the_suggestions_answer_any_query(client, query, params):
    response = client.get("/search/suggest/", {"q": query, **params})
    check(response, everything_sent(query, params))


@FUZZ
@given(text=HOSTILE, params=PARAMETERS)
def test_the_code_page_answers_any_path_escaped(client, text, params):
    response = client.get(f"/codes/{quote(text, safe='')}/", params)
    check(response, everything_sent(text, params))


@FUZZ
@given(
    page=st.sampled_from(["/", "/chapters/", "/chapters/21/", "/sections/Z40-Z53/", "/releases/"]),
    params=PARAMETERS,
)
def test_the_browse_pages_answer_any_release_selection_escaped(client, page, params):
    response = client.get(page, params)
    check(response, everything_sent(params))


@FUZZ
@given(
    text=HOSTILE,
    digits=st.integers(min_value=0, max_value=10**30),
    code=HOSTILE,
    params=PARAMETERS,
)
def test_the_browse_and_release_paths_answer_any_text_escaped(client, text, digits, code, params):
    quoted = quote(text, safe="")
    for path in (
        f"/sections/{quoted}/",
        f"/chapters/{digits}/",
        f"/releases/{quoted}/",
        f"/releases/{quoted}/changes.csv",
        "/releases/FY2026/",
        "/releases/FY2026/changes.csv",
    ):
        response = client.get(path, {**params, "code": code})
        check(response, everything_sent(text, code, params))


# What the fuzzing found, kept as plain cases.
FOUND = [
    ("/", {"fy": "²⁶"}),
    ("/api/v1/codes/Z53/", {"fy": "²²²²"}),
    ("/search/", {"q": "fracture", "chapter": "²"}),
    ("/search/", {"q": "fracture", "chapter": "9" * 5_000}),
    ("/search/", {"q": "frac\x00ture"}),
    ("/search/suggest/", {"q": "frac\x00ture"}),
    ("/sections/Z40-Z53%00/", {}),
]


@pytest.mark.parametrize(("path", "params"), FOUND)
def test_input_the_fuzzing_found_is_answered_without_a_server_error(client, path, params):
    response = client.get(path, params)
    assert response.status_code in (200, 400, 404)
    check(response, everything_sent(path, params))


def test_a_fiscal_year_in_other_digits_than_ascii_is_refused_by_name(client):
    assert client.get("/", {"fy": "²⁶"}).status_code == 400
    error = client.get("/api/v1/codes/Z53/", {"fy": "٢٠٢٦"}).json()["error"]
    assert (error["code"], error["field"]) == ("invalid_parameter", "fy")
