"""Keap's quotas with its real limits, on a sandbox clock the test controls."""

import requests

# 2026-03-02T10:00:00Z: the start of a minute, so 30 seconds stay within one minute window.
MINUTE_START = 1_772_445_600
DAY_END_MS = (MINUTE_START // 86_400 + 1) * 86_400 * 1000
QUOTA_BODY = {
    "code": "429",
    "message": "Quota Exceeded",
    "status": "Request Throttled",
    "details": None,
}


def make_key(keap_sandbox, app_name="ab123"):
    keap_sandbox.create_account(app_name)
    return keap_sandbox.create_api_key(app_name)["key"]


def get(session, keap_sandbox, key):
    return session.get(
        keap_sandbox.api_base_url + "/v1/oauth/connect/userinfo",
        headers={"X-Keap-API-Key": key},
        timeout=5,
    )


def test_it_throttles_pat_at_241_per_minute(keap_sandbox):
    key = make_key(keap_sandbox)
    keap_sandbox.set_clock(MINUTE_START)
    session = requests.Session()

    responses = []
    for index in range(300):
        if index and index % 10 == 0:
            keap_sandbox.advance_clock(1)
        responses.append(get(session, keap_sandbox, key))

    statuses = [r.status_code for r in responses]
    assert statuses[:240] == [200] * 240
    assert statuses[240:] == [429] * 60
    assert responses[240].json() == QUOTA_BODY
    for used, response in enumerate(responses[:240], start=1):
        headers = response.headers
        assert headers["x-keap-product-throttle-limit"] == "240"
        assert headers["x-keap-product-throttle-used"] == str(used)
        assert headers["x-keap-product-throttle-available"] == str(240 - used)
        assert headers["x-keap-product-throttle-time-unit"] == "minute"
        assert headers["x-keap-product-quota-limit"] == "30000"
        assert headers["x-keap-product-quota-available"] == str(30000 - used)
        assert headers["x-keap-product-quota-time-unit"] == "day"
        assert headers["x-keap-product-quota-expiry-time"] == str(DAY_END_MS)
        assert headers["x-keap-tenant-id"] == "ab123.infusionsoft.com"
        assert headers["x-keap-tenant-throttle-available"] == str(10000 - used)
    assert responses[240].headers["x-keap-product-throttle-available"] == "0"
    assert int(responses[240].headers["Retry-After"]) == 60 - 24


def test_it_throttles_eleventh_request_in_a_second(keap_sandbox):
    key = make_key(keap_sandbox)
    keap_sandbox.set_clock(MINUTE_START + 0.25)
    session = requests.Session()

    statuses = [get(session, keap_sandbox, key).status_code for _ in range(11)]
    keap_sandbox.advance_clock(1)
    after = get(session, keap_sandbox, key)

    assert statuses == [200] * 10 + [429]
    assert after.status_code == 200


def test_it_omits_retry_after_when_switched_off(keap_sandbox):
    key = make_key(keap_sandbox)
    keap_sandbox.set_clock(MINUTE_START)
    keap_sandbox.set_limits(key_per_second=1, send_retry_after=False)
    session = requests.Session()

    get(session, keap_sandbox, key)
    throttled = get(session, keap_sandbox, key)

    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers


def test_it_counts_oauth_client_over_accounts(keap_sandbox):
    redirect = "http://127.0.0.1:8000/cb/"
    keap_sandbox.create_oauth_client([redirect], "client-1", "secret-1")
    keap_sandbox.set_clock(MINUTE_START)
    keap_sandbox.set_limits(client_per_minute=3)
    tokens = []
    for app_name in ("ab123", "cd456"):
        account = keap_sandbox.create_account(app_name)
        url = keap_sandbox.authorization_url("client-1", redirect)
        code = requests.utils.urlparse(keap_sandbox.authorize(url, account["users"][0]["id"]))
        form = {
            "grant_type": "authorization_code",
            "code": dict(p.split("=") for p in code.query.split("&"))["code"],
            "client_id": "client-1",
            "client_secret": "secret-1",
            "redirect_uri": redirect,
        }
        tokens.append(requests.post(keap_sandbox.token_url, data=form, timeout=5).json())
    url = keap_sandbox.api_base_url + "/v2/oauth/connect/userinfo"

    statuses = [
        requests.get(
            url, headers={"Authorization": f"Bearer {tokens[i % 2]['access_token']}"}, timeout=5
        ).status_code
        for i in range(4)
    ]

    assert statuses == [200, 200, 200, 429]


def test_it_limits_tenant_whatever_the_key(keap_sandbox):
    key = make_key(keap_sandbox)
    other_key = keap_sandbox.create_api_key("ab123")["key"]
    keap_sandbox.set_clock(MINUTE_START)
    keap_sandbox.set_limits(tenant_per_minute=2)
    session = requests.Session()

    statuses = [get(session, keap_sandbox, k).status_code for k in (key, other_key, other_key)]

    assert statuses == [200, 200, 429]


def test_it_never_rejects_when_not_enforced(keap_sandbox):
    key = make_key(keap_sandbox)
    keap_sandbox.set_clock(MINUTE_START)
    keap_sandbox.set_limits(enforced=False)
    session = requests.Session()

    responses = [get(session, keap_sandbox, key) for _ in range(12)]

    assert {r.status_code for r in responses} == {200}
    assert responses[-1].headers["x-keap-product-throttle-used"] == "12"
