"""The code page, /codes/<code>/: everything a coder needs about one code in one release.

A code absent from the release gets a helpful page (status 404): the releases it exists in, the
closest codes, and for a missing 7th character or placeholder the allowed characters and the
X-padded candidates (codes.validation).
"""

from dataclasses import dataclass, field
from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from codes.codeset import CodeSet, Entry, codeset_for
from codes.icd10 import dotted, undotted
from codes.index_lookup import entries_leading_to
from codes.later_changes import later_change
from codes.lookup import CodeDetail, NoteFromPath, code_detail, code_history, find_code
from codes.neighbours import seventh_character_of, tabular_neighbours
from codes.notes_elsewhere import notes_source
from codes.release_data import NoteRow, release_data_for
from codes.search import looks_like_code
from codes.validation import validate
from codes.views.common import (
    get_site_with_release,
    redirect_keeping_query,
    release_page,
    render_page,
    url_with,
)
from codes.views.faq import code_questions, faq_json_ld

# The whole family below a code is drawn as a tree up to this size; beyond, its direct sub-codes.
TREE_LIMIT = 250
# Billable codes listed in the status box before the rest is folded away.
LISTED_BILLABLE = 24


# What coders call the inclusion terms (the tabular's own word for the notes that list them).
@dataclass
class TreeNode:
    entry: Entry
    billable_below: int
    children: list["TreeNode"] = field(default_factory=list)

    @property
    def dotted(self) -> str:
        return dotted(self.entry.code)


@dataclass
class NoteGroup:
    origin: str  # "code", "section" or "chapter"
    owner: str  # as shown: "Z53", "Z40-Z53", "21"
    inherited: bool
    kinds: list[tuple[str, list[NoteRow]]]  # (kind label, notes) in document order


@release_page()
def code_page(request: HttpRequest, code: str) -> HttpResponse:
    stored = undotted(code)
    if looks_like_code(code) and code != dotted(stored):
        return redirect_keeping_query(request, reverse("codes:code", args=[dotted(stored)]))
    site = get_site_with_release(request)
    release = site.release
    row = find_code(release, stored) if looks_like_code(code) else None
    if row is None:
        return _absent(request, site, code, stored)
    detail = code_detail(row)
    history = code_history(row.code)
    codeset = codeset_for(release)
    questions = code_questions(detail, history)
    api_url = url_with(f"/api/v1/codes/{row.dotted}/", {"release": release.label})
    page_url = request.build_absolute_uri(
        url_with(reverse("codes:code", args=[row.dotted]), {"release": release.label})
    )
    return render_page(
        request,
        "codes/code.html",
        site,
        {
            "code": row,
            "detail": detail,
            "history": history,
            "tree": _tree(row.code, codeset, detail),
            "index_entries": entries_leading_to(release, row.code, codeset, site.releases),
            "tree_is_complete": detail.descendant_count <= TREE_LIMIT,
            "note_groups": _note_groups(detail.notes),
            "notes_source": notes_source(release, code=row.code),
            "billable_listed": detail.billable_below[:LISTED_BILLABLE],
            "billable_folded": detail.billable_below[LISTED_BILLABLE:],
            "questions": questions,
            "faq_json_ld": faq_json_ld(
                questions, code=row.dotted, title=row.long_title, url=page_url
            ),
            "api_url": api_url,
            "later": later_change(row.code, release, history),
            "poa_exempt": release_data_for(release).is_poa_exempt(row.code),
            "neighbours": tabular_neighbours(codeset, row.code),
            "seventh_of_code": seventh_character_of(codeset, row.code),
        },
    )


def _absent(request: HttpRequest, site, text: str, stored: str) -> HttpResponse:
    release = site.release
    # "hello" is well-formed by shape but no code starts like that: say so, offer a search.
    verdict = validate(text, release) if looks_like_code(text) else None
    history = code_history(stored) if verdict and verdict.code else []
    # A code is offered the nearest code above it, not a search for itself: a search for a code
    # leads back to this page.
    nearest = codeset_for(release).nearest_existing_prefix(stored) if verdict else None
    return render_page(
        request,
        "codes/code_absent.html",
        site,
        {
            "text": text,
            "verdict": verdict,
            "present_in": [row for row in history if row.present],
            "nearest": dotted(nearest) if nearest else "",
            "search_url": url_with(reverse("codes:search"), {"q": text, **site.carried}),
        },
        status=404,
    )


def _tree(code: str, codeset: CodeSet, detail: CodeDetail) -> list[TreeNode]:
    """The family below the code (whole when small, else one level), with billable counts."""
    whole = detail.descendant_count <= TREE_LIMIT

    def nodes(parent: str, depth: int) -> list[TreeNode]:
        found = []
        for child in codeset.children.get(parent, []):
            below = codeset.descendants(child)
            node = TreeNode(codeset.entries[child], sum(1 for e in below if e.is_billable))
            if whole:
                node.children = nodes(child, depth + 1)
            found.append(node)
        return found

    return nodes(code, 0)


def _note_groups(notes: list[NoteFromPath]) -> list[NoteGroup]:
    """Notes by where they are written (the code, each ancestor, section, chapter), then kind."""
    groups = []
    for (origin, owner, inherited), items in groupby(
        notes, key=lambda n: (n.origin, n.origin_code, n.inherited)
    ):
        listed = [item.note for item in items]
        kinds = []
        for _, same in groupby(listed, key=lambda note: note.kind):
            same = list(same)
            kinds.append((same[0].heading, same))
        groups.append(
            NoteGroup(
                origin=origin,
                owner=dotted(owner) if origin == "code" else owner,
                inherited=inherited,
                kinds=kinds,
            )
        )
    return groups


def code_page_without_slash(request: HttpRequest, code: str) -> HttpResponse:
    """/codes/z5301 -> /codes/Z53.01/ in one redirect: APPEND_SLASH would add the slash first
    and the code page then redirect again to the dotted form."""
    canonical = dotted(undotted(code)) if looks_like_code(code) else code
    return redirect_keeping_query(request, reverse("codes:code", args=[canonical]))
