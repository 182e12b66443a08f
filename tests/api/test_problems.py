"""Every API error is an RFC 9457 problem document with a code and a sentence saying what to do."""

import json
import logging

import pytest
from django.db import connection as db_connection

from connector.api.problems import max_body_bytes
from connector.models import Connection
from tenants.models import AuditEvent
from tests import factories
from tests.api.conftest import bearer
from tests.api.test_auth import ME, assert_problem
from tests.config.test_health import PrivateRedis
from tests.connector.site_factories import make_site
from tests.jobs.test_create import free_port

pytestmark = pytest.mark.django_db

TEST_API = "/test-api"


# --- 404 and 405 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/me/extra", "/api/v1/"])
def test_unknown_path_is_404_problem(client, path):
    response = client.get(path)

    body = assert_problem(response, 404, "not_found")
    assert body["title"] == "Not Found"


def test_unknown_path_post_is_404_not_csrf_failure(site):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/no-such-endpoint", {}, content_type="application/json")

    assert_problem(response, 404, "not_found")


def test_wrong_method_is_405_problem(client, site):
    response = client.delete(ME, **bearer(site.raw_key))

    body = assert_problem(response, 405, "method_not_allowed")
    assert "GET" in body["detail"]


# --- 413 --------------------------------------------------------------------------------------


