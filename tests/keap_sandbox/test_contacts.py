"""Contacts and tags behave as Keap's do: upserts, list replacement, paging and filters."""

import pytest
import requests


@pytest.fixture
def api(keap_sandbox):
    keap_sandbox.create_account("ab123", sample_data=True)
    keap_sandbox.set_limits(enforced=False)
    session = requests.Session()
    session.headers["X-Keap-API-Key"] = keap_sandbox.create_api_key("ab123")["key"]
    session.base = keap_sandbox.api_base_url
    return session


def test_it_upserts_v1_by_email_any_case(api):
    created = api.post(
        api.base + "/v1/contacts",
        json={
            "given_name": "Mary",
            "email_addresses": [{"email": "Up@Example.com", "field": "EMAIL1"}],
        },
        timeout=5,
    ).json()

    updated = api.put(
        api.base + "/v1/contacts",
        json={
            "duplicate_option": "Email",
            "email_addresses": [{"email": "up@EXAMPLE.com", "field": "EMAIL1"}],
            "family_name": "Jones",
        },
        timeout=5,
    )
    by_name = api.put(
        api.base + "/v1/contacts",
        json={
            "duplicate_option": "EmailAndName",
            "given_name": "Marie",
            "email_addresses": [{"email": "up@example.com", "field": "EMAIL1"}],
        },
        timeout=5,
    )

    assert updated.status_code == 200
    assert updated.json()["id"] == created["id"]
    assert updated.json()["family_name"] == "Jones"
    assert isinstance(created["id"], int)
    assert by_name.json()["id"] != created["id"]


def test_it_upserts_v2_with_duplicate_option(api):
    body = {"given_name": "Kai", "email_addresses": [{"email": "kai@example.com"}]}
    first = api.post(api.base + "/v2/contacts", json=body, timeout=5)
    plain = api.post(api.base + "/v2/contacts", json=body, timeout=5)
    upsert = api.post(
        api.base + "/v2/contacts",
        params={"duplicate_option": "Email"},
        json={"email_addresses": [{"email": "KAI@example.com"}], "job_title": "Koch"},
        timeout=5,
    )

    assert first.status_code == 201
    assert isinstance(first.json()["id"], str)
    assert plain.status_code == 201
    assert plain.json()["id"] != first.json()["id"]
    assert upsert.status_code == 200
    assert upsert.json()["id"] == first.json()["id"]


def test_it_replaces_lists_on_v2_patch(api):
    contact = api.get(api.base + "/v2/contacts", params={"page_size": 1}, timeout=5).json()[
        "contacts"
    ][0]
    assert len(contact["email_addresses"]) == 2

    patched = api.patch(
        api.base + f"/v2/contacts/{contact['id']}",
        params={"update_mask": "email_addresses,middle_name"},
        json={
            "email_addresses": [{"email": "only@example.com", "field": "EMAIL1"}],
            "given_name": "Ignored",
        },
        timeout=5,
    ).json()
    cleared = api.patch(
        api.base + f"/v2/contacts/{contact['id']}",
        json={"phone_numbers": []},
        timeout=5,
    ).json()

    assert [e["email"] for e in patched["email_addresses"]] == ["only@example.com"]
    assert patched["given_name"] == contact["given_name"]
    assert "phone_numbers" not in cleared


def test_it_pages_v1_with_limit_and_offset(api):
    first = api.get(api.base + "/v1/contacts", params={"limit": 5}, timeout=5).json()
    second = requests.get(first["next"], headers=api.headers, timeout=5).json()

    assert first["count"] == 12
    assert len(first["contacts"]) == 5
    assert "offset=5" in first["next"]
    assert [c["id"] for c in second["contacts"]] == [c["id"] + 5 for c in first["contacts"]]


def test_it_pages_v2_with_tokens(api):
    seen = []
    token = ""
    while True:
        page = api.get(
            api.base + "/v2/contacts", params={"page_size": 5, "page_token": token}, timeout=5
        ).json()
        seen.extend(c["id"] for c in page["contacts"])
        token = page["next_page_token"]
        if not token:
            break

    assert len(seen) == 12
    assert len(set(seen)) == 12


def test_it_filters_v2_contacts(api):
    def ids(filter_text):
        response = api.get(api.base + "/v2/contacts", params={"filter": filter_text}, timeout=5)
        assert response.status_code == 200, response.text
        return [c["given_name"] for c in response.json()["contacts"]]

    assert ids("given_name==Zo*") == ["Zoë"]
    assert ids("given_name==Zo") == []
    assert ids("email==ZOE.MUELLER@example.com") == ["Zoë"]
    assert ids("family_name==Müller;given_name==Zoë") == ["Zoë"]
    assert ids("given_name==Zoë;family_name==Smith") == []
    assert len(ids("start_update_time==2000-01-01T00:00:00.000Z")) == 12


def test_it_ignores_unknown_query_parameters(api):
    response = api.get(api.base + "/v2/contacts", params={"email": "nobody@x.y"}, timeout=5)

    assert response.status_code == 200
    assert len(response.json()["contacts"]) == 12


def test_it_applies_and_removes_tags(api):
    tag = api.post(api.base + "/v2/tags", json={"name": "Новый"}, timeout=5).json()
    contact_id = api.get(api.base + "/v2/contacts", timeout=5).json()["contacts"][0]["id"]

    applied = api.post(
        api.base + f"/v2/tags/{tag['id']}/contacts:applyTags",
        json={"contact_ids": [contact_id, "999999"]},
        timeout=5,
    ).json()
    again = api.post(
        api.base + f"/v1/tags/{tag['id']}/contacts", json={"ids": [int(contact_id)]}, timeout=5
    ).json()
    tagged = api.get(api.base + f"/v2/tags/{tag['id']}/contacts", timeout=5).json()
    api.post(
        api.base + f"/v2/tags/{tag['id']}/contacts:removeTags",
        json={"contact_ids": [contact_id]},
        timeout=5,
    )
    after = api.get(api.base + f"/v1/contacts/{contact_id}/tags", timeout=5).json()

    assert applied == {"results": {contact_id: "SUCCESS", "999999": "CONTACT_NOT_FOUND"}}
    assert again == [{contact_id: "DUPLICATE"}]
    assert [c["id"] for c in tagged["contacts"]] == [contact_id]
    assert tag["id"] not in [str(t["tag"]["id"]) for t in after["tags"]]


def test_it_reads_custom_fields_on_request(api):
    model = api.get(api.base + "/v2/contacts/model", timeout=5).json()
    v1_model = api.get(api.base + "/v1/contacts/model", timeout=5).json()
    contact_id = api.get(api.base + "/v2/contacts", timeout=5).json()["contacts"][0]["id"]

    plain = api.get(api.base + f"/v2/contacts/{contact_id}", timeout=5).json()
    with_fields = api.get(
        api.base + f"/v2/contacts/{contact_id}", params={"fields": "custom_fields"}, timeout=5
    ).json()

    assert model["custom_fields"][0]["field_type"] == "TEXT"
    assert v1_model["custom_fields"][0]["field_type"] == "Text"
    assert "custom_fields" not in plain
    assert with_fields["custom_fields"][0]["id"] == model["custom_fields"][0]["id"]
