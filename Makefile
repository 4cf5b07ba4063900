# Quick start: `make run` (site with the bundled releases on http://127.0.0.1:8000), `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-browser lint setup data bench clean

SITE_STAMP := $(VENV)/.site-installed

# The site needs only its own dependencies; the tests' (Playwright, schemathesis, hypothesis,
# FHIR clients…) are installed by the targets that run them.
$(SITE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(SITE_STAMP)

$(STAMP): $(SITE_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Migrate and import every release bundled in data/cms (FY2017, FY2024, FY2025, its April 2025
# update, FY2026, with their POA-exempt lists), oldest first, unless they are already there.
data: $(SITE_STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_bundled_releases

# The site and, beside it, the worker that runs the admin's imports (stopped with the site).
run: data
	PYTHON_BIN=$(BIN)/python scripts/run.sh

# Everything: the suite, then the browser tests in their own run (Debian's /usr/bin/chromium;
# skipped when absent). The admin import's worker is a separate process, so that run's test
# database is a file (see tests/browser/conftest.py).
test: $(STAMP)
	$(BIN)/pytest
	$(BIN)/pytest -m browser tests/browser

test-browser: $(STAMP)
	$(BIN)/pytest -m browser tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The import benchmark, the search relevance benchmark, then the serving benchmark (needs wrk:
# apt-get install wrk).
bench: data
	$(BIN)/python bench/import_release.py
	$(BIN)/python bench/search_relevance.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) icdsite.sqlite3 icdsite.sqlite3-* staticfiles .pytest_cache var artifacts
