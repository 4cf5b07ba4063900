"""Which releases are published: read by a process at most every PUBLISHED_RELEASES_SECONDS,
and at once after a change the process makes itself."""

import time

import pytest
from django.test import Client

from codes.models import Release
from codes.selection import forget_published_releases_now, published_releases

pytestmark = pytest.mark.django_db


@pytest.fixture
def remembered(settings):
    settings.PUBLISHED_RELEASES_SECONDS = 60
    forget_published_releases_now()
    yield
    forget_published_releases_now()


def labels(releases):
    return [release.label for release in releases]


def test_a_process_reads_them_once_while_they_are_fresh(remembered, django_assert_num_queries):
    # Their stored rows (to compare with next time), then the releases.
    with django_assert_num_queries(2):
        assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
        assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
    # A cached page or API answer makes no query at all once they are known.
    client = Client()
    first = [client.get(path) for path in ("/codes/Z53.01/", "/api/v1/codes/Z53.01/")]
    with django_assert_num_queries(0):
        again = [client.get(path) for path in ("/codes/Z53.01/", "/api/v1/codes/Z53.01/")]
    for before, after in zip(first, again, strict=True):
        assert before.status_code == after.status_code == 200
        assert before.content == after.content


def test_publishing_unpublishing_and_removing_are_seen_at_once(remembered, fy2026):
    assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
    fy2026.unpublish()
    assert labels(published_releases()) == ["FY2025", "FY2017"]
    assert Client().get("/api/v1/releases/").json()["count"] == 2
    fy2026.publish()
    assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
    fy2026.remove()
    assert labels(published_releases()) == ["FY2025", "FY2017"]


def test_a_change_made_elsewhere_is_seen_within_the_time(settings, fy2026):
    settings.PUBLISHED_RELEASES_SECONDS = 1
    forget_published_releases_now()
    assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
    # Another process (the admin's worker, another app server) changes the table: no signal.
    Release.objects.filter(pk=fy2026.pk).update(status=Release.Status.DRAFT)
    assert labels(published_releases()) == ["FY2026", "FY2025", "FY2017"]
    time.sleep(1.1)
    assert labels(published_releases()) == ["FY2025", "FY2017"]
    forget_published_releases_now()


def test_unchanged_releases_are_compared_not_read_again(settings, django_assert_num_queries):
    settings.PUBLISHED_RELEASES_SECONDS = 0.2
    forget_published_releases_now()
    first = published_releases()
    time.sleep(0.3)
    with django_assert_num_queries(1):  # their stored rows only
        again = published_releases()
    assert [id(release) for release in again] == [id(release) for release in first]


def test_a_change_to_a_report_alone_is_seen(settings, fy2026):
    """Anything stored counts, the import reports (JSON) too: another process may rewrite one
    (a release placed again in borrowed chapters) without touching another column."""
    settings.PUBLISHED_RELEASES_SECONDS = 0.2
    forget_published_releases_now()
    before = next(r for r in published_releases() if r.pk == fy2026.pk)
    Release.objects.filter(pk=fy2026.pk).update(report={**fy2026.report, "seen": "again"})
    time.sleep(0.3)
    after = next(r for r in published_releases() if r.pk == fy2026.pk)
    assert "seen" not in before.report
    assert after.report["seen"] == "again"
    forget_published_releases_now()
