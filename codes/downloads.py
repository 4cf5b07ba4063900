"""The Content-Disposition of a download (RFC 6266): a plain ASCII `filename` every client reads,
and the exact name as `filename*` (RFC 8187), so that no label or filter breaks the header."""

import re
from urllib.parse import quote

_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._]+")  # a run of them, hyphens included, is one hyphen


def attachment(filename: str) -> str:
    fallback = _UNSAFE_RE.sub("-", filename).strip("-.") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_name(release_label: str, *parts: str, extension: str) -> str:
    """ "icd10cm-FY2026-changes-deleted.csv": the release, then what of it the file holds (empty
    parts, filters not given, are left out)."""
    words = ["icd10cm", "-".join(release_label.split()), *filter(None, parts)]
    return f"{'-'.join(words)}.{extension}"
