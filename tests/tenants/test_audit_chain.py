"""The audit log's hash chain: verification, append-only rows, checkpoints and retention."""

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tenants.audit import compute_hash, record_event
from tenants.audit_chain import prune_tenant, read_checkpoints, verify_all, write_checkpoint
from tenants.models import AuditChainHead, AuditEvent, Tenant

SYSTEM = AuditEvent.ActorType.SYSTEM


def add_events(tenant, count):
    for number in range(count):
        record_event(tenant, "test.recorded", actor_type=SYSTEM, details={"number": number})


def as_superuser(sql, params=()):
    """Run SQL with triggers off, as a database superuser could."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def verify_output(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=stdout, stderr=stderr)
    except CommandError as exc:
        return False, stderr.getvalue() + str(exc)
    return True, stdout.getvalue()


@pytest.fixture
def chain(db):
    tenant = Tenant.objects.create(name="Chain")
    add_events(tenant, 10)
    return tenant


def test_it_links_events_in_sequence(chain):
    events = list(AuditEvent.objects.filter(tenant=chain).order_by("sequence"))

    assert [event.sequence for event in events] == list(range(1, 11))
    assert events[0].previous_hash == "0" * 64
    for before, after in zip(events, events[1:], strict=False):
        assert after.previous_hash == before.hash


def test_it_verifies_clean_chain(chain):
    ok, output = verify_output()

    assert ok, output
    assert "no faults" in output


def test_it_names_edited_event(chain):
    as_superuser(
        "UPDATE tenants_auditevent SET details = '{\"number\": 99}' "
        "WHERE tenant_id = %s AND sequence = 4",
        [chain.pk],
    )

    ok, output = verify_output("--tenant", str(chain.public_id))

    assert not ok
    assert "edited at sequence 4" in output


def test_it_names_gap_after_delete(chain):
    as_superuser("DELETE FROM tenants_auditevent WHERE tenant_id = %s AND sequence = 6", [chain.pk])

    ok, output = verify_output()

    assert not ok
    assert "gap at sequence 6" in output


def test_it_names_cut_tail(chain):
    as_superuser("DELETE FROM tenants_auditevent WHERE tenant_id = %s AND sequence > 7", [chain.pk])

    ok, output = verify_output()

    assert not ok
    assert "cut tail at sequence 8" in output


def test_it_detects_cut_tail_with_head_rewritten(chain, tmp_path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoint(checkpoints)
    as_superuser("DELETE FROM tenants_auditevent WHERE tenant_id = %s AND sequence > 7", [chain.pk])
    last = AuditEvent.objects.get(tenant=chain, sequence=7)
    AuditChainHead.objects.filter(tenant=chain).update(last_sequence=7, last_hash=last.hash)

    ok, output = verify_output("--checkpoints", str(checkpoints))

    assert not ok
    assert "cut tail at sequence 8" in output


def test_it_detects_whole_chain_rewrite(chain, tmp_path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoint(checkpoints)

    # Rewrite every event consistently, hashes included: only the checkpoint can tell.
    previous = "0" * 64
    for event in AuditEvent.objects.filter(tenant=chain).order_by("sequence").values():
        event["details"] = {"number": -1}
        event["previous_hash"] = previous
        new_hash = compute_hash(chain.public_id, event)
        as_superuser(
            "UPDATE tenants_auditevent SET details = %s, previous_hash = %s, hash = %s "
            "WHERE id = %s",
            [json.dumps(event["details"]), previous, new_hash, event["id"]],
        )
        previous = new_hash
    AuditChainHead.objects.filter(tenant=chain).update(last_hash=previous)

    assert verify_all(checkpoints={}) == []
    ok, output = verify_output("--checkpoints", str(checkpoints))
    assert not ok
    assert "rewritten at sequence 10" in output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tenants_auditevent SET action = 'x'",
        "DELETE FROM tenants_auditevent",
    ],
)
def test_it_rejects_changes_by_portal_role(chain, statement):
    with pytest.raises(DatabaseError) as raised, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)

    assert raised.value.__cause__.sqlstate == "42501"
    assert "append-only" in str(raised.value)
    assert AuditEvent.objects.filter(tenant=chain).count() == 10


def test_it_keeps_chain_verifiable_after_prune(chain, tmp_path):
    as_superuser(
        "UPDATE tenants_auditevent SET created_at = created_at - interval '40 days' "
        "WHERE tenant_id = %s AND sequence <= 4",
        [chain.pk],
    )
    # The hash covers created_at, so backdating by SQL breaks events 1-4; prune removes them.
    export = tmp_path / "export.jsonl"

    with export.open("a") as export_file:
        removed = prune_tenant(chain, timezone.now() - timedelta(days=30), export_file)

    assert removed == 4
    assert len(export.read_text().splitlines()) == 4
    head = AuditChainHead.objects.get(tenant=chain)
    assert head.start_sequence == 5
    assert verify_all() == []
    record_event(chain, "test.after_prune", actor_type=SYSTEM)
    assert verify_all() == []


def test_it_writes_and_reads_checkpoints(chain, tmp_path):
    path = tmp_path / "checkpoints.jsonl"

    assert write_checkpoint(path) == 1
    add_events(chain, 2)
    assert write_checkpoint(path) == 1

    latest = read_checkpoints(path)[str(chain.public_id)]
    assert latest["sequence"] == 12
    assert len(path.read_text().splitlines()) == 2


def test_it_rejects_unknown_tenant_id(db):
    ok, output = verify_output("--tenant", "not-a-uuid")

    assert not ok
    assert "Invalid tenant id 'not-a-uuid'" in output


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_serialises_concurrent_writers():
    tenant = Tenant.objects.create(name="Busy")
    errors = []

    def write(count):
        try:
            add_events(tenant, count)
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(1250,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = list(
        AuditEvent.objects.filter(tenant=tenant)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 10001))
    assert verify_all([tenant], checkpoints={}) == []
