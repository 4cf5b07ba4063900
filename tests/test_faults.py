"""Faults, for real, on PostgreSQL: an import whose database connection is killed midway, and a
release published while gunicorn serves the site under load.

The importer, the admin's worker and gunicorn run as processes of their own against a database
created for this module and dropped after it (tests/serving.py): the session's test database
is never touched.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.conftest import (
    FY2025_XML,
    FY2025_ZIP,
    FY2026_CONVERSION,
    FY2026_XML,
    FY2026_ZIP,
    REPO,
)
from tests.serving import DedicatedDatabase, Gunicorn, manage, manage_process, on_postgres

pytestmark = pytest.mark.skipif(
    not on_postgres(),
    reason="killing one backend (pg_terminate_backend) and serving one database to several "
    "processes at once need PostgreSQL; on SQLite, test_admin_import.py kills a worker instead",
)

FY2026_FILES = [str(FY2026_ZIP), str(FY2026_XML), str(FY2026_CONVERSION)]
FY2026_ENTRIES = 98_186


@pytest.fixture(scope="module")
def database():
    """A database of this module's own with FY2025 imported and published, as `make run`
    would leave it before FY2026 came out."""
    dedicated = DedicatedDatabase(f"icdsite_faults_{os.getpid()}")
    dedicated.create()
    try:
        dedicated.manage("migrate", "--no-input", "-v", "0")
        dedicated.manage("import_release", str(FY2025_ZIP), str(FY2025_XML), "--publish")
        yield dedicated
    finally:
        dedicated.drop()


def release_status(database: DedicatedDatabase, label: str) -> str | None:
    rows = database.query("SELECT status FROM codes_release WHERE label = %s", (label,))
    return rows[0][0] if rows else None


def code_count(database: DedicatedDatabase, label: str) -> int:
    return database.query(
        "SELECT count(*) FROM codes_code c JOIN codes_release r ON r.id = c.release_id "
        "WHERE r.label = %s",
        (label,),
    )[0][0]


def without_fy2026(database: DedicatedDatabase) -> None:
    """Each test here starts from the state it needs, whichever ran before it."""
    if release_status(database, "FY2026") is not None:
        database.manage(
            "shell",
            "-c",
            "from codes.models import Release; Release.objects.get(label='FY2026').remove()",
        )


def kill_while_copying_codes(database: DedicatedDatabase, process: subprocess.Popen) -> None:
    """Wait until the process is writing the codes (COPY, inside the loader's transaction,
    after the release, its chapters and sections), then terminate its server backend."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        backends = database.backends('COPY "codes_code"%')
        if backends:
            assert database.terminate(backends[0])
            return
        time.sleep(0.02)
    raise AssertionError(f"the import never reached its COPY of the codes ({process.poll()=})")


def stop(process: subprocess.Popen) -> tuple[str, str]:
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


# 1. The database connection lost during an import ----------------------------------------------


@pytest.fixture(scope="module")
def killed_command(database):
    """`manage.py import_release` of FY2026 whose connection is killed while it writes the
    codes: its exit status and stderr, and the release tables before and after."""
    without_fy2026(database)
    before = database.release_tables()
    process = manage_process(database.env, "import_release", *FY2026_FILES)
    try:
        kill_while_copying_codes(database, process)
        process.wait(timeout=120)
    finally:
        _, stderr = stop(process)
    return {
        "returncode": process.returncode,
        "error": stderr.strip().splitlines()[-1],
        "before": before,
        "after": database.release_tables(),
    }


def test_an_import_whose_connection_is_killed_stores_nothing_and_a_retry_succeeds(
    database, killed_command
):
    assert killed_command["returncode"] == 1, killed_command["error"]
    assert killed_command["error"].startswith("CommandError: Import failed, nothing was changed.")
    assert killed_command["after"] == killed_command["before"]
    assert release_status(database, "FY2026") is None

    retry = database.manage("import_release", *FY2026_FILES)
    assert "FY2026 (FY2026, effective 2025-10-01), Draft" in retry.stdout
    assert code_count(database, "FY2026") == FY2026_ENTRIES


