"""Master and tenant key rotation while credentials are being decrypted, retirement and the
vault management commands."""

import io
import json
import os
import random
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection

from connector.actor import OPERATOR, SYSTEM
from connector.models import Connection, Credential, TenantKeyset
from connector.vault import VaultError, keysets, master, operations
from connector.vault import credentials as vault
from tenants.models import AuditEvent
from tests import factories
from tests.connector.factories import fake_api_key

CREDENTIALS = 1000
TENANTS = 10


def make_credentials(tenants, per_tenant):
    """Create `per_tenant` PAT connections in each tenant; return {credential pk: key}."""
    keys = {}
    for tenant in tenants:
        for index in range(per_tenant):
            key = fake_api_key()
            connection = Connection.objects.create(
                tenant=tenant,
                method=Connection.Method.PAT,
                status=Connection.Status.ACTIVE,
                keap_tenant_id=f"app{index}.infusionsoft.com",
            )
            credential = Credential(tenant=tenant, connection=connection, key_hint=key[-4:])
            vault.store(credential, {Credential.Field.API_KEY: key})
            keys[credential.pk] = key
    return keys


class DecryptLoop:
    """Decrypts random credentials in a thread until stopped, counting failures."""

    def __init__(self, keys):
        self.keys = keys
        self.ids = list(keys)
        self.stop = threading.Event()
        self.decrypts = 0
        self.failures = []
        self.thread = threading.Thread(target=self.run)

    def run(self):
        rng = random.Random(7)
        try:
            while not self.stop.is_set():
                credential_id = rng.choice(self.ids)
                credential = Credential.objects.select_related("tenant", "connection").get(
                    pk=credential_id
                )
                try:
                    plaintext = vault.decrypt(
                        credential, Credential.Field.API_KEY, actor=SYSTEM, purpose="test"
                    )
                except VaultError as exc:
                    self.failures.append(str(exc))
                    continue
                if plaintext != self.keys[credential_id]:
                    self.failures.append(f"wrong plaintext for {credential_id}")
                self.decrypts += 1
        finally:
            db_connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_rotates_the_master_key_without_failed_decrypts(settings):
    settings.VAULT_MASTER_KEYSET = keysets.generate_master_keyset_json()
    old_master_key = master.master_primary_key_id()
    tenants = [factories.make_tenant() for _ in range(TENANTS)]
    keys = make_credentials(tenants, CREDENTIALS // TENANTS)

    with DecryptLoop(keys) as loop:
        # Step 1: every process gets the keyset that contains both keys.
        settings.VAULT_MASTER_KEYSET = operations.new_master_keyset_with_added_key()
        # Step 2: rewrap while decrypts go on.
        rewrapped, current = operations.rewrap_all_tenant_keysets()

    assert loop.failures == []
    assert loop.decrypts > 0
    assert (rewrapped, current) == (TENANTS, 0)
    new_master_key = master.master_primary_key_id()
    assert new_master_key != old_master_key
    assert operations.tenant_keysets_by_master_key() == {new_master_key: TENANTS}

    # Step 3: the old key can go, and everything still decrypts without it.
    settings.VAULT_MASTER_KEYSET = operations.master_keyset_without_key(old_master_key)
    for credential in Credential.objects.select_related("tenant", "connection")[:20]:
        assert (
            vault.decrypt(credential, "api_key", actor=SYSTEM, purpose="test")
            == keys[credential.pk]
        )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_rotates_a_tenant_key_without_failed_decrypts():
    tenant = factories.make_tenant()
    keys = make_credentials([tenant], CREDENTIALS)
    old_key = keysets.encrypted_keyset_info(
        TenantKeyset.objects.get(tenant=tenant).encrypted_keyset
    )[0]

    with DecryptLoop(keys) as loop:
        old_primary, new_primary, changed = operations.rotate_tenant_key(tenant, actor=OPERATOR)

    assert loop.failures == []
    assert loop.decrypts > 0
    assert old_primary == old_key
    assert changed == CREDENTIALS
    report = operations.key_usage_report().tenants[str(tenant.public_id)]
    assert report.primary_key_id == new_primary
    assert report.values_by_key == {new_primary: CREDENTIALS}
    assert AuditEvent.objects.filter(tenant=tenant, action="credential.reencrypted").count() == (
        CREDENTIALS
    )

    operations.retire_tenant_key(tenant, old_primary, actor=OPERATOR)
    assert operations.key_usage_report().tenants[str(tenant.public_id)].key_ids == [new_primary]


@pytest.mark.django_db
def test_it_refuses_to_retire_a_tenant_key_in_use():
    tenant = factories.make_tenant()
    make_credentials([tenant], 3)
    tenant_keys = keysets.encrypted_keyset_info(
        TenantKeyset.objects.get(tenant=tenant).encrypted_keyset
    )
    old_primary = tenant_keys[0]
    # A new primary key without re-encrypting leaves the old key in use.
    from connector.vault import tenant_keys as tenant_keyset

    tenant_keyset.rotate(tenant)

    with pytest.raises(VaultError, match="still encrypts 3 stored value"):
        operations.retire_tenant_key(tenant, old_primary, actor=OPERATOR)
    assert old_primary in operations.key_usage_report().tenants[str(tenant.public_id)].key_ids


@pytest.mark.django_db
def test_it_refuses_to_retire_the_primary_key():
    tenant = factories.make_tenant()
    make_credentials([tenant], 1)
    primary = keysets.encrypted_keyset_info(
        TenantKeyset.objects.get(tenant=tenant).encrypted_keyset
    )[0]
    Credential.objects.for_tenant(tenant).delete()

    with pytest.raises(VaultError, match="is the primary key"):
        operations.retire_tenant_key(tenant, primary, actor=OPERATOR)


@pytest.mark.django_db
def test_it_refuses_to_retire_a_master_key_in_use(settings):
    settings.VAULT_MASTER_KEYSET = keysets.generate_master_keyset_json()
    old_master_key = master.master_primary_key_id()
    make_credentials([factories.make_tenant()], 1)
    settings.VAULT_MASTER_KEYSET = operations.new_master_keyset_with_added_key()

    with pytest.raises(VaultError, match="still wraps 1 tenant keyset"):
        operations.master_keyset_without_key(old_master_key)


@pytest.mark.django_db
def test_it_names_a_missing_master_key(settings):
    settings.VAULT_MASTER_KEYSET = keysets.generate_master_keyset_json()
    tenant = factories.make_tenant()
    keys = make_credentials([tenant], 1)
    credential = Credential.objects.select_related("tenant", "connection").get(pk=next(iter(keys)))

    settings.VAULT_MASTER_KEYSET = keysets.generate_master_keyset_json()

    with pytest.raises(VaultError, match="which VAULT_MASTER_KEYSET lacks"):
        vault.decrypt(credential, "api_key", actor=SYSTEM, purpose="test")


def test_generate_master_writes_a_private_file(tmp_path):
    path = tmp_path / "master.json"

    call_command("vault_generate_master", "--output", str(path), stderr=io.StringIO())

    assert os.stat(path).st_mode & 0o777 == 0o600
    assert len(keysets.key_ids(keysets.parse_cleartext_json(path.read_text()))) == 1
    with pytest.raises(CommandError, match="already exists"):
        call_command("vault_generate_master", "--output", str(path), stderr=io.StringIO())


def test_generate_master_prints_to_stdout():
    out = io.StringIO()

    call_command("vault_generate_master", stdout=out)

    assert json.loads(out.getvalue())["primaryKeyId"]


@pytest.mark.django_db
def test_rotation_commands_run_end_to_end(settings, tmp_path):
    settings.VAULT_MASTER_KEYSET = keysets.generate_master_keyset_json()
    old_master_key = master.master_primary_key_id()
    tenant = factories.make_tenant()
    make_credentials([tenant], 2)
    new_master = tmp_path / "new-master.json"

    call_command("vault_rotate_master", "--new-master-file", str(new_master), stderr=io.StringIO())
    settings.VAULT_MASTER_KEYSET = new_master.read_text()
    out = io.StringIO()
    call_command("vault_rotate_master", "--rewrap", stdout=out)
    assert "Rewrapped 1 tenant keyset(s)" in out.getvalue()

    out = io.StringIO()
    call_command("vault_rotate_tenant_key", "--tenant", str(tenant.public_id), stdout=out)
    assert "re-encrypted 2 credential(s)" in out.getvalue()

    out = io.StringIO()
    call_command("vault_key_report", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["tenant_keysets_by_master_key"] == {str(master.master_primary_key_id()): 1}
    tenant_report = report["tenants"][str(tenant.public_id)]
    old_tenant_key = next(
        key for key in tenant_report["key_ids"] if key != tenant_report["primary_key_id"]
    )
    assert tenant_report["values_by_key"] == {str(tenant_report["primary_key_id"]): 2}

    call_command(
        "vault_retire_key",
        "--tenant",
        str(tenant.public_id),
        "--key-id",
        str(old_tenant_key),
        stdout=io.StringIO(),
    )
    final = tmp_path / "final-master.json"
    call_command(
        "vault_retire_key",
        "--master",
        "--key-id",
        str(old_master_key),
        "--output",
        str(final),
        stderr=io.StringIO(),
    )
    assert old_master_key not in keysets.key_ids(keysets.parse_cleartext_json(final.read_text()))


@pytest.mark.django_db
def test_retire_command_refuses_a_key_in_use():
    tenant = factories.make_tenant()
    make_credentials([tenant], 1)
    primary = keysets.encrypted_keyset_info(
        TenantKeyset.objects.get(tenant=tenant).encrypted_keyset
    )[0]

    with pytest.raises(CommandError, match="still encrypts 1 stored value"):
        call_command(
            "vault_retire_key", "--tenant", str(tenant.public_id), "--key-id", str(primary)
        )


def test_it_refuses_to_retire_key_of_job_data(db, tenant):
    from connector.vault import VaultError, operations, tenant_keys
    from tests.connector.factories import make_connection
    from tests.jobs.factories import make_request_job

    connection = make_connection(tenant)
    job = make_request_job(connection, "POST", "/v1/contacts", body={"email": "a@example.com"})
    job.refresh_from_db()
    assert job.payload_ciphertext is not None

    # The rotation re-encrypts the credential, so only the job's payload keeps the old key.
    old_primary, _, reencrypted = operations.rotate_tenant_key(tenant, actor=SYSTEM)
    assert reencrypted == 1
    assert tenant_keys.credential_key_usage(tenant)[old_primary] == 1

    with pytest.raises(VaultError, match="still encrypts 1 stored value"):
        tenant_keys.retire(tenant, old_primary)
