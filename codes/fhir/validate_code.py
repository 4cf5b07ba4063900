"""$validate-code, of the code system and of a value set, as terminology clients read it: a
`result`, and an OperationOutcome in `issues` whenever there is something to say, with the issue
types of the HL7 terminology-ecosystem tests (tx-issue-type: not-in-vs, invalid-code,
invalid-display, code-rule, not-found, vs-invalid, invalid-data).

A header (a category or subcategory with codes below it) is a code of ICD-10-CM that is not
selectable: it is valid as a code unless the request says `abstract=false`, and the answer says
in an information issue and in `message` that it is not valid on a claim and what to code
instead. The billable value set answers "valid on a claim" directly.

Codes are read in any form (e119, E11.9); one not written as ICD-10-CM writes it is answered with
an information issue and `normalized-code`, never silently rewritten. Messages quote the input as
sent.
"""

import datetime
from dataclasses import dataclass, field

from codes.codeset import codeset_for
from codes.currency import missing_release_on
from codes.icd10 import dotted, parse_code_input
from codes.models import Code, Release
from codes.validation import OK, Verdict, validate

from .compose import ComposedValueSet
from .inputs import Coding
from .valuesets import BILLABLE, ValueSetRef
from .versions import (
    SYSTEM,
    canonical,
    is_our_system,
    known_versions,
    release_in_force,
    release_of_version,
    version_of,
)

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
ERROR, WARNING, INFORMATION = "error", "warning", "information"


@dataclass
class Issue:
    severity: str
    code: str  # http://hl7.org/fhir/issue-type
    kind: str  # http://hl7.org/fhir/tools/CodeSystem/tx-issue-type
    text: str
    expression: str = ""
    diagnostics: str = ""  # the ICD-10-CM reason, when there is one

    def as_fhir(self) -> dict:
        issue = {
            "severity": self.severity,
            "code": self.code,
            "details": {
                "coding": [{"system": TX_ISSUE_TYPE, "code": self.kind}],
                "text": self.text,
            },
        }
        if self.diagnostics:
            issue["diagnostics"] = self.diagnostics
        if self.expression:
            issue["location"] = [self.expression]
            issue["expression"] = [self.expression]
        return issue

    def demoted(self) -> "Issue":
        """As said of a coding of a CodeableConcept that is not the one found valid."""
        kind = "this-code-not-in-vs" if self.kind == "not-in-vs" else self.kind
        return Issue(INFORMATION, self.code, kind, self.text, self.expression, self.diagnostics)


@dataclass
class VersionRule:
    """How the code system version of a coding is chosen: `forced` (force-system-version) wins,
    then the coding's own version, then the value set's (`pinned`), then `default` (the
    CodeSystem's `version`, system-version), then the release in force on `day`, then the latest
    published release."""

    published: list[Release]
    forced: str = ""
    pinned: str = ""
    default: str = ""
    day: datetime.date | None = None

    def choose(self, asked: str, path: str) -> tuple[Release | None, str, list[Issue]]:
        """(release or None when unknown, the version asked for, issues)."""
        issues = []
        if self.forced:
            asked = self.forced
        elif (
            asked
            and self.pinned
            and release_of_version(asked, self.published)
            != (release_of_version(self.pinned, self.published))
        ):
            issues.append(
                Issue(
                    ERROR,
                    "invalid",
                    "vs-invalid",
                    f"The code system '{SYSTEM}' version '{self.pinned}' in the ValueSet include "
                    f"is different to the one in the value ('{asked}')",
                    f"{path}.version" if path else "version",
                )
            )
            asked = self.pinned
        else:
            asked = asked or self.pinned or self.default
        if asked:
            release = release_of_version(asked, self.published)
            if release is None:
                issues.append(_unknown_version(asked, path, self.published))
            return release, asked, issues
        if self.day is not None:
            release = release_in_force(self.day, self.published)
            if release is None:
                missing = missing_release_on(self.day, self.published)
                issues.append(
                    Issue(
                        ERROR,
                        "not-found",
                        "not-found",
                        f"No version of the CodeSystem '{SYSTEM}' is in force on {self.day}"
                        + (f": {missing.message}" if missing else "")
                        + f" (versions: {', '.join(known_versions(self.published))})",
                        "date",
                    )
                )
            return release, "", issues
        return (self.published[0] if self.published else None), "", issues


