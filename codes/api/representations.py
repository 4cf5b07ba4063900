"""Answers as plain dicts, in the shapes codes.api.serializers describes.

Codes are always given dotted (the canonical form, `code`) and undotted (`code_undotted`).
"""

import datetime

from codes.codeset import SeventhCharacter
from codes.icd10 import dotted, parse_code_input
from codes.lookup import CodeDetail, HistoryRow
from codes.models import Code, CodeChange, PoaList, Release
from codes.validation import Suggestion, Verdict


def release_ref(release: Release | None) -> dict | None:
    if release is None:
        return None
    return {
        "label": release.label,
        "fiscal_year": release.fiscal_year,
        "effective_date": release.effective_date.isoformat(),
    }


POA_STATUS = {True: "exempt", False: "not exempt", None: "not imported"}


def poa_exemption(exempt: bool | None) -> dict:
    """Whether a code is exempt from POA reporting: None, "not imported", when the release has
    no POA-exempt list (which says nothing about the code)."""
    return {"poa_exempt": exempt, "poa_exempt_status": POA_STATUS[exempt]}


def poa_list_summary(release: Release) -> dict | None:
    """The release's POA-exempt list in brief; None when it has none imported. One query for a
    release read with select_related("poa")."""
    try:
        poa_list = release.poa
    except PoaList.DoesNotExist:
        return None
    return {
        "fiscal_year": poa_list.fiscal_year,
        "codes": poa_list.code_count,
        "changes": poa_list.change_counts(),
    }


def release_counts(release: Release) -> dict:
    return {
        "entries": release.entry_count,
        "billable": release.billable_count,
        "headers": release.header_count,
        "chapters": release.chapter_count,
        "sections": release.section_count,
        "notes": release.note_count,
    }


def code_ref(code: Code) -> dict:
    return {
        "code": code.dotted,
        "code_undotted": code.code,
        "title": code.long_title,
        "billable": code.is_billable,
    }


def code_summary(code: Code, result=None) -> dict:
    """A search result; the code's chapter and section must be selected with it. `result`: the
    search (codes.search.SearchResult) whose reason for the code is given."""
    return {
        **code_ref(code),
        "why": result.reason(code.code) if result is not None else "",
        "short_title": code.short_title,
        "kind": code.kind,
        "chapter": code.chapter.number if code.chapter_id else None,
        "section": code.section.section_id if code.section_id else None,
    }


def suggestion(item: Suggestion) -> dict:
    return {"code": item.dotted, "code_undotted": item.code, "title": item.title}


def seventh_character(seventh: SeventhCharacter) -> dict:
    return {"character": seventh.character, "meaning": seventh.meaning, "notes": seventh.notes}


def code_detail(detail: CodeDetail, *, text: str) -> dict:
    code = detail.code
    chapter, section = code.chapter, code.section
    seventh = None
    if detail.seventh_characters_from:
        seventh = {
            "defined_at": dotted(detail.seventh_characters_from),
            "notes": detail.seventh_character_notes,
            "characters": [seventh_character(c) for c in detail.seventh_characters],
        }
    return {
        "release": release_ref(detail.release),
        "input": text,
        "normalised": text != code.dotted,
        "code": code.dotted,
        "code_undotted": code.code,
        "title": code.long_title,
        "short_title": code.short_title,
        "billable": code.is_billable,
        "kind": code.kind,
        "exists": True,
        "chapter": {
            "number": chapter.number,
            "title": chapter.title,
            "first_code": chapter.first_code,
            "last_code": chapter.last_code,
        }
        if chapter is not None
        else None,
        "section": {
            "id": section.section_id,
            "title": section.title,
            "first_code": section.first_code,
            "last_code": section.last_code,
        }
        if section is not None
        else None,
        "parent": code_ref(detail.ancestors[-1]) if detail.ancestors else None,
        "ancestors": [code_ref(c) for c in detail.ancestors],
        "children": [code_ref(c) for c in detail.children],
        "descendant_count": detail.descendant_count,
        "billable_descendant_count": detail.billable_descendant_count,
        "billable_below": [code_ref(c) for c in detail.billable_below],
        "notes_available": detail.release.notes_available,
        "structure_from": release_ref(detail.release.structure_from),
        "notes": None
        if not detail.release.notes_available
        else [
            {
                "kind": item.note.kind,
                "kind_label": item.note.kind_label,
                "text": item.note.text,
                "origin": item.origin,
                "origin_code": dotted(item.origin_code)
                if item.origin == "code"
                else item.origin_code,
                "inherited": item.inherited,
            }
            for item in detail.notes
        ],
        "seventh_characters": seventh,
    }


def history_row(row: HistoryRow) -> dict:
    return {
        "release": release_ref(row.release),
        "present": row.present,
        "billable": row.is_billable,
        "title": row.title,
        "events": row.events,
        "old_title": row.old_title,
    }


def verdicts(items: list[Verdict], *, days: list[datetime.date | None]) -> list[dict]:
    """Many verdicts: written for 10,000 at a time (one release object per release, shared
    empty lists and POA fields, one answer for each verdict and date however often a batch
    repeats them), since building the answer costs as much as validating."""
    refs: dict[int, dict | None] = {}
    poa = {exempt: poa_exemption(exempt) for exempt in POA_STATUS}
    empty: tuple = ()
    built: dict[tuple[int, datetime.date | None], dict] = {}
    answers = []
    for item, day in zip(items, days, strict=True):
        key = (id(item), day)  # the items outlive this loop: an id is one verdict's
        answer = built.get(key)
        if answer is None:
            release = item.release
            ref = refs.get(id(release))
            if ref is None:
                ref = refs[id(release)] = release_ref(release)
            code = item.code
            shown = dotted(code) if code else ""
            answer = built[key] = {
                "input": item.input,
                "code": shown,
                "code_undotted": code,
                "normalised": item.input != shown,
                "exists": item.exists,
                "billable": item.billable,
                "reason": item.reason,
                "message": item.message,
                "suggestions": [suggestion(s) for s in item.suggestions]
                if item.suggestions
                else empty,
                "seventh_characters": [seventh_character(c) for c in item.seventh_characters]
                if item.seventh_characters
                else empty,
                **poa[item.poa_exempt],
                "release": ref,
                "date": day.isoformat() if day else None,
            }
        answers.append(answer)
    return answers


def no_release_verdict(text: str, *, day: datetime.date, reason: str, message: str) -> dict:
    """An item whose date of service no published release covers."""
    code = parse_code_input(text) or ""
    return {
        "input": text,
        "code": dotted(code) if code else "",
        "code_undotted": code,
        "normalised": text != (dotted(code) if code else ""),
        "exists": False,
        "billable": False,
        "reason": reason,
        "message": message,
        "suggestions": [],
        "seventh_characters": [],
        **poa_exemption(None),
        "release": None,
        "date": day.isoformat(),
    }


def change(item: CodeChange, *, successors: list[Suggestion], source: str) -> dict:
    return {
        "code": dotted(item.code),
        "code_undotted": item.code,
        "change": item.change,
        "kind": item.kind,
        "billable": item.is_billable,
        "old_title": item.old_long_title,
        "new_title": item.new_long_title,
        "old_short_title": item.old_short_title,
        "new_short_title": item.new_short_title,
        "successors": [suggestion(s) for s in successors],
        "successors_source": source,
    }
