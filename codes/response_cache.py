"""A server-side cache of answers (pages and API answers), keyed by what an answer is made of.

A published release never changes, so an answer is fixed by the releases it comes from (their
ids and import and publication times), the build, and the request (path, query, host, Accept).
The ETags of the site (codes.views.common) and of the API (codes.api.caching) already hash
exactly that, so they are the keys: publishing or re-importing a release changes every key at
once, and a response is never a mix of two releases. Old entries are not deleted; they expire.

The cache is Django's default: Redis when REDIS_URL is set (shared by every worker and app
server, so an answer is rendered once), with each worker's last answers kept in local memory in
front of it (the "local" cache); local memory only otherwise. An answer is kept rendered (a
cached API answer is bytes to send, not data to serialise again) and compressed, which keeps a
worker's local cache small and Redis fast: LZ4, not zlib, because every hit decompresses and
LZ4 does it ten times faster (a code page, 11 KB: 2 us instead of 20; an API code answer, 3 KB:
under 1 us instead of 8) for a third more room (4.9 KB instead of 3.6 KB; 1.7 KB instead of 1.2).

A worker asks Redis only for answers it has heard another worker put there (SharedAnswers):
most first visits are of answers no one has built, and asking cost more than a fifth of one.
"""

import os
import threading
import time

import lz4.frame
import redis
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

from codes.build import build_fingerprint

# Headers an answer keeps from the cache; the middleware (CSP, security) and the views (caching
# headers) add the rest on the way out.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Link", "X-Robots-Tag")


def _key(etag: str, request: HttpRequest) -> str:
    # The scheme and host are part of an answer (absolute links), and so is the build; the ETag
    # covers the rest. The Host header as sent: Django has checked it against ALLOWED_HOSTS by
    # now (CommonMiddleware), and get_host() would check it again on every hit (the site does
    # not use X-Forwarded-Host, so the header is the host).
    host = request.META.get("HTTP_HOST", "")
    return f"answer:{build_fingerprint()[0]}:{etag.strip(chr(34))}:{request.scheme}://{host}"


def _get(key: str):
    """From the worker's own memory, else from the shared cache (then kept in memory too)."""
    if "local" not in settings.CACHES:
        return caches["default"].get(key)
    _shared_writes.send_when_due()
    entry = caches["local"].get(key)
    if entry is None and _shared_answers.heard_of(key):
        entry = caches["default"].get(key)
        if entry is not None:
            caches["local"].set(key, entry, settings.RESPONSE_CACHE_SECONDS)
    return entry


def _set(key: str, entry) -> None:
    if "local" not in settings.CACHES:
        caches["default"].set(key, entry, settings.RESPONSE_CACHE_SECONDS)
        return
    caches["local"].set(key, entry, settings.RESPONSE_CACHE_SECONDS)
    _shared_writes.add(key, entry)


