"""Benchmark: how often the search puts first the code a coder means.

    .venv/bin/python bench/search_relevance.py [QUERY_FILE ...] [--release FY2026] [--misses]

Runs every query of each file (default: ../shared/search/dev-queries.tsv, and this project's
bench/queries/second-set.tsv) through the API's search, `GET /api/v1/codes/?q=` (in process,
Django's test client, on the database DATABASE_URL names, with the bundled releases loaded if
they are not), and prints top-1, top-5 and MRR@10, overall and per kind of query, then the
queries whose first answer is not the one expected (with what came first and why), and the
p50 and p95 time of one search answered from scratch (no cached answer). Then the same queries
as typed into a search box, through the API's autocomplete (`GET /api/v1/autocomplete/?q=`):
whole, and with the last word cut to its first four letters (queries whose last word is
longer): top-1 and top-5 of what the box offers before the search is sent.

A query file has one query a line: query TAB the acceptable codes (dotted, space-separated,
the first the one a coder puts first) [TAB kind]. Without a kind column the kind is read from
the query: an abbreviation or lay term of codes/data/search_terms.tsv, a misspelling (a word no
title, inclusion term or Index term has), a poisoning (drug-table words), a neoplasm (behaviour
words), an encounter (a Z code expected), else a clinical phrase.
"""

import argparse
import datetime
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILES = [
    REPO.parent / "shared" / "search" / "dev-queries.tsv",
    REPO / "bench" / "queries" / "second-set.tsv",
]


def setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.API_ANON_RATE = settings.API_USER_RATE = ""
    settings.RESPONSE_CACHE_SECONDS = 0  # every search answered from scratch
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    call_command("load_bundled_releases", stdout=io.StringIO())


