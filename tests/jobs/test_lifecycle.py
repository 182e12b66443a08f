"""Revoking, lost workers, retention and waiting for jobs."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from connector import actions
from connector.actor import SYSTEM
from connector.jobs import config, notify, payloads, run, sweeper
from connector.jobs.retention import purge_job_results
from connector.jobs.wait import wait_for_job
from connector.models import Job, JobAttempt
from tenants.models import AuditEvent
from tests.factories import audit_events
from tests.jobs.conftest import drive_jobs
from tests.jobs.factories import make_batch_job, make_request_job
from tests.jobs.test_create import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def revoke(connection):
    """Revoke `connection`; return how many queued jobs the revoke cancelled."""
    actions.do_revoke_connection(connection, actor=SYSTEM)
    event = AuditEvent.objects.filter(tenant=connection.tenant, action="connection.revoked").latest(
        "sequence"
    )
    return event.details["jobs_cancelled"]


# --- Revoke ----------------------------------------------------------------------------------


def test_it_cancels_queued_jobs_on_revoke(pat_connection, keap):
    jobs = [make_request_job(pat_connection, "GET", "/v1/tags") for _ in range(3)]
    calls_before = len(keap.control.request_log())

    cancelled = revoke(pat_connection)
    run.pump(budget_seconds=2)

    assert cancelled == 3
    for job in jobs:
        job.refresh_from_db()
        assert job.status == Job.Status.CANCELLED
        assert job.error_code == "connection_revoked"
    assert len(keap.control.request_log()) == calls_before


def test_it_leaves_other_connections_jobs(pat_connection, tenant):
    from tests.connector.factories import make_connection

    other = make_connection(tenant)
    other_job = make_request_job(other, "GET", "/v1/tags")

    revoke(pat_connection)

    other_job.refresh_from_db()
    assert other_job.status == Job.Status.QUEUED


def test_it_cancels_after_later_revoke(pat_connection, keap, tenant):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    with transaction.atomic():
        actions.do_revoke_connection(pat_connection, actor=SYSTEM)

    run.pump(budget_seconds=2)

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    revoked = audit_events(tenant, "connection.revoked")
    assert [event.details["jobs_cancelled"] for event in revoked] == [1]


def test_it_stops_batch_on_revoke(pat_connection, keap, settings):
    keap.control.add_fault("latency", seconds=0.15, path_prefix="/crm/rest/v1/contacts")
    contacts = [{"email": f"row{i}@example.com"} for i in range(40)]
    job = make_batch_job(pat_connection, contacts)
    worker = threading.Thread(target=_pump_in_thread)
    worker.start()

    deadline = time.monotonic() + 10
    while Job.objects.get(pk=job.pk).progress_done < 3:
        assert time.monotonic() < deadline, "the batch did not start"
        time.sleep(0.05)
    revoke(pat_connection)
    calls_at_revoke = len(keap.control.request_log(path_prefix="/crm/rest/v1/contacts"))
    worker.join(timeout=30)

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert 3 <= job.progress_done < 40
    # No Keap call after the revoke committed.
    assert len(keap.control.request_log(path_prefix="/crm/rest/v1/contacts")) == calls_at_revoke
    assert calls_at_revoke == job.progress_done
    summary = payloads.decrypt(job, payloads.RESULT)
    assert summary["done"] == job.progress_done


def _pump_in_thread():
    try:
        run.pump(budget_seconds=20)
    finally:
        db_connection.close()


# --- Lost workers ----------------------------------------------------------------------------


def expire_lease(job):
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def claim_without_running(job):
    limits = run.limits_for_job(job)
    claimed = run.claim(Job.objects.select_related("tenant", "connection").get(pk=job.pk), limits)
    assert claimed is not None
    return claimed


def test_it_requeues_a_get_whose_worker_died(pat_connection, fast_retries):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    claim_without_running(job)
    expire_lease(job)

    report = sweeper.sweep()
    (job,) = drive_jobs([job])

    assert report.requeued == 1
    assert job.status == Job.Status.SUCCEEDED
    outcomes = list(
        JobAttempt.objects.filter(job=job).order_by("number").values_list("outcome", flat=True)
    )
    assert outcomes == ["lost", "succeeded"]


def test_it_marks_a_lost_create_outcome_unknown(pat_connection, tenant):
    body = {"email_addresses": [{"email": "lost@example.com", "field": "EMAIL1"}]}
    job = make_request_job(pat_connection, "POST", "/v1/contacts", body=body)
    claim_without_running(job)
    expire_lease(job)

    report = sweeper.sweep()

    job.refresh_from_db()
    assert report.outcome_unknown == 1
    assert job.status == Job.Status.OUTCOME_UNKNOWN
    assert "Check Keap" in job.error
    (event,) = audit_events(tenant, "job.failed")
    assert event.details["status"] == "outcome_unknown"


def test_it_leaves_live_leases_alone(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    claim_without_running(job)

    report = sweeper.sweep()

    job.refresh_from_db()
    assert report.requeued == 0
    assert job.status == Job.Status.RUNNING


def test_it_fails_a_job_that_keeps_losing_workers(pat_connection, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    for _ in range(2):
        claim_without_running(job)
        expire_lease(job)
        sweeper.sweep()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error_code == "worker_lost"


def test_it_ignores_a_late_worker_after_takeover(pat_connection, fast_retries):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    stale = claim_without_running(job)
    expire_lease(job)
    sweeper.sweep()
    (job,) = drive_jobs([job])

    from connector.jobs.finish import succeed

    assert succeed(stale, {"late": True}) is False
    job.refresh_from_db()
    assert payloads.decrypt(job, payloads.RESULT)["status"] == 200


def test_it_pushes_a_job_missing_from_the_queue(pat_connection, settings):
    settings.JOB_DISPATCH_GRACE_SECONDS = 0
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    queue = run.dispatch.job_queue()
    assert queue.pop() is not None  # the id is gone, as if Redis lost it

    report = sweeper.sweep()

    assert report.pushed == 1
    assert queue.length(str(job.tenant.public_id)) == 1


def test_it_does_not_push_a_waiting_job_twice(pat_connection, settings):
    settings.JOB_DISPATCH_GRACE_SECONDS = 0
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    report = sweeper.sweep()

    assert report.pushed == 0
    assert run.dispatch.job_queue().length(str(job.tenant.public_id)) == 1


# --- Retention -------------------------------------------------------------------------------


def test_it_purges_old_results(pat_connection, fast_retries):
    old, recent = drive_jobs(
        [make_request_job(pat_connection, "GET", "/v1/tags") for _ in range(2)]
    )
    days = config.result_retention_days()
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=days + 1))

    purged = purge_job_results()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert purged == 1
    assert old.payload_ciphertext is None
    assert old.result_ciphertext is None
    assert old.result_purged_at is not None
    assert payloads.decrypt(recent, payloads.RESULT)["status"] == 200
    assert recent.result_purged_at is None


def test_it_clears_expired_idempotency_keys(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/tags", key="k-1")
    Job.objects.filter(pk=job.pk).update(idempotency_expires_at=timezone.now())

    purge_job_results()

    job.refresh_from_db()
    assert job.idempotency_key == ""


# --- Waiting ---------------------------------------------------------------------------------


def test_it_waits_for_the_result(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    worker = threading.Thread(target=_pump_in_thread)
    worker.start()

    job, waited = wait_for_job(job, 10)
    worker.join(timeout=30)

    assert waited is True
    assert job.status == Job.Status.SUCCEEDED


def test_it_wakes_the_waiter_when_the_job_finishes(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    subscription = notify.FinishSubscription(job.public_id)
    announcer = threading.Timer(0.2, _announce_in_thread, args=(job,))
    announcer.start()

    started = time.monotonic()
    subscription.wait(20)
    elapsed = time.monotonic() - started
    subscription.close()
    announcer.join()

    # Without the announcement the wait would last the whole 20 seconds.
    assert elapsed < 10


def test_it_waits_without_redis(pat_connection, settings):
    settings.RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    job = make_request_job(pat_connection, "GET", "/v1/tags")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    subscription = notify.FinishSubscription(job.public_id)

    started = time.monotonic()
    subscription.wait(0.3)
    elapsed = time.monotonic() - started
    job, waited = wait_for_job(job, 2)

    assert elapsed >= 0.3
    assert waited is True
    assert job.status == Job.Status.SUCCEEDED


def _announce_in_thread(job):
    try:
        with transaction.atomic():
            notify.announce_finished(job)
    finally:
        db_connection.close()


def test_it_skips_wait_without_slot(pat_connection, settings):
    settings.API_MAX_WAITERS = 1
    blocker = make_request_job(pat_connection, "GET", "/v1/tags")
    other = make_request_job(pat_connection, "GET", "/v1/tags")
    holder = threading.Thread(target=_wait_in_thread, args=(blocker, 3))
    holder.start()
    time.sleep(0.3)

    started = time.monotonic()
    job, waited = wait_for_job(other, 3)
    elapsed = time.monotonic() - started
    holder.join()

    assert waited is False
    assert job.status == Job.Status.QUEUED
    # A bounded wait is the behaviour under test: it must not wait for the slot.
    assert elapsed < 1


def _wait_in_thread(job, seconds):
    try:
        wait_for_job(job, seconds)
    finally:
        db_connection.close()