def test_oversized_body_is_413_before_authentication(client, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = client.generic("POST", ME, b"x" * 1001, content_type="application/json")

    body = assert_problem(response, 413, "body_too_large")
    assert body["max_bytes"] == 1000
    assert "1000 bytes" in body["detail"]


def test_body_at_limit_passes_size_check(client, site, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = client.generic(
        "POST", ME, b"x" * 1000, content_type="application/json", **bearer(site.raw_key)
    )

    assert_problem(response, 405, "method_not_allowed")


def test_invalid_content_length_is_400(client):
    response = client.generic("POST", ME, b"{}", CONTENT_LENGTH="lots")

    assert_problem(response, 400, "invalid_input")


def test_body_limit_default_and_cap(settings):
    del settings.API_MAX_BODY_BYTES
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

    assert max_body_bytes() == 5 * 1024 * 1024

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    assert max_body_bytes() == 2_621_440


# --- 422 and 400 ------------------------------------------------------------------------------


@pytest.mark.urls("tests.api.urls_for_tests")
def test_invalid_field_is_422_naming_it(client, site):
    response = client.post(
        f"{TEST_API}/echo",
        {"email": "a@example.com", "count": "many"},
        content_type="application/json",
        **bearer(site.raw_key),
    )

    body = assert_problem(response, 422, "invalid_input")
    assert "count" in body["detail"]
    assert body["errors"][0]["field"] == "count"
    assert body["errors"][0]["in"] == "body"
    assert body["errors"][0]["message"]


@pytest.mark.urls("tests.api.urls_for_tests")
def test_missing_field_is_422_naming_it(client, site):
    response = client.post(
        f"{TEST_API}/echo",
        {"count": 1},
        content_type="application/json",
        **bearer(site.raw_key),
    )

    body = assert_problem(response, 422, "invalid_input")
    assert [error["field"] for error in body["errors"]] == ["email"]


@pytest.mark.urls("tests.api.urls_for_tests")
def test_valid_body_passes(client, site):
    response = client.post(
        f"{TEST_API}/echo",
        {"email": "a@example.com", "count": 2},
        content_type="application/json",
        **bearer(site.raw_key),
    )

    assert response.status_code == 200
    assert response.json() == {"email": "a@example.com", "count": 2}


@pytest.mark.urls("tests.api.urls_for_tests")
def test_malformed_json_is_400_problem(client, site):
    response = client.post(
        f"{TEST_API}/echo", "{not json", content_type="application/json", **bearer(site.raw_key)
    )

    body = assert_problem(response, 400, "invalid_input")
    assert "Content-Type: application/json" in body["detail"]


# --- 403 for scopes, 409 for the connection ---------------------------------------------------


@pytest.mark.urls("tests.api.urls_for_tests")
def test_missing_scope_is_403_naming_it(client, site, tenant):
    response = client.get(f"{TEST_API}/needs-contacts-read", **bearer(site.raw_key))

    body = assert_problem(response, 403, "scope_not_granted")
    assert body["missing_scopes"] == ["contacts:read", "tags:read"]
    assert "contacts:read, tags:read" in body["detail"]
    events = factories.audit_events(tenant, "scope.denied")
    assert len(events) == 1
    assert events[0].outcome == AuditEvent.Outcome.DENIED
    assert events[0].actor_type == AuditEvent.ActorType.CLIENT_SITE
    assert events[0].target_id == str(site.site.public_id)
    assert events[0].details["missing"] == ["contacts:read", "tags:read"]
    assert events[0].details["path"] == f"{TEST_API}/needs-contacts-read"


@pytest.mark.urls("tests.api.urls_for_tests")
def test_granted_scopes_pass(client, tenant):
    created_site = make_site(tenant, scopes=["contacts:read", "tags:read"])

    response = client.get(f"{TEST_API}/needs-contacts-read", **bearer(created_site.raw_key))

    assert response.status_code == 200
    assert factories.audit_events(tenant, "scope.denied") == []


@pytest.mark.urls("tests.api.urls_for_tests")
def test_partly_granted_scopes_name_only_the_missing(client, tenant):
    created_site = make_site(tenant, scopes=["contacts:read"])

    response = client.get(f"{TEST_API}/needs-contacts-read", **bearer(created_site.raw_key))

    assert assert_problem(response, 403, "scope_not_granted")["missing_scopes"] == ["tags:read"]


@pytest.mark.urls("tests.api.urls_for_tests")
def test_connection_needing_reauth_is_409(client, site):
    Connection.objects.filter(pk=site.site.connection_id).update(
        status=Connection.Status.NEEDS_REAUTH
    )

    response = client.get(f"{TEST_API}/needs-active-connection", **bearer(site.raw_key))

    body = assert_problem(response, 409, "connection_needs_reauth")
    assert "reconnect" in body["detail"]


@pytest.mark.urls("tests.api.urls_for_tests")
def test_active_connection_passes(client, site):
    response = client.get(f"{TEST_API}/needs-active-connection", **bearer(site.raw_key))

    assert response.status_code == 200


# --- 500 --------------------------------------------------------------------------------------


@pytest.mark.urls("tests.api.urls_for_tests")
def test_unexpected_error_is_500_problem_without_detail(client, site, caplog):
    with caplog.at_level(logging.ERROR, logger="connector.api.problems"):
        response = client.get(f"{TEST_API}/crash", **bearer(site.raw_key))

    body = assert_problem(response, 500, "internal_error")
    assert "on purpose" not in json.dumps(body)
    assert "X-Request-ID" in body["detail"]
    assert any("on purpose" in record.getMessage() or record.exc_info for record in caplog.records)


# --- 503 --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_database_outage_is_503_with_retry_after(client, site):
    # A real connection failure: the database settings point at a closed port for one request.
    saved_port = db_connection.settings_dict["PORT"]
    db_connection.close()
    db_connection.settings_dict["PORT"] = str(free_port())
    try:
        response = client.get(ME, **bearer(site.raw_key))
    finally:
        db_connection.close()
        db_connection.settings_dict["PORT"] = saved_port

    assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"


# --- 429 --------------------------------------------------------------------------------------


def test_site_limit_gives_429_with_retry_after(client, tenant):
    created_site = make_site(tenant, requests_per_minute=2)

    statuses = [client.get(ME, **bearer(created_site.raw_key)).status_code for _ in range(2)]
    response = client.get(ME, **bearer(created_site.raw_key))

    assert statuses == [200, 200]
    body = assert_problem(response, 429, "rate_limited")
    assert "2 requests per minute" in body["detail"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60


def test_site_limit_is_per_site(client, tenant):
    first = make_site(tenant, requests_per_minute=1)
    second = make_site(tenant, requests_per_minute=1)

    assert client.get(ME, **bearer(first.raw_key)).status_code == 200
    assert client.get(ME, **bearer(second.raw_key)).status_code == 200
    assert client.get(ME, **bearer(first.raw_key)).status_code == 429


def test_site_limit_shared_by_keys(client, tenant):
    from tests.connector.site_factories import add_key

    created_site = make_site(tenant, requests_per_minute=1)
    _, other_raw = add_key(created_site.site)

    assert client.get(ME, **bearer(created_site.raw_key)).status_code == 200
    assert client.get(ME, **bearer(other_raw)).status_code == 429


def test_site_limit_allows_requests_while_redis_is_down(
    client, tenant, settings, tmp_path, caplog, monkeypatch
):
    # The warning is written at most once a minute per process; start this test's minute fresh.
    monkeypatch.setattr("connector.api.auth._last_limit_warning", 0.0)
    server = PrivateRedis(tmp_path)
    server.start()
    settings.RATELIMIT_REDIS_URL = server.url
    created_site = make_site(tenant, requests_per_minute=1)
    assert client.get(ME, **bearer(created_site.raw_key)).status_code == 200
    assert client.get(ME, **bearer(created_site.raw_key)).status_code == 429

    server.stop()
    with caplog.at_level(logging.WARNING, logger="connector.api.auth"):
        response = client.get(ME, **bearer(created_site.raw_key))

    assert response.status_code == 200
    assert any("Redis unavailable" in record.getMessage() for record in caplog.records)