def read_queries(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        rows.append(
            {
                "query": fields[0],
                "expected": fields[1].split(),
                "kind": fields[2] if len(fields) > 2 else "",
            }
        )
    return rows


def kind_of(row: dict) -> str:
    from codes.ranked_search import BEHAVIOUR, DRUG_INTENT
    from codes.search_terms import QUERY_STOPWORDS, terms
    from codes.word_index import tokens

    if row["kind"]:
        return row["kind"]
    words = tuple(w for w in tokens(row["query"]) if w not in QUERY_STOPWORDS)
    curated = terms().get(words)
    if curated is not None:
        return "abbreviation" if curated.kind == "abbreviation" else "lay words"
    if any(w in DRUG_INTENT for w in words):
        return "poisoning"
    if any(w in BEHAVIOUR for w in words):
        return "neoplasm"
    if row["expected"][0].startswith("Z"):
        return "encounter"
    if any(not known(w) for w in words):
        return "misspelling"
    return "clinical phrase"


def known(word: str) -> bool:
    from codes.ranked_search import is_known_word
    from codes.selection import published_releases

    published = published_releases()
    return is_known_word(published[0], word, published)


def in_release(rows: list[dict], label: str) -> list[dict]:
    """The queries whose acceptable codes exist in the release, each with only those: the
    files name FY2026's codes, and another release is measured on what it has."""
    from codes.codeset import codeset_for
    from codes.models import Release

    codeset = codeset_for(Release.objects.get(label=label))
    kept = []
    for row in rows:
        expected = [code for code in row["expected"] if code.replace(".", "") in codeset]
        if expected:
            kept.append({**row, "expected": expected})
    return kept


def run(rows: list[dict], release: str, client) -> list[dict]:
    results = []
    for row in rows:
        started = time.perf_counter()
        response = client.get(
            "/api/v1/codes/", {"q": row["query"], "release": release, "page_size": 10}
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(
                f"{row['query']!r}: HTTP {response.status_code} {response.content[:300]!r}"
            )
        answer = response.json()
        got = [r["code"] for r in answer.get("results", [])]
        rank = next((i for i, code in enumerate(got) if code in row["expected"]), None)
        results.append(
            {
                **row,
                "kind": kind_of(row),
                "got": got,
                "why": answer["results"][0]["why"] if got else "",
                "rank": rank,
                "ms": elapsed * 1000,
            }
        )
    return results


# The letters of the last word typed so far, in the typed-in-the-box measure.
TYPED_LETTERS = 4


def typed(rows: list[dict], release: str, client) -> dict[str, list[dict]]:
    """Each query's rank in the autocomplete's answers: typed whole, and with the last word
    cut to TYPED_LETTERS letters (only queries whose last word is longer)."""
    measured: dict[str, list[dict]] = {"whole": [], "cut": []}
    for row in rows:
        words = row["query"].split()
        texts = {"whole": row["query"]}
        if len(words[-1]) > TYPED_LETTERS:
            texts["cut"] = " ".join([*words[:-1], words[-1][:TYPED_LETTERS]])
        for how, text in texts.items():
            response = client.get("/api/v1/autocomplete/", {"q": text, "release": release})
            if response.status_code != 200:
                raise SystemExit(
                    f"{text!r}: HTTP {response.status_code} {response.content[:300]!r}"
                )
            got = [r["code"] for r in response.json()["results"]]
            rank = next((i for i, code in enumerate(got) if code in row["expected"]), None)
            measured[how].append({"query": text, "got": got, "rank": rank})
    return measured


def scores(results: list[dict]) -> dict:
    n = len(results)
    return {
        "queries": n,
        "top1": sum(r["rank"] == 0 for r in results) / n,
        "top5": sum(r["rank"] is not None and r["rank"] < 5 for r in results) / n,
        "mrr10": sum(1 / (r["rank"] + 1) for r in results if r["rank"] is not None) / n,
        "no_result": sum(not r["got"] for r in results),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--release", default="FY2026")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    setup()
    from django.test import Client

    client = Client()
    client.get("/api/v1/codes/", {"q": "warm up", "release": args.release})  # build indexes
    report = {"release": args.release, "at": datetime.datetime.now().isoformat(), "files": []}
    for path in args.files:
        if not path.exists():
            print(f"{path}: not here, skipped")
            continue
        rows = read_queries(path)
        kept = in_release(rows, args.release)
        if len(kept) < len(rows):
            skipped = len(rows) - len(kept)
            print(f"{path.name}: {skipped} queries skipped, no code of theirs in {args.release}")
        results = run(kept, args.release, client)
        overall = scores(results)
        kinds = sorted({r["kind"] for r in results})
        times = [r["ms"] for r in results]
        print(f"\n{path.name} on {args.release}: {overall['queries']} queries")
        print(f"{'kind':18} {'queries':>7} {'top-1':>7} {'top-5':>7} {'MRR@10':>7}")
        for kind in [*kinds, "all"]:
            chosen = results if kind == "all" else [r for r in results if r["kind"] == kind]
            row = scores(chosen)
            print(
                f"{kind:18} {row['queries']:7} {row['top1']:7.0%} {row['top5']:7.0%} "
                f"{row['mrr10']:7.2f}"
            )
        print(
            f"queries without a result: {overall['no_result']}; one search p50 "
            f"{statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms"
        )
        misses = [r for r in results if r["rank"] != 0]
        if misses:
            print("first answer not the expected one:")
        for r in misses if args.misses else misses[:20]:
            print(
                f"  {r['query']!r}: expected {r['expected'][0]}, got "
                f"{', '.join(r['got'][:3]) or 'nothing'} ({r['why'][:100]})"
            )
        in_the_box = typed(kept, args.release, client)
        print("typed in the search box (autocomplete):")
        for how, label in (("whole", "whole"), ("cut", f"last word {TYPED_LETTERS} letters")):
            if not in_the_box[how]:
                continue  # no query's last word is longer
            row = scores(in_the_box[how])
            print(
                f"  {label:22} {row['queries']:7} {row['top1']:7.0%} {row['top5']:7.0%} "
                f"{row['mrr10']:7.2f}"
            )
        report["files"].append(
            {
                "file": path.name,
                "overall": overall,
                "p50_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "results": results,
                "typed": {how: scores(rows) for how, rows in in_the_box.items() if rows},
                "typed_results": in_the_box,
            }
        )
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"search-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nsaved {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
