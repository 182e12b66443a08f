"""OAuth token refresh against the Keap sandbox: one refresh for many concurrent callers,
rotation, rejected and failing refreshes, and the scheduled refresh task."""

import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from connector import tasks
from connector.keap import client
from connector.keap.errors import ConnectorError
from connector.models import Connection, Credential
from connector.vault import master
from tenants.models import AuditEvent, Membership
from tests import factories
from tests.connector.conftest import connect_oauth, expire_access_token, token_requests

THREADS = 50
PROCESSES = 4
ROUNDS = 20

BASE_DIR = Path(__file__).resolve().parents[2]


def last_sequence(keap):
    entries = keap.control.request_log()
    return entries[-1]["seq"] if entries else 0


def assert_stored_refresh_token_is_newest(keap, connection):
    """The sandbox holds exactly one unused refresh token for the grant, and ours works."""
    refresh_tokens = [t for t in keap.control.tokens() if t["type"] == "refresh"]
    unused = [t for t in refresh_tokens if not t["is_used"] and not t["is_revoked"]]
    assert len(unused) == 1

    mark = last_sequence(keap)
    assert client.refresh_if_due(connection, margin=timedelta(days=2)) is True
    assert [e["status"] for e in token_requests(keap, since=mark)] == [200]


def call_userinfo_from_threads(connection, count, rng):
    """Call userinfo from `count` threads released together, each after a random delay."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def call_keap(delay):
        try:
            barrier.wait(timeout=30)
            time.sleep(delay)
            results.append(client.get_userinfo(connection))
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the caller
            errors.append(repr(exc))
        finally:
            db_connection.close()

    threads = [
        threading.Thread(target=call_keap, args=(rng.uniform(0, 0.05),)) for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_refreshes_once_for_fifty_threads(keap, eager_tasks):
    keap.control.set_limits(enforced=False)
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    rng = random.Random(20240611)

    for round_number in range(ROUNDS):
        expire_access_token(connection)
        mark = last_sequence(keap)
        results, errors = call_userinfo_from_threads(connection, THREADS, rng)

        assert errors == [], f"round {round_number}"
        assert len(results) == THREADS, f"round {round_number}"
        assert all(info.email == "kay.owner@example.com" for info in results)
        refreshes = token_requests(keap, since=mark)
        assert len(refreshes) == 1, f"round {round_number}: {len(refreshes)} refreshes"
        assert refreshes[0]["status"] == 200

    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    assert_stored_refresh_token_is_newest(keap, connection)


WORKER_SCRIPT = """
import json, os, sys, time
import django
django.setup()
from django.db import connection as db_connection
from connector.keap import client
from connector.models import Connection

connection = Connection.objects.get(pk=int(sys.argv[1]))
start_at = float(sys.argv[2])
db_connection.close()
time.sleep(max(0.0, start_at - time.time()))
try:
    info = client.get_userinfo(connection)
    print(json.dumps({"ok": True, "email": info.email}))