@dataclass
class Checked:
    """One coding, checked."""

    coding: Coding
    system: str  # as sent, or ICD-10-CM when implied
    valid: bool = False
    issues: list[Issue] = field(default_factory=list)
    release: Release | None = None
    display: str = ""  # the code's title
    normalized: str = ""  # the canonical form, when the input was not written so
    unknown_system: str = ""  # a canonical no definition was found for
    caused_by_unknown: bool = False
    reason: str = ""  # the ICD-10-CM reason the code is not a billable code, if any


@dataclass
class Request:
    """What every coding of one request is checked against."""

    rule: VersionRule
    valueset: "ValueSetRef | ComposedValueSet | None"
    valueset_label: str  # url|version as messages quote it
    abstract_allowed: bool
    lenient_display: bool


def check(coding: Coding, request: Request, *, path: str) -> Checked:
    """Check one coding. `path` is "" for the code/system/display parameters, "Coding" or
    "CodeableConcept.coding[n]" otherwise; issues name the element they are about."""

    def at(element: str) -> str:
        return f"{path}.{element}" if path else element

    code = coding.code or ""
    system = coding.system
    if system is None and not path:
        system = SYSTEM  # the code parameter: the code system (or the value set's only one)
    checked = Checked(coding, system or "")
    in_vs = request.valueset is not None
    if system is None:
        if not in_vs:
            system = checked.system = SYSTEM
        else:
            checked.issues += [
                _not_in_vs(f"#{code}", request, at("code")),
                Issue(
                    WARNING,
                    "invalid",
                    "invalid-data",
                    "Coding has no system. A code with no system has no defined meaning, and it "
                    "cannot be validated. A system should be provided",
                    path,
                ),
            ]
            return checked
    if not is_our_system(system):
        checked.unknown_system = system
        # Unknown is the cause of a false result when the value set includes that system.
        checked.caused_by_unknown = not in_vs or request.valueset.includes_system(system)
        checked.issues.append(
            Issue(
                ERROR,
                "not-found",
                "not-found",
                f"A definition for CodeSystem '{system}' could not be found, so the code cannot "
                "be validated",
                at("system"),
            )
        )
        if in_vs:
            checked.issues.append(_not_in_vs(f"{system}#{code}", request, at("code")))
        return checked
    release, asked, version_issues = request.rule.choose(coding.version or "", path)
    checked.issues += version_issues
    if release is None:
        if asked:
            checked.unknown_system = canonical(SYSTEM, asked)
            checked.caused_by_unknown = True
        return checked
    checked.release = release
    version = version_of(release)
    undotted_code = parse_code_input(code)
    codeset = codeset_for(release)
    entry = codeset.get(undotted_code) if undotted_code else None
    if entry is None:
        verdict = validate(code, release)
        checked.reason = reason_of(verdict)
        if in_vs:
            checked.issues.append(_not_in_vs(f"{SYSTEM}#{code}", request, at("code")))
        checked.issues.append(
            Issue(
                ERROR,
                "code-invalid",
                "invalid-code",
                f"Unknown code '{code}' in the CodeSystem '{SYSTEM}' version '{version}'",
                at("code"),
                checked.reason,
            )
        )
        return checked
    canonical_code = dotted(undotted_code)
    checked.display = entry.title
    if code != canonical_code:
        checked.normalized = canonical_code
        checked.issues.append(
            Issue(
                INFORMATION,
                "business-rule",
                "code-rule",
                f"The code '{code}' is not written as ICD-10-CM writes it: read as "
                f"'{canonical_code}' (upper case, a dot after the third character)",
                at("code"),
            )
        )
    if not entry.is_billable:
        checked.reason = reason_of(validate(code, release))
        if request.valueset is not None and request.valueset.kind == BILLABLE:
            checked.issues.append(
                _not_in_vs(f"{SYSTEM}#{canonical_code}", request, at("code"), checked.reason)
            )
        elif not request.abstract_allowed:
            checked.issues.append(
                Issue(
                    ERROR,
                    "business-rule",
                    "code-rule",
                    f"Code '{SYSTEM}#{canonical_code}' is abstract, and not allowed in this "
                    "context",
                    at("code"),
                    checked.reason,
                )
            )
            if in_vs:
                checked.issues.append(_not_in_vs(f"{SYSTEM}#{canonical_code}", request, at("code")))
        else:
            checked.issues.append(
                Issue(INFORMATION, "business-rule", "code-rule", checked.reason, at("code"))
            )
    elif request.valueset is not None and not request.valueset.contains(codeset, undotted_code):
        checked.issues.append(_not_in_vs(f"{SYSTEM}#{canonical_code}", request, at("code")))
    if coding.display is not None:
        checked.issues += _display_issues(
            coding.display, release, undotted_code, entry.title, request, at("display")
        )
    checked.valid = not any(issue.severity == ERROR for issue in checked.issues)
    return checked


