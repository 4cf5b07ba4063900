"""Benchmark: the site and the API served by gunicorn with production settings, under load.

    .venv/bin/python bench/serve.py [--database postgres|sqlite|both] [--seconds 10]
                                    [--connections 1,16,64] [--mixed-seconds 60]
                                    [--memory-requests 100000]

For each database (a temporary PostgreSQL database, or a fresh SQLite file) it migrates, loads
every bundled release (make data) and starts gunicorn with the project's gunicorn.conf.py
(DEBUG off, a SECRET_KEY, no TLS redirect on loopback, API rate limits off, worker recycling off
so that the same workers are measured throughout). Load comes from wrk, a separate process, with
bench/wrk_requests.lua picking a random request of each scenario's list for every request; a
cold row (first visits) sends its list in order instead, each line once, the lines being real
codes, words and typed starts that no other list has (requests past the end of the list, if it
runs out, are repeats, counted in the table):

  bare          GET /health/                        a fixed string through the same stack: the
                                                    ceiling every other figure is a share of
  code page     GET /codes/<code>/                  random real codes of the latest release
  search page   GET /search/?q=<words>              one or two words of random real titles
  api detail    GET /api/v1/codes/<code>/?fy=2026   random real codes
  autocomplete  GET /api/v1/autocomplete/?q=<text>  starts of real codes (1-5 characters), and
                                                    title words as typed: the last unfinished
  index page    GET /index/diseases/<L>/<term>/     random main terms of FY2017's Index (with
                ?release=FY2017                     everything below them), and FY2017's code
                /codes/<code>/?release=FY2017       pages (with their Index entries), half each
  validate 10k  POST /api/v1/validate/              10,000 codes: 9,000 billable, 1,000 not

At each number of connections the bare view is read (for half the time of a row) before and
after every warm row, and a warm row's share is its req/s over the mean of the two readings
around it: figures taken seconds apart, so a machine whose speed drifts during the run (other
load, CPU frequency) skews the share little. Cold rows, which have no share to meet, are
compared with the mean of all bare readings at that number. Then cached code pages at 16
connections alone, and again beside a client posting one validation after another: what a
validation takes from the pages (issue #22: no more than its own worker). Then comes the mixed
load of issue #7: every scenario at once (weighted like real traffic) for --mixed-seconds at
the highest number of connections, continued until the workers have served --memory-requests
requests since the first memory reading, then --memory-requests more: the workers' resident
memory is read after warming up and after each stretch. The first stretch fills each worker's
bounded local cache of answers; the second shows whether anything else grows.

Prints a table and saves it as JSON in bench/results/. wrk shares the machine's cores with the
server, so the figures are a floor, comparable between runs on the same machine.
"""

import argparse
import csv
import datetime
import io
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WRK_SCRIPT = REPO / "bench" / "wrk_requests.lua"
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# Answers that are cached (codes.response_cache): measured warm, and cold (first visits).
CACHED = ["code page", "search page", "api detail", "autocomplete", "index page"]
SCENARIOS = ["bare", *CACHED, "validate 10k"]  # warmed up before measuring
WARM_CODES = 1_000  # codes whose answers are cached before measuring
# FY2017 Index pages and code pages for each number of connections (the other cold lists share
# out the whole release); requests past the end of a cold list are counted as repeats.
INDEX_COLD_LINES = 5_000
# Mixed traffic: how many lines of each scenario go into the mix (validate 10k is one claim
# batch in a thousand requests; each is worth 10,000 lookups).
MIX = {
    "code page": 300,
    "search page": 150,
    "api detail": 300,
    "autocomplete": 250,
    "index page": 100,
    "validate 10k": 1,
}
TITLE_STOPWORDS = {"with", "without", "other", "unspecified", "specified", "and", "of", "the"}

