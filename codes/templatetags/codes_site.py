"""Template helpers of the public site: links that keep the chosen release, code formatting,
notes whose code references are links, and the family tree of a code.

Plain functions: the site's pages are Jinja2 templates (jinja2/), whose environment
(icdsite/jinja2.py) makes them its globals and filters; those given the template's context take
it first (`jinja2.pass_context`). `long_date` is also a Django template filter, for the admin.
"""

import functools
import itertools
import operator
import re

from django import template
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from jinja2 import pass_context
from markupsafe import Markup, escape

from codes.icd10 import dotted as dotted_code
from codes.icd10 import undotted
from codes.importer.index_data import CATEGORY_COLUMN, MANIF_COLUMN
from codes.index_lookup import PART_SLUGS, letter_slug
from codes.models import IndexCodeReference, IndexTerm
from codes.views.common import url_with
from codes.views.faq import long_date as long_date_text

register = template.Library()  # the admin's: long_date

# A code reference inside parentheses of a note: "(Z87.891)", "(F17.2-)", "(S78.-)", "(E08-E13)".
_PARENTHESES_RE = re.compile(r"\(([^()]*)\)")
_CODE_RE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(\.?-)?")


@pass_context
def url(context, name: str, *args) -> str:
    """reverse(name, args), as {% url %} does."""
    return _path(name, tuple(map(str, args)), _script_prefix(context))


@pass_context
def static(context, path: str) -> str:
    """{% static %}: the same four files on every page, worked out once."""
    return _static(path, _script_prefix(context))


@functools.lru_cache(maxsize=64)
def _static(path: str, script_prefix: str) -> str:
    return django_static(path)


@pass_context
def page_url(context, name: str, *args, **params) -> str:
    """reverse(name, args) with the release parameter of the page (and any other params)."""
    path = _path(name, tuple(map(str, args)), _script_prefix(context))
    if not params:
        return path + _release_query(context)
    return url_with(path, {**(context.get("release_params") or {}), **params})


def _path(name: str, args: tuple[str, ...], script_prefix: str) -> str:
    if name in CODE_PATHS and len(args) == 1 and _PLAIN_RE.fullmatch(args[0]):
        # A page links dozens of codes, on a first visit mostly ones no page linked before:
        # reverse() of each took a tenth of the page's time. A code needs no quoting in a
        # path, so its path is the pattern's path around it.
        before, after = _path_around(name, script_prefix)
        return f"{before}{args[0]}{after}"
    return _reversed(name, args, script_prefix)


# The pages whose one argument is a code, and what a path may hold unquoted.
CODE_PATHS = {"codes:code", "codes:code_index_entries"}
_PLAIN_RE = re.compile(r"[A-Za-z0-9.]+")


@functools.lru_cache(maxsize=16)
def _path_around(name: str, script_prefix: str) -> tuple[str, str]:
    before, after = reverse(name, args=["A00"]).rsplit("A00", 1)
    return before, after


@functools.lru_cache(maxsize=20_000)
def _reversed(name: str, args: tuple[str, ...], script_prefix: str) -> str:
    # A code page links fifty other pages, most of them on every page (the header's, the
    # chapter's, the section's): reversed once each, not fifty times per page. The URLconf is
    # fixed once the site runs; the prefix it is served under is part of the key.
    return reverse(name, args=args)


# What every link of a page shares is worked out once per page (codes.views.common.page_context
# puts it in the context): the script prefix (an asgiref Local, slow to read a hundred times)
# and the release parameter's query string. Pages rendered without it work it out each time.
def _script_prefix(context) -> str:
    prefix = context.get("script_prefix")
    return get_script_prefix() if prefix is None else prefix


def _release_query(context) -> str:
    query = context.get("release_query")
    return url_with("", context.get("release_params") or {}) if query is None else query


@pass_context
def code_url(context, code: str, **params) -> str:
    """The page of a code (dotted or not) in the page's release."""
    if params or not _CODE_RE_PLAIN.fullmatch(code):
        return page_url(context, "codes:code", dotted_code(undotted(code)), **params)
    # A code from the release's own rows (a search page links fifty, a code page as many):
    # already upper-case ASCII, so undotted() (NFKC) and page_url()'s general path are skipped
    # (3.0-3.7 us a link, against 1.8-2.1, timeit on the host of 2026-12-07).
    before, after = _path_around("codes:code", _script_prefix(context))
    return f"{before}{dotted_code(code.replace('.', ''))}{after}{_release_query(context)}"


# A code as the release's rows hold it, dotted or not.
_CODE_RE_PLAIN = re.compile(r"[A-Z0-9.]+")


def dotted(code: str) -> str:
    return dotted_code(code)


def thousands(number: int | None) -> str:
    return "" if number is None else f"{number:,}"


@register.filter
def long_date(day) -> str:
    return long_date_text(day) if day else ""