def reason_of(verdict: Verdict) -> str:
    """The ICD-10-CM reason a code is not billable, with what to use instead."""
    if verdict.reason == OK:
        return ""
    message = verdict.message
    if verdict.suggestions:
        message += " Suggestions: " + ", ".join(s.dotted for s in verdict.suggestions) + "."
    return message


def _not_in_vs(coded: str, request: Request, expression: str, diagnostics: str = "") -> Issue:
    return Issue(
        ERROR,
        "code-invalid",
        "not-in-vs",
        f"The provided code '{coded}' was not found in the value set '{request.valueset_label}'",
        expression,
        diagnostics,
    )


def _unknown_version(asked: str, path: str, published: list[Release]) -> Issue:
    return Issue(
        ERROR,
        "not-found",
        "not-found",
        f"A definition for CodeSystem '{SYSTEM}' version '{asked}' could not be found, so the "
        f"code cannot be validated. Valid versions: {', '.join(known_versions(published))}",
        f"{path}.version" if path else "system",
    )


def _display_issues(
    display: str, release: Release, code: str, title: str, request: Request, expression: str
) -> list[Issue]:
    """A display is right when it is the code's title or short title (letter case aside)."""
    short_title = (
        Code.objects.filter(release=release, code=code)
        .values_list("short_title", flat=True)
        .first()
    ) or ""
    valid = [title] + ([short_title] if short_title and short_title != title else [])
    if display.casefold() in {v.casefold() for v in valid}:
        return []
    spaced = " ".join(display.split()).casefold() in {v.casefold() for v in valid}
    choices = (
        f"Valid display is '{valid[0]}' (en)"
        if len(valid) == 1
        else f"Valid display is one of {len(valid)} choices: "
        + " or ".join(f"'{v}' (en)" for v in valid)
    )
    text = (
        f"Wrong {'whitespace in ' if spaced else ''}Display Name '{display}' for "
        f"{SYSTEM}#{dotted(code)}. {choices} (for the language(s) '--')"
    )
    severity = WARNING if request.lenient_display else ERROR
    return [Issue(severity, "invalid", "invalid-display", text, expression)]


def answer(checked: list[Checked], request: Request, *, codeable_concept: list[Coding] | None):
    """The Parameters of $validate-code: the first valid coding's, else all that was wrong."""
    valid = [c for c in checked if c.valid]
    chosen = valid[0] if valid else (checked[0] if codeable_concept is None else None)
    issues: list[Issue] = []
    if codeable_concept is not None:
        if not valid and request.valueset is not None:
            issues.append(
                Issue(
                    ERROR,
                    "code-invalid",
                    "not-in-vs",
                    f"No valid coding was found for the value set '{request.valueset_label}'",
                )
            )
        for item in checked:
            if item is chosen:
                issues += item.issues
            else:
                issues += [
                    issue.demoted() if valid or issue.kind == "not-in-vs" else issue
                    for issue in item.issues
                ]
    else:
        issues = chosen.issues
    texts = [issue.text for issue in issues if issue.severity in (ERROR, WARNING)]
    reasons = [c.reason for c in ([chosen] if valid else checked) if c is not None and c.reason]
    message = "; ".join(dict.fromkeys(texts + reasons))
    parameter: list[dict] = [{"name": "result", "valueBoolean": bool(valid)}]
    if chosen is not None:
        if chosen.coding.code is not None:
            parameter.append({"name": "code", "valueCode": chosen.coding.code})
        if chosen.system:
            parameter.append({"name": "system", "valueUri": chosen.system})
        if chosen.release is not None:
            parameter.append({"name": "version", "valueString": version_of(chosen.release)})
        if chosen.display:
            parameter.append({"name": "display", "valueString": chosen.display})
        if chosen.normalized:
            parameter.append({"name": "normalized-code", "valueCode": chosen.normalized})
    if message:
        parameter.append({"name": "message", "valueString": message})
    if codeable_concept is not None:
        parameter.append(
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [
                        {k: v for k, v in vars(c).items() if v is not None}
                        for c in codeable_concept
                    ]
                },
            }
        )
    if issues:
        parameter.append(
            {
                "name": "issues",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [issue.as_fhir() for issue in issues],
                },
            }
        )
    for item in checked:
        if item.unknown_system:
            name = (
                "x-caused-by-unknown-system"
                if item.caused_by_unknown and not valid
                else "x-unknown-system"
            )
            parameter.append({"name": name, "valueCanonical": item.unknown_system})
    return {"resourceType": "Parameters", "parameter": parameter}
