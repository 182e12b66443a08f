"""The client API endpoints that create jobs, and GET /api/v1/jobs/{id}."""

import socket
import threading
import time
import uuid

import psycopg
import pytest
from django.db import connection as db_connection

from connector.models import Connection, Job
from tenants.models import AuditEvent
from tests.api.conftest import bearer
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site
from tests.jobs.conftest import drive_jobs

pytestmark = pytest.mark.django_db(transaction=True)

ALL_SCOPES = (
    "contacts:read",
    "contacts:write",
    "tags:read",
    "tags:apply",
    "custom_fields:read",
    "account:read",
)


@pytest.fixture
def site(tenant, pat_connection):
    return make_site(tenant, connection=pat_connection, scopes=ALL_SCOPES)


def post(client, site, path, data, **headers):
    return client.post(
        f"/api/v1{path}", data, content_type="application/json", **bearer(site.raw_key), **headers
    )


def get(client, site, path, **params):
    return client.get(f"/api/v1{path}", params, **bearer(site.raw_key))


def finished(client, site, job_id):
    drive_jobs([Job.objects.get(public_id=job_id)])
    return get(client, site, f"/jobs/{job_id}").json()


# --- Creating jobs ---------------------------------------------------------------------------


def test_it_accepts_an_upsert(client, site):
    response = post(client, site, "/contacts:upsert", {"email": "a@example.com"})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["kind"] == "upsert_contact"
    assert body["operation"] == {
        "method": "PUT",
        "path_template": "/v1/contacts",
        "operation_id": "createOrUpdateContactUsingPUT",
    }
    assert body["links"]["self"] == f"/api/v1/jobs/{body['id']}"
    assert response["Location"] == body["links"]["self"]
    assert body["result"] is None


def test_it_returns_the_upsert_result(client, site, keap):
    data = {
        "email": "Full@Example.com",
        "given_name": "Fay",
        "family_name": "Full",
        "phones": [{"number": "+1 555 0100", "extension": "12", "type": "Work"}],
        "address": {"line1": "1 Main St", "locality": "Springfield", "country_code": "USA"},
        "opt_in_reason": "Signed up on the shop",
    }
    job_id = post(client, site, "/contacts:upsert", data).json()["id"]

    body = finished(client, site, job_id)

    assert body["status"] == "succeeded"
    assert body["attempts"] == 1
    assert body["keap_status"] == 200
    contact = body["result"]["contact"]
    assert contact["given_name"] == "Fay"
    assert contact["phone_numbers"][0]["extension"] == "12"
    assert contact["email_opted_in"] is True
    assert body["result"]["created"] is True


def test_it_requires_contacts_write(client, tenant, pat_connection):
    site = make_site(tenant, connection=pat_connection, scopes=["contacts:read"])

    response = post(client, site, "/contacts:upsert", {"email": "a@example.com"})

    assert response.status_code == 403
    assert response.json()["code"] == "scope_not_granted"
    assert response.json()["missing_scopes"] == ["contacts:write"]
    assert Job.objects.count() == 0


def test_it_requires_tags_apply_for_tags(client, tenant, pat_connection):
    site = make_site(tenant, connection=pat_connection, scopes=["contacts:write"])

    response = post(client, site, "/contacts:upsert", {"email": "a@example.com", "tag_ids": [3]})

    assert response.status_code == 403
    assert response.json()["missing_scopes"] == ["tags:apply"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "not-an-email"},
        {"email": "a@example.com", "phones": [{"number": ""}]},
        {"email": "a@example.com", "phones": [{"number": "1"}] * 6},
        {"email": "a@example.com", "custom_fields": [{"id": 0, "content": "x"}]},
        {"email": "a@example.com", "address": {"country_code": "US"}},
    ],
)
def test_it_rejects_invalid_contacts(client, site, data):
    response = post(client, site, "/contacts:upsert", data)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert Job.objects.count() == 0


def test_it_names_a_misspelt_field(client, site):
    response = post(client, site, "/contacts:upsert", {"email": "a@example.com", "first_name": "A"})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["first_name"]
    assert "first_name" in response.json()["detail"]
    assert Job.objects.count() == 0


def test_it_answers_409_for_a_connection_needing_reauth(client, site, pat_connection):
    Connection.objects.filter(pk=pat_connection.pk).update(status=Connection.Status.NEEDS_REAUTH)

    response = post(client, site, "/contacts:upsert", {"email": "a@example.com"})

    assert response.status_code == 409
    assert response.json()["code"] == "connection_needs_reauth"


def test_it_accepts_jobs_while_redis_is_down(client, site, settings):
    reachable = settings.RATELIMIT_REDIS_URL
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    response = post(client, site, "/contacts:upsert", {"email": "down@example.com"})

    settings.RATELIMIT_REDIS_URL = reachable
    assert response.status_code == 202
    job = Job.objects.get(public_id=response.json()["id"])
    assert job.dispatched_at is None


