"""Background tasks (django-tasks): the import an admin upload queues, run by a worker.

The task gets a plain run id, never a model instance: the ImportRun row holds the files'
whereabouts and is where the worker reports its stage, its progress and its heartbeat.
"""

import logging
import time

from django.db import connection
from django_tasks import task

from codes.importer.errors import ImportFileError, ReleaseNotStored
from codes.importer.run import import_release
from codes.models import AuditEvent, ImportRun
from codes.models.releases import RunTakenOver

logger = logging.getLogger(__name__)

# Where each message of import_release() and the loader puts the progress bar, by its start.
_PERCENT_BY_STAGE = (
    ("Reading", 5),
    ("Parsing the tabular XML", 10),
    ("No tabular XML: placing", 45),
    ("No tabular XML", 10),
    ("Parsing the order file", 40),
    ("Parsing the Index", 30),
    ("Parsing the External", 33),
    ("Parsing the Table", 36),
    ("Parsing the Neoplasm", 38),
    ("Cross-checking", 50),
    ("Writing", 60),
    ("Comparing", 85),
)


@task()
def run_import(run_id: int) -> str:
    """Import the files of one ImportRun; the outcome is written on the run, and audited."""
    run = ImportRun.objects.get(pk=run_id)
    if not run.claim():
        return f"import #{run_id} was no longer queued ({run.status})"
    execute_import(run)
    return run.status


def execute_import(run: ImportRun) -> None:
    """Run the one importer on the stored files, then remove them, unless the database failed
    while storing them (the run can then be retried).

    A worker declared dead while it still ran (stalled past IMPORT_STALE_AFTER) no longer owns
    its run: it stops at its next report, or records nothing when it finishes, and leaves the
    files alone, which a retry may hold by then.
    """
    actor = run.created_by_name
    keep_files = False
    try:
        release = import_release(
            run.read_files(),
            fiscal_year=run.fiscal_year,
            effective_date=run.effective_date,
            label=run.label,
            imported_by=f"{actor} (admin import #{run.pk})",
            progress=_Progress(run),
            index_of_another_year=run.index_of_another_year,
        )
    except RunTakenOver:
        logger.warning("import #%s was declared dead while it ran; it stopped", run.pk)
        return
    except ImportFileError as error:
        if isinstance(error, ReleaseNotStored) and error.connection_lost:
            # The files were fine and the loader's transaction rolled back: the same files may
            # well go in once the database is back, so they are kept for a retry.
            keep_files = True
            owned = run.fail(f"The import failed: {error}. Retry it once the database is back.")
        else:
            owned = run.fail(f"Import refused, nothing was stored: {error}")
        if not owned:
            return _taken_over(run)
        AuditEvent.record(
            AuditEvent.Action.IMPORT,
            actor=actor,
            outcome=AuditEvent.Outcome.FAILED,
            message=run.messages[-1],
            release_label=run.label,
            import_run=run,
        )
    except Exception as error:
        logger.exception("import #%s failed", run.pk)
        # Only the kind of error: its text may name server paths; the log has the details.
        owned = run.fail(
            "The import stopped on an unexpected error, nothing was stored "
            f"({type(error).__name__}; the server log has the details)."
        )
        if not owned:
            return _taken_over(run)
        AuditEvent.record(
            AuditEvent.Action.IMPORT,
            actor=actor,
            outcome=AuditEvent.Outcome.FAILED,
            message=run.messages[-1],
            release_label=run.label,
            import_run=run,
        )
    else:
        if not run.succeed(release):
            return _taken_over(run)
        AuditEvent.record(
            AuditEvent.Action.IMPORT,
            actor=actor,
            message=run.messages[-1],
            release=release,
            import_run=run,
        )
    if not keep_files:
        run.delete_files()


def _taken_over(run: ImportRun) -> None:
    logger.warning(
        "import #%s ended after it was declared dead; its outcome is not recorded", run.pk
    )


class _Progress:
    """The progress callback: logs each message on the run and reports it as the heartbeat.

    Inside the loader's transaction nothing is written: the row would only change at the
    commit, and the lock taken on it meanwhile would make the status page wait.
    """

    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.started = time.monotonic()
        self.percent = 0
        self.depth = len(connection.atomic_blocks)

    def __call__(self, message: str) -> None:
        for start, percent in _PERCENT_BY_STAGE:
            if message.startswith(start):
                self.percent = max(self.percent, percent)
                break
        else:
            self.percent = min(self.percent + 2, 95)
        self.run.messages.append(f"{time.monotonic() - self.started:5.1f}s {message}")
        if len(connection.atomic_blocks) > self.depth:
            return
        self.run.report(message, self.percent)
