"""The questions a coder asks about a code, answered from the data of the chosen release, and
their schema.org FAQPage markup."""

import datetime
import functools
import json
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from codes.lookup import CodeDetail, HistoryRow

# Billable codes named in an answer before "and N more".
NAMED_CODES = 12


@dataclass(frozen=True)
class Question:
    question: str
    answer: str


def code_questions(detail: CodeDetail, history: list[HistoryRow]) -> list[Question]:
    code, release = detail.code, detail.release
    name = code.dotted
    questions = [
        Question(f"Is {name} billable?", _billable_answer(detail)),
        Question(
            f"What is the ICD-10-CM code for {_lower_first(code.long_title)}?",
            _code_for_title_answer(detail),
        ),
        Question(f"Where is {name} in ICD-10-CM?", _where_answer(detail)),
        Question(f"How many sub-codes does {name} have?", _family_answer(detail)),
        Question(
            f"Is {name} valid for {release.label} claims?",
            f"It exists in {release.label} (effective {long_date(release.effective_date)}) "
            + (
                "and is billable: valid on a claim."
                if code.is_billable
                else "as a header, which is not valid on a claim: use a billable code below it."
            ),
        ),
    ]
    others = [row for row in history if row.release.pk != release.pk]
    if others:
        questions.append(
            Question(
                f"Was {name} valid in other releases?",
                " ".join(_history_sentence(row) for row in others),
            )
        )
    return questions


def faq_json_ld(questions: list[Question], *, code: str, title: str, url: str) -> SafeString:
    """The FAQPage as JSON-LD, escaped for a <script> element."""
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "url": url,
        "about": {
            "@type": "MedicalCode",
            "codeValue": code,
            "codingSystem": "ICD-10-CM",
            "name": title,
        },
        "mainEntity": [
            {
                "@type": "Question",
                "name": item.question,
                "acceptedAnswer": {"@type": "Answer", "text": item.answer},
            }
            for item in questions
        ],
    }
    text = json.dumps(data, ensure_ascii=False)  # compact: the C encoder, a tenth of the time
    # As django.utils.html.json_script does: nothing in the data can close the element.
    escaped = text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    return mark_safe(escaped)  # noqa: S308 - escaped above


def _billable_answer(detail: CodeDetail) -> str:
    code, release = detail.code, detail.release
    if code.is_billable:
        return f"Yes. {code.dotted} is billable in {release.label}: valid on a claim."
    return (
        f"No. {code.dotted} is a header in {release.label}, not valid on a claim. "
        f"Use one of the {detail.billable_descendant_count:,} billable codes below it: "
        + _named(detail)
        + "."
    )


def _code_for_title_answer(detail: CodeDetail) -> str:
    code = detail.code
    answer = f'{code.dotted} is "{code.long_title}" in {detail.release.label}'
    if code.is_billable:
        return answer + "."
    return answer + f", a header: code one of {_named(detail)} instead."


def _where_answer(detail: CodeDetail) -> str:
    code = detail.code
    parts = []
    if code.chapter:
        parts.append(
            f"chapter {code.chapter.number} ({code.chapter.code_range}) {code.chapter.title}"
        )
    if code.section:
        parts.append(f"section {code.section.section_id} {code.section.title}")
    parts += [f"{a.dotted} {a.long_title}" for a in detail.ancestors]
    if not parts:
        return f"{code.dotted} is a category of ICD-10-CM."
    return f"{code.dotted} is in " + ", then ".join(parts) + "."


def _family_answer(detail: CodeDetail) -> str:
    code = detail.code
    children = len(detail.children)
    if not children:
        return f"None: {code.dotted} has no sub-codes, it is the most specific code."
    return (
        f"{code.dotted} has {children} direct sub-code{'s' if children != 1 else ''}; "
        f"{detail.descendant_count:,} codes below it in all, "
        f"{detail.billable_descendant_count:,} of them billable."
    )


def _history_sentence(row: HistoryRow) -> str:
    if not row.present:
        return f"{row.release.label}: not in the code set."
    status = "billable" if row.is_billable else "a header (not billable)"
    return f"{row.release.label}: {status}."


def _named(detail: CodeDetail) -> str:
    names = [c.dotted for c in detail.billable_below[:NAMED_CODES]]
    rest = detail.billable_descendant_count - len(names)
    return ", ".join(names) + (f" and {rest:,} more" if rest > 0 else "")


@functools.lru_cache(maxsize=256)  # a few dates (the releases'), on every page; strftime is slow
def long_date(day: datetime.date) -> str:
    """October 1, 2025."""
    return f"{day:%B} {day.day}, {day.year}"


def _lower_first(title: str) -> str:
    # "Persons encountering ..." -> "persons encountering ..."; keep "COVID-19", "HIV".
    first = title.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        return title[0].lower() + title[1:]
    return title
