"""The Keap client's wire details: auth headers, error envelopes, quota headers, refresh shape.

The `responses` tests cover what the sandbox cannot show: the exact request headers and body,
and a token response without a refresh token, which the sandbox never sends.
"""

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from connector.keap import client
from connector.keap.errors import ConnectorError, error_for_status, keap_error_detail
from connector.keap.quota import parse_quota_headers
from connector.models import Credential
from tests import factories
from tests.connector.factories import make_connection, make_oauth_connection

API = "https://api.infusionsoft.com/crm/rest"
TOKEN_URL = "https://api.infusionsoft.com/token"
USERINFO = {"email": "kay@example.com", "id": "7", "tenant_id": "ab123.infusionsoft.com"}


@pytest.fixture
def keap_urls(settings):
    settings.KEAP_API_BASE_URL = API
    settings.KEAP_TOKEN_URL = TOKEN_URL
    settings.KEAP_AUTHORIZE_URL = "https://accounts.infusionsoft.com/app/oauth/authorize"
    settings.KEAP_CLIENT_ID = "client-id"
    settings.KEAP_CLIENT_SECRET = "client-secret"
    return settings


def test_it_reads_the_gateway_fault_envelope():
    body = (
        b'{"fault":{"faultstring":"Invalid Access Token",'
        b'"detail":{"errorcode":"keymanagement.service.invalid_access_token"}}}'
    )

    assert keap_error_detail(body) == (
        "keymanagement.service.invalid_access_token",
        "Invalid Access Token",
    )


def test_it_reads_the_rest_error_envelope():
    body = b'{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}'

    assert keap_error_detail(body) == ("429", "Quota Exceeded")


def test_it_reads_the_oauth_error_envelope():
    body = b'{"error":"invalid_grant","error_description":"Invalid refresh token"}'

    assert keap_error_detail(body) == ("invalid_grant", "Invalid refresh token")


def test_it_tolerates_a_body_that_is_not_json():
    assert keap_error_detail(b"<html>Bad gateway</html>") == ("", "")


@pytest.mark.parametrize(
    ("status", "body", "code", "permanent"),
    [
        (400, b'{"code":400,"message":"bad"}', "bad_request", True),
        (
            401,
            b'{"fault":{"detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}',
            "invalid_credential",
            True,
        ),
        (
            401,
            b'{"fault":{"detail":{"errorcode":"keymanagement.service.access_token_expired"}}}',
            "access_token_expired",
            True,
        ),
        (403, b"{}", "forbidden", True),
        (404, b"{}", "not_found", True),
        (409, b"{}", "conflict", True),
        (429, b'{"code":"429"}', "rate_limited", False),
        (500, b"{}", "keap_unavailable", False),
        (503, b"", "keap_unavailable", False),
        (418, b"{}", "unexpected_response", True),
    ],
)
def test_it_maps_statuses_to_error_codes(status, body, code, permanent):
    error = error_for_status(status, body, retry_after=None)

    assert error.code == code
    assert error.permanent is permanent
    assert error.status == status
    assert error.message


def test_it_parses_quota_headers():
    headers = {
        "x-keap-product-quota-limit": "30000",
        "x-keap-product-quota-available": "29990",
        "x-keap-product-quota-used": "10",
        "x-keap-product-quota-time-unit": "day",
        "x-keap-product-quota-interval": "1",
        "x-keap-product-quota-expiry-time": "1723680000000",
        "x-keap-product-throttle-limit": "240",
        "x-keap-product-throttle-available": "239",
        "x-keap-tenant-id": "ab123.infusionsoft.com",
        "x-keap-tenant-throttle-limit": "10000|250000",
        "x-keap-tenant-throttle-available": "9999|249999",
        "x-keap-tenant-throttle-time-unit": "minute|day",
        "x-keap-product-spike-limit": "10ps",
        "retry-after": "3",
    }

    quota = parse_quota_headers(headers)

    assert quota.product_quota[0].limit == 30000
    assert quota.product_quota[0].available == 29990
    assert quota.product_quota[0].expires_at == datetime(2024, 8, 15, tzinfo=UTC)
    assert quota.product_throttle[0].available == 239
    assert [w.time_unit for w in quota.tenant_throttle] == ["minute", "day"]
    assert [w.limit for w in quota.tenant_throttle] == [10000, 250000]
    assert quota.tenant_id == "ab123.infusionsoft.com"
    assert quota.spike_limit == "10ps"
    assert quota.retry_after == 3.0


