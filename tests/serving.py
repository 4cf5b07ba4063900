"""Real processes against a database of their own: manage.py commands, a db_worker, gunicorn.

pytest's test database lives inside a transaction that other processes cannot see (and the
session's FY2025/FY2026 must not be disturbed), so a test that needs the importer or the site
as separate processes creates a dedicated PostgreSQL database next to the test database, on the
same server, and drops it at the end.
"""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from django.apps import apps
from django.conf import settings

from tests.conftest import REPO, checksum_sql

# What every process started here gets besides the database: production-like settings with
# plain HTTP on loopback and no rate limits (the load would be throttled, not measured).
SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "tests-not-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "API_ANON_RATE": "",
    "API_USER_RATE": "",
    "LOG_LEVEL": "WARNING",
}


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _server_params() -> dict:
    """Host, port, user and password of the test run's PostgreSQL server."""
    database = settings.DATABASES["default"]
    return {
        "host": database["HOST"] or "127.0.0.1",
        "port": int(database["PORT"] or 5432),
        "user": database["USER"] or "postgres",
        "password": database["PASSWORD"] or None,
    }


class DedicatedDatabase:
    """An empty PostgreSQL database on the test server, for processes started by a test."""

    def __init__(self, name: str) -> None:
        self.name = name
        params = _server_params()
        password = f":{params['password']}" if params["password"] else ""
        self.url = f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
        self.env = {**os.environ, **SERVER_ENV, "DATABASE_URL": self.url}

    def _server(self) -> psycopg.Connection:
        return psycopg.connect(dbname="postgres", autocommit=True, **_server_params())

    def create(self) -> None:
        with self._server() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        # FORCE: a process a failed test left behind must not keep the database alive.
        with self._server() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(dbname=self.name, autocommit=True, **_server_params())

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as connection:
            return connection.execute(sql, params).fetchall()

    def backends(self, query_like: str) -> list[int]:
        """The server processes connected to this database running a statement like this."""
        with self._server() as server:
            rows = server.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND query LIKE %s",
                (self.name, query_like),
            ).fetchall()
        return [pid for (pid,) in rows]

    def terminate(self, pid: int) -> bool:
        """Kill one backend, as a crash, a failover or an administrator would."""
        with self._server() as server:
            return server.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]

    def release_tables(self) -> dict[str, tuple[int, str]]:
        """Row count and a checksum of every row of every table of the codes app (the
        counterpart of conftest.release_tables_fingerprint for this database)."""
        with self.connect() as connection:
            return {
                model.__name__: connection.execute(checksum_sql(model)).fetchone()
                for model in apps.get_app_config("codes").get_models()
            }

    def manage(self, *args: str, check: bool = True, timeout: float = 300):
        return manage(self.env, *args, check=check, timeout=timeout)


def manage(
    env: dict, *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a process of its own; with `check`, its stderr on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result


def manage_process(env: dict, *args: str) -> subprocess.Popen:
    """`manage.py ARGS` started in the background, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The site served by gunicorn as in production (gunicorn.conf.py: sync workers,
    preloaded app), on a free loopback port."""

    def __init__(self, env: dict, *, workers: int = 3) -> None:
        self.env = env
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "icdsite.wsgi",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                "--log-level=warning",
            ],
            cwd=REPO,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited at start"
            try:
                if self.get("/api/v1/releases/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError("gunicorn did not answer within 60 s")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes]:
        connection = self.connection()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
