"""Security settings and response hardening: CSP, the admin login lockout, check --deploy."""

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches

from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def test_every_page_carries_a_content_security_policy_without_inline_code(client):
    for url in ("/", "/codes/Z53/", "/api/v1/releases/", "/admin/login/", "/health/"):
        policy = client.get(url).headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


def test_no_template_has_inline_script_or_style():
    for path in (REPO / "templates").rglob("*.html"):
        text = path.read_text()
        assert "<style" not in text, path
        assert " style=" not in text, path
        for line in text.splitlines():
            if "<script" in line:
                assert "src=" in line or "application/ld+json" in line, (path, line)


def test_the_health_view_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/")
    assert (response.status_code, response.content) == (200, b"ok\n")


def fail(client, username: str, address: str = "127.0.0.1", password: str = "wrong"):
    return client.post(
        "/admin/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_repeated_failed_admin_logins_are_refused_for_a_while(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_superuser("admin", "admin@example.org", "right-password")
    for _ in range(2):
        assert fail(client, "admin").status_code == 200  # the form again, with its error
    assert fail(client, "admin").status_code == 429  # the third failure locks the name out
    refused = fail(client, "admin", password="right-password")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds() == 900
    # Another address is refused as well for this user name: the lockout is per name too...
    assert fail(client, "ADMIN", address="10.0.0.9").status_code == 429
    # ... and this address for any name.
    assert fail(client, "someone-else").status_code == 429
    # The counts are rows in the database, not in this process's memory: every worker and app
    # server reads the same ones.
    for alias in settings.CACHES:
        caches[alias].clear()
    assert fail(client, "admin", password="right-password").status_code == 429


@pytest.mark.parametrize("spelling", ["ｎｏｐｅｒｍ", "ⁿoperm", "nopeｒm", "NoPerm", " noperm "])
def test_no_spelling_of_a_locked_name_gets_through(client, settings, spelling):
    """Django's login form authenticates the NFKC form of a name ("ｎｏｐｅｒｍ" logs in as
    noperm), so failures are counted under it, whatever the address."""
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("noperm", password="right-password", is_staff=True)
    for number in range(3):
        fail(client, "noperm", address=f"10.0.1.{number}")
    response = fail(client, spelling, address="10.0.2.1", password="right-password")
    assert response.status_code == 429


def test_a_successful_login_is_not_throttled_and_clears_the_count(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_superuser("admin", "admin@example.org", "right-password")
    fail(client, "admin")
    fail(client, "admin")
    assert fail(client, "admin", password="right-password").status_code == 302
    client.logout()
    fail(client, "admin")
    fail(client, "admin")
    assert fail(client, "admin", password="right-password").status_code == 302


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "POST", "PUT", "DELETE"])
def test_public_pages_answer_get_and_head_only(client, method):
    for url in ("/", "/codes/Z53/", "/search/?q=smoking", "/search/suggest/?q=z5", "/index/"):
        response = client.generic(method, url)
        assert response.status_code == 405, (method, url)
        assert response["Allow"] == "GET, HEAD"
        assert response.content == b""
    assert client.head("/codes/Z53/").status_code == 200


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "icd.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
