"""The value sets this server knows, all of ICD-10-CM codes of one release:

- the implicit value sets of the FHIR specification: `http://hl7.org/fhir/sid/icd-10-cm?fhir_vs`
  (every code, headers included) and `...?fhir_vs=isa/E11` (E11 and every code below it);
- the billable codes of a release, `[base]/ValueSet/icd-10-cm-billable`: the codes valid on a
  claim (a ValueSet resource per release, `ValueSet/icd-10-cm-billable-fy2026`).

A value set's version is the code system version it draws from. Members are listed in tabular
order; a `filter` ranks them as the site's search box does (codes.ranked_search).
"""

import datetime
import re
import uuid
from dataclasses import dataclass

from codes.codeset import CodeSet, codeset_for
from codes.icd10 import dotted, parse_code_input, undotted
from codes.models import Code, Release
from codes.ranked_search import find
from codes.release_memory import ReleaseMemory
from codes.selection import published_releases

from .versions import SYSTEM, resource_id, version_of

ALL = "all"
IS_A = "isa"
BILLABLE = "billable"
BILLABLE_ID = "icd-10-cm-billable"
PUBLISHER = "icdsite"
# An expansion lists at most this many codes in one answer: a larger one is paged (count,
# offset) or narrowed (filter), never sent whole.
MAX_EXPANSION = 1000
# What a filter may start with to be read as the start of a code ("E11", "e11.", "S72.0").
CODE_START_RE = re.compile(r"[A-Za-z][0-9A-Za-z]{0,2}(\.?[0-9A-Za-z]{0,4})?[-*]?")


@dataclass(frozen=True)
class ValueSetRef:
    """Which value set a URL or id names; `root` is the undotted code of an is-a set."""

    kind: str  # ALL, IS_A or BILLABLE
    url: str
    root: str = ""

    def contains(self, codeset: CodeSet, code: str) -> bool:
        entry = codeset.get(code)
        if entry is None:
            return False
        if self.kind == BILLABLE:
            return entry.is_billable
        if self.kind == IS_A:
            return code == self.root or self.root in codeset.ancestors(code)
        return True

    def members(self, release: Release) -> list[str]:
        """Every member, undotted, in tabular order."""
        codeset = codeset_for(release)
        if self.kind == IS_A:
            if self.root not in codeset:
                return []
            return [self.root, *(entry.code for entry in codeset.descendants(self.root))]
        ordered = tabular_order(release)
        if self.kind == BILLABLE:
            return [code for code in ordered if codeset.entries[code].is_billable]
        return ordered

    def includes_system(self, system: str) -> bool:
        """Whether the value set includes codes of another code system (never: ICD-10-CM's)."""
        return False

    def resource(self, release: Release) -> dict:
        return value_set(self, release)

    def label(self, release: Release | None) -> str:
        """As messages quote the value set: url|version."""
        return self.url + (f"|{version_of(release)}" if release is not None else "")

    def name(self) -> str:
        return {
            ALL: "ICD10CMAllCodes",
            IS_A: f"ICD10CMIsA{self.root}",
            BILLABLE: "ICD10CMBillableCodes",
        }[self.kind]

    def title(self) -> str:
        return {
            ALL: "All ICD-10-CM codes (headers included)",
            IS_A: f"ICD-10-CM {dotted(self.root)} and the codes below it",
            BILLABLE: "Billable ICD-10-CM codes (valid on a claim)",
        }[self.kind]

    def filters(self) -> list[dict]:
        if self.kind == IS_A:
            return [{"property": "concept", "op": "is-a", "value": dotted(self.root)}]
        if self.kind == BILLABLE:
            return [{"property": "billable", "op": "=", "value": "true"}]
        return []


def billable_url(base: str) -> str:
    return f"{base}ValueSet/{BILLABLE_ID}"


def parse_url(url: str, *, base: str) -> ValueSetRef | None:
    """The value set a canonical URL names (without its |version), or None."""
    url = url.strip()
    if url.startswith(SYSTEM + "?"):
        query = url[len(SYSTEM) + 1 :]
        if query == "fhir_vs":
            return ValueSetRef(ALL, url)
        if query.startswith("fhir_vs=isa/"):
            root = parse_code_input(query.removeprefix("fhir_vs=isa/"))
            if root:
                return ValueSetRef(IS_A, f"{SYSTEM}?fhir_vs=isa/{dotted(root)}", root)
        return None
    # Our own value set, whatever host the client reached us by (a proxy may rename it).
    if url == billable_url(base) or url.endswith(f"/ValueSet/{BILLABLE_ID}"):
        return ValueSetRef(BILLABLE, billable_url(base))
    return None


