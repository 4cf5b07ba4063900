"""Django's Redis and local-memory caches, made cheaper per call.

Django's RedisCacheClient builds a new redis.Redis object for every cache call, and building one
sets up ~170 response callbacks: 0.4 ms, more than the GET it makes. A redis.Redis is
thread-safe and keeps no state beyond its pool, so one per pool serves every call.

Both backends also skip Django's key check, which looks at every character of every key on every
call for what memcached would refuse (over 250 characters, spaces, control characters): about
2 us of each cached answer's hit, for limits that neither Redis nor local memory has (Django's
documentation: subclass the backend and override validate_key).
"""

from django.core.cache.backends import locmem
from django.core.cache.backends import redis as django_redis


class AnyKey:
    def validate_key(self, key: str) -> None:
        pass


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(AnyKey, django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


class LocMemCache(AnyKey, locmem.LocMemCache):
    pass
