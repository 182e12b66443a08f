"""Every implemented REST operation, valid and invalid calls alike, checked against Keap's specs."""

import pytest
import requests

from tests.keap_sandbox.openapi_check import check_gateway_body, check_response, load_specs


class RecordingClient:
    """A requests session against the sandbox API that keeps every response it receives."""

    def __init__(self, api_base_url: str, key: str):
        self.base = api_base_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["X-Keap-API-Key"] = key
        self.responses: list[requests.Response] = []

    def call(self, method: str, path: str, expected: int, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=10, **kwargs)
        self.responses.append(response)
        assert response.status_code == expected, (method, path, response.text)
        return response


@pytest.fixture(scope="module")
def specs():
    return load_specs()


def exercise_v1(client: RecordingClient, receiver) -> None:
    receiver_url = receiver.url
    call = client.call
    call("GET", "/v1/oauth/connect/userinfo", 200)
    call("GET", "/v1/account/profile", 200)
    model = call("GET", "/v1/contacts/model", 200).json()
    field_id = model["custom_fields"][0]["id"]

    category = call("POST", "/v1/tags/categories", 200, json={"name": "Événements"}).json()
    tag = call(
        "POST", "/v1/tags", 200, json={"name": "Conférence", "category": {"id": category["id"]}}
    ).json()
    call("GET", f"/v1/tags/{tag['id']}", 200)
    call("GET", "/v1/tags", 200, params={"limit": 2, "offset": 1})
    call("GET", "/v1/tags", 200, params={"category": category["id"], "unknown": "x"})

    company = call("POST", "/v1/companies", 201, json={"company_name": "Øresund ApS"}).json()
    call("GET", f"/v1/companies/{company['id']}", 200)
    call("GET", "/v1/companies", 200, params={"company_name": "Øresund ApS"})
    call("PATCH", f"/v1/companies/{company['id']}", 200, json={"notes": "Kunde siden 2019"})

    contact = call(
        "POST",
        "/v1/contacts",
        201,
        json={
            "given_name": "Ingrid",
            "family_name": "Bergström",
            "email_addresses": [{"email": "ingrid@example.se", "field": "EMAIL1"}],
            "phone_numbers": [{"number": "+46 70 123 45 67", "field": "PHONE1"}],
            "addresses": [
                {"field": "BILLING", "locality": "Göteborg", "region": "VG", "country_code": "SWE"}
            ],
            "company": {"id": company["id"]},
            "custom_fields": [{"id": field_id, "content": "Blå"}],
            "opt_in_reason": "Trade fair",
            "social_accounts": [{"name": "ingrid", "type": "LinkedIn"}],
        },
    ).json()
    contact_id = contact["id"]
    call("GET", f"/v1/contacts/{contact_id}", 200, params={"optional_properties": "custom_fields"})
    call(
        "GET",
        "/v1/contacts",
        200,
        params={"email": "INGRID@example.se", "optional_properties": "custom_fields,job_title"},
    )
    call("GET", "/v1/contacts", 200, params={"order": "email", "order_direction": "DESCENDING"})
    call("GET", "/v1/contacts", 200, params={"since": "2000-01-01T00:00:00.000Z", "limit": 3})
    call(
        "PUT",
        "/v1/contacts",
        200,
        json={
            "duplicate_option": "Email",
            "email_addresses": [{"email": "Ingrid@Example.se", "field": "EMAIL1"}],
            "job_title": "Chefredaktör",
        },
    )
    call(
        "PATCH",
        f"/v1/contacts/{contact_id}",
        200,
        params={"update_mask": "family_name"},
        json={"family_name": "Bergström-Lind"},
    )

    call("POST", f"/v1/contacts/{contact_id}/tags", 200, json={"tagIds": [tag["id"]]})
    call("GET", f"/v1/contacts/{contact_id}/tags", 200)
    call("GET", f"/v1/tags/{tag['id']}/contacts", 200)
    call("DELETE", f"/v1/contacts/{contact_id}/tags", 204, params={"ids": str(tag["id"])})
    call("POST", f"/v1/tags/{tag['id']}/contacts", 200, json={"ids": [contact_id, 999999]})
    call("DELETE", f"/v1/tags/{tag['id']}/contacts", 204, params={"ids": str(contact_id)})
    call("POST", f"/v1/tags/{tag['id']}/contacts", 200, json={"ids": [contact_id]})
    call("DELETE", f"/v1/tags/{tag['id']}/contacts/{contact_id}", 204)
    call("POST", f"/v1/contacts/{contact_id}/tags", 200, json={"tagIds": [tag["id"]]})
    call("DELETE", f"/v1/contacts/{contact_id}/tags/{tag['id']}", 204)

    call("GET", "/v1/hooks/event_keys", 200)
    hook = call(
        "POST", "/v1/hooks", 200, json={"eventKey": "contact.add", "hookUrl": receiver_url}
    ).json()
    call("GET", "/v1/hooks", 200)
    call("GET", f"/v1/hooks/{hook['key']}", 200)
    call(
        "PUT",
        f"/v1/hooks/{hook['key']}",
        200,
        json={"eventKey": "contact.edit", "hookUrl": receiver_url},
    )
    call("POST", f"/v1/hooks/{hook['key']}/verify", 200)
    call("POST", f"/v1/hooks/{hook['key']}/delayedVerify", 400, headers={"X-Hook-Secret": "x"})
    secret = receiver.secrets[-1]
    call("POST", f"/v1/hooks/{hook['key']}/delayedVerify", 200, headers={"X-Hook-Secret": secret})
    call("DELETE", f"/v1/hooks/{hook['key']}", 204)

    # Errors: missing objects and bad input.
    call("GET", "/v1/contacts/999999", 404)
    call("GET", "/v1/tags/999999", 404)
    call("POST", "/v1/contacts", 400, json={"given_name": "No channel"})
    call("PUT", "/v1/contacts", 400, json={"email_addresses": [{"email": "a@b.c"}]})
    call("DELETE", f"/v1/contacts/{contact_id}", 204)


