"""Shared fixtures: the bundled FY2017, FY2025 and FY2026 releases, imported once per test
database."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

pytest_plugins = ["tests.fixtures"]  # the API client, no rate limits, warm code sets

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "data" / "cms"
SHARED_CMS = REPO.parent / "shared" / "cms"

FY2025_ZIP = BUNDLED / "fy2025" / "ICD10-CM Code Descriptions 2025.zip"
FY2025_XML = BUNDLED / "fy2025" / "icd10cm-tabular-April-2025.xml"
FY2026_ZIP = BUNDLED / "fy2026" / "icd10cm-Code Descriptions-2026.zip"
FY2026_XML = BUNDLED / "fy2026" / "icd10cm-tabular-April-1-2026.xml"
FY2026_CONVERSION = BUNDLED / "fy2026" / "ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx"
FY2026_POA = BUNDLED / "fy2026" / "POAexemptCodesFY26.zip"
FY2025_POA = BUNDLED / "fy2025" / "POAexemptCodesFY25.zip"
FY2024_ZIP = BUNDLED / "fy2024" / "icd10cm-CodesDescriptions-2024.zip"
FY2024_POA = BUNDLED / "fy2024" / "POAexemptCodesFY24.zip"
APRIL_2025_ZIP = BUNDLED / "fy2025-april" / "Code-desciptions-April-2025.zip"
FIXTURE_FOLDERS = ("fy2017", "fy2025", "fy2026")


def shared_file(relative: str) -> Path:
    """A file of ../shared/cms; the test skips when ../shared is not beside the checkout."""
    path = SHARED_CMS / relative
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is only on CI and developer machines)")
    return path


def member(zip_path: Path, role_word: str) -> tuple[str, bytes]:
    """(name, bytes) of the member of a Code Descriptions zip whose name has `role_word`."""
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            base = name.rsplit("/", 1)[-1].lower()
            if (
                role_word in base
                and base.endswith(".txt")
                and ("addenda" in role_word or "addenda" not in base)
            ):
                return base, archive.read(name)
    raise LookupError(f"no {role_word} member in {zip_path}")


def as_upload(*paths: Path) -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in paths]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Not the whole bundle (FY2024 and the April 2025 update are for the demo's history):
        # the releases the tests are written for, with what their folders hold.
        call_command("load_bundled_releases", *FIXTURE_FOLDERS, stdout=io.StringIO())


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache: a test may change a release's rows in its
    transaction, and rendered answers are cached by release, not by row."""
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()
    yield
    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def published_releases_read_per_request(settings):
    """Tests change releases behind the ORM's back (bulk updates, rolled-back transactions), so
    here every request reads which releases are published; tests/test_published_releases.py
    tests the per-process memory of them that production uses."""
    settings.PUBLISHED_RELEASES_SECONDS = 0


@pytest.fixture
def fy2025():
    """The bundled FY2025 release, as stored by the session fixture."""
    from codes.models import Release

    return Release.objects.get(label="FY2025")


@pytest.fixture
def fy2026():
    from codes.models import Release

    return Release.objects.get(label="FY2026")


def checksum_sql(model) -> str:
    """PostgreSQL: the row count and an md5 of every row of the model's table, in key order,
    summed up by the server."""
    table = model._meta.db_table
    key = model._meta.pk.column
    rows = f'SELECT t."{key}" AS k, md5(t::text) AS digest FROM "{table}" t'
    return f"SELECT count(*), md5(coalesce(string_agg(digest, '' ORDER BY k), '')) FROM ({rows}) r"


def release_tables_fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row of every release table: equal means unchanged.
    PostgreSQL sums the rows up itself instead of sending them all here."""
    from django.apps import apps
    from django.db import connection

    fingerprint = {}
    for model in apps.get_app_config("codes").get_models():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(checksum_sql(model))
                fingerprint[model.__name__] = tuple(cursor.fetchone())
            continue
        digest = hashlib.sha256()
        rows = model.objects.order_by("pk").values_list()
        count = 0
        for row in rows.iterator(chunk_size=20_000):
            digest.update(repr(row).encode())
            count += 1
        fingerprint[model.__name__] = (count, digest.hexdigest())
    return fingerprint
