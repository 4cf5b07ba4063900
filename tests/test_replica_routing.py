"""Reads go to replicas, writes and the admin to the primary (icdsite/routers.py)."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.test import override_settings

from codes.models import Release
from icdsite.routers import PrimaryReplicaRouter, primary_only
from tests.conftest import REPO

TWO_REPLICAS = {"default": {}, "replica1": {}, "replica2": {}}
# The router reads only the aliases; the connections themselves are not touched.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@override_settings(DATABASES=TWO_REPLICAS)
def test_reads_go_to_a_replica_and_writes_to_the_primary():
    router = PrimaryReplicaRouter()
    assert {router.db_for_read(Release) for _ in range(50)} == {"replica1", "replica2"}
    assert router.db_for_write(Release) == "default"
    assert router.allow_migrate("default", "codes") is True
    assert router.allow_migrate("replica1", "codes") is False


@override_settings(DATABASES=TWO_REPLICAS)
def test_a_request_that_may_write_reads_from_the_primary():
    token = primary_only.set(True)
    try:
        assert PrimaryReplicaRouter().db_for_read(Release) == "default"
    finally:
        primary_only.reset(token)


def test_without_replicas_everything_uses_the_primary():
    assert PrimaryReplicaRouter().db_for_read(Release) == "default"


@pytest.mark.django_db
def test_reads_inside_a_transaction_on_the_primary_stay_there():
    with override_settings(DATABASES=TWO_REPLICAS):
        assert connection.in_atomic_block
        assert PrimaryReplicaRouter().db_for_read(Release) == "default"


SCRIPT = """
import django
django.setup()
from django.db import connections
from codes.models import Release
labels = sorted(Release.objects.values_list("label", flat=True))
print(Release.objects.all().db, connections["replica1"].connection is not None, labels)
"""


@pytest.mark.django_db
def test_a_second_alias_on_the_same_server_serves_the_reads():
    """A real replica alias (the same PostgreSQL database under a second name) answers reads."""
    if connection.vendor != "postgresql":
        pytest.skip("replicas are a PostgreSQL deployment; the SQLite test database is private")
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    url = (
        f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/"
        f"{settings['NAME']}"
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "icdsite.settings",
            "DATABASE_URL": url,
            "DATABASE_REPLICA_URLS": url,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "replica1 True ['FY2017', 'FY2025', 'FY2026']"
