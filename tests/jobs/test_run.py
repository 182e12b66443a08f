"""Running jobs in this process against the Keap sandbox: success, results, audit events."""

import pytest

from connector.jobs import payloads
from connector.models import Job, JobAttempt
from tests.factories import audit_events
from tests.jobs.conftest import drive_jobs
from tests.jobs.factories import make_request_job, make_upsert_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_a_request_job(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/account/profile")

    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    assert job.keap_status == 200
    assert job.attempts == 1
    assert job.finished_at is not None
    result = payloads.decrypt(job, payloads.RESULT)
    assert result["status"] == 200
    assert result["body"]["name"] == "Acme Sandbox"


def test_it_stores_result_only_encrypted(pat_connection):
    job = make_upsert_job(pat_connection, "secret.person@example.com")

    (job,) = drive_jobs([job])

    assert b"secret.person" not in bytes(job.result_ciphertext)
    assert b"secret.person" not in bytes(job.payload_ciphertext)
    assert payloads.decrypt(job, payloads.RESULT)["contact"]["email_addresses"][0]["email"] == (
        "secret.person@example.com"
    )


def test_it_audits_created_and_succeeded(pat_connection, tenant):
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    drive_jobs([job])

    (created,) = audit_events(tenant, "job.created")
    (succeeded,) = audit_events(tenant, "job.succeeded")
    assert created.target_id == str(job.public_id)
    assert created.details["path_template"] == "/v1/tags"
    assert succeeded.details["keap_status"] == 200
    assert succeeded.details["method"] == "GET"
    assert "body" not in succeeded.details


def test_it_records_one_attempt(pat_connection):
    job = make_request_job(pat_connection, "GET", "/v1/tags")

    drive_jobs([job])

    (attempt,) = JobAttempt.objects.filter(job=job)
    assert attempt.outcome == JobAttempt.Outcome.SUCCEEDED
    assert attempt.number == 1
    assert attempt.keap_status == 200
    assert attempt.duration_ms is not None


def test_it_upserts_by_email_ignoring_case(pat_connection, keap):
    job = make_upsert_job(pat_connection, "Ann@Example.com", given_name="Ann")
    drive_jobs([job])
    again = make_upsert_job(pat_connection, "ann@example.com", family_name="Lee")
    first, second = drive_jobs([job, again])

    matching = [
        item
        for item in keap.control.contacts("ab123")
        if item["email_addresses"][0]["email"].lower() == "ann@example.com"
    ]
    assert len(matching) == 1
    assert matching[0]["given_name"] == "Ann"
    assert matching[0]["family_name"] == "Lee"
    assert payloads.decrypt(first, payloads.RESULT)["created"] is True
    assert payloads.decrypt(second, payloads.RESULT)["created"] is False


def test_it_applies_tags_after_the_upsert(pat_connection, keap):
    (tag_job,) = drive_jobs(
        [make_request_job(pat_connection, "POST", "/v1/tags", body={"name": "VIP"})]
    )
    tag_id = payloads.decrypt(tag_job, payloads.RESULT)["body"]["id"]

    job = make_upsert_job(pat_connection, "tagged@example.com", tag_ids=[tag_id])
    (job,) = drive_jobs([job])

    assert job.status == Job.Status.SUCCEEDED
    (stored,) = [
        item
        for item in keap.control.contacts("ab123")
        if item["email_addresses"][0]["email"] == "tagged@example.com"
    ]
    assert stored["tag_ids"] == [str(tag_id)]
    calls = [
        entry["path"] for entry in keap.control.request_log(path_prefix="/crm/rest/v1/contacts")
    ]
    assert calls[-2:] == ["/crm/rest/v1/contacts", f"/crm/rest/v1/contacts/{stored['id']}/tags"]
