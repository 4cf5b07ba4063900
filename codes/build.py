"""What a deploy changes besides the data: a fingerprint of the templates, static files and code.

Part of every ETag and cache key, so a new build never serves an answer made by the old one.
"""

import datetime
import hashlib
import threading
from pathlib import Path

from django.conf import settings

BUILD_SOURCES = ("templates", "jinja2", "static", "codes")

_lock = threading.Lock()
_build: tuple[str, datetime.datetime] | None = None


def build_fingerprint() -> tuple[str, datetime.datetime]:
    """A hash of the templates, static files and code, and their latest modification (once per
    process)."""
    global _build
    if _build is None:
        with _lock:
            if _build is None:
                digest = hashlib.sha256()
                latest = 0.0
                base = Path(settings.BASE_DIR)
                for folder in BUILD_SOURCES:
                    for path in sorted((base / folder).rglob("*")):
                        if path.is_file() and path.suffix in {".py", ".html", ".css", ".js"}:
                            digest.update(path.read_bytes())
                            latest = max(latest, path.stat().st_mtime)
                _build = (
                    digest.hexdigest()[:16],
                    datetime.datetime.fromtimestamp(int(latest), tz=datetime.UTC),
                )
    return _build
