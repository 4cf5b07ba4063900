"""Gunicorn configuration: `gunicorn icdsite.wsgi` (the settings come from the environment).

Sync workers, one per core plus one. Measured on a 2-core machine against 5 sync workers and
threaded workers (`gthread`, keep-alive on), every configuration served at once and measured
in turn with bench/serve.py's request files, 2 to 7 runs each, other test suites running
(load average 3 to 13); req/s and p99 as ranges, memory as the workers' RSS:

    workers          bare@16 req/s  code page@64 p99  mixed@64 req/s  mixed@64 p99   RSS
    sync, 3          5,424-6,236    23-24 ms          2,387-2,752     77-110 ms      600 MB
    sync, 5          5,372-5,938    20-32 ms          2,069-2,696     87-172 ms      990 MB
    gthread, 2 x 8   6,675-7,341    56-61 ms          2,420-3,035     195-277 ms     460 MB
    gthread, 3 x 4   6,119-7,255    36-70 ms          2,319-2,883     154-428 ms     650 MB
    gthread, 3 x 8   5,879-7,519    60-78 ms          2,306-2,455     228-495 ms     660 MB

(mixed: 20-60 s at 64 connections of cached pages and API answers with a 10,000-code validation
in every thousand requests; zero errors everywhere.) Threads serve 10-30% more requests, mostly
by keeping connections open, but their tail is two to four times longer: a connection stays with
the worker that accepted it, so while a validation holds that worker's GIL for a tenth of a
second, every connection it holds waits. A sync worker takes the next connection from the
queue all workers share, so a slow request delays only itself. Three sync workers match five
in requests per second at 1, 16 and 64 connections (PostgreSQL, Redis and the load generator
share the two cores) with 40% less memory: each worker keeps the in-memory indexes of the
releases it serves (RSS above with FY2026's; with both published releases' built before forking,
as below, ~40 MB more per worker). Where the database is across a network and requests
wait on it longer, more workers may pay (GUNICORN_WORKERS).

Sync workers need a proxy in front that buffers requests (nginx, a load balancer): a client
that connects and sends nothing holds a sync worker until `timeout` kills it (as many such
clients as workers stopped the site for 30 s). Exposed directly, run threads instead
(GUNICORN_WORKER_CLASS=gthread GUNICORN_THREADS=8, GUNICORN_WORKERS=2 on 2 cores): a gthread
worker hands a silent connection back to its poller after 5 s. Workers are recycled after a
jittered number of requests as a guard against slow leaks in third-party code.

glibc's malloc keeps a fixed mmap threshold here (see below). bench/serve.py's mixed load,
without it: the three workers 767 MB after 743,000 requests, one of them +8.7 MB over the next
124,000; with it: 746 MB after 444,000, at most +4.1 MB over the next 112,000.
"""

import ctypes
import multiprocessing
import os
import platform

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # more than 1: gthread workers
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))  # gthread only; sync closes
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # "-" for stdout; off by default
preload_app = True
# X-Forwarded-Proto is trusted by Django alone, and only with TRUST_X_FORWARDED_PROTO (settings:
# SECURE_PROXY_SSL_HEADER). gunicorn's own default trusts it from 127.0.0.1 and would mark a
# plain request secure (HSTS, secure redirects) behind that setting's back.
secure_scheme_headers = {}


def fix_mmap_threshold(size: int = 128 * 1024) -> None:
    """Keep glibc's mmap threshold at its starting 128 KB, in the master, so that every worker
    forked from it inherits the setting.

    glibc raises the threshold each time a block it had mapped is freed (up to 32 MB), so after
    a 10,000-code validation the next blocks of that size come from the heap instead, where
    small objects allocated after them keep the heap from shrinking when they are freed. Same
    as the environment variable MALLOC_MMAP_THRESHOLD_=131072, which must be set before the
    process starts and so cannot live in this file; an explicit setting of it wins.
    """
    if platform.libc_ver()[0] != "glibc" or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    m_mmap_threshold = -3  # malloc.h
    ctypes.CDLL(None).mallopt(m_mmap_threshold, size)


fix_mmap_threshold()


def when_ready(server) -> None:
    """In the master, once the app is loaded and before the first fork: build the published
    releases' in-memory indexes, so that every worker starts with them (codes/warm.py), then
    hand the memory the builds used for a while back to the system (20 MB with the bundle's
    five releases), or every worker would start with it."""
    from codes.warm import warm_published_releases

    warm_published_releases()
    if platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(None).malloc_trim(0)