def exercise_v2(client: RecordingClient) -> None:
    call = client.call
    call("GET", "/v2/oauth/connect/userinfo", 200)
    call("GET", "/v2/businessProfile", 200)
    model = call("GET", "/v2/contacts/model", 200).json()
    field_id = model["custom_fields"][0]["id"]

    category = call("POST", "/v2/tags/categories", 201, json={"name": "Лояльность"}).json()
    call("GET", "/v2/tags/categories", 200, params={"filter": "name==Лояльность"})
    call("GET", f"/v2/tags/categories/{category['id']}", 200)
    tag = call(
        "POST", "/v2/tags", 201, json={"name": "黄金会员", "category": {"id": category["id"]}}
    ).json()
    call("GET", f"/v2/tags/{tag['id']}", 200)
    call("GET", "/v2/tags", 200, params={"filter": f"category_id=={category['id']}"})
    call("GET", "/v2/tags", 200, params={"page_size": 2, "order_by": "create_time desc"})

    company = call("POST", "/v2/companies", 201, json={"company_name": "Ελληνικά Έπιπλα ΑΕ"}).json()
    call("GET", f"/v2/companies/{company['id']}", 200, params={"fields": "address,notes"})
    call("GET", "/v2/companies", 200, params={"filter": "name==Ελλη*"})
    call(
        "PATCH",
        f"/v2/companies/{company['id']}",
        200,
        params={"update_mask": "website"},
        json={"website": "https://epipla.example", "notes": "ignored: not in update_mask"},
    )

    contact = call(
        "POST",
        "/v2/contacts",
        201,
        json={
            "given_name": "Nikolaos",
            "family_name": "Κωνσταντίνου",
            "email_addresses": [{"email": "nikos@example.gr", "field": "EMAIL1"}],
            "addresses": [{"field": "SHIPPING", "locality": "Θεσσαλονίκη", "country_code": "GRC"}],
            "company": {"id": company["id"]},
            "custom_fields": [{"id": field_id, "content": "Πράσινο"}],
        },
    ).json()
    contact_id = contact["id"]
    call("GET", f"/v2/contacts/{contact_id}", 200, params={"fields": "custom_fields,tag_ids"})
    call("GET", "/v2/contacts", 200, params={"filter": "email==NIKOS@example.gr"})
    call("GET", "/v2/contacts", 200, params={"filter": "given_name==Nik*;family_name==Κων*"})
    call("GET", "/v2/contacts", 200, params={"page_size": 5, "order_by": "update_time desc"})
    call(
        "POST",
        "/v2/contacts",
        200,
        params={"duplicate_option": "Email"},
        json={"email_addresses": [{"email": "Nikos@Example.GR", "field": "EMAIL1"}]},
    )
    call(
        "PATCH",
        f"/v2/contacts/{contact_id}",
        200,
        params={"update_mask": "phone_numbers"},
        json={"phone_numbers": [{"number": "+30 2310 123456", "field": "PHONE1"}]},
    )

    call(
        "POST", f"/v2/tags/{tag['id']}/contacts:applyTags", 200, json={"contact_ids": [contact_id]}
    )
    call("GET", f"/v2/contacts/{contact_id}/tags", 200)
    call("GET", f"/v2/tags/{tag['id']}/contacts", 200)
    call(
        "POST",
        f"/v2/tags/{tag['id']}/contacts:removeTags",
        204,
        json={"contact_ids": [contact_id]},
    )

    # Errors: missing objects and bad input.
    call("GET", "/v2/contacts/999999", 404)
    call("GET", "/v2/tags/999999", 404)
    call("GET", "/v2/companies/999999", 404)
    call("PATCH", "/v2/companies/999999", 404, json={"notes": "none"})
    call("PATCH", f"/v2/companies/{company['id']}", 400, json={"company_name": " "})
    call("GET", "/v2/tags/categories/999999", 404)
    call("POST", "/v2/contacts", 400, json={"given_name": "No channel"})
    call("GET", "/v2/contacts", 400, params={"filter": "shoe_size==44"})
    call("GET", "/v2/contacts", 400, params={"page_token": "not-a-token"})
    call("DELETE", f"/v2/contacts/{contact_id}", 204)


