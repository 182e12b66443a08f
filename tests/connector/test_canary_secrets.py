"""Secrets never appear in a database dump or in Redis, in any common encoding."""

import base64
import shutil
import subprocess
from urllib.parse import quote

import pytest
import redis
from django.db import connections

from tests import factories
from tests.connector.conftest import connect_api_key, connect_oauth, oauth_tokens


def encodings(secret):
    """The forms a leaked secret could take in a dump."""
    raw = secret.encode()
    return {
        "raw": raw,
        "base64": base64.b64encode(raw),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "url-encoded": quote(secret, safe="").encode(),
        "hex": raw.hex().encode(),
    }


def pg_dump():
    database = connections["default"].settings_dict
    command = [
        shutil.which("pg_dump") or "pg_dump",
        "-h",
        database["HOST"] or "127.0.0.1",
        "-U",
        database["USER"] or "postgres",
        database["NAME"],
    ]
    return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout  # noqa: S603


def redis_dump(url):
    client = redis.Redis.from_url(url)
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(key)
        dumped = client.dump(key)
        if dumped:
            parts.append(dumped)
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                parts.extend([field, value])
        elif kind == b"set":
            parts.extend(client.smembers(key))
        elif kind == b"zset":
            parts.extend(client.zrange(key, 0, -1))
    return b"\n".join(parts)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_canary_secrets_out_of_dumps(keap, settings):
    tenant = factories.make_tenant()
    # A PAT connection whose check runs through the broker: the task message lands in Redis.
    api_key_connection, api_key = connect_api_key(keap, tenant)
    oauth_connection = connect_oauth(keap, tenant)
    # A second grant, stored as a pending reconnect, gives token canaries whose plaintext the
    # test knows without decrypting anything.
    tokens = oauth_tokens(keap)
    from connector import actions
    from connector.actor import SYSTEM

    actions.do_add_pending_oauth(tenant, tokens=tokens, actor=SYSTEM, reconnect=oauth_connection)
    canaries = {
        "pat": api_key["key"],
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "client_secret": settings.KEAP_CLIENT_SECRET,
    }

    database_dump = pg_dump()
    broker_dump = redis_dump(settings.CELERY_BROKER_URL)
    cache_dump = redis_dump(settings.CACHES["default"]["LOCATION"])

    assert b"connector_credential" in database_dump
    # The dumps hold the rows and the queued task, so the checks below look at real data.
    assert str(api_key_connection.public_id).encode() in database_dump
    assert str(oauth_connection.public_id).encode() in database_dump
    assert b"verify_pending_credential" in broker_dump
    for name, secret in canaries.items():
        for encoding, needle in encodings(secret).items():
            assert needle not in database_dump, f"{name} ({encoding}) in pg_dump"
            assert needle not in broker_dump, f"{name} ({encoding}) in the broker's Redis"
            assert needle not in cache_dump, f"{name} ({encoding}) in the cache's Redis"
