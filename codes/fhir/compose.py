"""A value set the client sends (`valueSet`, or a `tx-resource` that `url` names), over
ICD-10-CM: what the HL7 validator sends for a value set of an implementation guide.

Its compose is read as the specification defines it (http://hl7.org/fhir/valueset.html): a
code is in it when an include holds it and no exclude does; an include of ICD-10-CM takes the
whole code system, a list of codes, or codes that pass all its filters (`concept` is-a,
descendent-of, is-not-a, =, in; `billable` and `notSelectable` =), within the value sets it
names (this server's own). Includes of other code systems are kept as such: their codes cannot
be checked here.
"""

from codes.api.errors import INVALID_PARAMETER, ApiError
from codes.codeset import CodeSet, codeset_for
from codes.icd10 import parse_code_input
from codes.models import Release

from .valuesets import ValueSetRef, parse_url, tabular_order
from .versions import is_our_system

NOT_SUPPORTED = "not_supported"
CONCEPT_OPERATORS = ("is-a", "descendent-of", "is-not-a", "=", "in")


class ComposedValueSet:
    """A ValueSet resource given by the client, with the interface of ValueSetRef."""

    kind = "composed"

    def __init__(self, resource: dict, *, base: str) -> None:
        compose = resource.get("compose")
        if not isinstance(compose, dict) or not isinstance(compose.get("include"), list):
            raise ApiError(
                "the value set has no compose.include to evaluate (an expansion given inline "
                "is not read)",
                code=NOT_SUPPORTED,
                field="valueSet",
            )
        self.resource_ = {k: v for k, v in resource.items() if k not in ("expansion", "text")}
        self.url = resource.get("url") or ""
        self.includes = [_Part(item, base=base) for item in compose["include"]]
        self.excludes = [_Part(item, base=base) for item in compose.get("exclude", [])]
        self.other_systems = {p.system for p in self.includes if not p.ours and p.system}
        versions = {p.version for p in self.includes if p.ours and p.version}
        # The code system version the value set pins, when its includes agree on one.
        self.version = versions.pop() if len(versions) == 1 else ""

    def includes_system(self, system: str) -> bool:
        return system in self.other_systems

    def contains(self, codeset: CodeSet, code: str) -> bool:
        if code not in codeset:
            return False
        return any(p.ours and p.holds(codeset, code) for p in self.includes) and not any(
            p.ours and p.holds(codeset, code) for p in self.excludes
        )

    def members(self, release: Release) -> list[str]:
        if self.other_systems:
            raise ApiError(
                "the value set also includes "
                + ", ".join(sorted(self.other_systems))
                + ": this server expands ICD-10-CM only",
                code=NOT_SUPPORTED,
                field="valueSet",
            )
        codeset = codeset_for(release)
        return [code for code in tabular_order(release) if self.contains(codeset, code)]

    def resource(self, release: Release) -> dict:
        return dict(self.resource_)

    def label(self, release: Release | None) -> str:
        """As messages quote the value set: url|version, its own version."""
        version = self.resource_.get("version")
        return (self.url or "the value set given") + (f"|{version}" if version else "")


class _Part:
    """One include or exclude."""

    def __init__(self, item: object, *, base: str) -> None:
        if not isinstance(item, dict):
            raise ApiError("an include must be an object", code=INVALID_PARAMETER, field="valueSet")
        self.system = item.get("system") or ""
        self.version = item.get("version") or ""
        self.ours = is_our_system(self.system) if self.system else False
        concepts = item.get("concept", [])
        self.listed = bool(concepts)
        self.codes = {
            parse_code_input(str(c.get("code", ""))) for c in concepts if isinstance(c, dict)
        }
        self.filters = [_filter(f) for f in item.get("filter", [])] if self.ours else []
        self.value_sets: list[ValueSetRef] = []
        for url in item.get("valueSet", []):
            ref = parse_url(str(url).partition("|")[0], base=base)
            if ref is None:
                raise ApiError(
                    f"the value set includes '{str(url)[:200]}', which this server does not know",
                    code=NOT_SUPPORTED,
                    field="valueSet",
                )
            self.value_sets.append(ref)
        if not self.system and self.value_sets:
            self.ours = True  # only value sets: this server's, all of ICD-10-CM

    def holds(self, codeset: CodeSet, code: str) -> bool:
        if not all(ref.contains(codeset, code) for ref in self.value_sets):
            return False
        if not self.system:
            return True
        if self.listed:
            return code in self.codes
        return all(_passes(codeset, code, f) for f in self.filters)


def _filter(item: object) -> tuple[str, str, str]:
    if not isinstance(item, dict):
        raise ApiError("a filter must be an object", code=INVALID_PARAMETER, field="valueSet")
    filter_ = (str(item.get("property")), str(item.get("op")), str(item.get("value", "")))
    prop, op, _ = filter_
    if (prop == "concept" and op in CONCEPT_OPERATORS) or (
        prop in ("billable", "notSelectable") and op == "="
    ):
        return filter_
    raise ApiError(
        f"the filter {prop} {op} is not supported on ICD-10-CM (concept is-a, descendent-of, "
        "is-not-a, =, in; billable =; notSelectable =)",
        code=NOT_SUPPORTED,
        field="valueSet",
    )


def _passes(codeset: CodeSet, code: str, filter_: tuple[str, str, str]) -> bool:
    prop, op, value = filter_
    entry = codeset.entries[code]
    if prop == "billable":
        return entry.is_billable == (value == "true")
    if prop == "notSelectable":
        return (not entry.is_billable) == (value == "true")
    targets = {parse_code_input(v) for v in value.split(",")} if op == "in" else set()
    root = parse_code_input(value)
    if op == "=":
        return code == root
    if op == "in":
        return code in targets
    below = root in codeset.ancestors(code)
    if op == "descendent-of":
        return below
    if op == "is-a":
        return code == root or below
    return not (code == root or below)  # is-not-a
