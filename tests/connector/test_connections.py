"""Connecting by PAT/SAK and OAuth, reconnecting, checking and revoking, against the sandbox."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection as db_connection

from connector import actions, tasks
from connector.actor import SYSTEM, Actor
from connector.keap import client
from connector.keap.errors import ConnectorError
from connector.models import Connection, Credential
from tenants.models import AuditEvent, Membership
from tests import factories
from tests.connector.conftest import connect_api_key, connect_oauth, oauth_tokens
from tests.connector.factories import fake_api_key

pytestmark = pytest.mark.django_db(transaction=True)


def add_key(tenant, key, *, reconnect=None, method="pat", user=None):
    actor = Actor.for_user(user) if user else SYSTEM
    credential = actions.do_add_pending_api_key(
        tenant, method=method, key=key, actor=actor, reconnect=reconnect
    )
    return actions.wait_for_verification(credential, timeout=5)


def test_it_connects_a_pat(keap, eager_tasks):
    owner = factories.make_membership(role=Membership.Role.OWNER)
    key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])

    result = add_key(owner.tenant, key["key"], user=owner.user)

    assert result["outcome"] == "created"
    connection = Connection.objects.get(public_id=result["connection"])
    assert connection.status == Connection.Status.ACTIVE
    assert connection.method == Connection.Method.PAT
    assert connection.keap_tenant_id == "ab123.infusionsoft.com"
    assert connection.keap_account_name == "Acme Sandbox"
    assert connection.keap_user_email == "kay.owner@example.com"
    assert connection.created_by == owner.user
    credential = Credential.objects.get(connection=connection)
    assert credential.is_pending is False
    assert credential.key_hint == key["key"][-4:]
    created = AuditEvent.objects.get(tenant=owner.tenant, action="connection.created")
    assert created.actor_id == str(owner.user.pk)
    assert key["key"] not in str(created.details)
    used = keap.control.request_log(credential=key["key_id"])
    assert [entry["path"] for entry in used] == [
        "/crm/rest/v2/oauth/connect/userinfo",
        "/crm/rest/v2/businessProfile",
    ]


def test_it_deletes_a_pending_connection_keap_rejects(keap, eager_tasks, caplog):
    tenant = factories.make_tenant()
    key = fake_api_key()

    result = add_key(tenant, key)

    assert result["outcome"] == "failed"
    assert result["code"] == "invalid_credential"
    assert not Connection.objects.filter(tenant=tenant).exists()
    assert not Credential.objects.filter(tenant=tenant).exists()
    failure = AuditEvent.objects.get(tenant=tenant, action="connection.verification_failed")
    assert failure.details == {"code": "invalid_credential", "method": "pat"}
    assert key not in caplog.text
    assert key not in str(result)


def test_it_rejects_a_deleted_key(keap, eager_tasks):
    tenant = factories.make_tenant()
    key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])
    keap.control.delete_api_key(key["key_id"])

    result = add_key(tenant, key["key"])

    assert result["code"] == "invalid_credential"
    assert not Connection.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not-a-key", "KeapAK-short", "Bearer KeapAK-" + "a" * 50, "KeapAK-" + "a b" * 20],
)
def test_it_rejects_a_malformed_key(raw):
    with pytest.raises(ConnectorError) as raised:
        actions.check_api_key(raw)

    assert raised.value.code == "invalid_key_format"
    assert raised.value.permanent is True
    if raw.strip():
        assert raw.strip() not in raised.value.message
        assert raw.strip() not in str(raised.value)


def test_it_trims_white_space_around_a_key():
    key = fake_api_key()

    assert actions.check_api_key(f"  \n{key}\t ") == key


def test_it_refuses_a_second_connection_to_one_account(keap, eager_tasks):
    tenant = factories.make_tenant()
    connect_api_key(keap, tenant)
    second = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])

    result = add_key(tenant, second["key"])

    assert result["code"] == "already_connected"
    assert Connection.objects.filter(tenant=tenant).count() == 1


def test_it_reconnects_with_a_new_key(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection, old_key = connect_api_key(keap, tenant)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    new_key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])

    result = add_key(tenant, new_key["key"], reconnect=connection)

    assert result["outcome"] == "reconnected"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    credential = Credential.objects.get(connection=connection)
    assert credential.key_hint == new_key["key"][-4:]
    mark = keap.control.request_log()[-1]["seq"]
    client.get_userinfo(connection)
    assert [e["credential"] for e in keap.control.request_log(since=mark)] == [new_key["key_id"]]
    assert AuditEvent.objects.filter(tenant=tenant, action="connection.reconnected").count() == 1


def test_it_rejects_a_reconnect_to_another_account(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection, old_key = connect_api_key(keap, tenant)
    keap.control.create_account("zz999", "Another account")
    other_user = keap.control.create_user("zz999", "z@example.com", "Z", "User")
    other_key = keap.control.create_api_key("zz999", "PAT", user_id=other_user["id"])

    result = add_key(tenant, other_key["key"], reconnect=connection)

    assert result["code"] == "account_mismatch"
    credential = Credential.objects.get(connection=connection)
    assert credential.key_hint == old_key["key"][-4:]
    assert client.get_userinfo(connection).keap_tenant_id == "ab123.infusionsoft.com"


def test_it_connects_by_oauth(keap, eager_tasks):
    tenant = factories.make_tenant()

    connection = connect_oauth(keap, tenant)

    assert connection.method == Connection.Method.OAUTH
    assert connection.status == Connection.Status.ACTIVE
    assert connection.keap_tenant_id == "ab123.infusionsoft.com"
    credential = Credential.objects.get(connection=connection)
    assert credential.key_hint == ""
    assert credential.access_token_expires_at is not None
    assert credential.refresh_token_issued_at is not None


def test_it_reconnects_an_oauth_connection(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)

    credential = actions.do_add_pending_oauth(
        tenant, tokens=oauth_tokens(keap), actor=SYSTEM, reconnect=connection
    )

    assert actions.wait_for_verification(credential, timeout=5)["outcome"] == "reconnected"
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    assert Credential.objects.filter(connection=connection).count() == 1


def test_it_marks_a_pat_rejected_by_keap_for_reauth(keap, eager_tasks):
    tenant = factories.make_tenant()
    factories.make_membership(tenant, role=Membership.Role.OWNER, email="boss@example.com")
    connection, key = connect_api_key(keap, tenant)
    keap.control.delete_api_key(key["key_id"])

    with pytest.raises(ConnectorError) as first:
        client.get_userinfo(connection)
    mark = keap.control.request_log()[-1]["seq"]
    with pytest.raises(ConnectorError) as second:
        client.call(connection, "GET", "/v2/contacts")

    assert first.value.code == "invalid_credential"
    assert first.value.status == 401
    assert second.value.code == "connection_not_active"
    assert keap.control.request_log(since=mark) == []
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@example.com"]


def test_it_checks_a_connection(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection, _ = connect_api_key(keap, tenant)

    assert actions.do_check_connection(connection) is None

    connection.refresh_from_db()
    assert connection.last_checked_at is not None
    assert connection.last_error == ""
    event = AuditEvent.objects.filter(tenant=tenant, action="connection.checked").last()
    assert event.outcome == AuditEvent.Outcome.SUCCESS


def test_it_records_a_failed_check_in_plain_words(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection, _ = connect_api_key(keap, tenant)
    keap.control.add_fault("error", path_prefix="/crm/rest/v2/oauth", status=503, times=1)

    error = actions.do_check_connection(connection)

    assert error.code == "keap_unavailable"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert (
        connection.last_error == "Keap is temporarily unavailable. The call will be retried later."
    )
    event = AuditEvent.objects.filter(tenant=tenant, action="connection.checked").last()
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_it_revokes_a_connection(keap, eager_tasks):
    owner = factories.make_membership(role=Membership.Role.OWNER)
    connection, key = connect_api_key(keap, owner.tenant)

    first = actions.do_revoke_connection(connection, actor=Actor.for_user(owner.user))
    second = actions.do_revoke_connection(connection, actor=Actor.for_user(owner.user))

    assert first is True
    assert second is False
    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED
    assert connection.revoked_at is not None
    assert not Credential.objects.filter(connection=connection).exists()
    events = AuditEvent.objects.filter(tenant=owner.tenant, action="connection.revoked")
    assert events.count() == 1
    assert events.get().details == {
        "old": "active",
        "new": "revoked",
        "credentials_deleted": 1,
        "jobs_cancelled": 0,
    }
    with pytest.raises(ConnectorError) as raised:
        client.get_userinfo(connection)
    assert raised.value.code == "connection_not_active"


def test_it_makes_no_call_after_revoke_commits(keap, eager_tasks):
    keap.control.set_limits(enforced=False)
    tenant = factories.make_tenant()
    connection, key = connect_api_key(keap, tenant)
    keap.control.add_fault("latency", path_prefix="/crm/rest", seconds=0.02)
    stop = threading.Event()
    outcomes = []

    def call_until_stopped():
        try:
            while not stop.is_set():
                try:
                    client.get_userinfo(connection)
                    outcomes.append("ok")
                except ConnectorError as exc:
                    outcomes.append(exc.code)
        finally:
            db_connection.close()

    callers = [threading.Thread(target=call_until_stopped) for _ in range(4)]
    for caller in callers:
        caller.start()
    time.sleep(0.5)
    actions.do_revoke_connection(connection, actor=SYSTEM)
    revoked_at_seq = keap.control.request_log()[-1]["seq"]
    time.sleep(0.5)
    stop.set()
    for caller in callers:
        caller.join(timeout=30)

    assert "ok" in outcomes
    assert "connection_not_active" in outcomes
    assert set(outcomes) <= {"ok", "connection_not_active"}
    later = keap.control.request_log(since=revoked_at_seq, credential=key["key_id"])
    assert later == []
    assert not Credential.objects.filter(connection=connection).exists()


def test_it_revokes_an_oauth_connection_and_stops_refreshing(keap, eager_tasks):
    tenant = factories.make_tenant()
    connection = connect_oauth(keap, tenant)
    actions.do_revoke_connection(connection, actor=SYSTEM)
    mark = keap.control.request_log()[-1]["seq"]

    with pytest.raises(ConnectorError):
        client.refresh_if_due(connection, margin=timedelta(days=2))

    assert keap.control.request_log(since=mark) == []


def test_it_discards_a_stale_pending_credential(keap):
    tenant = factories.make_tenant()
    credential = actions.do_add_pending_api_key(
        tenant, method="pat", key=fake_api_key(), actor=SYSTEM
    )
    fresh = actions.do_add_pending_api_key(tenant, method="pat", key=fake_api_key(), actor=SYSTEM)
    Credential.objects.filter(pk=credential.pk).update(
        created_at=credential.created_at - timedelta(hours=2)
    )

    tasks.discard_stale_pending_credentials()

    assert not Credential.objects.filter(pk=credential.pk).exists()
    assert not Connection.objects.filter(pk=credential.connection_id).exists()
    assert Credential.objects.filter(pk=fresh.pk).exists()
    assert actions.wait_for_verification(credential, timeout=0)["code"] == "verification_expired"