class SharedWrites:
    """Answers built by this worker, written to the shared cache a batch at a time.

    A first visit already waits on the shared cache once (the miss); writing its answer there
    was a second round trip, as much work as a tenth of a code page's build. So answers are
    written together, in one pipelined call (set_many, which announces them in the same round
    trip: SharedAnswers), once RESPONSE_CACHE_WRITE_BATCH of them wait or, at the next
    request, once the oldest has waited a second. Meanwhile this worker answers them from its
    own memory; another worker may build one again, which costs no more than before the cache.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, object] = {}
        self._since = 0.0
        self._lock = threading.Lock()  # gthread workers share a process

    def add(self, key: str, entry) -> None:
        with self._lock:
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting[key] = entry
        self.send_when_due()

    def send_when_due(self) -> None:
        """Called on every answer, built or cached: a worker serving only cached answers still
        shares the last it built within the second."""
        if not self._waiting:
            return
        with self._lock:
            due = (
                len(self._waiting) >= settings.RESPONSE_CACHE_WRITE_BATCH
                or time.monotonic() - self._since >= MAX_WRITE_DELAY
            )
            if not due or not self._waiting:
                return
            waiting, self._waiting = self._waiting, {}
        caches["default"].set_many(
            waiting, settings.RESPONSE_CACHE_SECONDS, then_publish=_shared_answers.news(waiting)
        )


class SharedAnswers:
    """The answers in the shared cache, as far as this worker has heard.

    A first visit asked Redis for its answer before building it: a round trip (0.2 ms within a
    request, a fifth of a code page's first visit) that on a site read in a long tail (every
    code of every release, crawlers visiting each once) almost always came back empty. So each
    batch of answers written (SharedWrites) is announced on a channel that every worker of every
    app server listens to, and a worker asks Redis only for an answer it has heard of; the rest
    it builds. An answer not heard of (written before this worker listened, announced while its
    connection was down, or forgotten) is built again: a cost, never a wrong answer.

    What was heard is kept as bits of the keys' hashes, in two generations of at most
    REMEMBERED keys each (half a megabyte each, however many answers the site holds): when the
    newer is full the older is forgotten. A key whose bit another key set is asked for and not
    found, as every key was before.
    """

    BITS = 1 << 22

    def __init__(self) -> None:
        self._newer = bytearray(self.BITS // 8)
        self._older = bytearray(self.BITS // 8)
        self._count = 0
        self._subscription: redis.client.PubSub | None = None
        self._pid = 0
        self._next_listen = 0.0
        self._lock = threading.Lock()  # gthread workers share a process and its subscription

    def heard_of(self, key: str) -> bool:
        if time.monotonic() >= self._next_listen:
            self._listen()
        byte, mask = self._place(key.encode())
        return bool((self._newer[byte] | self._older[byte]) & mask)

    def news(self, keys) -> tuple[str, str]:
        """The announcement of answers written: (channel, message), for Redis to publish."""
        return _channel(), "\n".join(keys)

    def _listen(self) -> None:
        """Take in what was announced since the last call, without waiting: at most every
        LISTEN_EVERY seconds, since asking the socket costs ~30 us (a tenth of a first visit's
        saving). An answer announced meanwhile is built once more, at worst."""
        with self._lock:
            self._next_listen = time.monotonic() + LISTEN_EVERY
            if self._subscription is None or self._pid != os.getpid():  # a forked worker
                self._subscribe()
            try:
                while (message := self._subscription.get_message()) is not None:
                    self._remember(message["data"].split(b"\n"))
            except redis.ConnectionError:
                # Redis dropped this listener (fallen far behind, or restarted): what was
                # announced meanwhile is lost, what is announced from now on is heard.
                self._subscription.close()
                self._subscribe()

    def _subscribe(self) -> None:
        self._subscription = _redis().pubsub(ignore_subscribe_messages=True)
        self._subscription.subscribe(_channel())
        self._pid = os.getpid()

    def _remember(self, keys: list[bytes]) -> None:
        if self._count + len(keys) > REMEMBERED:
            self._older, self._newer = self._newer, bytearray(self.BITS // 8)
            self._count = 0
        self._count += len(keys)
        for key in keys:
            byte, mask = self._place(key)
            self._newer[byte] |= mask

    def _place(self, key: bytes) -> tuple[int, int]:
        """The byte and bit that stand for a key."""
        bit = hash(key) % self.BITS
        return bit >> 3, 1 << (bit & 7)


def _redis() -> redis.Redis:
    return caches["default"]._cache.get_client(write=True)


def _channel() -> str:
    # Announcements reach every listener of the server whatever its database: the channel is
    # named after the database and the key prefix, as the keys are.
    database = _redis().connection_pool.connection_kwargs.get("db", 0)
    return f"{database}:{caches['default'].make_key('answers-shared')}"


# How long an answer may wait to be shared, at most, when answers are built slowly.
MAX_WRITE_DELAY = 1.0
_shared_writes = SharedWrites()
# Keys remembered per generation: an hour of first visits at 28 a second, all workers together;
# 100,000 keys set 2.4% of a generation's 4M bits.
REMEMBERED = 100_000
LISTEN_EVERY = 0.05
_shared_answers = SharedAnswers()


def cached_response(etag: str, request: HttpRequest) -> HttpResponse | None:
    if not settings.RESPONSE_CACHE_SECONDS:
        return None
    entry = _get(_key(etag, request))
    if entry is None:
        return None
    headers, body = entry
    return HttpResponse(lz4.frame.decompress(body), headers=headers)


def store_response(etag: str, request: HttpRequest, response: HttpResponse) -> None:
    """Keep a 200 answer; one that sets a cookie is someone's, not everyone's."""
    if (
        not settings.RESPONSE_CACHE_SECONDS
        or response.status_code != 200
        or response.cookies
        or response.streaming
    ):
        return
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    entry = (headers, lz4.frame.compress(response.content))
    _set(_key(etag, request), entry)
