"""Benchmark: import a full release (Code Descriptions zip + tabular XML) on SQLite and PostgreSQL.

    .venv/bin/python bench/import_release.py [--runs 3] [--skip-postgres]

Each measurement runs in a fresh process so its peak RSS is its own. For every database it
measures, in the same run:
  index  the whole import of the FY2017 "Full XML" zip into an empty database: the tabular XML
         and the four Index parts (parse, cross-check every code and see reference, write);
  full   the whole import of FY2026 (read zips, parse, cross-check, write, diff against FY2025),
         with FY2025 already loaded by an untimed setup step;
  floor  the least any importer must do: read and parse the same files, then write the same
         code and note rows with the same bulk path (COPY / executemany) and nothing else.
It prints a table and saves it as JSON in bench/results/.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FY2025 = REPO / "data" / "cms" / "fy2025"
FY2026 = REPO / "data" / "cms" / "fy2026"
FY2017 = REPO / "data" / "cms" / "fy2017"
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def upload(folder: Path) -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in sorted(folder.iterdir())]


def worker(step: str) -> dict:
    """Runs inside the child process, with DATABASE_URL already set."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from codes.importer.run import import_release
    from codes.models import Release

    if step == "migrate":
        call_command("migrate", verbosity=0)
        return {}
    if step == "setup":
        Release.objects.filter(fiscal_year=2017).delete()
        import_release(upload(FY2025), publish=True)
        return {}

    year, folder = (2017, FY2017) if step == "index" else (2026, FY2026)
    files = upload(folder)
    Release.objects.filter(fiscal_year=year).delete()  # a fresh import, not a replacement
    started = time.perf_counter()
    if step in ("full", "index"):
        import_release(files)
    else:
        floor(files, connection, transaction)
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def floor(files, connection, transaction) -> None:
    """Parse the same files and bulk-write the same rows; then roll back."""
    from codes.importer.loader import _bulk_insert
    from codes.importer.order_file import parse_order_file
    from codes.importer.sources import ORDER, TABULAR, read_sources
    from codes.importer.tabular_xml import parse_tabular_xml
    from codes.models import Code, Note, Release

    sources = read_sources(files)
    order = parse_order_file(sources.get(ORDER).data, filename="order")
    tabular = parse_tabular_xml(sources.get(TABULAR).data, filename="xml")
    placed = {code.code: code for code in tabular.codes}
    terms = {
        c.code: "\n".join(n.text for n in c.notes if n.kind == "inclusion_term")
        for c in tabular.codes
    }
    with transaction.atomic():
        # One throwaway row for the foreign key; everything is rolled back at the end.
        release_id = Release.objects.create(
            fiscal_year=2026,
            effective_date=datetime.date(2026, 9, 30),
            label="floor",
            structure="none",
            imported_at=datetime.datetime.now(datetime.UTC),
        ).pk
        _bulk_insert(
            Code,
            ["release", "code", "short_title", "long_title", "is_billable", "kind"]
            + ["parent_code", "depth", "sequence", "inclusion_terms"],
            (
                (release_id, e.code, e.short_title, e.long_title, e.is_billable, "code")
                + (placed[e.code].parent or "", 0, e.sequence, terms[e.code])
                for e in order
            ),
        )
        _bulk_insert(
            Note,
            ["release", "code", "kind", "text", "character", "sequence"],
            (
                (release_id, code.code, note.kind, note.text, note.character, position)
                for position, (code, note) in enumerate(
                    ((c, n) for c in tabular.codes for n in c.notes), start=1
                )
            ),
        )
        transaction.set_rollback(True)


def run_child(step: str, database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "SECRET_KEY": "bench"}
    result = subprocess.run(
        [sys.executable, __file__, "--worker", step],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{step} on {database_url} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{POSTGRES_SERVER}/postgres", "-qc", sql], check=True, capture_output=True
    )


def measure(name: str, database_url: str, runs: int) -> dict:
    run_child("migrate", database_url)
    rows = {}
    samples = [run_child("index", database_url) for _ in range(runs)]
    rows["index"] = {
        "seconds": statistics.median(s["seconds"] for s in samples),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
    }
    run_child("setup", database_url)
    for step in ("floor", "full"):
        samples = [run_child(step, database_url) for _ in range(runs)]
        rows[step] = {
            "seconds": statistics.median(s["seconds"] for s in samples),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
        }
    rows["ratio"] = rows["full"]["seconds"] / rows["floor"]["seconds"]
    return {"database": name, **rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return

    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(measure("SQLite", f"sqlite:///{folder}/bench.sqlite3", args.runs))
    if not args.skip_postgres:
        database = f"icdsite_bench_{os.getpid()}"
        psql(f"CREATE DATABASE {database}")
        try:
            results.append(measure("PostgreSQL", f"{POSTGRES_SERVER}/{database}", args.runs))
        finally:
            psql(f"DROP DATABASE IF EXISTS {database}")

    print(
        f"Import of FY2026 (order + XML) and of FY2017 (tabular XML + its four Index parts), "
        f"median of {args.runs} runs, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(
        f"{'database':12} {'full s':>8} {'floor s':>8} {'ratio':>6} {'full MB':>8} "
        f"{'floor MB':>9} {'FY2017+Index s':>15} {'MB':>6}"
    )
    for row in results:
        print(
            f"{row['database']:12} {row['full']['seconds']:8.2f} {row['floor']['seconds']:8.2f} "
            f"{row['ratio']:6.2f} {row['full']['peak_rss_mb']:8.0f} "
            f"{row['floor']['peak_rss_mb']:9.0f} {row['index']['seconds']:15.2f} "
            f"{row['index']['peak_rss_mb']:6.0f}"
        )
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"import-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"runs": args.runs, "results": results}, indent=2))
    print(f"saved {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
