"""ICD-10-CM code forms: stored undotted once, formatted here and nowhere else."""

import re
import unicodedata

# 3 to 7 characters; a letter first, then digits or letters (C4A, QA0, T36AX1A).
UNDOTTED_CODE_RE = re.compile(r"[A-Z][0-9A-Z]{2,6}")


def dotted(code: str) -> str:
    """Display form: Z53 -> Z53, Z5301 -> Z53.01."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def undotted(text: str) -> str:
    """Normalise user input ("z53.01 ", "Z5301", "Ｚ５３") to the stored form; no validation."""
    text = _compatible(text)
    # Only ASCII is upper-cased: str.upper() makes "ı10" I10 and "ß" SS; such input stays
    # what it is, and no code has its shape.
    return (text.upper() if text.isascii() else text).replace(".", "")


def _compatible(text: str) -> str:
    """The one normalisation of every entry point (pages, API, validation, FHIR): NFKC, as a
    fullwidth or styled letter is the letter ("Ｉ１０" is I10, "ſ72.0" is s72.0), then trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


# What a person or a program may type for a code: a dot only after the category (Z53.01).
CODE_INPUT_RE = re.compile(r"([A-Za-z][0-9A-Za-z]{2})\.?([0-9A-Za-z]{0,4})")


def parse_code_input(text: str) -> str | None:
    """The undotted code for an input form ("z53.01", "Z5301 "), or None if it cannot be one."""
    text = _compatible(text)
    match = CODE_INPUT_RE.fullmatch(text)
    if match is None or text.endswith("."):
        return None
    code = (match[1] + match[2]).upper()
    return code if is_well_formed(code) else None


def is_well_formed(code: str) -> bool:
    """True for an undotted code of the ICD-10-CM shape (it may still not exist)."""
    return UNDOTTED_CODE_RE.fullmatch(code) is not None


# Codes use these characters only; digits sort before letters in C, SQLite and glibc collations.
CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest code-alphabet string above every code starting with `prefix`.

    Z53 -> Z54, Z59 -> Z5A, Z5Z -> Z6; None when there is none (ZZZ). Lets a prefix search be a
    range on the (release, code) index instead of a LIKE the index cannot serve.
    """
    stem = prefix
    while stem:
        position = CODE_ALPHABET.find(stem[-1])
        if 0 <= position < len(CODE_ALPHABET) - 1:
            return stem[:-1] + CODE_ALPHABET[position + 1]
        stem = stem[:-1]
    return None