def test_it_matches_specs_for_every_operation(keap_sandbox, keap_hook_receiver, specs):
    keap_sandbox.create_account("ab123", "Spec check", sample_data=True)
    key = keap_sandbox.create_api_key("ab123")["key"]
    keap_sandbox.set_limits(enforced=False)
    client = RecordingClient(keap_sandbox.api_base_url, key)

    exercise_v1(client, keap_hook_receiver)
    exercise_v2(client)

    problems = [problem for r in client.responses for problem in check_response(r)]
    assert problems == [], "\n".join(problems)

    # Every route the sandbox serves returned a 2xx at least once.
    router = keap_sandbox.server.app.api_router
    served = set()
    for response in client.responses:
        path = requests.utils.urlparse(response.request.url).path
        handler, _params, _known = router.match(response.request.method, path)
        if response.ok:
            served.add(handler)
    missing = [f"{m} {p.pattern}" for m, p, h in router.routes if h not in served]
    assert missing == []


def test_it_matches_gateway_shapes(keap_sandbox):
    keap_sandbox.create_account("ab123")
    key = keap_sandbox.create_api_key("ab123")["key"]
    url = keap_sandbox.api_base_url + "/v2/contacts"
    keap_sandbox.set_limits(key_per_second=1)

    responses = [
        requests.get(url, timeout=5),
        requests.get(url, headers={"Authorization": "Bearer nonsense"}, timeout=5),
        requests.get(url, headers={"X-Keap-API-Key": key}, timeout=5),
        requests.get(url, headers={"X-Keap-API-Key": key}, timeout=5),
    ]

    assert [r.status_code for r in responses] == [401, 401, 200, 429]
    assert check_gateway_body(responses[0]) == []
    assert check_gateway_body(responses[1]) == []
    assert check_gateway_body(responses[3]) == []
    assert check_response(responses[2]) == []
