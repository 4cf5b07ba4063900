"""Reads from replicas, writes to the primary, for running several app servers on one database.

Replicas are listed in DATABASE_REPLICA_URLS (see settings). Reads stay on the primary inside a
transaction on it (read your own writes) and for the whole of a request that may write (the
admin, any POST): replication lag must never show a staff member stale data right after an
import or a publish. Published releases never change, so a lagging replica is otherwise harmless.
"""

import contextvars
import random
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

primary_only = contextvars.ContextVar("primary_only", default=False)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        replicas = replica_aliases()
        if not replicas or primary_only.get() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return random.choice(replicas)

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Every alias holds the same data.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class PrimaryForWritesMiddleware:
    """Send every query of an admin page or an unsafe request to the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        writes = request.method not in ("GET", "HEAD", "OPTIONS") or request.path.startswith(
            "/admin/"
        )
        token = primary_only.set(writes)
        try:
            return self.get_response(request)
        finally:
            primary_only.reset(token)
