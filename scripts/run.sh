#!/usr/bin/env bash
# `make run`: the site on http://127.0.0.1:8000 and the worker that runs the admin's imports in
# the background (django-tasks' database backend). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON_BIN:-.venv/bin/python}

"$python" manage.py db_worker --no-reload &
worker=$!
# SIGTERM lets the worker finish the import it is running; a second Ctrl-C stops it at once.
trap 'kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT

"$python" manage.py runserver 127.0.0.1:8000
