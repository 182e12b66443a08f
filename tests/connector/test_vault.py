"""The credential vault: encryption with associated data, tamper detection and keyset storage."""

import json
import re
from pathlib import Path

import pytest

from connector.actor import SYSTEM
from connector.models import Credential, TenantKeyset
from connector.vault import VaultError, keysets, master
from connector.vault import credentials as vault
from tenants.actions import do_delete_tenant
from tenants.models import AuditEvent, Membership
from tests import factories
from tests.connector.factories import current_credential, make_connection

pytestmark = pytest.mark.django_db

API_KEY = Credential.Field.API_KEY


def decrypt(credential, field=API_KEY):
    return vault.decrypt(credential, field, actor=SYSTEM, purpose="test")


def test_it_round_trips_a_key():
    tenant = factories.make_tenant()
    connection = make_connection(tenant, key="KeapAK-" + "a" * 50)

    credential = current_credential(connection)

    assert decrypt(credential) == "KeapAK-" + "a" * 50
    assert credential.key_hint == "aaaa"
    assert b"KeapAK" not in bytes(credential.api_key_ciphertext)


def test_it_audits_every_decrypt():
    tenant = factories.make_tenant()
    connection = make_connection(tenant)
    credential = current_credential(connection)

    decrypt(credential)
    decrypt(credential)

    events = AuditEvent.objects.filter(tenant=tenant, action="credential.decrypted")
    assert events.count() == 2
    event = events.first()
    assert event.target_id == str(connection.public_id)
    assert event.details == {"field": "api_key", "purpose": "test", "pending": False}
    assert event.outcome == AuditEvent.Outcome.SUCCESS


def test_it_rejects_ciphertext_copied_from_another_tenant():
    tenant_a = factories.make_tenant("A")
    tenant_b = factories.make_tenant("B")
    credential_a = current_credential(make_connection(tenant_a))
    credential_b = current_credential(make_connection(tenant_b))

    Credential.objects.filter(pk=credential_b.pk).update(
        api_key_ciphertext=bytes(credential_a.api_key_ciphertext)
    )
    credential_b.refresh_from_db()

    with pytest.raises(VaultError, match="failed authentication"):
        decrypt(credential_b)
    failure = AuditEvent.objects.get(tenant=tenant_b, action="credential.decrypted")
    assert failure.outcome == AuditEvent.Outcome.FAILURE


def test_it_rejects_ciphertext_from_another_connection():
    tenant = factories.make_tenant()
    first = current_credential(make_connection(tenant))
    second = current_credential(make_connection(tenant))

    Credential.objects.filter(pk=second.pk).update(
        api_key_ciphertext=bytes(first.api_key_ciphertext)
    )
    second.refresh_from_db()

    with pytest.raises(VaultError, match="copied from another row or field"):
        decrypt(second)


def test_it_rejects_ciphertext_moved_to_another_field():
    tenant = factories.make_tenant()
    credential = current_credential(make_connection(tenant))

    credential.access_token_ciphertext = bytes(credential.api_key_ciphertext)

    with pytest.raises(VaultError):
        decrypt(credential, Credential.Field.ACCESS_TOKEN)


@pytest.mark.parametrize("position", [0, 4, 5, 20, -1])
def test_it_rejects_one_flipped_bit(position):
    tenant = factories.make_tenant()
    credential = current_credential(make_connection(tenant))
    ciphertext = bytearray(credential.api_key_ciphertext)

    ciphertext[position] ^= 0x01
    credential.api_key_ciphertext = bytes(ciphertext)

    with pytest.raises(VaultError):
        decrypt(credential)


def test_it_raises_for_an_empty_field():
    tenant = factories.make_tenant()
    credential = current_credential(make_connection(tenant))

    with pytest.raises(VaultError, match="has no stored refresh_token"):
        decrypt(credential, Credential.Field.REFRESH_TOKEN)


def test_it_raises_when_the_tenant_keyset_is_missing():
    tenant = factories.make_tenant()
    credential = current_credential(make_connection(tenant))

    TenantKeyset.objects.filter(tenant=tenant).delete()

    with pytest.raises(VaultError, match="has no vault keyset"):
        decrypt(credential)


def test_it_rejects_a_keyset_copied_to_another_tenant():
    tenant_a = factories.make_tenant("A")
    tenant_b = factories.make_tenant("B")
    make_connection(tenant_a)
    credential_b = current_credential(make_connection(tenant_b))

    wrapped_a = TenantKeyset.objects.get(tenant=tenant_a).encrypted_keyset
    TenantKeyset.objects.filter(tenant=tenant_b).update(encrypted_keyset=wrapped_a)

    with pytest.raises(VaultError, match="Cannot unwrap the vault keyset"):
        decrypt(credential_b)


def test_it_wraps_tenant_keysets():
    tenant = factories.make_tenant()
    make_connection(tenant)

    stored = TenantKeyset.objects.get(tenant=tenant).encrypted_keyset
    document = json.loads(stored)

    assert set(document) == {"encryptedKeyset", "keysetInfo"}
    assert "value" not in json.dumps(document["keysetInfo"])
    _, _, wrapping_key_id = keysets.encrypted_keyset_info(stored)
    assert wrapping_key_id == master.master_primary_key_id()


def test_it_deletes_the_keyset_with_its_tenant():
    owner = factories.make_membership(role=Membership.Role.OWNER)
    tenant = owner.tenant
    decrypt(current_credential(make_connection(tenant)))

    do_delete_tenant(tenant, actor=owner.user)

    assert not TenantKeyset.objects.filter(tenant_id=tenant.pk).exists()
    assert not Credential.objects.filter(tenant_id=tenant.pk).exists()


def test_it_generates_an_ephemeral_master_keyset(settings, caplog, monkeypatch):
    settings.VAULT_MASTER_KEYSET = ""
    monkeypatch.setattr(master, "_ephemeral_json", "")

    keyset_json = master.master_keyset_json()

    assert keysets.key_ids(keysets.parse_cleartext_json(keyset_json))
    assert master.master_keyset_json() == keyset_json
    assert caplog.text.count("generated an ephemeral master keyset") == 1


def test_it_requires_a_master_keyset_outside_test_mode(settings):
    settings.VAULT_MASTER_KEYSET = ""
    settings.PORTAL_MODE = "production"

    with pytest.raises(VaultError, match="Missing VAULT_MASTER_KEYSET"):
        master.master_keyset_json()


def test_it_rejects_an_invalid_master_keyset(settings):
    settings.VAULT_MASTER_KEYSET = '{"primaryKeyId": 1, "key": []}'

    with pytest.raises(VaultError, match="not a valid Tink keyset"):
        master.master_handle()


def test_it_never_derives_keys_from_secret_key(settings):
    tenant = factories.make_tenant()
    credential = current_credential(make_connection(tenant, key="KeapAK-" + "b" * 50))

    settings.SECRET_KEY = "a-completely-different-secret-key-for-this-test-only"

    assert decrypt(credential) == "KeapAK-" + "b" * 50


def test_only_the_keap_client_decrypts():
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "connector" / "keap" / "client.py"}
    callers = []
    for folder in ("connector", "portal", "tenants", "config"):
        for path in (root / folder).rglob("*.py"):
            if path in allowed or (root / "connector" / "vault") in path.parents:
                continue
            if re.search(r"\b(vault|credentials)\.decrypt\(", path.read_text()):
                callers.append(str(path.relative_to(root)))

    assert callers == []
