"""The periodic task that writes audit chain checkpoints, run by a real Celery worker."""

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from tenants.audit_chain import read_checkpoints, verify_all
from tenants.models import AuditChainHead
from tenants.tasks import write_audit_checkpoint
from tests import factories
from tests.audit.conftest import add_events

WORKER_WAIT_SECONDS = 30


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_it_writes_each_tenant_head(settings, tmp_path, tenant):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    other = factories.make_tenant("Other")
    add_events(tenant, 3)
    add_events(other, 2)

    written = write_audit_checkpoint()

    assert written == 2
    heads = {str(h.tenant.public_id): h for h in AuditChainHead.objects.select_related("tenant")}
    lines = read_lines(tmp_path / "checkpoints.jsonl")
    assert {line["tenant"]: line["sequence"] for line in lines} == {
        str(tenant.public_id): 3,
        str(other.public_id): 2,
    }
    for line in lines:
        assert line["hash"] == heads[line["tenant"]].last_hash


def test_it_appends_on_each_run(settings, tmp_path, tenant):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    add_events(tenant, 1)
    write_audit_checkpoint()
    add_events(tenant, 2)

    write_audit_checkpoint()

    lines = read_lines(tmp_path / "checkpoints.jsonl")
    assert [line["sequence"] for line in lines] == [1, 3]
    assert read_checkpoints(tmp_path / "checkpoints.jsonl")[str(tenant.public_id)]["sequence"] == 3
    assert verify_all() == []


def test_it_skips_without_path(settings, tenant, caplog):
    settings.AUDIT_CHECKPOINT_PATH = ""
    add_events(tenant, 1)

    assert write_audit_checkpoint() == 0
    assert "AUDIT_CHECKPOINT_PATH is not set" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_it_runs_in_a_worker(settings, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_PATH = str(path)
    tenant = factories.make_tenant("Worker")
    add_events(tenant, 4)
    celery_app.conf.task_always_eager = False
    # Messages left on this test run's broker by earlier tests would run first.
    celery_app.control.purge()

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        write_audit_checkpoint.delay()
        deadline = time.monotonic() + WORKER_WAIT_SECONDS
        while not read_lines(path) and time.monotonic() < deadline:
            time.sleep(0.1)

    lines = read_lines(path)
    assert [(line["tenant"], line["sequence"]) for line in lines] == [(str(tenant.public_id), 4)]
