"""The Jinja2 environment of the public site's pages (jinja2/; the admin stays on Django's
template engine): the site's helpers (codes/templatetags/codes_site.py) and the few of Django's
own tags and filters the pages use."""

import functools
from types import SimpleNamespace

from django.template.defaultfilters import pluralize
from django.template.defaultfilters import truncatechars as django_truncatechars
from django.template.defaulttags import querystring as django_querystring
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

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


# How pass_context marks a function (jinja2 keeps the marker's type private).
_PASSES_CONTEXT = pass_context(lambda context: None).jinja_pass_arg


class PageContext(Context):
    """Jinja's context, calling a helper that takes it without asking twice.

    Every call in a template goes through Context.call, which looks up whether the callable
    takes the context (twice: for the callable and for its __call__) before calling it: a code
    page makes fifty calls (its links, its notes), a search page a hundred, and each cost 2 us
    more than the helper itself (0.4 us here, timed on code_url). A helper that takes the
    context is called with it at once, unless the loop or block it is called from has set
    variables of its own ({% set %}), which Jinja's call puts in a derived context first.
    """

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        if (
            getattr(__obj, "jinja_pass_arg", None) is _PASSES_CONTEXT
            and not kwargs.get("_loop_vars")
            and not kwargs.get("_block_vars")
        ):
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            try:
                return __obj(__self, *args, **kwargs)
            except StopIteration:  # as Jinja's call: undefined, not the end of the render
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(__obj, *args, **kwargs)


def environment(**options) -> Environment:
    env = Environment(**options)
    env.context_class = PageContext
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