def test_the_error_of_a_lost_connection_says_so_and_names_the_release(killed_command):
    error = killed_command["error"]
    assert "FY2026 was not stored: the database connection was lost while writing it" in error
    assert "refused" not in error


# The same through the admin: the upload's background task, run by a real db_worker.

QUEUE = """
import datetime, json
from pathlib import Path
from codes.models import ImportRun
from codes.tasks import run_import
paths = [Path(p) for p in {paths!r}]
run = ImportRun.objects.start(
    uploads=[(p.name, p.read_bytes()) for p in paths], fiscal_year=2026,
    effective_date=datetime.date(2025, 10, 1), label="FY2026", user=None,
)
run_import.enqueue(run.pk)
print(json.dumps(run.pk))
"""

RUNS = """
import json
from codes.models import ImportRun
print(json.dumps([
    {"status": r.status, "message": r.messages[-1], "can_retry": r.can_retry,
     "release": r.release.label if r.release else None}
    for r in ImportRun.objects.order_by("pk")
]))
"""

RETRY = """
from codes.models import ImportRun
from codes.tasks import run_import
run_import.enqueue(ImportRun.objects.get(pk={run_id}).retry(user=None).pk)
"""


def shell(env: dict, code: str):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1]) if result.stdout.strip() else None


def test_an_admin_import_whose_connection_is_killed_fails_and_can_be_retried(database, tmp_path):
    without_fy2026(database)
    uploads = tmp_path / "imports"
    env = {
        **database.env,
        "IMPORT_UPLOAD_DIR": str(uploads),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    run_id = shell(env, QUEUE.format(paths=FY2026_FILES))
    release_tables = ("Release", "Chapter", "Section", "Code", "Note", "CodeChange")
    before = {k: v for k, v in database.release_tables().items() if k in release_tables}

    worker = manage_process(env, "db_worker", "--no-reload", "--no-startup-delay")
    try:
        kill_while_copying_codes(database, worker)
        # The task itself notices: its run is failed, without waiting for a stale heartbeat.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = database.query("SELECT status FROM codes_importrun WHERE id = %s", (run_id,))
            if status[0][0] != "running":
                break
            time.sleep(0.1)
    finally:
        stop(worker)

    [run] = shell(env, RUNS)
    assert (run["status"], run["can_retry"]) == ("failed", True), run["message"]
    assert run["message"].startswith("The import failed: ")
    assert run["message"].endswith("Retry it once the database is back.")
    after = {k: v for k, v in database.release_tables().items() if k in release_tables}
    assert after == before

    shell(env, RETRY.format(run_id=run_id))
    manage(env, "db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v", "0")
    runs = shell(env, RUNS)
    assert [(r["status"], r["release"]) for r in runs] == [
        ("failed", None),
        ("succeeded", "FY2026"),
    ], runs[-1]["message"]
    assert release_status(database, "FY2026") == "draft"
    assert code_count(database, "FY2026") == FY2026_ENTRIES
    assert not any(uploads.rglob("*"))  # the retry's success removed the kept files


# 2. Publishing while the public site is under load --------------------------------------------

OLD, NEW = "FY2025", "FY2026"
REVISED = "M24.076"  # its title changed in FY2026
ADDED = "G35.A"  # new in FY2026
TITLES = {
    OLD: "Loose body in unspecified toe joints",
    NEW: "Loose body in unspecified toe joint(s)",
}
ADDED_TITLE = "Relapsing-remitting multiple sclerosis"
ENTRIES = {OLD: "97,584", NEW: "98,186"}
G35_FAMILY = {OLD: "1 code starting with G35-", NEW: "11 codes starting with G35-"}
PUBLISHED = {OLD: [OLD], NEW: [NEW, OLD]}

REQUESTS = [
    ("home", "/"),
    ("code page, revised title", f"/codes/{REVISED}/"),
    ("code page, new code", f"/codes/{ADDED}/"),
    ("search page", "/search/?q=G35-"),
    ("API code", f"/api/v1/codes/{REVISED}/"),
    ("API releases", "/api/v1/releases/"),
]
CLIENTS = 6
WARM_SECONDS = 5  # every worker builds FY2025's code set and answers from it a while
# An answer cache keyed by the published releases changes at once; a process that remembers
# which releases are published must forget within this.
STALE_AFTER_PUBLISH = 10
SETTLED_ANSWERS = 6  # the new release answered this many times in a row, for each request

PUBLISH = """
import time
from codes.models import Release
release = Release.objects.get(label="FY2026")
started = time.monotonic()
release.publish()
print(started, time.monotonic())
"""


class Mixed(Exception):
    """An answer that shows two releases, or one release with another's data."""


def one(labels: list[str], where: str) -> str:
    if len(set(labels)) != 1 or labels[0] not in (OLD, NEW):
        raise Mixed(f"{where} shows {labels}")
    return labels[0]


def page_release(html: str, kind: str, mark: str) -> str:
    """The release a page shows: its footer, its release selector's "Latest" and `mark` (a
    regular expression of the page's own) must all name the same one."""
    footer = re.findall(r"Showing <strong>([^<]+)</strong>", html)
    latest = re.findall(r"Latest \(([^)]+)\)", html)
    own = re.findall(mark, html)
    if not (footer and latest and own):
        raise Mixed(f"{kind}: no release named ({footer=}, {latest=}, {own=})")
    return one(footer + latest + own, kind)


def release_shown(kind: str, status: int, body: bytes) -> str:
    """The release an answer shows, once it is checked that all of it is that release's."""
    if kind.startswith("API"):
        answer = json.loads(body)
        label = one([answer["release"]["label"]], kind)
        if kind == "API code":
            if answer["title"] != TITLES[label]:
                raise Mixed(f"{kind}: {label} with the title {answer['title']!r}")
        elif [r["label"] for r in answer["results"]] != PUBLISHED[label]:
            raise Mixed(f"{kind}: latest {label} among {answer['results']}")
        return label
    html = body.decode()
    code_page = r"ICD-10-CM (FY\d+), effective"
    if kind == "home":
        label = page_release(html, kind, r'"release-heading">(FY\d+)')
        expected = f"<dt>Codes</dt><dd>{ENTRIES[label]}</dd>"
    elif kind == "code page, revised title":
        label = page_release(html, kind, code_page)
        expected = f'<span class="title">{TITLES[label]}</span>'
    elif kind == "code page, new code" and status == 404:
        label = page_release(html, kind, r"is not in (FY\d+)")
        expected = f"{ADDED}</span> is not in {OLD}"
    elif kind == "code page, new code":
        label = page_release(html, kind, code_page)
        expected = f'<span class="title">{ADDED_TITLE}</span>'
    else:
        label = page_release(html, kind, r"<h1>Search (FY\d+)</h1>")
        expected = G35_FAMILY[label]
    if expected not in html:
        raise Mixed(f"{kind}: {label} without {expected!r}")
    return label


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no answer at all (connection refused, reset, timeout)
    release: str | None  # OLD or NEW when the answer is consistent
    problem: str = ""


def client(server: Gunicorn, offset: int, stop_event: threading.Event, answers: list) -> None:
    """One connection sending the mix round-robin until told to stop (kept open between
    requests; gunicorn's sync workers close it after each answer and http.client reopens it)."""
    connection = server.connection()
    position = offset
    while not stop_event.is_set():
        kind, path = REQUESTS[position % len(REQUESTS)]
        position += 1
        started = time.monotonic()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            answers.append(Answer(kind, started, time.monotonic(), None, None, repr(error)))
            continue
        answer = Answer(kind, started, time.monotonic(), response.status, None)
        if response.status >= 500 or response.status not in (200, 404):
            answer.problem = f"{kind}: {response.status} {body[:300]!r}"
        else:
            try:
                answer.release = release_shown(kind, response.status, body)
            except (Mixed, ValueError, KeyError) as error:
                answer.problem = str(error)
        answers.append(answer)  # list.append is atomic: the threads share the list
    connection.close()


def settled(answers: list[Answer], after: float) -> bool:
    """Whether every request has answered from the new release its last few times."""
    for kind, _ in REQUESTS:
        latest = [a.release for a in answers if a.kind == kind and a.started > after]
        if latest[-SETTLED_ANSWERS:] != [NEW] * SETTLED_ANSWERS:
            return False
    return True


@pytest.fixture
def fy2026_draft(database):
    """FY2025 published and FY2026 imported as a draft, whichever test ran before."""
    status = release_status(database, "FY2026")
    if status is None:
        database.manage("import_release", *FY2026_FILES)
    elif status == "published":
        code = "from codes.models import Release; Release.objects.get(label='FY2026').unpublish()"
        database.manage("shell", "-c", code)
    assert release_status(database, "FY2026") == "draft"


def test_a_release_published_under_load_is_served_whole_old_or_new(database, fy2026_draft):
    # LOG_LEVEL ERROR: a 5xx is logged with its traceback, the expected 404s are not.
    server = Gunicorn({**database.env, "LOG_LEVEL": "ERROR"}, workers=3)
    answers: list[Answer] = []
    stop_event = threading.Event()
    clients = [
        threading.Thread(target=client, args=(server, n, stop_event, answers))
        for n in range(CLIENTS)
    ]
    try:
        for thread in clients:
            thread.start()
        time.sleep(WARM_SECONDS)
        # Both processes read CLOCK_MONOTONIC, which is system-wide on Linux.
        publish = database.manage("shell", "-v", "0", "-c", PUBLISH)
        publish_started, published = map(float, publish.stdout.split())
        deadline = published + STALE_AFTER_PUBLISH + 20
        while time.monotonic() < deadline and not settled(answers, published):
            time.sleep(0.2)
    finally:
        stop_event.set()
        for thread in clients:
            thread.join(timeout=60)
        server.stop()

    counts = Counter(a.release or ("5xx" if (a.status or 0) >= 500 else "error") for a in answers)
    print(
        f"\npublish under load: {len(answers)} requests, {counts[OLD]} {OLD} (old), "
        f"{counts[NEW]} {NEW} (new), {counts['5xx']} 5xx, {counts['error']} errors or mixed; "
        f"publish took {published - publish_started:.2f} s"
    )
    for kind, _ in REQUESTS:
        mine = Counter(a.release or "error" for a in answers if a.kind == kind)
        print(f"  {kind:26} {mine[OLD]:5} old {mine[NEW]:5} new {mine['error']:3} errors")

    problems = [a.problem for a in answers if a.problem]
    assert not problems, f"{len(problems)} bad answers, first: {problems[:5]}"
    assert all(a.release == OLD for a in answers if a.ended < publish_started)
    assert counts[OLD] > 10 * len(REQUESTS)  # the load ran before the publish, every request
    for kind, _ in REQUESTS:
        after = [a for a in answers if a.kind == kind and a.started > published]
        assert [a.release for a in after[-SETTLED_ANSWERS:]] == [NEW] * SETTLED_ANSWERS, kind
        # From some moment on, only the new release; that moment within the allowance.
        old_after = [a for a in after if a.release == OLD]
        if old_after:
            lag = old_after[-1].started - published
            print(f"  {kind}: old answers until {lag:.2f} s after the publish")
            assert lag <= STALE_AFTER_PUBLISH, kind
