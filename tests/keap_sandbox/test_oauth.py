"""OAuth as Keap runs it: authorize page, code exchange, rotating refresh tokens."""

import requests

from keap_sandbox.control import query_of

REDIRECT_URI = "http://127.0.0.1:8000/connections/oauth/callback/"


def make_client(keap_sandbox):
    keap_sandbox.create_account("ab123", "Café Lumière")
    user_id = keap_sandbox.account("ab123")["users"][0]["id"]
    client = keap_sandbox.create_oauth_client([REDIRECT_URI], "portal-client", "portal-secret")
    return client, user_id


def get_code(keap_sandbox, user_id, state="s-1", **extra):
    url = keap_sandbox.authorization_url("portal-client", REDIRECT_URI, state)
    for name, value in extra.items():
        url += f"&{name}={value}"
    return query_of(keap_sandbox.authorize(url, user_id))


def exchange(keap_sandbox, code, secret="portal-secret", redirect_uri=REDIRECT_URI):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "portal-client",
        "client_secret": secret,
        "redirect_uri": redirect_uri,
    }
    return requests.post(keap_sandbox.token_url, data=form, timeout=5)


def refresh(keap_sandbox, refresh_token, secret="portal-secret"):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return requests.post(
        keap_sandbox.token_url, data=form, auth=("portal-client", secret), timeout=5
    )


def userinfo(keap_sandbox, access_token):
    return requests.get(
        keap_sandbox.api_base_url + "/v2/oauth/connect/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )


def test_it_issues_tokens_for_code(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    query = get_code(keap_sandbox, user_id, code_challenge="abc", code_challenge_method="S256")

    response = exchange(keap_sandbox, query["code"])

    assert query["state"] == "s-1"
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == "full|ab123.infusionsoft.com"
    assert userinfo(keap_sandbox, body["access_token"]).json()["tenant_id"] == (
        "ab123.infusionsoft.com"
    )


def test_it_accepts_code_once(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    code = get_code(keap_sandbox, user_id)["code"]
    first = exchange(keap_sandbox, code)

    second = exchange(keap_sandbox, code)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    # Replaying a code revokes what it bought (RFC 6749 section 4.1.2).
    assert userinfo(keap_sandbox, first.json()["access_token"]).status_code == 401


def test_it_expires_codes(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    code = get_code(keap_sandbox, user_id)["code"]
    keap_sandbox.advance_clock(11 * 60)

    response = exchange(keap_sandbox, code)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_it_rejects_unregistered_redirect_uri(keap_sandbox):
    make_client(keap_sandbox)
    url = keap_sandbox.authorization_url("portal-client", "http://127.0.0.1:9999/evil/", "s")

    page = requests.get(url, timeout=5, allow_redirects=False)

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "Invalid redirect_uri" in page.text


def test_it_rejects_other_redirect_uri_at_exchange(keap_sandbox):
    keap_sandbox.create_account("ab123")
    user_id = keap_sandbox.account("ab123")["users"][0]["id"]
    other = "http://localhost:8000/other/"
    keap_sandbox.create_oauth_client([REDIRECT_URI, other], "portal-client", "portal-secret")
    code = get_code(keap_sandbox, user_id)["code"]

    response = exchange(keap_sandbox, code, redirect_uri=other)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_it_rejects_wrong_secret(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    code = get_code(keap_sandbox, user_id)["code"]

    response = exchange(keap_sandbox, code, secret="wrong")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert set(response.json()) == {"error", "error_description"}


def test_it_redirects_access_denied_on_deny(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    url = keap_sandbox.authorization_url("portal-client", REDIRECT_URI, "s-9")

    location = keap_sandbox.authorize(url, user_id, allow=False)

    assert location.startswith(REDIRECT_URI)
    assert query_of(location) == {"error": "access_denied", "state": "s-9"}


def test_it_rejects_other_response_type(keap_sandbox):
    make_client(keap_sandbox)
    url = keap_sandbox.authorization_url("portal-client", REDIRECT_URI, "s").replace(
        "response_type=code", "response_type=token"
    )

    page = requests.get(url, timeout=5, allow_redirects=False)

    assert page.status_code == 302
    assert query_of(page.headers["Location"])["error"] == "unsupported_response_type"


def test_it_requires_https_redirect_uri(keap_sandbox):
    for uri in ("http://portal.example.com/cb/", "ftp://127.0.0.1/cb/"):
        response = requests.post(
            keap_sandbox.base_url + "/_sandbox/oauth-clients",
            json={"redirect_uris": [uri]},
            timeout=5,
        )
        assert response.status_code == 400
        assert "HTTPS" in response.json()["error"]


def test_it_rotates_refresh_tokens(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    tokens = exchange(keap_sandbox, get_code(keap_sandbox, user_id)["code"]).json()

    first = refresh(keap_sandbox, tokens["refresh_token"])
    second = refresh(keap_sandbox, tokens["refresh_token"])
    third = refresh(keap_sandbox, first.json()["refresh_token"])

    assert first.status_code == 200
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert third.status_code == 200
    assert userinfo(keap_sandbox, third.json()["access_token"]).status_code == 200


def test_it_requires_basic_auth_for_refresh(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    tokens = exchange(keap_sandbox, get_code(keap_sandbox, user_id)["code"]).json()

    wrong_secret = refresh(keap_sandbox, tokens["refresh_token"], secret="wrong")
    in_body = requests.post(
        keap_sandbox.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "portal-client",
            "client_secret": "portal-secret",
        },
        timeout=5,
    )

    assert wrong_secret.status_code == 401
    assert in_body.status_code == 401
    assert refresh(keap_sandbox, tokens["refresh_token"]).status_code == 200


def test_it_expires_tokens_by_clock(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    keap_sandbox.set_lifetimes(access_token=60, refresh_token=120)
    tokens = exchange(keap_sandbox, get_code(keap_sandbox, user_id)["code"]).json()

    keap_sandbox.advance_clock(61)
    expired = userinfo(keap_sandbox, tokens["access_token"])
    keap_sandbox.advance_clock(60)
    late_refresh = refresh(keap_sandbox, tokens["refresh_token"])

    assert tokens["expires_in"] == 60
    assert expired.status_code == 401
    assert expired.json()["fault"]["detail"]["errorcode"] == (
        "keymanagement.service.access_token_expired"
    )
    assert late_refresh.status_code == 400
    assert late_refresh.json()["error"] == "invalid_grant"


def test_it_rejects_revoked_and_expired_tokens(keap_sandbox):
    _client, user_id = make_client(keap_sandbox)
    first = exchange(keap_sandbox, get_code(keap_sandbox, user_id)["code"]).json()
    second = exchange(keap_sandbox, get_code(keap_sandbox, user_id)["code"]).json()

    keap_sandbox.revoke_token(token=first["access_token"])
    keap_sandbox.expire_token(token=second["access_token"])
    keap_sandbox.revoke_token(token=second["refresh_token"])

    revoked = userinfo(keap_sandbox, first["access_token"]).json()
    expired = userinfo(keap_sandbox, second["access_token"]).json()
    assert revoked["fault"]["detail"]["errorcode"] == "keymanagement.service.invalid_access_token"
    assert expired["fault"]["detail"]["errorcode"] == "keymanagement.service.access_token_expired"
    assert refresh(keap_sandbox, second["refresh_token"]).status_code == 400
    listed = {t["token_id"]: t for t in keap_sandbox.tokens()}
    assert sum(t["is_revoked"] for t in listed.values()) == 2
    assert all("token" not in t for t in listed.values())