# The issue's targets (PostgreSQL, this 2-core machine).
TARGETS = {
    "code page": 0.50,  # share of the bare view's req/s at the same connections
    "api detail": 0.60,
    "search page": 0.60,  # warm, with the Index terms in memory (issue #17)
    "autocomplete_p95_ms": 20,  # at 16 connections
    "validate_ms": 300,  # one request of 10,000 codes, p50 at 1 connection
    # "Worker memory flat": what a worker may grow over the second stretch of mixed requests,
    # once its bounded local cache is full (a leak of a few hundred bytes a request shows).
    "settled_growth_mb": 5,
}
# Issue #22: first visits (the cold rows), share of the bare view at 1 and 16 connections; the
# mixed load's p99 at the highest number; each worker's memory with every release warm.
COLD_TARGETS = {"code page": 0.25, "api detail": 0.30, "search page": 0.30, "autocomplete": 0.40}
COLD_TARGET_CONNECTIONS = (1, 16)
MIXED_P99_MS = 150
WORKER_MEMORY_MB = 400


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
        "GUNICORN_MAX_REQUESTS": "0",  # no recycling: a leak must show in the memory reading
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    gunicorn = Path(PYTHON).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "icdsite.wsgi"],
        cwd=REPO,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def worker_memory(server: subprocess.Popen) -> dict[int, int]:
    """Resident memory (KB) of each gunicorn worker: the master's children."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    memory = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                memory[pid] = int(line.split()[1])
    return memory


def request_lists(port: int, folder: Path, levels: list[int], seed: int = 2026) -> dict:
    """Files of requests, made of the latest release's real codes and titles.

    "warm" lists are requested once before measuring, so that their answers are in the shared
    cache (a page seen before, as most are on a busy site). "cold" lists share out the rest of
    the release's codes (and the words and starts of their titles) between the numbers of
    connections, each line in one list only: wrk sends a cold list in order, so every request
    is a first visit, and the page is built, until the list runs out.
    """
    url = f"http://127.0.0.1:{port}/api/v1/releases/FY2026/download.csv"
    with urllib.request.urlopen(url, timeout=120) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    rng = random.Random(seed)
    shuffled = rng.sample(rows, len(rows))
    batch = validate_batch(rows, rng, size=10_000)
    body = folder / "validate.json"
    body.write_text(json.dumps({"codes": batch, "fy": "2026"}))

    lines = {"bare": ["GET /health/"], "validate 10k": [f"POST /api/v1/validate/ {body}"]}
    index_pages = index_lines(port, rng, WARM_CODES // 2 + INDEX_COLD_LINES * len(levels))
    lines.update(scenario_lines(shuffled[:WARM_CODES], rng))
    lines["index page"] = index_pages[: WARM_CODES // 2]
    # A cold line is one no other list has (titles share words, codes share their starts).
    # Three phrases of a title, and a third of the lines at one connection's share of the
    # others: a fast host answers over ten thousand first visits in a row at 16 connections,
    # and a list that runs out is answered from the cache past its end.
    sent = {line for content in lines.values() for line in content}
    weights = [1 if connections == 1 else 3 for connections in levels]
    for name, content in scenario_lines(shuffled[WARM_CODES:], rng, phrases=3).items():
        fresh = [line for line in dict.fromkeys(content) if line not in sent]
        rng.shuffle(fresh)
        start = 0
        for weight, connections in zip(weights, levels, strict=True):
            end = start + len(fresh) * weight // sum(weights)
            lines[f"{name} cold@{connections}"] = fresh[start:end]
            start = end
    for number, connections in enumerate(levels):
        first = WARM_CODES // 2 + number * INDEX_COLD_LINES
        lines[f"index page cold@{connections}"] = index_pages[first : first + INDEX_COLD_LINES]
    lines["mixed"] = mixed_lines(lines, MIX, rng)
    files = {}
    for name, content in lines.items():
        files[name] = folder / f"{name.replace(' ', '-').replace('@', '-')}.txt"
        files[name].write_text("\n".join(content) + "\n")
    return {"files": files, "warm": {name: lines[name] for name in CACHED}}


def index_lines(port: int, rng: random.Random, wanted: int) -> list[str]:
    """`wanted` of FY2017's main-term pages and code pages, shuffled, half each (the site's Index
    pages and the code pages that list Index entries; fewer term pages if the Index has fewer
    main terms)."""
    terms = []
    for page in range(1, 80):
        url = (
            f"http://127.0.0.1:{port}/api/v1/index/?part=diseases&release=FY2017"
            f"&page_size=100&page={page}"
        )
        with urllib.request.urlopen(url, timeout=120) as response:
            answer = json.loads(response.read())
        terms += [urllib.parse.urlsplit(r["page_url"]).path for r in answer["results"]]
        if not answer["next"]:
            break
    url = f"http://127.0.0.1:{port}/api/v1/releases/FY2017/download.csv"
    with urllib.request.urlopen(url, timeout=120) as response:
        codes = [row["dotted"] for row in csv.DictReader(io.StringIO(response.read().decode()))]
    terms = rng.sample(terms, min(wanted // 2, len(terms)))
    pages = [f"GET {path}?release=FY2017" for path in terms]
    codes = rng.sample(codes, wanted - len(terms))
    pages += [f"GET /codes/{code}/?release=FY2017" for code in codes]
    rng.shuffle(pages)
    return pages


def validate_batch(rows: list[dict], rng: random.Random, *, size: int) -> list[str]:
    """`size` codes to validate, shuffled: nine in ten are billable codes of the release's rows
    (the download's CSV), the rest a header, unknown codes and a malformed one."""
    batch = rng.sample([r["dotted"] for r in rows if r["billable"] == "1"], size * 9 // 10)
    batch += ["Z53", "W19A", "T78.07XA", "S72.001", "XYZ12"] * (size // 50)
    rng.shuffle(batch)
    return batch


def mixed_lines(lines: dict[str, list[str]], mix: dict[str, int], rng: random.Random) -> list[str]:
    """`count` lines of each scenario named in `mix`, drawn from its list (repeated when it is
    shorter): a file of them makes wrk send those scenarios at once, in those proportions."""
    return [line for name, count in mix.items() for line in rng.sample(lines[name] * count, count)]


def scenario_lines(
    rows: list[dict], rng: random.Random, *, phrases: int = 1
) -> dict[str, list[str]]:
    """Request lines of the cached scenarios, from rows of the release's CSV download; of each
    title up to `phrases` word phrases (one or two words, from different starts)."""
    codes = [row["dotted"] for row in rows]
    words = []
    for row in rows:
        title = [w for w in row["long_title"].lower().replace(",", " ").split() if w.isalpha()]
        title = [w for w in title if len(w) > 3 and w not in TITLE_STOPWORDS]
        for start in rng.sample(range(len(title)), min(phrases, len(title))):
            words.append(" ".join(title[start : start + rng.choice((1, 2))]))
    typed = [code[: rng.randint(1, 5)] for code in codes[: len(codes) // 2]]
    for phrase in words[: len(words) // 2]:
        # What a type-ahead has been sent: the words typed so far, the last one unfinished.
        *done, last = phrase.split()
        typed.append(" ".join([*done, last[: rng.randint(3, len(last))]]))

    def quoted(text: str) -> str:
        return urllib.parse.quote(text, safe="")

    return {
        "code page": [f"GET /codes/{code}/" for code in codes],
        "search page": [f"GET /search/?q={quoted(w)}" for w in words],
        "api detail": [f"GET /api/v1/codes/{code}/?fy=2026" for code in codes],
        "autocomplete": [f"GET /api/v1/autocomplete/?q={quoted(t)}" for t in dict.fromkeys(typed)],
    }


def prime(port: int, warm: dict[str, list[str]]) -> None:
    """Request every warm line once, from a few threads (each answer is cached once, in Redis)."""
    paths = [line.split()[1] for name in CACHED for line in warm[name]]

    def get(path: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(get, paths))


def wrk(port: int, requests: Path, *, connections: int, seconds: float, walk: bool = False) -> dict:
    command = wrk_command(port, requests, connections=connections, seconds=seconds, walk=walk)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    drained(port)
    return wrk_result(output, connections)


def wrk_command(
    port: int, requests: Path, *, connections: int, seconds: float, walk: bool = False
) -> list[str]:
    """wrk sending the lines of `requests`: random lines, or (walk) each line once, in order."""
    threads = min(2, connections)
    return [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds:g}s",
        "--timeout=30s",
        f"--script={WRK_SCRIPT}",
        f"http://127.0.0.1:{port}",
        "--",
        str(requests),
        *(["walk", str(threads)] if walk else []),
    ]


def wrk_result(output: str, connections: int) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(raw[k] for k in raw if k.endswith("_errors") or k == "timeouts")
    return {
        "connections": connections,
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "error_detail": {k: raw[k] for k in raw if k.endswith("_errors") or k == "timeouts"},
        "kb_per_response": raw["bytes"] / max(raw["requests"], 1) / 1024,
        "repeated": raw["repeated"],
    }


def drained(port: int, *, quick_ms: float = 50, limit: float = 120) -> None:
    """Wait until the server has answered what the last wrk run left behind: wrk stops after
    its time, but requests it had sent (10,000-code validations: seconds of work) are still
    answered, and the next run would start behind them."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=limit):
            pass
        if (time.monotonic() - started) * 1000 < quick_ms:
            return
        time.sleep(0.2)


def measure(name: str, database_url: str, options: argparse.Namespace) -> dict:
    env = environment(database_url)
    if options.redis:
        env["REDIS_URL"] = options.redis
        import redis

        redis.Redis.from_url(options.redis).flushdb()
    print(f"{name}: migrating and loading the bundled releases...", file=sys.stderr)
    manage(env, "migrate", "--no-input")
    manage(env, "load_bundled_releases")
    port = free_port()
    server = start_server(env, port)
    levels = options.connections
    try:
        with tempfile.TemporaryDirectory() as folder:
            lists = request_lists(port, Path(folder), levels)
            files = lists["files"]
            print(f"{name}: warming every worker up, caching the warm lists...", file=sys.stderr)
            for scenario in SCENARIOS:
                wrk(port, files[scenario], connections=8, seconds=2)
            prime(port, lists["warm"])
            memory_before = worker_memory(server)
            served = 0
            runs = []
            for connections in levels:
                level = measure_level(name, port, files, connections, options.seconds)
                runs += level
                served += sum(run["requests"] for run in level)
            contention = beside_validation(name, port, files, options.seconds)
            top = max(levels)
            print(
                f"{name}: mixed load at {top} for {options.mixed_seconds:g} s...", file=sys.stderr
            )
            mixed = wrk(port, files["mixed"], connections=top, seconds=options.mixed_seconds)
            mixed["bare_rps"] = statistics.mean(
                r["rps"] for r in runs if r["scenario"] == "bare" and r["connections"] == top
            )
            served += mixed["requests"]
            more = mixed_until(port, files["mixed"], top, options.memory_requests - served)
            served += more["requests"]
            memory_after = worker_memory(server)
            # A second stretch, once every worker's local cache has filled: a leak grows here.
            print(f"{name}: {options.memory_requests:,} more mixed requests...", file=sys.stderr)
            again = mixed_until(port, files["mixed"], top, options.memory_requests)
            memory_settled = worker_memory(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "database": name,
        "cache": "Redis" if options.redis else "local memory",
        "workers": len(memory_before),
        "runs": runs,
        "mixed": {"scenario": "mixed", **mixed},
        "beside_validation": contention,
        "mixed_errors_after": more["errors"] + again["errors"],
        "memory": {
            "requests_between_readings": served,
            "requests_in_second_stretch": again["requests"],
            "before_kb": memory_before,
            "after_kb": memory_after,
            "settled_kb": memory_settled,
        },
    }


def beside_validation(name: str, port: int, files: dict[str, Path], seconds: float) -> dict:
    """What validations of 10,000 codes, one after another, take from cached code pages at 16
    connections: the pages alone, then the same with a client posting validations all the time
    (one connection: one worker busy with them). The pages keep their share when they lose no
    more than that worker: (workers - 1) / workers of their rate alone."""
    print(f"{name}: code pages beside a validation at a time...", file=sys.stderr)
    alone = wrk(port, files["code page"], connections=16, seconds=seconds)
    validating = subprocess.Popen(
        wrk_command(port, files["validate 10k"], connections=1, seconds=seconds + 2),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(1)  # the first validation under way
    beside = wrk(port, files["code page"], connections=16, seconds=seconds)
    validations = wrk_result(validating.communicate()[0], 1)
    drained(port)
    return {"alone": alone, "beside": beside, "validations": validations}


def mixed_until(port: int, requests: Path, connections: int, count: int) -> dict:
    """Send the mixed load in 30-second runs until at least `count` requests were served."""
    total = {"requests": 0, "errors": 0}
    while total["requests"] < count:
        run = wrk(port, requests, connections=connections, seconds=30)
        total = {key: total[key] + run[key] for key in total}
    return total


def measure_level(
    name: str, port: int, files: dict[str, Path], connections: int, seconds: float
) -> list[dict]:
    """Every scenario at one number of connections, a bare reading before and after each warm
    row; each row but the bare ones carries its bare reference (`bare_rps`)."""
    runs = []

    def row(label: str, requests: str, duration: float, walk: bool = False) -> dict:
        print(f"{name}: {label} at {connections}...", file=sys.stderr)
        run = wrk(port, files[requests], connections=connections, seconds=duration, walk=walk)
        runs.append({"scenario": label, **run})
        return runs[-1]

    readings = [row("bare", "bare", bare_seconds(seconds))["rps"]]
    for scenario in CACHED:
        warm = row(scenario, scenario, seconds)
        readings.append(row("bare", "bare", bare_seconds(seconds))["rps"])
        warm["bare_rps"] = statistics.mean(readings[-2:])
    for scenario in CACHED:
        cold = row(f"{scenario} cold", f"{scenario} cold@{connections}", seconds, walk=True)
        cold["bare_rps"] = statistics.mean(readings)
    row("validate 10k", "validate 10k", seconds)  # one big request: no share of the bare view
    return runs


def bare_seconds(seconds: float) -> int:
    """Half a row's time for a bare reading, in whole seconds (wrk takes no fractions)."""
    return max(1, round(seconds / 2))


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{POSTGRES_SERVER}/postgres", "-qc", sql], check=True, capture_output=True
    )


def report(result: dict, options: argparse.Namespace) -> list[str]:
    lines = [
        f"{result['database']}: gunicorn {result['workers']} sync workers, cache in "
        f"{result['cache']}, wrk "
        f"{options.seconds:g} s per row ({bare_seconds(options.seconds)} s per bare reading); "
        "% bare is "
        "req/s over the bare reference: the mean of the bare readings around a warm row, of all "
        "at that number of connections for the others; repeats: requests of a cold row past the "
        "end of its list (answered from the cache)",
        f"{'scenario':17} {'conns':>5} {'req/s':>8} {'bare ref':>8} {'% bare':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>6} {'KB/resp':>8} {'repeats':>7}",
    ]
    for run in [*result["runs"], result["mixed"]]:
        if "bare_rps" in run:
            reference = f"{run['bare_rps']:8.1f} {run['rps'] / run['bare_rps']:7.0%}"
        else:
            reference = f"{'':8} {'':7}"
        lines.append(
            f"{run['scenario']:17} {run['connections']:5} {run['rps']:8.1f} {reference} "
            f"{run['p50_ms']:8.1f} {run['p95_ms']:8.1f} {run['p99_ms']:8.1f} "
            f"{run['errors']:6} {run['kb_per_response']:8.1f}"
            + (f" {run['repeated']:7}" if run["scenario"].endswith(" cold") else "")
        )
    contention = result["beside_validation"]
    alone, beside = contention["alone"], contention["beside"]
    lines.append(
        f"code pages at 16 beside validations: {beside['rps']:,.0f} req/s "
        f"({beside['rps'] / alone['rps']:.0%} of {alone['rps']:,.0f} alone), p50 "
        f"{beside['p50_ms']:.1f} ms, p99 {beside['p99_ms']:.1f} ms (alone {alone['p99_ms']:.1f}); "
        f"{contention['validations']['requests']} validations, p50 "
        f"{contention['validations']['p50_ms']:.0f} ms"
    )
    memory = result["memory"]
    before, after, settled = (memory[key] for key in ("before_kb", "after_kb", "settled_kb"))
    lines.append(
        f"worker memory (RSS of {result['workers']} workers, MB): {total_mb(before):.0f} after "
        f"warm-up, {total_mb(after):.0f} after {memory['requests_between_readings']:,} requests, "
        f"{total_mb(settled):.0f} after {memory['requests_in_second_stretch']:,} more; per worker "
        + ", ".join(
            f"{before[pid] // 1024}->{after.get(pid, 0) // 1024}->{settled.get(pid, 0) // 1024}"
            for pid in sorted(before)
        )
    )
    return lines


def total_mb(memory_kb: dict[int, int]) -> float:
    return sum(memory_kb.values()) / 1024


def targets(result: dict) -> list[str]:
    runs = {(r["scenario"], r["connections"]): r for r in result["runs"]}
    lines = []
    for connections in sorted({c for _, c in runs}):
        for scenario in ("code page", "api detail", "search page"):
            run = runs[(scenario, connections)]
            share = run["rps"] / run["bare_rps"]
            verdict = "met" if share >= TARGETS[scenario] else "missed"
            lines.append(
                f"  {scenario} at {connections}: {share:.0%} of bare "
                f"(target {TARGETS[scenario]:.0%}): {verdict}"
            )
    if ("autocomplete", 16) in runs:
        p95 = runs[("autocomplete", 16)]["p95_ms"]
        verdict = "met" if p95 < TARGETS["autocomplete_p95_ms"] else "missed"
        lines.append(f"  autocomplete p95 at 16: {p95:.1f} ms (target < 20 ms): {verdict}")
    if ("validate 10k", 1) in runs:
        p50 = runs[("validate 10k", 1)]["p50_ms"]
        verdict = "met" if p50 < TARGETS["validate_ms"] else "missed"
        lines.append(f"  validate 10,000 codes p50 at 1: {p50:.0f} ms (target < 300 ms): {verdict}")
    for connections in COLD_TARGET_CONNECTIONS:
        for scenario, target in COLD_TARGETS.items():
            run = runs.get((f"{scenario} cold", connections))
            if run is None:
                continue
            share = run["rps"] / run["bare_rps"]
            verdict = "met" if share >= target else "missed"
            if run["repeated"]:
                verdict += f" ({run['repeated']:,} of {run['requests']:,} requests were repeats)"
            lines.append(
                f"  {scenario} cold at {connections}: {share:.0%} of bare (target {target:.0%}): "
                f"{verdict}"
            )
    mixed = result["mixed"]
    verdict = "met" if mixed["p99_ms"] < MIXED_P99_MS else "missed"
    lines.append(
        f"  mixed p99 at {mixed['connections']}: {mixed['p99_ms']:.0f} ms "
        f"(target < {MIXED_P99_MS} ms): {verdict}"
    )
    top = max(c for _, c in runs)
    errors = sum(r["errors"] for r in result["runs"] if r["connections"] == top)
    errors += result["mixed"]["errors"] + result["mixed_errors_after"]
    lines.append(
        f"  errors at {top} connections: {errors} (target 0): {'met' if not errors else 'missed'}"
    )
    memory = result["memory"]
    growth = max(
        (memory["settled_kb"].get(pid, 0) - kb) / 1024 for pid, kb in memory["after_kb"].items()
    )
    verdict = "met" if growth < TARGETS["settled_growth_mb"] else "missed"
    lines.append(
        f"  worker memory over the second {memory['requests_in_second_stretch']:,} requests: "
        f"{growth:+.1f} MB at most per worker (target flat, < "
        f"{TARGETS['settled_growth_mb']} MB): {verdict}"
    )
    contention = result["beside_validation"]
    kept = contention["beside"]["rps"] / contention["alone"]["rps"]
    share = (result["workers"] - 1) / result["workers"]
    verdict = "met" if kept >= share else "missed"
    lines.append(
        f"  code pages beside validations: {kept:.0%} of their rate alone (target >= {share:.0%}, "
        f"all but the validating worker's share): {verdict}"
    )
    largest = max(memory["settled_kb"].values()) / 1024
    verdict = "met" if largest < WORKER_MEMORY_MB else "missed"
    lines.append(
        f"  largest worker at the end: {largest:.0f} MB (target < {WORKER_MEMORY_MB} MB): {verdict}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["postgres", "sqlite", "both"], default="postgres")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--connections", type=lambda s: [int(c) for c in s.split(",")], default=[1, 16, 64]
    )
    parser.add_argument("--mixed-seconds", type=float, default=60)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/15",
        help="the shared cache, as in production (flushed first); '' for local memory",
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    results = []
    if options.database in ("postgres", "both"):
        database = f"icdsite_bench_serve_{os.getpid()}"
        psql(f"CREATE DATABASE {database}")
        try:
            results.append(measure("PostgreSQL", f"{POSTGRES_SERVER}/{database}", options))
        finally:
            psql(f"DROP DATABASE IF EXISTS {database}")
    if options.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            results.append(measure("SQLite", f"sqlite:///{folder}/bench.sqlite3", options))

    print(
        f"Serving benchmark, {datetime.date.today()}: {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    for result in results:
        print("\n".join(report(result, options)))
        print("targets:")
        print("\n".join(targets(result)))
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"serve-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"options": vars(options), "results": results}, indent=2))
    print(f"saved {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
