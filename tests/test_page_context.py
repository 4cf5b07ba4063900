"""The site's Jinja context (icdsite.jinja2.PageContext): a helper that takes the context is
called with it directly, and still sees what the loop or block calling it has set, as with
Jinja's own context."""

import pytest
from django.template import engines
from django.urls import reverse
from jinja2 import pass_context

from icdsite.jinja2 import PageContext

# What codes.views.common.page_context gives every page, for FY2026 pinned by label.
PAGE = {"script_prefix": "/", "release_query": "?release=FY2026"}


def render(source: str, **context) -> str:
    return engines["jinja2"].env.from_string(source).render({**PAGE, **context})


def test_the_site_renders_with_the_page_context():
    assert engines["jinja2"].env.context_class is PageContext


@pytest.mark.parametrize(
    "source",
    [
        '{{ code_url("A00") }}',
        '{% for code in ["A00"] %}{{ code_url(code) }}{% endfor %}',
        '{% with code="A00" %}{{ code_url(code) }}{% endwith %}',
    ],
)
def test_a_link_helper_reads_the_pages_release(source):
    assert render(source) == "/codes/A00/?release=FY2026"


@pytest.mark.parametrize(
    "written", ["S72.001A", "S72001A", "s72.001a", " S72.001A", "Ｓ７２.００１Ａ", "S72.001A."]
)
def test_a_code_is_linked_the_same_however_it_is_written(written):
    # Codes from the release's rows take a shorter way than typed ones: the same link.
    expected = reverse("codes:code", args=["S72.001A"]) + PAGE["release_query"]
    assert render("{{ code_url(code) }}", code=written) == expected
    assert render("{{ code_url(code, fy=2025) }}", code=written) == expected.replace(
        "release=FY2026", "fy=2025"
    )


@pytest.mark.parametrize(
    "source",
    [
        '{% for code in ["A00"] %}{% set release_query = "?release=FY2025" %}'
        "{{ code_url(code) }}{% endfor %}",
        '{% block links %}{% set release_query = "?release=FY2025" %}'
        '{{ code_url("A00") }}{% endblock %}',
    ],
)
def test_a_link_helper_sees_what_its_loop_has_set(source):
    # Jinja passes a loop's or block's own variables along with the call; the helper reads
    # them.
    assert render(source) == "/codes/A00/?release=FY2025"


def test_a_helper_that_raises_stop_iteration_gives_undefined_as_with_jinjas_context():
    env = engines["jinja2"].env
    template = env.from_string("[{{ ended() }}]")
    assert template.render({**PAGE, "ended": pass_context(lambda context: next(iter(())))}) == "[]"


def test_other_callables_are_called_as_jinja_calls_them():
    assert render('{{ "a-b".split("-") | join(",") }} {{ range(3) | list }}') == "a,b [0, 1, 2]"
