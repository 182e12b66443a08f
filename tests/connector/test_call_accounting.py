"""Every decrypt and every Keap request the portal makes is in the tenant's audit log.

Two tenants call the sandbox through PAT and OAuth connections, with successes, Keap errors, a
refresh and a connect check. The vault's decrypt function is counted by a wrapper, and the
sandbox's request log counts the HTTP requests that reached it; both must equal the tenant's
`credential.decrypted` and `keap.called` events.
"""

from collections import Counter

import pytest

from connector.actor import SYSTEM
from connector.keap import client
from connector.keap.errors import ConnectorError
from connector.vault import credentials as vault
from tenants.models import AuditEvent
from tests import factories
from tests.connector.conftest import connect_api_key, connect_oauth, expire_access_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted_decrypts(monkeypatch):
    counts = Counter()
    real_decrypt = vault.decrypt

    def counting_decrypt(credential, *args, **kwargs):
        counts[credential.tenant_id] += 1
        return real_decrypt(credential, *args, **kwargs)

    monkeypatch.setattr(vault, "decrypt", counting_decrypt)
    return counts


def events(tenant, action):
    return AuditEvent.objects.filter(tenant=tenant, action=action)


def test_it_audits_every_decrypt_and_call(keap, eager_tasks, counted_decrypts):
    first = factories.make_tenant("First")
    second = factories.make_tenant("Second")
    keap.control.clear_requests()

    pat_connection, pat = connect_api_key(keap, first)
    oauth_connection = connect_oauth(keap, second)

    client.call(pat_connection, "GET", "/v1/contacts", query={"limit": 5}, actor=SYSTEM)
    client.call(pat_connection, "GET", "/v2/tags", actor=SYSTEM)
    with pytest.raises(ConnectorError):
        client.call(pat_connection, "GET", "/v1/contacts/999999", actor=SYSTEM)
    client.call(oauth_connection, "GET", "/v2/contacts", actor=SYSTEM)
    expire_access_token(oauth_connection)
    client.call(oauth_connection, "GET", "/v1/account/profile", actor=SYSTEM)

    api_requests = [
        entry for entry in keap.control.request_log() if entry["path"].startswith("/crm/rest/")
    ]
    # Both connections reach the sandbox account ab123; the PAT's key id tells them apart.
    reached = {
        first: [entry for entry in api_requests if entry["credential"] == pat["key_id"]],
        second: [entry for entry in api_requests if entry["credential"] != pat["key_id"]],
    }
    for tenant in (first, second):
        assert events(tenant, "credential.decrypted").count() == counted_decrypts[tenant.pk]
        assert events(tenant, "keap.called").count() == len(reached[tenant]), tenant.name
    assert counted_decrypts[first.pk] >= 4
    assert counted_decrypts[second.pk] >= 3

    failed = events(first, "keap.called").filter(outcome=AuditEvent.Outcome.FAILURE).get()
    assert failed.details["status"] == 404
    assert failed.details["path"] == "/v1/contacts/{id}"
    assert "body" not in failed.details
