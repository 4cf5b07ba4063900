"""The server-side cache of pages and API answers (codes.response_cache): a second request is
answered from the cache in one query, and a change of the published releases is never hidden."""

import os
import time

import lz4.frame
import pytest

from codes import response_cache
from codes.icd10 import dotted

pytestmark = pytest.mark.django_db

# A database of the local Redis that no one else uses (the bench flushes 15).
REDIS_FOR_TESTS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
def revised_code(fy2025, fy2026):
    """A code whose title differs between FY2025 and FY2026, found in the data."""
    from codes.models import Code

    old = dict(Code.objects.filter(release=fy2025).values_list("code", "long_title"))
    for code, title in Code.objects.filter(release=fy2026).values_list("code", "long_title"):
        if code in old and old[code] != title:
            return code, old[code], title
    pytest.fail("no code is revised between FY2025 and FY2026")


def test_a_page_is_rendered_once_then_served_from_the_cache(client, django_assert_num_queries):
    first = client.get("/codes/Z53.01/")
    assert first.status_code == 200
    # The published releases (the cache key) and nothing else.
    with django_assert_num_queries(1):
        second = client.get("/codes/Z53.01/")
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["ETag"] == first["ETag"]
    assert "Content-Security-Policy" in second  # the middleware still runs


def test_a_page_of_another_release_or_url_is_not_the_cached_one(client):
    latest = client.get("/codes/Z53.01/")
    pinned = client.get("/codes/Z53.01/?release=FY2025")
    other = client.get("/codes/Z53.09/")
    assert len({latest.content, pinned.content, other.content}) == 3


def test_publishing_changes_what_every_cached_page_shows(client, fy2026, revised_code):
    code, old_title, new_title = revised_code
    url = f"/codes/{dotted(code)}/"
    assert new_title in client.get(url).content.decode()
    fy2026.unpublish()
    page = client.get(url).content.decode()
    assert old_title in page and new_title not in page
    fy2026.publish()
    assert new_title in client.get(url).content.decode()


def test_an_api_answer_is_built_once_then_served_from_the_cache(
    client, django_assert_num_queries, revised_code
):
    code, _, new_title = revised_code
    url = f"/api/v1/codes/{code}/"
    first = client.get(url)
    assert first.status_code == 200 and first.json()["title"] == new_title
    # The release choice (the cache key) and nothing else.
    with django_assert_num_queries(1):
        second = client.get(url)
    assert second.json() == first.json()


def test_an_api_answer_follows_the_published_releases(client, fy2026, revised_code):
    code, old_title, new_title = revised_code
    url = f"/api/v1/codes/{code}/"
    assert client.get(url).json()["title"] == new_title
    fy2026.unpublish()
    answer = client.get(url).json()
    assert answer["title"] == old_title and answer["release"]["label"] == "FY2025"


def test_an_answer_over_https_is_not_the_one_cached_over_http(api):
    """Answers hold absolute links, so the scheme (as the host) is part of the key."""
    plain = api.get("/api/v1/releases/").json()["results"][0]["url"]
    secure = api.get("/api/v1/releases/", secure=True).json()["results"][0]["url"]
    assert plain.startswith("http://") and secure.startswith("https://")
    assert api.get("/api/v1/releases/", HTTP_HOST="localhost").json()["results"][0]["url"] == (
        plain.replace("testserver", "localhost")
    )


def test_errors_are_not_cached(client, django_assert_max_num_queries):
    assert client.get("/api/v1/codes/Z53.99/").status_code == 404
    with django_assert_max_num_queries(10) as context:
        assert client.get("/api/v1/codes/Z53.99/").status_code == 404
    assert len(context.captured_queries) > 1  # answered again, not from the cache


def test_the_cache_can_be_turned_off(client, settings, django_assert_max_num_queries):
    settings.RESPONSE_CACHE_SECONDS = 0
    client.get("/codes/Z53.01/")
    with django_assert_max_num_queries(10) as context:
        client.get("/codes/Z53.01/")
    assert len(context.captured_queries) > 1


def test_with_redis_a_page_is_shared_by_every_worker_and_kept_in_each(
    client, settings, django_assert_num_queries
):
    """REDIS_URL's configuration (icdsite.settings): Redis shared, local memory in front."""
    caches = redis_in_front_of_local_memory(settings)
    settings.RESPONSE_CACHE_WRITE_BATCH = 1
    first = client.get("/codes/Z53.01/")
    heard_of_all(caches)
    caches["local"].clear()  # as if another worker: only Redis has it
    with django_assert_num_queries(1):
        assert client.get("/codes/Z53.01/").content == first.content
    with django_assert_num_queries(1):  # now from this worker's memory
        assert client.get("/codes/Z53.01/").content == first.content
    caches["default"].clear()
    client_of = caches["default"]._cache.get_client
    assert client_of() is client_of()  # one redis.Redis per pool, not one per call


