"""Benchmark: the API under load, served by gunicorn with production settings.

    .venv/bin/python bench/api.py [--seconds 10] [--skip-postgres] [--workers 2] [--threads 4]

For each database (a fresh SQLite file, then a temporary PostgreSQL database) it migrates and
loads the bundled FY2025 and FY2026 releases, starts gunicorn on 127.0.0.1 (DEBUG off, a
SECRET_KEY, rate limits off), warms every worker up, and measures from a separate load process
(Python threads, one keep-alive connection each) requests per second and p50/p95/p99 latency of:

  detail        GET /api/v1/codes/<code>/?fy=2026   random real codes of FY2026
  autocomplete  GET /api/v1/autocomplete/?q=<text>  prefixes of real codes and of title words
  validate      POST /api/v1/validate/              10,000 codes in one request: 9,000
                                                    billable, 1,000 not (header, placeholder,
                                                    7th character, deleted, junk)

and, in process (no HTTP), the server time of one validate of 10,000 codes. It prints a table
and saves it as JSON in bench/results/. The load process shares the machine's cores with the
server: the numbers are a floor, comparable between runs on the same machine.
"""

import argparse
import csv
import datetime
import http.client
import io
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
WORDS = ["frac", "diab", "asthm", "pneum", "smok", "preg", "hypert", "sepsis", "fall", "burn"]
# (name, concurrent connections): validate is one big request; several at once measure the
# queueing, not the work.
SCENARIOS = [("detail", 8), ("autocomplete", 8), ("validate", 1)]


def environment(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no TLS proxy in front
        "API_ANON_RATE": "",
        "API_USER_RATE": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict, *, port: int, workers: int, threads: int) -> subprocess.Popen:
    gunicorn = Path(PYTHON).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "icdsite.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=gthread",
            f"--threads={threads}",
            "--keep-alive=30",
            "--log-level=warning",
        ],
        cwd=REPO,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(port, "GET", "/api/v1/releases/")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def fetch(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def workload(port: int, seed: int = 2026) -> dict:
    """The requests of each scenario, from the release's real codes."""
    status, data = fetch(port, "GET", "/api/v1/releases/FY2026/download.csv")
    assert status == 200, status
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    rng = random.Random(seed)
    codes = [row["dotted"] for row in rows]
    sample = rng.sample(codes, 2_000)
    prefixes = [code[: rng.randint(2, 5)] for code in sample[:500]] + [
        word[: rng.randint(3, len(word))] for word in WORDS for _ in range(20)
    ]
    billable = [row["dotted"] for row in rows if row["billable"] == "1"]
    batch = claim_batch(billable, rng)
    return {
        "detail": [("GET", f"/api/v1/codes/{code}/?fy=2026", None) for code in sample],
        "autocomplete": [("GET", f"/api/v1/autocomplete/?q={q}", None) for q in prefixes],
        "validate": [
            ("POST", "/api/v1/validate/", json.dumps({"codes": batch, "fy": "2026"}).encode())
        ],
    }


def claim_batch(billable: list[str], rng: random.Random) -> list[str]:
    """10,000 codes as a claim scrubber sends them: 9,000 billable codes of the release and
    1,000 that are not (a header, a missing placeholder or 7th character, a deleted code, junk)."""
    batch = rng.sample(billable, 9_000) + ["Z53", "W19A", "T78.07XA", "S72.001", "XYZ12"] * 200
    rng.shuffle(batch)
    return batch


def load(port: int, requests: list, *, connections: int, seconds: float) -> dict:
    """Send the requests round-robin from `connections` threads for `seconds`."""
    latencies: list[float] = []
    sizes: list[int] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        position = offset
        mine, my_sizes, my_errors = [], [], 0
        while time.perf_counter() < deadline:
            method, path, body = requests[position % len(requests)]
            position += connections
            headers = {"Content-Type": "application/json"} if body else {}
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                my_errors += 1
                continue
            mine.append(time.perf_counter() - started)
            my_sizes.append(len(content))
            if response.status != 200:
                my_errors += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            sizes.extend(my_sizes)
            errors[0] += my_errors

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "connections": connections,
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "mean_bytes": statistics.mean(sizes) if sizes else 0,
    }


