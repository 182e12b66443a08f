"""Creating jobs: the row, the audit event, dispatch, and idempotency keys."""

import socket
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connector.jobs import dispatch, payloads
from connector.jobs.create import IdempotencyKeyReused, create_job, request_hash, request_job
from connector.models import Job
from connector.scopes import match_request
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site
from tests.factories import audit_events
from tests.jobs.conftest import drive_jobs
from tests.jobs.factories import make_request_job

pytestmark = pytest.mark.django_db(transaction=True)


def get_tags():
    return request_job(match_request("GET", "/v1/tags").operation, "/v1/tags")


def create(connection, new_job=None, **kwargs):
    from connector.actor import SYSTEM

    return create_job(new_job or get_tags(), connection=connection, actor=SYSTEM, **kwargs)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_creates_a_queued_job(tenant):
    connection = make_connection(tenant)

    job, created = create(connection)

    assert created is True
    assert job.status == Job.Status.QUEUED
    assert job.method == "GET"
    assert job.path_template == "/v1/tags"
    assert job.operation_id == "listTagsUsingGET"
    assert payloads.decrypt(job, payloads.PAYLOAD)["path"] == "/v1/tags"


def test_it_audits_the_creation(tenant):
    connection = make_connection(tenant)

    job, _ = create(connection)

    (event,) = audit_events(tenant, "job.created")
    assert event.target_type == "job"
    assert event.target_id == str(job.public_id)
    assert event.details["kind"] == "request"
    assert event.details["connection"] == str(connection.public_id)


def test_it_pushes_after_commit(tenant):
    connection = make_connection(tenant)

    with transaction.atomic():
        job, _ = create(connection)
        assert dispatch.job_queue().length(str(tenant.public_id)) == 0

    assert dispatch.job_queue().length(str(tenant.public_id)) == 1
    job.refresh_from_db()
    assert job.dispatched_at is not None


def test_it_writes_nothing_when_rolled_back(tenant):
    connection = make_connection(tenant)

    def create_then_fail():
        with transaction.atomic():
            create(connection)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        create_then_fail()

    assert Job.objects.count() == 0
    assert audit_events(tenant, "job.created") == []
    assert dispatch.job_queue().length(str(tenant.public_id)) == 0


def test_it_accepts_jobs_while_redis_is_down(tenant, settings, caplog, isolated_names):
    connection = make_connection(tenant)
    reachable = settings.RATELIMIT_REDIS_URL
    settings.RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    job, created = create(connection)

    assert created is True
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.dispatched_at is None
    assert "not dispatched, the sweeper will retry" in caplog.text
    settings.RATELIMIT_REDIS_URL = reachable


def test_it_runs_jobs_accepted_while_redis_was_down(pat_connection, settings, fast_retries):
    reachable = settings.RATELIMIT_REDIS_URL
    settings.RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    jobs = [make_request_job(pat_connection, "GET", "/v1/tags") for _ in range(3)]
    settings.RATELIMIT_REDIS_URL = reachable

    jobs = drive_jobs(jobs)

    assert [job.status for job in jobs] == [Job.Status.SUCCEEDED] * 3


# --- Idempotency keys ------------------------------------------------------------------------


def test_it_returns_first_job_for_key(tenant):
    connection = make_connection(tenant)

    first, created_first = create(connection, idempotency_key="order-17")
    second, created_second = create(connection, idempotency_key="order-17")

    assert created_first is True
    assert created_second is False
    assert second.pk == first.pk
    assert Job.objects.count() == 1
    assert len(audit_events(tenant, "job.created")) == 1


def test_it_rejects_a_key_reused_for_another_request(tenant):
    connection = make_connection(tenant)
    create(connection, idempotency_key="order-17")
    other = request_job(match_request("GET", "/v1/contacts/5").operation, "/v1/contacts/5")

    with pytest.raises(IdempotencyKeyReused) as raised:
        create(connection, other, idempotency_key="order-17")

    assert raised.value.job.idempotency_key == "order-17"
    assert Job.objects.count() == 1


def test_it_reuses_a_key_after_it_expires(tenant):
    connection = make_connection(tenant)
    first, _ = create(connection, idempotency_key="order-17")
    Job.objects.filter(pk=first.pk).update(
        idempotency_expires_at=timezone.now() - timedelta(seconds=1)
    )
    other = request_job(match_request("GET", "/v1/contacts/5").operation, "/v1/contacts/5")

    second, created = create(connection, other, idempotency_key="order-17")

    assert created is True
    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.idempotency_key == ""


def test_it_scopes_keys_to_the_site(tenant):
    connection = make_connection(tenant)
    first_site = make_site(tenant, connection=connection).site
    second_site = make_site(tenant, connection=connection).site

    first, _ = create(connection, site=first_site, idempotency_key="same")
    second, created = create(connection, site=second_site, idempotency_key="same")

    assert created is True
    assert second.pk != first.pk


def test_it_keeps_portal_keys_unique_without_a_site(tenant):
    connection = make_connection(tenant)

    first, _ = create(connection, idempotency_key="import-1")
    second, created = create(connection, idempotency_key="import-1")

    assert created is False
    assert second.pk == first.pk


def test_it_rejects_an_overlong_key(tenant):
    connection = make_connection(tenant)

    with pytest.raises(ValueError, match="Idempotency-Key"):
        create(connection, idempotency_key="k" * 256)


def test_it_hashes_requests_with_a_key():
    same = request_hash(get_tags())
    other = request_hash(
        request_job(match_request("GET", "/v1/tags").operation, "/v1/tags", {"name": "x"})
    )

    assert same == request_hash(get_tags())
    assert other != same
    assert len(same) == 64