except Exception as exc:
    print(json.dumps({"ok": False, "error": repr(exc)}))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_refreshes_once_for_four_processes(keap, eager_tasks, settings):
    # Each process must unwrap the same tenant keyset, so they share one master keyset.
    settings.VAULT_MASTER_KEYSET = master.master_keyset_json()
    keap.control.set_limits(enforced=False)
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    env = _worker_environment(keap)
    rng = random.Random(4)

    for round_number in range(ROUNDS):
        expire_access_token(connection)
        mark = last_sequence(keap)
        start_at = time.time() + 2.5
        workers = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [
                    sys.executable,
                    "-c",
                    WORKER_SCRIPT,
                    str(connection.pk),
                    str(start_at + rng.uniform(0, 0.05)),
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        outputs = [worker.communicate(timeout=120) for worker in workers]

        answers = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
        assert all(answer["ok"] for answer in answers), (round_number, answers, outputs)
        refreshes = token_requests(keap, since=mark)
        assert len(refreshes) == 1, f"round {round_number}: {len(refreshes)} refreshes"

    assert_stored_refresh_token_is_newest(keap, connection)


def _worker_environment(keap):
    database = connections["default"].settings_dict
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "CACHE_URL", "CELERY_BROKER_URL")
    }
    env.update(
        PORTAL_MODE="test",
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=(
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        VAULT_MASTER_KEYSET=settings.VAULT_MASTER_KEYSET,
        KEAP_AUTHORIZE_URL=keap.control.authorize_url,
        KEAP_TOKEN_URL=keap.control.token_url,
        KEAP_API_BASE_URL=keap.control.api_base_url,
        KEAP_CLIENT_ID=settings.KEAP_CLIENT_ID,
        KEAP_CLIENT_SECRET=settings.KEAP_CLIENT_SECRET,
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_rotated_refresh_token(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    before = Credential.objects.get(connection=connection)

    expire_access_token(connection)
    client.get_userinfo(connection)

    after = Credential.objects.get(connection=connection)
    assert bytes(after.refresh_token_ciphertext) != bytes(before.refresh_token_ciphertext)
    assert after.refresh_token_issued_at > before.refresh_token_issued_at
    assert after.access_token_expires_at > timezone.now() + timedelta(hours=23)
    event = AuditEvent.objects.get(tenant=tenant, action="token.refreshed")
    assert event.details["refresh_token_rotated"] is True
    assert_stored_refresh_token_is_newest(keap, connection)


@pytest.mark.django_db(transaction=True)
def test_it_marks_needs_reauth_when_refresh_is_rejected(keap, eager_tasks):
    tenant = factories.make_tenant()
    factories.make_membership(tenant, role=Membership.Role.OWNER, email="boss@example.com")
    factories.make_membership(tenant, role=Membership.Role.ADMIN, email="admin@example.com")
    factories.make_membership(tenant, role=Membership.Role.MEMBER, email="member@example.com")
    connection = connect_oauth(keap, tenant)
    for token in keap.control.tokens():
        keap.control.revoke_token(token_id=token["token_id"])
    expire_access_token(connection)
    mark = last_sequence(keap)

    with pytest.raises(ConnectorError) as first:
        client.get_userinfo(connection)
    with pytest.raises(ConnectorError) as second:
        client.get_userinfo(connection)
    tasks.refresh_connection_token.delay(connection.pk)

    assert first.value.code == "refresh_rejected"
    assert first.value.permanent is True
    assert second.value.code == "connection_not_active"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "Reconnect" in connection.last_error
    assert [e["status"] for e in keap.control.request_log(since=mark)] == [400]
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["admin@example.com", "boss@example.com"]
    assert connection.get_absolute_url() in mail.outbox[0].body
    assert AuditEvent.objects.filter(tenant=tenant, action="connection.needs_reauth").count() == 1
    failure = AuditEvent.objects.get(tenant=tenant, action="token.refresh_failed")
    assert failure.details == {"code": "refresh_rejected", "status": 400, "permanent": True}


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_refresh_answered_503(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    keap.control.add_fault("error", path_prefix="/token", status=503, times=2)
    expire_access_token(connection)
    mark = last_sequence(keap)
    # Eager Celery runs a retry at once, without its countdown, unless errors propagate.
    celery_app.conf.task_eager_propagates = False

    tasks.refresh_connection_token.delay(connection.pk)

    assert [e["status"] for e in token_requests(keap, since=mark)] == [503, 503, 200]
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert len(mail.outbox) == 0
    failures = AuditEvent.objects.filter(tenant=tenant, action="token.refresh_failed")
    assert [event.details["code"] for event in failures] == ["keap_unavailable"] * 2
    assert not Credential.objects.get(connection=connection).is_access_token_due()


@pytest.mark.django_db(transaction=True)
def test_it_raises_transient_refresh_errors(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    keap.control.add_fault("error", path_prefix="/token", status=503, times=1)
    expire_access_token(connection)

    with pytest.raises(ConnectorError) as raised:
        client.get_userinfo(connection)

    assert raised.value.code == "keap_unavailable"
    assert raised.value.permanent is False
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    assert client.get_userinfo(connection).email == "kay.owner@example.com"


@pytest.mark.django_db(transaction=True)
def test_it_refreshes_after_a_401_for_an_expired_token(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    for token in keap.control.tokens():
        if token["type"] == "access":
            keap.control.expire_token(token_id=token["token_id"])
    mark = last_sequence(keap)

    info = client.get_userinfo(connection)

    assert info.email == "kay.owner@example.com"
    statuses = [(e["path"], e["status"]) for e in keap.control.request_log(since=mark)]
    assert statuses == [
        ("/crm/rest/v2/oauth/connect/userinfo", 401),
        ("/token", 200),
        ("/crm/rest/v2/oauth/connect/userinfo", 200),
    ]


@pytest.mark.django_db(transaction=True)
def test_it_schedules_refreshes_for_due_connections_only(keap, eager_tasks):
    tenant = factories.make_tenant()
    expiring = connect_oauth(keap, tenant)
    keap.control.create_account("cd456", "Other account")
    other_user = keap.control.create_user("cd456", "o@example.com", "O", "User")
    old_grant = _connect_second_account(keap, tenant, other_user["id"])
    fresh_tenant = factories.make_tenant()
    keap.control.create_account("ef789", "Fresh account")
    fresh_user = keap.control.create_user("ef789", "f@example.com", "F", "User")
    fresh = _connect_second_account(keap, fresh_tenant, fresh_user["id"])

    expire_access_token(expiring)
    Credential.objects.filter(connection=old_grant).update(
        refresh_token_issued_at=timezone.now() - timedelta(days=31)
    )
    mark = last_sequence(keap)

    tasks.refresh_due_tokens.delay()

    assert len(token_requests(keap, since=mark)) == 2
    assert not Credential.objects.get(connection=expiring).is_access_token_due()
    assert not Credential.objects.get(connection=old_grant).is_refresh_token_old()
    refreshed = AuditEvent.objects.filter(action="token.refreshed")
    assert {event.target_id for event in refreshed} == {
        str(expiring.public_id),
        str(old_grant.public_id),
    }
    assert str(fresh.public_id) not in {event.target_id for event in refreshed}


def _connect_second_account(keap, tenant, user_id):
    from connector import actions
    from connector.actor import SYSTEM
    from tests.connector.conftest import oauth_tokens

    credential = actions.do_add_pending_oauth(
        tenant, tokens=oauth_tokens(keap, user_id), actor=SYSTEM
    )
    actions.do_verify_pending_credential(credential.pk)
    return Connection.objects.select_related("tenant").get(pk=credential.connection_id)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_query_count_per_refresh_constant(keap, eager_tasks):
    counts = []
    for index in range(3):
        tenant = factories.make_tenant()
        for _ in range(index):
            factories.make_membership(tenant)
        connection = connect_oauth(keap, tenant)
        expire_access_token(connection)

        with CaptureQueriesContext(db_connection) as queries:
            tasks.refresh_connection_token.delay(connection.pk)
        counts.append(len(queries))

    assert counts[0] == counts[1] == counts[2], counts


@pytest.mark.django_db(transaction=True)
def test_it_skips_connections_that_are_not_active(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    expire_access_token(connection)
    mark = last_sequence(keap)

    tasks.refresh_connection_token.delay(connection.pk)
    with pytest.raises(ConnectorError) as raised:
        client.get_userinfo(connection)

    assert raised.value.code == "connection_not_active"
    assert keap.control.request_log(since=mark) == []