def test_with_redis_answers_are_shared_a_batch_at_a_time(client, settings, monkeypatch):
    caches = redis_in_front_of_local_memory(settings)
    settings.RESPONSE_CACHE_WRITE_BATCH = 3
    redis = caches["default"]._cache.get_client()
    pages = [client.get(f"/codes/{code}/") for code in ("Z53.01", "Z53.09")]
    assert all(page.status_code == 200 for page in pages)
    assert redis.dbsize() == 0  # kept by this worker, not shared yet
    client.get("/codes/Z53.1/")
    assert redis.dbsize() == 3  # the third answer sent the three, with their expiry
    ttls = [redis.ttl(key) for key in redis.scan_iter()]
    assert all(0 < ttl <= settings.RESPONSE_CACHE_SECONDS for ttl in ttls)
    caches["local"].clear()  # as if another worker: each page now comes from Redis
    assert client.get("/codes/Z53.09/").content == pages[1].content
    # An answer waits a second at most: the next request after that sends it, even one
    # answered from this worker's memory.
    client.get("/codes/Z53.20/")
    time.sleep(response_cache.MAX_WRITE_DELAY)
    assert client.get("/codes/Z53.09/").content == pages[1].content
    assert redis.dbsize() == 4


def test_with_redis_a_worker_asks_only_for_answers_it_has_heard_of(client, settings, monkeypatch):
    """A first visit does not wait on Redis for an answer no worker announced; one announced is
    read from Redis, not built again."""
    caches = redis_in_front_of_local_memory(settings)
    settings.RESPONSE_CACHE_WRITE_BATCH = 1
    first = client.get("/codes/Z53.01/")
    [key] = answer_keys(caches)
    mark_in_redis(caches, key)
    # A worker that started listening after the page was written builds it again...
    monkeypatch.setattr(response_cache, "_shared_answers", response_cache.SharedAnswers())
    caches["local"].clear()
    assert client.get("/codes/Z53.01/").content == first.content
    # ...and writes and announces it: now heard of, it is read from Redis.
    heard_of_all(caches)
    mark_in_redis(caches, key)
    caches["local"].clear()
    assert client.get("/codes/Z53.01/").content == b"from Redis"


def test_with_redis_a_worker_disconnected_listens_again(client, settings, monkeypatch):
    """Redis drops a listener that falls far behind (or restarts): the worker subscribes again
    the next time it listens, and hears the answers announced after."""
    caches = redis_in_front_of_local_memory(settings)
    monkeypatch.setattr(response_cache, "LISTEN_EVERY", 0)  # listens at every first visit
    settings.RESPONSE_CACHE_WRITE_BATCH = 1
    client.get("/codes/Z53.01/")  # listening
    # This worker's subscription dropped, as Redis drops it: by its address.
    listening = response_cache._shared_answers._subscription.connection._sock.getsockname()
    assert caches["default"]._cache.get_client().client_kill(f"{listening[0]}:{listening[1]}")
    # Announcements made before the worker notices (its socket closed) are lost; it notices
    # the next time it listens, and hears the next announcement.
    deadline = time.monotonic() + 5
    while not response_cache._shared_answers.heard_of("probe"):
        assert time.monotonic() < deadline, "the worker never listened again"
        caches["default"]._cache.get_client().publish(
            *response_cache._shared_answers.news(["probe"])
        )
        time.sleep(0.01)
    caches["default"].clear()
    client.get("/codes/Z53.09/")
    heard_of_all(caches)
    [key] = answer_keys(caches)
    mark_in_redis(caches, key)
    caches["local"].clear()
    assert client.get("/codes/Z53.09/").content == b"from Redis"


def test_what_a_worker_heard_is_forgotten_two_generations_later(settings, monkeypatch):
    redis_in_front_of_local_memory(settings)
    monkeypatch.setattr(response_cache, "REMEMBERED", 2)
    answers = response_cache.SharedAnswers()
    answers._remember([b"first", b"second"])
    assert answers.heard_of("first") and answers.heard_of("second")
    assert not answers.heard_of("third")
    answers._remember([b"third"])  # the newer generation was full: the first two are older now
    answers._remember([b"fourth"])
    assert answers.heard_of("first") and answers.heard_of("fourth")
    answers._remember([b"fifth", b"sixth"])
    assert not answers.heard_of("first") and not answers.heard_of("second")
    assert all(answers.heard_of(key) for key in ("third", "fourth", "fifth", "sixth"))


def test_redis_set_many_writes_each_key_with_its_expiry_then_publishes(settings):
    caches = redis_in_front_of_local_memory(settings)
    cache = caches["default"]
    redis = cache._cache.get_client()
    listener = redis.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("news")
    try:
        cache.set_many({"a": ({"X": "1"}, b"one"), "b": 2}, 60, then_publish=("news", "a\nb"))
        deadline = time.monotonic() + 5
        while (message := listener.get_message(timeout=1)) is None:
            assert time.monotonic() < deadline, "nothing was published"
    finally:
        listener.close()
    assert message["data"] == b"a\nb"
    assert cache.get_many(["a", "b"]) == {"a": ({"X": "1"}, b"one"), "b": 2}
    assert 0 < redis.ttl(cache.make_key("a")) <= 60 and 0 < redis.ttl(cache.make_key("b")) <= 60
    cache.set_many({"a": 1, "c": 3}, None)  # no expiry, as Django's
    assert redis.ttl(cache.make_key("a")) == -1 and cache.get("c") == 3
    cache.set_many({"a": 1}, 0)  # expired at once, as Django's
    assert cache.get("a") is None and cache.get("c") == 3


