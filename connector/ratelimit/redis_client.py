"""The Redis connection the rate limiter and the fair queue share."""

import threading

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_url() -> str:
    """Return RATELIMIT_REDIS_URL, else CACHE_URL or CELERY_BROKER_URL if one is a Redis URL.

    Raises ImproperlyConfigured when none of them is a Redis URL, because counting in one
    process's memory would let every other process and machine exceed Keap's limits.
    """
    url = getattr(settings, "RATELIMIT_REDIS_URL", "")
    if url:
        return url

    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        candidate = getattr(settings, name, "") or ""
        if candidate.startswith(REDIS_SCHEMES):
            return candidate
    raise ImproperlyConfigured(
        "Missing RATELIMIT_REDIS_URL: set it to a Redis URL (redis://host:6379/2) shared by "
        "every worker, or use Redis for CACHE_URL or CELERY_BROKER_URL."
    )


def get_redis(url: str | None = None) -> redis.Redis:
    """Return a client for `url` (default: `redis_url()`), one per URL and process.

    redis-py's connection pool opens new connections after a fork, so Celery's prefork
    workers can share the object.
    """
    url = url or redis_url()
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            _clients[url] = client
    return client