def group_consecutive(items, attribute: str) -> list[tuple]:
    """(value, items) for each run of items with the same attribute, in their order: DTL's
    {% regroup %} (Jinja2's groupby sorts them first)."""
    return [
        (value, list(group))
        for value, group in itertools.groupby(items, key=operator.attrgetter(attribute))
    ]


@pass_context
def note_text(context, text: str) -> Markup:
    """A note, its code references turned into links to their pages."""
    return _note_html(text, _script_prefix(context), _release_query(context))


@functools.lru_cache(maxsize=4_096)
def _note_html(text: str, script_prefix: str, release_query: str) -> Markup:
    # A code page shows the notes of its chapter, its section and each ancestor: most are on
    # every page of their chapter, so each is rendered once per release shown, not per page.
    def link(match: re.Match) -> str:
        target = dotted_code(undotted(match.group(1)))
        href = _path("codes:code", (target,), script_prefix) + release_query
        return f'<a href="{escape(href)}">{match.group(0)}</a>'

    def parentheses(match: re.Match) -> str:
        return "(" + _CODE_RE.sub(link, str(escape(match.group(1)))) + ")"

    parts = []
    position = 0
    for match in _PARENTHESES_RE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(parentheses(match))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("".join(parts))  # every piece is escaped above


@pass_context
def code_tree(context, nodes, *, root: bool = True) -> Markup:
    """Nested lists of TreeNode (codes.views.code): code, title, status, billable codes below."""
    if not nodes:
        return Markup("")
    items = []
    for node in nodes:
        entry = node.entry
        if entry.is_billable:
            status = '<span class="badge billable">Billable</span>'
        else:
            status = (
                '<span class="badge header">Header</span> '
                f'<span class="count">{node.billable_below:,} billable below</span>'
            )
        items.append(
            f'<li><a href="{escape(code_url(context, entry.code))}" class="code">{node.dotted}'
            f'</a> <span class="title">{escape(entry.title)}</span> {status}'
            f"{code_tree(context, node.children, root=False)}</li>"
        )
    css = "tree" if root else ""
    return Markup(f'<ul class="{css}">{"".join(items)}</ul>')  # every value is escaped above


# The Alphabetic Index --------------------------------------------------------------------------


@pass_context
def index_url(context, term, main=None, **params) -> str:
    """The page of a main term, anchored at `term` when it is below it."""
    main = main or term
    page = page_url(
        context,
        "codes:index_term",
        PART_SLUGS[main.part],
        letter_slug(main.letter),
        main.slug,
        **params,
    )
    return page if term.sequence == main.sequence else f"{page}#t{term.sequence}"


@pass_context
def index_code(context, shown, *, in_table: bool = False) -> SafeString:
    """A code an Index term names, linked to its page in the release, with what it needs (in a
    table, a 7th character required goes without saying: the table's caption says it)."""
    Status = IndexCodeReference.Status
    text = f"[{shown.printed}]" if shown.column == MANIF_COLUMN else shown.printed
    if shown.column == CATEGORY_COLUMN:
        text = f"see category {shown.printed}"
    if not shown.exists:
        release = context.get("release")
        why = (
            "not a code"
            if shown.status == Status.MALFORMED
            else "not a code of " + (release.label if release else "this release")
        )
        return format_html(
            '<span class="code missing">{}</span> <span class="why">({})</span>', text, why
        )
    anchor = "#seventh-heading" if shown.status == Status.SEVENTH else ""
    link = format_html(
        '<a class="code" href="{}{}">{}</a>', code_url(context, shown.code), anchor, text
    )
    notes = {
        Status.INCOMPLETE: "more characters required",
        Status.SEVENTH: "7th character required",
        Status.HEADER: "a header: more characters required",
        Status.DASH_ON_BILLABLE: "printed incomplete, but complete in this release",
    }
    if in_table and shown.status == Status.SEVENTH:
        return link
    if shown.status in notes:
        return format_html('{} <span class="why">({})</span>', link, notes[shown.status])
    return link


@pass_context
def index_reference(context, reference) -> SafeString:
    """Where a see or see-also reference leads: a link to the term (or the table) it names."""
    See = IndexTerm.See
    if reference.target is not None and reference.target_main is not None:
        link = format_html(
            '<a href="{}">{}</a>',
            index_url(context, reference.target, reference.target_main),
            reference.text,
        )
    elif reference.target is not None:
        link = format_html(
            '<a href="{}">{}</a>', index_url(context, reference.target), reference.text
        )
    elif reference.status == See.TERM and reference.part:
        link = format_html(
            '<a href="{}">{}</a>',
            page_url(context, "codes:index_part", PART_SLUGS[reference.part]),
            reference.text,
        )
    else:
        return format_html("<span>{}</span>", reference.text)
    if reference.status == See.PARTIAL:
        return format_html('{} <span class="why">(only partly found)</span>', link)
    return link


def letter_url_name(letter: str) -> str:
    return letter_slug(letter)