def billable_resource_id(release: Release) -> str:
    return resource_id(release).replace("icd-10-cm-", f"{BILLABLE_ID}-", 1)


def release_of_resource(resource_id_: str, published: list[Release]) -> Release | None:
    """The release whose billable ValueSet has this id."""
    return next((r for r in published if billable_resource_id(r) == resource_id_), None)


def value_set(ref: ValueSetRef, release: Release) -> dict:
    """The ValueSet resource (its definition, no expansion)."""
    include = {"system": SYSTEM, "version": version_of(release)}
    if ref.filters():
        include["filter"] = ref.filters()
    resource = {"resourceType": "ValueSet"}
    if ref.kind == BILLABLE:
        resource["id"] = billable_resource_id(release)
    resource |= {
        "url": ref.url,
        "version": version_of(release),
        "name": ref.name(),
        "title": ref.title(),
        "status": "active",
        "experimental": False,
        "date": release.effective_date.isoformat(),
        "publisher": PUBLISHER,
        "description": _description(ref, release),
        "compose": {"include": [include]},
    }
    return resource


def _description(ref: ValueSetRef, release: Release) -> str:
    if ref.kind == BILLABLE:
        return (
            f"The {release.billable_count:,} codes of ICD-10-CM {release.label} that are valid "
            "for HIPAA transactions (the order file's flag 1): what a claim may carry. Headers "
            "(categories and subcategories with codes below them) are not in it."
        )
    if ref.kind == IS_A:
        return f"{dotted(ref.root)} and every code below it in ICD-10-CM {release.label}."
    return f"Every code of ICD-10-CM {release.label}, headers (notSelectable) included."


def tabular_order(release: Release) -> list[str]:
    return _tabular_order(release)


def _build_tabular_order(release: Release) -> list[str]:
    entries = codeset_for(release).entries
    return sorted(entries, key=lambda code: entries[code].sequence)


_tabular_order = ReleaseMemory(_build_tabular_order)


def filtered(release: Release, text: str) -> list[str]:
    """The codes a filter finds, best first: the start of a code lists that code and the codes
    below it in tabular order; words are ranked as the site's search box ranks them (the
    Alphabetic Index first, the last word taken as unfinished)."""
    text = " ".join(text.split())
    if not text:
        return []
    if CODE_START_RE.fullmatch(text):
        start = undotted(text).rstrip("-*")
        codeset = codeset_for(release)
        prefixed = codeset.with_prefix(start)
        if prefixed:
            return sorted(prefixed, key=lambda code: codeset.entries[code].sequence)
    return find(release, text, published_releases(), typing=True).codes


class ExpansionTooLarge(Exception):
    def __init__(self, total: int) -> None:
        self.total = total
        super().__init__(
            f"The expansion has {total:,} codes, more than the {MAX_EXPANSION:,} this server "
            "sends in one answer: page through it with count and offset, or narrow it with "
            "filter."
        )


def expansion(
    ref: ValueSetRef,
    release: Release,
    *,
    text: str,
    offset: int,
    count: int | None,
    echo: list[dict],
    include_designations: bool,
) -> dict:
    """The ValueSet with its expansion: `total` always, the page asked for in `contains`."""
    codeset = codeset_for(release)
    if text:
        codes = [code for code in filtered(release, text) if ref.contains(codeset, code)]
    else:
        codes = ref.members(release)
    if count is None and len(codes) - offset > MAX_EXPANSION:
        raise ExpansionTooLarge(len(codes))
    count = MAX_EXPANSION if count is None else min(count, MAX_EXPANSION)
    page = codes[offset : offset + count]
    parameters = [
        *echo,
        {"name": "used-codesystem", "valueUri": f"{SYSTEM}|{version_of(release)}"},
    ]
    short_titles = _short_titles(release, page) if include_designations else {}
    expansion_ = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "total": len(codes),
        "offset": offset,
        "parameter": parameters,
    }
    if page:
        expansion_["contains"] = [
            _contains(codeset, code, short_titles.get(code, "")) for code in page
        ]
    return ref.resource(release) | {"expansion": expansion_}


def _contains(codeset: CodeSet, code: str, short_title: str) -> dict:
    entry = codeset.entries[code]
    item = {"system": SYSTEM}
    if not entry.is_billable:
        item["abstract"] = True  # a header: notSelectable
    item |= {"code": dotted(code), "display": entry.title}
    if short_title and short_title != entry.title:
        item["designation"] = [{"language": "en", "value": short_title}]
    return item


def _short_titles(release: Release, codes: list[str]) -> dict[str, str]:
    return dict(
        Code.objects.filter(release=release, code__in=codes)
        .order_by()
        .values_list("code", "short_title")
    )
