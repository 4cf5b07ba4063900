"""Template helpers of the public site: links that keep the chosen release, code formatting,
notes whose code references are links, and the family tree of a code."""

import re

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from codes.icd10 import dotted as dotted_code
from codes.icd10 import undotted
from codes.views.common import url_with
from codes.views.faq import long_date as long_date_text

register = template.Library()

# A code reference inside parentheses of a note: "(Z87.891)", "(F17.2-)", "(S78.-)", "(E08-E13)".
_PARENTHESES_RE = re.compile(r"\(([^()]*)\)")
_CODE_RE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(\.?-)?")


@register.simple_tag(takes_context=True)
def page_url(context, name: str, *args, **params) -> str:
    """reverse(name, args) with the release parameter of the page (and any other params)."""
    carried = dict(context.get("release_params") or {})
    carried.update(params)
    return url_with(reverse(name, args=args), carried)


@register.simple_tag(takes_context=True)
def code_url(context, code: str, **params) -> str:
    """The page of a code (dotted or not) in the page's release."""
    return page_url(context, "codes:code", dotted_code(undotted(code)), **params)


@register.filter
def dotted(code: str) -> str:
    return dotted_code(code)


@register.filter
def thousands(number: int | None) -> str:
    return "" if number is None else f"{number:,}"


@register.filter
def long_date(day) -> str:
    return long_date_text(day) if day else ""


@register.simple_tag(takes_context=True)
def note_text(context, text: str) -> SafeString:
    """A note, its code references turned into links to their pages."""

    def link(match: re.Match) -> str:
        target = dotted_code(undotted(match.group(1)))
        return format_html('<a href="{}">{}</a>', code_url(context, target), match.group(0))

    def parentheses(match: re.Match) -> str:
        inside = conditional_escape(match.group(1))
        return "(" + _CODE_RE.sub(link, inside) + ")"

    parts = []
    position = 0
    for match in _PARENTHESES_RE.finditer(text):
        parts.append(conditional_escape(text[position : match.start()]))
        parts.append(parentheses(match))
        position = match.end()
    parts.append(conditional_escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


@register.simple_tag(takes_context=True)
def code_tree(context, nodes, *, root: bool = True) -> SafeString:
    """Nested lists of TreeNode (codes.views.code): code, title, status, billable codes below."""
    if not nodes:
        return mark_safe("")
    items = []
    for node in nodes:
        entry = node.entry
        if entry.is_billable:
            status = mark_safe('<span class="badge billable">Billable</span>')
        else:
            status = format_html(
                '<span class="badge header">Header</span> <span class="count">{}</span>',
                f"{node.billable_below:,} billable below",
            )
        items.append(
            format_html(
                '<li><a href="{}" class="code">{}</a> <span class="title">{}</span> {}{}</li>',
                code_url(context, entry.code),
                node.dotted,
                entry.title,
                status,
                code_tree(context, node.children, root=False),
            )
        )
    css = "tree" if root else ""
    return format_html(
        '<ul class="{}">{}</ul>', css, format_html_join("", "{}", ((i,) for i in items))
    )
