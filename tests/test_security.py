"""Security settings and response hardening: CSP, the admin login throttle, check --deploy."""

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth.models import User

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


def test_repeated_failed_admin_logins_are_refused_for_a_while(client, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    User.objects.create_superuser("admin", "admin@example.org", "right-password")
    for _ in range(3):
        response = client.post("/admin/login/", {"username": "admin", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    refused = client.post("/admin/login/", {"username": "admin", "password": "right-password"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.ADMIN_LOGIN_LOCKOUT_SECONDS
    # Another address is refused as well for this user name: the throttle is per name too.
    other = client.post(
        "/admin/login/",
        {"username": "ADMIN", "password": "wrong"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert other.status_code == 429


def test_a_successful_login_is_not_throttled(client):
    User.objects.create_superuser("admin", "admin@example.org", "right-password")
    client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin", "password": "right-password"})
    assert response.status_code == 302


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
