"""Settings come from the environment; a bad value stops the start with the variable's name."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from icdsite.env import envbool, envint, envlist
from tests.conftest import REPO


def test_typed_helpers_read_and_default(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert envbool("X_BOOL", False) is True
    assert envint("X_INT", 1) == 42
    assert envlist("X_LIST", []) == ["a.example", "b.example"]
    assert envbool("X_MISSING", True) is True


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: envbool("X_VALUE", False), "maybe", "X_VALUE='maybe' is not a boolean"),
        (lambda: envint("X_VALUE", 1), "ten", "X_VALUE='ten' is not a whole number"),
        (lambda: envint("X_VALUE", 1, minimum=0), "-3", "X_VALUE=-3 is below the minimum 0"),
    ],
)
def test_typed_helpers_fail_loudly_on_bad_values(monkeypatch, reader, value, message):
    monkeypatch.setenv("X_VALUE", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def start_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", "import icdsite.settings as s; print(s.DATABASES['default'])"],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_nothing_set_the_database_is_sqlite_in_the_project_folder():
    result = start_settings()
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout
    assert str(REPO / "icdsite.sqlite3") in result.stdout


def test_database_url_selects_postgresql_or_a_sqlite_file():
    postgres = start_settings(DATABASE_URL="postgres://u:p@db.example:5433/icd")
    assert "'ENGINE': 'django.db.backends.postgresql'" in postgres.stdout
    assert "'PORT': 5433" in postgres.stdout
    sqlite = start_settings(DATABASE_URL="sqlite:////tmp/other.sqlite3")
    assert "'NAME': '/tmp/other.sqlite3'" in sqlite.stdout


def test_an_unsupported_database_url_or_missing_secret_key_stops_the_start():
    mysql = start_settings(DATABASE_URL="mysql://u@h/db")
    assert mysql.returncode != 0
    assert "DATABASE_URL must be a postgres:// or sqlite:/// URL" in mysql.stderr
    production = start_settings(DEBUG="false", SECRET_KEY="")
    assert production.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in production.stderr


def test_a_log_line_is_printed_once_under_make_run():
    """`make run` is DEBUG on: Django's "django" logger printed each line and passed it to the
    root, which printed it again."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('Not Found: /nowhere/')"
    )
    environment = {**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "icdsite.settings"}
    environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr.count("Not Found: /nowhere/") == 1
