"""Companies in the sandbox: creating and changing them through v1 and v2."""

import requests


def api(keap_sandbox, method, path, **kwargs):
    key = keap_sandbox.create_api_key("ab123")["key"]
    return requests.request(
        method,
        f"{keap_sandbox.api_base_url}{path}",
        headers={"X-Keap-API-Key": key},
        timeout=10,
        **kwargs,
    )


def test_v1_patch_changes_sent_fields(keap_sandbox):
    keap_sandbox.create_account("ab123")
    company = api(
        keap_sandbox, "POST", "/v1/companies", json={"company_name": "Øresund", "notes": "a"}
    ).json()

    response = api(
        keap_sandbox, "PATCH", f"/v1/companies/{company['id']}", json={"website": "https://o.dk"}
    )

    assert response.status_code == 200
    assert response.json()["website"] == "https://o.dk"
    assert response.json()["notes"] == "a"
    assert response.json()["company_name"] == "Øresund"


def test_v2_patch_follows_update_mask(keap_sandbox):
    keap_sandbox.create_account("ab123")
    company = api(
        keap_sandbox, "POST", "/v2/companies", json={"company_name": "Έπιπλα", "notes": "keep"}
    ).json()

    response = api(
        keap_sandbox,
        "PATCH",
        f"/v2/companies/{company['id']}",
        params={"update_mask": "company_name"},
        json={"company_name": "Έπιπλα ΑΕ", "notes": "dropped"},
    )

    assert response.status_code == 200
    assert response.json()["company_name"] == "Έπιπλα ΑΕ"
    assert response.json()["notes"] == "keep"


def test_patch_rejects_empty_name(keap_sandbox):
    keap_sandbox.create_account("ab123")
    company = api(keap_sandbox, "POST", "/v2/companies", json={"company_name": "Kept"}).json()

    response = api(
        keap_sandbox, "PATCH", f"/v2/companies/{company['id']}", json={"company_name": ""}
    )
    stored = api(keap_sandbox, "GET", f"/v2/companies/{company['id']}").json()

    assert response.status_code == 400
    assert "company_name is required" in response.text
    assert stored["company_name"] == "Kept"
