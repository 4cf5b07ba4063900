"""Gunicorn configuration: `gunicorn icdsite.wsgi` (the settings come from the environment).

Sync workers, two per core plus one: every request is short and bounded (the largest is a
10,000-code validation, ~0.2 s), so threads or async workers buy nothing but contention. Each
worker keeps its own in-memory code sets (about 60 MB per release in use), so memory grows
with workers, not with requests. Workers are recycled after a jittered number of requests as a
guard against slow leaks in third-party code.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # "-" for stdout; off by default
preload_app = True
