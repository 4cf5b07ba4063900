"""Per-process memory of what is built from one release's rows: code sets, word indexes.

A published release never changes, so what is built from its rows stays true until it is
re-imported. The key is the release id, its import time and the release it borrows its chapters
and sections from (codes.importer.borrowed_structure replaces them when that changes): a
re-imported or re-placed release is built anew, and its old build is dropped with the oldest.
"""

import datetime
import gc
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from codes.models import Release

Built = TypeVar("Built")

# Releases a process keeps the builds of: every release a site serves (the bundle is five: a
# few fiscal years, an April update), so that a worker never rebuilds one a request needs while
# evicting another. About 30 MB each beyond the first (they share their unchanged strings, and
# what they have in common with the release built last: codes.codeset, codes.word_index); 10 MB
# for an April update whose codes and titles are its fiscal year's.
HELD_RELEASES = 8


class ReleaseMemory(Generic[Built]):
    """`memory(release)` builds once per process and release (thread-safe), keeps `size`."""

    def __init__(self, build: Callable[[Release], Built], *, size: int = HELD_RELEASES) -> None:
        self.build = build
        self.size = size
        self._built: dict[tuple[int, datetime.datetime, int | None], Built] = {}
        self._lock = threading.Lock()

    def __call__(self, release: Release) -> Built:
        # An Index (ReleaseIndex) is kept the same way; it borrows nothing. The import time as
        # it is (a datetime keeps its hash): a code page asks sixteen times.
        borrowed_from = getattr(release, "structure_from_id", None)
        key = (release.pk, release.imported_at, borrowed_from)
        built = self._built.get(key)
        if built is None:
            with self._lock:
                built = self._built.get(key)
                if built is None:
                    built = self.build(release)
                    while len(self._built) >= self.size:
                        self._built.pop(next(iter(self._built)))
                    self._built[key] = built
                    # Hundreds of thousands of long-lived objects: moved out of the cyclic
                    # collector's sight, they no longer make each full collection (a 10,000-code
                    # validation triggers some) walk them all. Reference counting still frees a
                    # build dropped from memory.
                    gc.collect()
                    gc.freeze()
        return built

    def held(self) -> list[Built]:
        """The builds kept, oldest first: a build may share what it has in common with them."""
        return list(self._built.values())

    def clear(self) -> None:
        with self._lock:
            self._built.clear()
