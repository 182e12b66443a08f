"""Batch upserts: progress, chunks that continue in new tasks, failed rows."""

import pytest

from connector.jobs import payloads
from connector.jobs.create import batch_upsert_job
from connector.models import Job, JobAttempt
from tests.jobs.conftest import drive_jobs
from tests.jobs.factories import make_batch_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_upserts_every_row(pat_connection, keap):
    contacts = [{"email": f"batch{i}@example.com", "given_name": f"Row {i}"} for i in range(12)]
    contacts.append({"email": "BATCH0@example.com", "family_name": "Again"})

    (job,) = drive_jobs([make_batch_job(pat_connection, contacts)])

    assert job.status == Job.Status.SUCCEEDED
    assert (job.progress_total, job.progress_done) == (13, 13)
    assert (job.progress_created, job.progress_updated, job.progress_failed) == (12, 1, 0)
    assert payloads.decrypt(job, payloads.RESULT) == {
        "total": 13,
        "done": 13,
        "created": 12,
        "updated": 1,
        "failed": 0,
    }
    emails = [
        item["email_addresses"][0]["email"].lower() for item in keap.control.contacts("ab123")
    ]
    assert sorted(emails) == sorted(f"batch{i}@example.com" for i in range(12))


def test_it_continues_in_chunks(pat_connection, settings):
    settings.JOB_BATCH_CHUNK_ROWS = 4
    contacts = [{"email": f"chunk{i}@example.com"} for i in range(10)]

    (job,) = drive_jobs([make_batch_job(pat_connection, contacts)])

    assert job.status == Job.Status.SUCCEEDED
    assert job.progress_done == 10
    outcomes = list(
        JobAttempt.objects.filter(job=job).order_by("number").values_list("outcome", flat=True)
    )
    assert outcomes == ["continued", "continued", "succeeded"]
    # Chunks that end on time are not failed attempts.
    assert job.attempts == 1


def test_it_keeps_failed_rows_encrypted(pat_connection):
    contacts = [
        {"email": "good@example.com"},
        {"email": "bad@example.com", "custom_fields": [{"id": 999999, "content": "x"}]},
        {"email": "also.good@example.com"},
    ]

    (job,) = drive_jobs([make_batch_job(pat_connection, contacts)])

    assert job.status == Job.Status.SUCCEEDED
    assert (job.progress_done, job.progress_failed, job.progress_created) == (3, 1, 2)
    assert b"bad@example.com" not in bytes(job.failed_rows_ciphertext)
    (failed,) = payloads.decrypt(job, payloads.FAILED_ROWS)
    assert failed["row"] == 1
    assert failed["email"] == "bad@example.com"
    assert failed["error_code"] == "bad_request"
    assert "custom field" in failed["error"]


def test_it_resumes_after_a_transient_error(pat_connection, keap, fast_retries):
    keap.control.add_fault("error", status=503, pattern="...x", times=1)
    contacts = [{"email": f"resume{i}@example.com"} for i in range(6)]

    (job,) = drive_jobs([make_batch_job(pat_connection, contacts)])

    assert job.status == Job.Status.SUCCEEDED
    assert job.progress_done == 6
    assert job.attempts == 2
    puts = keap.control.request_log(path_prefix="/crm/rest/v1/contacts")
    assert len(puts) == 7  # the row that got 503 was sent again, the others once


@pytest.mark.parametrize("size", [0, 1001])
def test_it_rejects_a_batch_of_invalid_size(size):
    rows = [{"contact": {"email_addresses": []}} for _ in range(size)]

    with pytest.raises(ValueError, match="Invalid batch"):
        batch_upsert_job(rows)
