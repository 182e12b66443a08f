"""PATs and SAKs: format, both header forms, scope to one account, deletion."""

import re

import requests


def test_it_creates_keap_style_keys(keap_sandbox):
    keap_sandbox.create_account("ab123")

    created = keap_sandbox.create_api_key("ab123", "SAK", name="Nightly sync")

    assert re.fullmatch(r"KeapAK-[0-9a-f]{50}", created["key"])
    assert created["kind"] == "SAK"
    listed = keap_sandbox.api_keys()
    assert "key" not in listed[0]
    assert listed[0]["truncated_key"].startswith("KeapAK-")


def test_it_accepts_both_header_forms(keap_sandbox):
    keap_sandbox.create_account("ab123")
    keap_sandbox.create_account("cd456")
    key = keap_sandbox.create_api_key("cd456")["key"]
    url = keap_sandbox.api_base_url + "/v2/oauth/connect/userinfo"

    by_header = requests.get(url, headers={"X-Keap-API-Key": key}, timeout=5)
    by_bearer = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5)

    assert by_header.status_code == 200
    assert by_bearer.status_code == 200
    assert by_header.json()["tenant_id"] == "cd456.infusionsoft.com"
    assert by_bearer.headers["x-keap-tenant-id"] == "cd456.infusionsoft.com"


def test_it_rejects_deleted_key(keap_sandbox):
    keap_sandbox.create_account("ab123")
    created = keap_sandbox.create_api_key("ab123")
    url = keap_sandbox.api_base_url + "/v1/contacts"

    keap_sandbox.delete_api_key(created["key_id"])
    response = requests.get(url, headers={"X-Keap-API-Key": created["key"]}, timeout=5)

    assert response.status_code == 401
    assert response.json() == {
        "fault": {
            "faultstring": "Invalid Access Token",
            "detail": {"errorcode": "keymanagement.service.invalid_access_token"},
        }
    }


def test_it_authenticates_before_routing(keap_sandbox):
    url = keap_sandbox.api_base_url + "/v2/no-such-thing"

    without = requests.get(url, timeout=5)
    not_bearer = requests.get(url, headers={"Authorization": "Token abc"}, timeout=5)

    assert without.status_code == 401
    assert without.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    assert not_bearer.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"


def test_it_keeps_accounts_apart(keap_sandbox):
    keap_sandbox.create_account("ab123", sample_data=True)
    keap_sandbox.create_account("cd456")
    key = keap_sandbox.create_api_key("cd456")["key"]
    some_id = keap_sandbox.contacts("ab123")[0]["id"]

    response = requests.get(
        keap_sandbox.api_base_url + f"/v2/contacts/{some_id}",
        headers={"X-Keap-API-Key": key},
        timeout=5,
    )

    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_it_rejects_sak_for_non_admin(keap_sandbox):
    keap_sandbox.create_account("ab123")
    user = keap_sandbox.create_user("ab123", "staff@example.com", "Renée", "Østergård")

    response = requests.post(
        keap_sandbox.base_url + "/_sandbox/api-keys",
        json={"app_name": "ab123", "kind": "SAK", "user_id": user["id"]},
        timeout=5,
    )

    assert response.status_code == 400
    assert "admin" in response.json()["error"]
