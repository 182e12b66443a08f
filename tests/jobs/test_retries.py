"""Retries and final failures of jobs, against the sandbox's faults and limits."""

import time

import pytest
import requests

from connector.jobs import payloads, retry, run, sweeper
from connector.keap.errors import ConnectorError
from connector.models import Job, JobAttempt
from tests.factories import audit_events
from tests.jobs.conftest import drive_jobs
from tests.jobs.factories import make_request_job, make_upsert_job

pytestmark = pytest.mark.django_db(transaction=True)


def outcomes(job):
    return list(
        JobAttempt.objects.filter(job=job).order_by("number").values_list("outcome", flat=True)
    )


def logged_requests(keap, path_prefix, count, timeout=5.0):
    """Return the sandbox's log entries under `path_prefix` once there are `count` of them.

    A request held by a latency fault is logged when the sandbox finishes it, which is after
    the client gave up waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        entries = keap.control.request_log(path_prefix=path_prefix)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def contacts_with_email(keap, email):
    return [
        item
        for item in keap.control.contacts("ab123")
        if any(entry["email"].lower() == email for entry in item["email_addresses"])
    ]


# --- 429 -------------------------------------------------------------------------------------


def test_it_waits_out_429_with_retry_after(pat_connection, keap, fast_retries):
    keap.control.set_limits(enforced=True, key_per_second=1, send_retry_after=True)
    jobs = [make_request_job(pat_connection, "GET", "/v1/tags") for _ in range(3)]

    jobs = drive_jobs(jobs)

    for job in jobs:
        assert job.status == Job.Status.SUCCEEDED
        # A 429 does not count as a failed attempt.
        assert job.attempts == 1
    rate_limited = JobAttempt.objects.filter(
        job__in=jobs, outcome=JobAttempt.Outcome.RATE_LIMITED
    ).count()
    assert rate_limited >= 1


def test_it_waits_out_429_without_retry_after(pat_connection, keap, fast_retries):
    keap.control.set_limits(enforced=True, key_per_second=1, send_retry_after=False)
    jobs = [make_request_job(pat_connection, "GET", "/v1/tags") for _ in range(3)]

    jobs = drive_jobs(jobs)

    assert [job.status for job in jobs] == [Job.Status.SUCCEEDED] * 3
    assert [job.attempts for job in jobs] == [1, 1, 1]
    throttled = [entry for entry in keap.control.request_log() if entry["status"] == 429]
    assert throttled, "the sandbox never answered 429, so nothing was tested"


def test_it_holds_jobs_when_keap_reports_no_room(pat_connection, keap, fast_retries):
    freeze_sandbox_minute(keap)
    keap.control.set_limits(enforced=True, key_per_minute=1)
    first = make_request_job(pat_connection, "GET", "/v1/tags")
    drive_jobs([first])
    second = make_request_job(pat_connection, "GET", "/v1/tags")

    run.pump(budget_seconds=2)

    # Keap's `x-keap-product-throttle-available: 0` filled the limiter's minute window.
    second.refresh_from_db()
    assert second.status == Job.Status.QUEUED
    assert second.attempts == 0
    assert [entry["status"] for entry in keap.control.request_log()][-1] == 200
    assert len(keap.control.request_log(path_prefix="/crm/rest/v1/tags")) == 1


def test_it_blocks_the_limiter_after_429(pat, keap, fast_retries):
    connection, key = pat
    freeze_sandbox_minute(keap)
    keap.control.set_limits(enforced=True, key_per_minute=1)
    # Another program using the same key takes the minute's only request.
    outside = requests.get(
        keap.control.api_base_url + "/v1/tags",
        headers={"X-Keap-API-Key": key["key"]},
        timeout=5,
    )
    assert outside.status_code == 200
    job = make_request_job(connection, "GET", "/v1/tags")

    run.pump(budget_seconds=2)
    run.pump(budget_seconds=2)
    sweeper.sweep()
    run.pump(budget_seconds=2)

    throttled = [entry for entry in keap.control.request_log() if entry["status"] == 429]
    assert len(throttled) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.attempts == 0
    assert job.error_code == "rate_limited"


def freeze_sandbox_minute(keap):
    """Stop the sandbox clock one second into the next minute, so that minute starts with no
    requests counted and cannot roll over during the test."""
    now = keap.control.clock()["now"]
    keap.control.set_clock(now - now % 60 + 61, frozen=True)


# --- 5xx and timeouts ------------------------------------------------------------------------


def test_it_retries_503_with_backoff(pat_connection, keap, fast_retries):
    keap.control.add_fault("error", status=503, pattern="x", times=2)
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert job.attempts == 3
    assert outcomes(job) == ["retry", "retry", "succeeded"]


def test_it_fails_after_max_attempts(pat_connection, keap, fast_retries):
    fast_retries.JOB_MAX_ATTEMPTS = 3
    keap.control.add_fault("error", status=502, rate=1.0)
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.FAILED
    assert job.attempts == 3
    assert job.error_code == "keap_unavailable"
    assert job.error.startswith("Keap did not answer successfully after 3 attempts")
    assert len(keap.control.request_log(path_prefix="/crm/rest/v1/tags")) == 3


def test_it_retries_a_timed_out_get(pat_connection, keap, fast_retries):
    keap.control.add_fault("latency", seconds=1.5, times=1)
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert outcomes(job) == ["retry", "succeeded"]
    assert JobAttempt.objects.get(job=job, number=1).error_code == "timeout"


def test_it_does_not_repeat_a_timed_out_create(pat_connection, keap, fast_retries, tenant):
    keap.control.add_fault("latency", seconds=1.5, times=1)
    body = {"email_addresses": [{"email": "once@example.com", "field": "EMAIL1"}]}
    job = make_request_job(pat_connection, "POST", "/v1/contacts", body=body)

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.OUTCOME_UNKNOWN
    assert job.error_code == "outcome_unknown"
    assert "Check Keap" in job.error
    assert len(logged_requests(keap, "/crm/rest/v1/contacts", 2, timeout=2.5)) == 1
    # Keap did carry it out, after the client gave up waiting.
    assert len(contacts_with_email(keap, "once@example.com")) == 1
    (failed,) = audit_events(tenant, "job.failed")
    assert failed.details["status"] == "outcome_unknown"


def test_it_does_not_repeat_a_create_after_500(pat_connection, keap, fast_retries):
    keap.control.add_fault("error", status=500, times=1)
    body = {"email_addresses": [{"email": "maybe@example.com", "field": "EMAIL1"}]}
    job = make_request_job(pat_connection, "POST", "/v1/contacts", body=body)

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.OUTCOME_UNKNOWN
    assert len(keap.control.request_log(path_prefix="/crm/rest/v1/contacts")) == 1


def test_it_retries_a_create_after_gateway_503(pat_connection, keap, fast_retries):
    keap.control.add_fault("error", status=503, times=1)
    body = {"email_addresses": [{"email": "gateway@example.com", "field": "EMAIL1"}]}
    job = make_request_job(pat_connection, "POST", "/v1/contacts", body=body)

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert len(contacts_with_email(keap, "gateway@example.com")) == 1


def test_it_retries_a_timed_out_upsert(pat_connection, keap, fast_retries):
    keap.control.add_fault("latency", seconds=1.5, times=1)
    job = make_upsert_job(pat_connection, "upsert@example.com")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert outcomes(job) == ["retry", "succeeded"]
    assert len(logged_requests(keap, "/crm/rest/v1/contacts", 2)) == 2
    assert len(contacts_with_email(keap, "upsert@example.com")) == 1


def test_it_retries_a_dropped_v2_upsert(pat_connection, keap, fast_retries):
    keap.control.add_fault("drop", times=1)
    body = {"email_addresses": [{"email": "v2@example.com", "field": "EMAIL1"}]}
    job = make_request_job(
        pat_connection, "POST", "/v2/contacts", query={"duplicate_option": "Email"}, body=body
    )

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert outcomes(job) == ["retry", "succeeded"]
    assert JobAttempt.objects.get(job=job, number=1).error_code == "network_error"


# --- Final errors ----------------------------------------------------------------------------


def test_it_keeps_keaps_message_for_400(pat_connection, keap, fast_retries):
    job = make_request_job(pat_connection, "POST", "/v1/contacts", body={"given_name": "Nobody"})

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.FAILED
    assert job.keap_status == 400
    assert job.attempts == 1
    assert job.error_code == "bad_request"
    assert "Keap said: Invalid contact" in job.error
    assert len(job.error) <= 200


def test_it_fails_404_at_once(pat_connection, keap, fast_retries):
    job = make_request_job(pat_connection, "GET", "/v1/contacts/987654")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.FAILED
    assert job.error_code == "not_found"
    assert "987654" in job.error
    assert outcomes(job) == ["failed"]


def test_it_fails_401_without_retrying(pat_connection, keap, fast_retries):
    for key in keap.control.api_keys():
        keap.control.delete_api_key(key["key_id"])
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.FAILED
    assert job.error_code == "invalid_credential"
    assert "Keap said" not in job.error
    pat_connection.refresh_from_db()
    assert pat_connection.status == "needs_reauth"


def test_it_stores_no_result_for_failures(pat_connection, keap, fast_retries):
    job = make_request_job(pat_connection, "GET", "/v1/contacts/987654")

    (job,) = drive_jobs([job])

    assert payloads.decrypt(job, payloads.RESULT) is None


# --- The decision table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "repeatable", "expected"),
    [
        (ConnectorError("rate_limited", False, 429, retry_after=7), False, (retry.RATE_LIMITED, 7)),
        (ConnectorError("rate_limited", False, 429), True, (retry.RATE_LIMITED, 1.0)),
        (ConnectorError("keap_unavailable", False, 503), False, (retry.RETRY, None)),
        (ConnectorError("keap_unavailable", False, 500), False, (retry.UNKNOWN, 0)),
        (ConnectorError("keap_unavailable", False, 500), True, (retry.RETRY, None)),
        (ConnectorError("timeout", False), False, (retry.UNKNOWN, 0)),
        (ConnectorError("timeout", False), True, (retry.RETRY, None)),
        (ConnectorError("network_error", False), False, (retry.UNKNOWN, 0)),
        (ConnectorError("forbidden", True, 403), True, (retry.FAIL, 0)),
        (ConnectorError("bad_request", True, 400), True, (retry.FAIL, 0)),
        (ConnectorError("connection_not_active", True), True, (retry.CANCEL, 0)),
    ],
)
def test_it_decides_retries(error, repeatable, expected, settings):
    settings.JOB_RETRY_BASE_SECONDS = 2
    decision = retry.decide(error, repeatable=repeatable, attempts=1)

    action, delay = expected
    assert decision.action == action
    if delay is None:
        assert 1 <= decision.delay <= 2
    else:
        assert decision.delay == delay


def test_it_caps_the_backoff(settings):
    settings.JOB_RETRY_BASE_SECONDS = 2
    settings.JOB_RETRY_CAP_SECONDS = 30

    delays = [retry.backoff_seconds(attempt) for attempt in range(1, 12)]

    assert all(delay <= 30 for delay in delays)
    assert delays[-1] >= 15
    assert 1 <= delays[0] <= 2


def test_it_fails_after_too_many_429(settings):
    settings.JOB_MAX_RATE_LIMITED_TRIES = 3
    error = ConnectorError("rate_limited", False, 429)

    decision = retry.decide(error, repeatable=True, attempts=1, rate_limited_tries=2)

    assert decision.action == retry.FAIL