def test_it_parses_missing_quota_headers_as_empty():
    quota = parse_quota_headers({"retry-after": "soon"})

    assert quota.product_quota == ()
    assert quota.tenant_throttle == ()
    assert quota.retry_after is None


@pytest.mark.parametrize(
    "path", ["v2/contacts", "/v3/contacts", "/v2/../../token", "//evil.example/v2", "/v2/a b"]
)
def test_call_rejects_a_path_outside_the_api(path):
    connection = object()

    with pytest.raises(ValueError, match="Invalid Keap API path"):
        client.call(connection, "GET", path)


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_sends_an_api_key_in_x_keap_api_key(keap_urls):
    key = "KeapAK-" + "c" * 50
    connection = make_connection(factories.make_tenant(), key=key)
    responses.get(f"{API}/v2/oauth/connect/userinfo", json=USERINFO)

    client.get_userinfo(connection)

    sent = responses.calls[0].request.headers
    assert sent["X-Keap-API-Key"] == key
    assert "Authorization" not in sent


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_sends_an_access_token_as_bearer(keap_urls):
    connection = make_oauth_connection(
        factories.make_tenant(), access_token="access-1", refresh_token="refresh-1"
    )
    responses.get(f"{API}/v2/oauth/connect/userinfo", json=USERINFO)

    client.get_userinfo(connection)

    sent = responses.calls[0].request.headers
    assert sent["Authorization"] == "Bearer access-1"
    assert "X-Keap-API-Key" not in sent


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_refreshes_with_basic_auth_and_a_form_body(keap_urls):
    connection = make_oauth_connection(
        factories.make_tenant(),
        access_token="access-1",
        refresh_token="refresh-1",
        expires_in=timedelta(minutes=1),
    )
    responses.post(
        TOKEN_URL,
        json={"access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 86400},
    )
    responses.get(f"{API}/v2/oauth/connect/userinfo", json=USERINFO)

    client.get_userinfo(connection)

    refresh = responses.calls[0].request
    expected = base64.b64encode(b"client-id:client-secret").decode()
    assert refresh.headers["Authorization"] == f"Basic {expected}"
    assert refresh.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(refresh.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-1"],
    }
    assert responses.calls[1].request.headers["Authorization"] == "Bearer access-2"


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_keeps_the_refresh_token_when_keap_sends_none(keap_urls):
    connection = make_oauth_connection(
        factories.make_tenant(),
        access_token="access-1",
        refresh_token="refresh-1",
        expires_in=timedelta(minutes=1),
    )
    before = Credential.objects.get(connection=connection).refresh_token_issued_at
    responses.post(TOKEN_URL, json={"access_token": "access-2", "expires_in": 86400})
    responses.post(
        TOKEN_URL,
        json={"access_token": "access-3", "refresh_token": "refresh-3", "expires_in": 86400},
    )

    client.refresh_if_due(connection, margin=timedelta(minutes=5))
    client.refresh_if_due(connection, margin=timedelta(days=2))

    assert parse_qs(responses.calls[1].request.body)["refresh_token"] == ["refresh-1"]
    credential = Credential.objects.get(connection=connection)
    assert credential.refresh_token_issued_at > before
    assert credential.access_token_expires_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_raises_rate_limited_with_retry_after(keap_urls):
    connection = make_connection(factories.make_tenant())
    responses.get(
        f"{API}/v2/contacts",
        status=429,
        json={"code": "429", "message": "Quota Exceeded", "status": "Request Throttled"},
        headers={"Retry-After": "7", "x-keap-product-throttle-available": "0"},
    )

    with pytest.raises(ConnectorError) as raised:
        client.call(connection, "GET", "/v2/contacts", query={"page_size": 5})

    assert raised.value.code == "rate_limited"
    assert raised.value.permanent is False
    assert raised.value.retry_after == 7.0
    assert "page_size=5" in responses.calls[0].request.url


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_it_returns_the_parsed_body_and_quota(keap_urls):
    connection = make_connection(factories.make_tenant())
    responses.post(
        f"{API}/v2/contacts",
        status=201,
        json={"id": "101"},
        headers={"x-keap-product-throttle-limit": "240", "x-keap-product-throttle-available": "12"},
    )

    result = client.call(connection, "POST", "/v2/contacts", body={"given_name": "Ana"})

    assert result.status == 201
    assert result.data == {"id": "101"}
    assert result.quota.product_throttle[0].available == 12
    assert responses.calls[0].request.body == b'{"given_name": "Ana"}'
