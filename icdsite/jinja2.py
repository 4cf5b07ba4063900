"""The Jinja2 environment of the public site's pages (jinja2/; the admin stays on Django's
template engine): the site's helpers (codes/templatetags/codes_site.py) and the few of Django's
own tags and filters the pages use."""

import functools
from types import SimpleNamespace

from django.template.defaultfilters import pluralize
from django.template.defaultfilters import truncatechars as django_truncatechars
from django.template.defaulttags import querystring as django_querystring
from jinja2 import Environment, pass_context

from codes.templatetags import codes_site


@pass_context
def querystring(context, query_dict=None, **params) -> str:
    """Django's {% querystring %}: the request's query string with `params` set (None: removed)."""
    return django_querystring(SimpleNamespace(request=context["request"]), query_dict, **params)


@functools.lru_cache(maxsize=1024)
def truncatechars(text: str, length: int) -> str:
    """Django's filter, once per text: the search page shortens the same chapter titles each
    time (Django's Truncator normalises the text first)."""
    return django_truncatechars(text, length)


def environment(**options) -> Environment:
    env = Environment(**options)
    env.globals.update(
        url=codes_site.url,
        static=codes_site.static,
        querystring=querystring,
        page_url=codes_site.page_url,
        code_url=codes_site.code_url,
        note_text=codes_site.note_text,
        code_tree=codes_site.code_tree,
        index_url=codes_site.index_url,
        index_code=codes_site.index_code,
        index_reference=codes_site.index_reference,
    )
    env.filters.update(
        dotted=codes_site.dotted,
        thousands=codes_site.thousands,
        long_date=codes_site.long_date,
        letter_url_name=codes_site.letter_url_name,
        group_consecutive=codes_site.group_consecutive,
        pluralize=pluralize,
        truncatechars=truncatechars,
    )
    return env
