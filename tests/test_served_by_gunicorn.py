"""What holds when gunicorn serves the site as in production (PostgreSQL: three workers on a
database of this module's own, tests/serving.py): limits counted once for the whole server
whichever worker answers, without Redis (the API's rate limit, the login lockout); a forwarded
scheme trusted only as TRUST_X_FORWARDED_PROTO says."""

import os
import re
import urllib.parse

import pytest

from tests.serving import DedicatedDatabase, Gunicorn, on_postgres

pytestmark = pytest.mark.skipif(
    not on_postgres(), reason="several gunicorn workers on one database need PostgreSQL"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = DedicatedDatabase(f"icdsite_limits_{os.getpid()}")
    database.create()
    env = {
        **database.env,
        "API_ANON_RATE": "5/minute",
        "API_NUM_PROXIES": "1",  # each test its own client address, by X-Forwarded-For
        "ADMIN_LOGIN_MAX_FAILURES": "3",
        "THROTTLE_CACHE_DIR": str(tmp_path_factory.mktemp("throttle")),
    }
    env.pop("REDIS_URL", None)
    site = None
    try:
        database.manage("migrate", "--no-input", "-v", "0")
        database.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.create_user('noperm', password='right-password', is_staff=True)",
        )
        site = Gunicorn(env, workers=3)
        yield site
    finally:
        if site is not None:
            site.stop()
        database.drop()


def request(site, method: str, path: str, address: str, body: str = "", headers=None):
    """One request on a connection of its own, so that any worker may take it."""
    connection = site.connection()
    try:
        connection.request(
            method, path, body=body or None, headers={"X-Forwarded-For": address, **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode()
    finally:
        connection.close()


def test_the_anonymous_rate_is_counted_once_for_all_workers(server):
    statuses = [request(server, "GET", "/api/v1/releases/", "203.0.113.5")[0] for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7
    # Another client is not held back by it.
    assert request(server, "GET", "/api/v1/releases/", "203.0.113.6")[0] == 200


def log_in(site, username: str, password: str, address: str) -> int:
    status, headers, page = request(site, "GET", "/admin/login/", address)
    assert status == 200
    cookie = next(v for k, v in headers if k.lower() == "set-cookie" and "csrftoken=" in v)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    )
    status, _, _ = request(
        site,
        "POST",
        "/admin/login/",
        address,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie.split(";")[0]},
    )
    return status


def test_the_login_lockout_holds_across_workers_and_spellings(server):
    assert log_in(server, "noperm", "wrong", "198.51.100.1") == 200
    assert log_in(server, "noperm", "wrong", "198.51.100.2") == 200
    assert log_in(server, "noperm", "wrong", "198.51.100.3") == 429
    # The right password, from another address, in any spelling Django would log in with.
    for spelling in ("noperm", "ｎｏｐｅｒｍ", "ⁿoperm", "nopeｒm"):
        assert log_in(server, spelling, "right-password", "198.51.100.9") == 429, spelling
    # Another name from a clean address is not locked out: its failure is the form again.
    assert log_in(server, "someone", "wrong", "198.51.100.10") == 200


def hsts(site) -> str | None:
    """Django sends HSTS on a request it sees as secure only."""
    _, headers, _ = request(
        site, "GET", "/health/", "192.0.2.1", headers={"X-Forwarded-Proto": "https"}
    )
    return next((v for k, v in headers if k.lower() == "strict-transport-security"), None)


def test_a_forwarded_scheme_is_trusted_only_as_the_setting_says(server):
    # TRUST_X_FORWARDED_PROTO is off: gunicorn, asked from 127.0.0.1, does not trust it either.
    assert hsts(server) is None
    trusting = Gunicorn({**server.env, "TRUST_X_FORWARDED_PROTO": "true"}, workers=1)
    try:
        assert hsts(trusting) == "max-age=31536000; includeSubDomains; preload"
    finally:
        trusting.stop()
