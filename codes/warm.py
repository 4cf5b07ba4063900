"""Build the in-memory indexes of the published releases before the first request needs them:
code sets (with each header's default), title words, the Index terms the search reads, and what
code pages read (chapters, sections, notes, changes, POA lists: codes.release_data).

gunicorn calls this in its master process once the app is loaded (gunicorn.conf.py): every
worker forked from it, including those that replace recycled workers, starts with the code sets
and word indexes already built (about two seconds per release otherwise, paid by the first
requests of every worker) and shares their memory pages with the others until it writes to them.
"""

import logging
import time

from django.db import DatabaseError, connections

from codes.codeset import codeset_for
from codes.models import Release
from codes.ranked_search import hold_defaults, index_parts
from codes.release_data import release_data_for
from codes.selection import published_releases
from codes.word_index import word_index_for

logger = logging.getLogger(__name__)


def hold_published_releases() -> list[Release]:
    """Build what the process holds of each published release; the releases."""
    releases = published_releases()
    for release in releases:
        hold_defaults(codeset_for(release))
        release_data_for(release)
        word_index_for(release)
        index_parts(release, releases)  # its Index, or the one it borrows, as search reads it
    return releases


def warm_published_releases() -> None:
    started = time.perf_counter()
    try:
        releases = hold_published_releases()
    except DatabaseError:
        # The site still starts, and builds them on first use once the database is back.
        logger.warning("could not build the indexes before serving", exc_info=True)
        return
    finally:
        # A forked worker must not share the master's database connection.
        connections.close_all()
    logger.info(
        "built the indexes of %s in %.1f s",
        ", ".join(release.label for release in releases) or "no release",
        time.perf_counter() - started,
    )