def load_process(port: int, seconds: float) -> dict:
    """Runs in its own process: warm up, then each scenario in turn."""
    requests = workload(port)
    for name, connections in SCENARIOS:  # every worker builds its code sets on first use
        load(port, requests[name], connections=connections * 2, seconds=3)
    return {
        name: load(port, requests[name], connections=connections, seconds=seconds)
        for name, connections in SCENARIOS
    }


def in_process() -> dict:
    """Runs with DATABASE_URL set: validate 10,000 codes through the view, no HTTP."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
    django.setup()
    from django.test import Client

    from codes.models import Code, Release

    release = Release.objects.get(label="FY2026")
    rng = random.Random(2026)
    billable = Code.objects.filter(release=release, is_billable=True)
    batch = claim_batch(list(billable.values_list("code", flat=True)), rng)
    body = json.dumps({"codes": batch, "fy": "2026"})
    client = Client(HTTP_HOST="127.0.0.1")
    timings = []
    for _ in range(12):
        started = time.perf_counter()
        response = client.post("/api/v1/validate/", body, content_type="application/json")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    warm = sorted(timings[2:])  # the first builds the code set
    return {
        "first_ms": timings[0] * 1000,
        "median_ms": statistics.median(warm) * 1000,
        "best_ms": warm[0] * 1000,
    }


def child(args: list[str], env: dict) -> dict:
    result = subprocess.run(
        [PYTHON, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(name: str, database_url: str, options: argparse.Namespace) -> dict:
    env = environment(database_url)
    print(f"{name}: migrating and loading the bundled releases...", file=sys.stderr)
    manage(env, "migrate", "--no-input")
    manage(env, "load_bundled_releases")
    port = free_port()
    server = start_server(env, port=port, workers=options.workers, threads=options.threads)
    try:
        print(f"{name}: load for {options.seconds:g} s per scenario...", file=sys.stderr)
        http_results = child(["--load", str(port), str(options.seconds)], env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    inside = child(["--in-process"], env)
    return {"database": name, "http": http_results, "validate_in_process": inside}


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{POSTGRES_SERVER}/postgres", "-qc", sql], check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--load", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load_process(int(args.load[0]), float(args.load[1]))))
        return
    if args.in_process:
        print(json.dumps(in_process()))
        return

    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            results.append(measure("SQLite", f"sqlite:///{folder}/bench.sqlite3", args))
    if not args.skip_postgres:
        database = f"icdsite_bench_api_{os.getpid()}"
        psql(f"CREATE DATABASE {database}")
        try:
            results.append(measure("PostgreSQL", f"{POSTGRES_SERVER}/{database}", args))
        finally:
            psql(f"DROP DATABASE IF EXISTS {database}")

    print(
        f"API under load: gunicorn {args.workers} workers x {args.threads} threads, "
        f"{args.seconds:g} s per scenario, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(
        f"{'database':11} {'scenario':13} {'conns':>5} {'req/s':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>6} {'KB/resp':>8}"
    )
    for row in results:
        for name, _ in SCENARIOS:
            r = row["http"][name]
            print(
                f"{row['database']:11} {name:13} {r['connections']:5} {r['rps']:8.1f} "
                f"{r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} {r['errors']:6} "
                f"{r['mean_bytes'] / 1024:8.1f}"
            )
        inside = row["validate_in_process"]
        print(
            f"{row['database']:11} validate 10,000 codes in process (no HTTP): median "
            f"{inside['median_ms']:.0f} ms, best {inside['best_ms']:.0f} ms, first (cold) "
            f"{inside['first_ms']:.0f} ms"
        )
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"api-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"options": vars(args), "results": results}, indent=2))
    print(f"saved {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