def test_it_answers_503_without_database(client, site, settings):
    # A second database session locks the jobs table, and this session gives up waiting.
    locked = threading.Event()
    release = threading.Event()
    holder = threading.Thread(target=_lock_jobs_table, args=(locked, release))
    holder.start()
    locked.wait(5)
    with db_connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        response = post(client, site, "/contacts:upsert", {"email": "a@example.com"})
    finally:
        release.set()
        holder.join()
        with db_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")

    assert response.status_code == 503
    assert response.json()["code"] == "queue_unavailable"
    assert response["Retry-After"] == "5"


def _lock_jobs_table(locked, release):
    params = db_connection.get_connection_params()
    with psycopg.connect(**params) as conn:
        conn.execute("LOCK TABLE connector_job IN ACCESS EXCLUSIVE MODE")
        locked.set()
        release.wait(10)


# --- Idempotency-Key -------------------------------------------------------------------------


def test_it_returns_first_job_for_key(client, site):
    data = {"email": "once@example.com"}
    first = post(client, site, "/contacts:upsert", data, HTTP_IDEMPOTENCY_KEY="k-1")
    second = post(client, site, "/contacts:upsert", data, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Job.objects.count() == 1


def test_it_rejects_a_reused_key_with_another_body(client, site):
    post(client, site, "/contacts:upsert", {"email": "one@example.com"}, HTTP_IDEMPOTENCY_KEY="k-2")

    response = post(
        client, site, "/contacts:upsert", {"email": "two@example.com"}, HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Job.objects.count() == 1


def test_it_rejects_an_overlong_key(client, site):
    response = post(
        client, site, "/contacts:upsert", {"email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY="k" * 300
    )

    assert response.status_code == 422


# --- Reading jobs ----------------------------------------------------------------------------


def test_it_hides_another_sites_job(client, site, tenant, pat_connection):
    other = make_site(tenant, connection=pat_connection, scopes=ALL_SCOPES)
    job_id = post(client, other, "/contacts:upsert", {"email": "a@example.com"}).json()["id"]

    response = get(client, site, f"/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_it_hides_another_tenants_job(client, site, outsider):
    foreign_site = make_site(outsider.tenant, connection=make_connection(outsider.tenant))
    job_id = post(client, foreign_site, "/contacts:upsert", {"email": "a@example.com"}).json()["id"]

    response = get(client, site, f"/jobs/{job_id}")

    assert response.status_code == 404


@pytest.mark.parametrize("job_id", ["nope", str(uuid.uuid4())])
def test_it_answers_404_for_unknown_ids(client, site, job_id):
    response = get(client, site, f"/jobs/{job_id}")

    assert response.status_code == 404


def test_it_requires_a_key_to_read_jobs(client, site):
    job_id = post(client, site, "/contacts:upsert", {"email": "a@example.com"}).json()["id"]

    response = client.get(f"/api/v1/jobs/{job_id}")

    assert response.status_code == 401


def test_it_waits_for_the_result(client, site):
    job_id = post(client, site, "/contacts:upsert", {"email": "wait@example.com"}).json()["id"]
    worker = threading.Thread(target=_drive_in_thread, args=(job_id,))
    worker.start()

    response = get(client, site, f"/jobs/{job_id}", wait=10)
    worker.join()

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert "Retry-After" not in response


def test_it_answers_at_once_beyond_the_waiter_limit(client, site, settings):
    settings.API_MAX_WAITERS = 1
    first = post(client, site, "/contacts:upsert", {"email": "a@example.com"}).json()["id"]
    second = post(client, site, "/contacts:upsert", {"email": "b@example.com"}).json()["id"]
    waiter = threading.Thread(target=_wait_in_thread, args=(site, first))
    waiter.start()
    time.sleep(0.5)

    started = time.monotonic()
    response = get(client, site, f"/jobs/{second}", wait=5)
    elapsed = time.monotonic() - started
    waiter.join()

    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert response["Retry-After"] == "1"
    # The bound is the behaviour under test: this request must not have waited.
    assert elapsed < 2


def test_it_rejects_a_wait_over_30_seconds(client, site):
    job_id = post(client, site, "/contacts:upsert", {"email": "a@example.com"}).json()["id"]

    response = get(client, site, f"/jobs/{job_id}", wait=31)

    assert response.status_code == 422


def _drive_in_thread(job_id):
    try:
        time.sleep(0.3)
        drive_jobs([Job.objects.get(public_id=job_id)])
    finally:
        db_connection.close()


def _wait_in_thread(site, job_id):
    from django.test import Client

    try:
        Client().get(f"/api/v1/jobs/{job_id}", {"wait": 3}, **bearer(site.raw_key))
    finally:
        db_connection.close()


# --- Other endpoints -------------------------------------------------------------------------


def test_it_finds_contacts_by_email(client, site, keap):
    upserted = post(client, site, "/contacts:upsert", {"email": "Find.Me@example.com"}).json()
    finished(client, site, upserted["id"])

    job_id = get(client, site, "/contacts", email="find.me@example.com").json()["id"]
    body = finished(client, site, job_id)

    assert body["status"] == "succeeded"
    assert [c["email_addresses"][0]["email"] for c in body["result"]["body"]["contacts"]] == [
        "Find.Me@example.com"
    ]


def test_it_applies_and_removes_a_tag(client, site, keap):
    contact_id = finished(
        client,
        site,
        post(client, site, "/contacts:upsert", {"email": "t@example.com"}).json()["id"],
    )["result"]["contact"]["id"]
    tag = post(client, site, "/requests", {"method": "GET", "path": "/v1/tags"}).json()
    assert tag["status"] == "queued"
    created_tag = _create_tag(keap, "Newsletter")

    applied = post(client, site, f"/tags/{created_tag}:apply", {"contact_ids": [contact_id]})
    applied_body = finished(client, site, applied.json()["id"])
    removed = post(client, site, f"/tags/{created_tag}:remove", {"contact_ids": [contact_id]})
    removed_body = finished(client, site, removed.json()["id"])

    assert applied.status_code == 202
    assert applied_body["result"]["body"] == [{str(contact_id): "SUCCESS"}]
    assert removed_body["status"] == "succeeded"
    assert removed_body["keap_status"] == 204


def _create_tag(keap, name):
    """Create a tag in the sandbox with the connection's own key, outside the API."""
    import requests

    key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])["key"]
    response = requests.post(
        keap.control.api_base_url + "/v1/tags",
        json={"name": name},
        headers={"X-Keap-API-Key": key},
        timeout=5,
    )
    return response.json()["id"]


@pytest.mark.parametrize(
    ("path", "keap_path"),
    [
        ("/tags", "/crm/rest/v1/tags"),
        ("/custom-fields", "/crm/rest/v1/contacts/model"),
        ("/account", "/crm/rest/v1/account/profile"),
    ],
)
def test_it_reads_account_data(client, site, keap, path, keap_path):
    job_id = get(client, site, path).json()["id"]

    body = finished(client, site, job_id)

    assert body["status"] == "succeeded"
    assert keap.control.request_log(path_prefix=keap_path)


def test_it_upserts_a_batch(client, site):
    contacts = [{"email": f"b{i}@example.com"} for i in range(5)] + [{"email": "B0@example.com"}]

    response = post(client, site, "/contacts:batchUpsert", {"contacts": contacts})
    body = finished(client, site, response.json()["id"])

    assert response.status_code == 202
    assert body["progress"] == {"total": 6, "done": 6, "created": 5, "updated": 1, "failed": 0}
    assert body["failed_rows"] is None


def test_it_rejects_a_batch_over_1000(client, site):
    contacts = [{"email": f"b{i}@example.com"} for i in range(1001)]

    response = post(client, site, "/contacts:batchUpsert", {"contacts": contacts})

    assert response.status_code == 422


def test_it_queues_a_general_request(client, site, keap):
    response = post(
        client,
        site,
        "/requests",
        {"method": "GET", "path": "/v2/contacts", "query": {"page_size": 5}},
    )
    body = finished(client, site, response.json()["id"])

    assert response.status_code == 202
    assert body["operation"]["operation_id"] == "listContacts"
    assert body["status"] == "succeeded"
    (entry,) = keap.control.request_log(path_prefix="/crm/rest/v2/contacts")
    assert entry["method"] == "GET"


def test_it_refuses_an_unmapped_operation(client, site):
    response = post(client, site, "/requests", {"method": "DELETE", "path": "/v1/contacts/5"})

    assert response.status_code == 403
    assert response.json()["code"] == "operation_not_allowed"
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    "path", ["/v1/contacts/../tags", "/v1/contacts%2F5", "/v1/contacts?x=1", "contacts", "/v3/x"]
)
def test_it_rejects_an_invalid_path(client, site, path):
    response = post(client, site, "/requests", {"method": "GET", "path": path})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_path"


def test_it_keeps_site_key_out(client, site, tenant):
    response = post(client, site, "/contacts:upsert", {"email": "a@example.com"})
    finished(client, site, response.json()["id"])

    secret = site.raw_key
    for event in AuditEvent.objects.filter(tenant=tenant):
        assert secret not in str(event.details)
    job = Job.objects.get()
    assert secret.encode() not in bytes(job.payload_ciphertext)
    assert secret not in job.error