def test_a_workers_memory_of_answers_is_bounded_by_bytes(
    client, settings, django_assert_num_queries
):
    """LOCAL_CACHE_MAX_BYTES: pages of 500 codes (the API's largest, ~16 KB each compressed)
    do not fill a worker's memory however many are asked for; the latest stays."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "icdsite.cache.LocMemCache",
            "LOCATION": "bounded-by-bytes",
            "OPTIONS": {"MAX_BYTES": 40_000},
        },
    }
    cache = caches["default"]
    cache.clear()
    urls = [f"/api/v1/codes/?prefix=S&page_size=500&page={page}" for page in range(1, 7)]
    for url in urls:
        assert client.get(url).status_code == 200
        held = list(cache._cache.values())
        assert cache.held_bytes == sum(map(len, held)) <= 40_000
    assert 1 <= len(held) < len(urls)  # some kept, the oldest gone
    with django_assert_num_queries(1):  # the published releases: the answer is held
        client.get(urls[-1])
    with CaptureQueriesContext(connection) as built:  # gone: built again
        client.get(urls[0])
    assert len(built.captured_queries) > 1


def test_the_bytes_held_follow_every_change_of_the_local_cache():
    """What held_bytes counts is what the entries' pickles weigh, after each way an entry
    comes and goes: set, set again larger, read (kept as newest), deleted, culled for the
    number of entries, pushed out for bytes, cleared."""
    import pickle

    from icdsite.cache import LocMemCache

    cache = LocMemCache("bytes-followed", {"OPTIONS": {"MAX_ENTRIES": 4, "MAX_BYTES": 3_000}})
    cache.clear()

    def weighs() -> int:
        return sum(map(len, cache._cache.values()))

    cache.set("a", b"x" * 500)
    cache.set("b", b"x" * 500)
    cache.set("a", b"x" * 900)  # replaced: its old size no longer counts
    pickles = [pickle.dumps(value, cache.pickle_protocol) for value in (b"x" * 500, b"x" * 900)]
    assert cache.held_bytes == weighs() == sum(map(len, pickles))
    cache.delete("b")
    assert cache.held_bytes == weighs()
    for key in "bcd":
        cache.set(key, b"x" * 100)
    cache.get("a")  # read: the newest now
    cache.set("e", b"x" * 100)  # a fifth entry: the oldest third culled (b), not a
    assert set(cache._cache) == {cache.make_key(key) for key in "acde"}
    assert cache.held_bytes == weighs()
    cache.set("f", b"x" * 2_300)  # c culled, then over 3,000 bytes: d and a go, e fits
    assert set(cache._cache) == {cache.make_key(key) for key in "ef"}
    assert cache.held_bytes == weighs() <= 3_000
    cache.set("g", b"x" * 5_000)  # larger than the budget alone: kept, the only one
    assert list(cache._cache) == [cache.make_key("g")] and cache.held_bytes == weighs()
    cache.clear()
    assert cache.held_bytes == 0


def answer_keys(caches) -> list[str]:
    redis = caches["default"]._cache.get_client()
    return [key.decode().split(":", 2)[2] for key in redis.scan_iter()]  # ":<version>:<key>"


def heard_of_all(caches) -> None:
    """Wait until this worker has heard of every answer in Redis (an announcement arrives a
    moment after the answers are written)."""
    deadline = time.monotonic() + 5
    while not all(response_cache._shared_answers.heard_of(key) for key in answer_keys(caches)):
        assert time.monotonic() < deadline, "an announcement never arrived"
        time.sleep(0.01)


def mark_in_redis(caches, key: str) -> None:
    """Make Redis's copy of an answer tell itself apart from the answer built again."""
    headers, _ = caches["default"].get(key)
    caches["default"].set(key, (headers, lz4.frame.compress(b"from Redis")))


@pytest.fixture(autouse=True)
def new_worker(monkeypatch):
    """Each test a worker of its own: nothing waiting to be written, nothing heard of."""
    monkeypatch.setattr(response_cache, "_shared_writes", response_cache.SharedWrites())
    monkeypatch.setattr(response_cache, "_shared_answers", response_cache.SharedAnswers())


def redis_in_front_of_local_memory(settings):
    from django.core.cache import caches

    settings.CACHES = {
        "default": {"BACKEND": "icdsite.cache.RedisCache", "LOCATION": REDIS_FOR_TESTS},
        "local": {"BACKEND": "icdsite.cache.LocMemCache"},
    }
    try:
        caches["default"].clear()
    except Exception as error:  # noqa: BLE001 - any connection failure means no server
        pytest.skip(f"no Redis at {REDIS_FOR_TESTS}: {error}")
    return caches
