"""REST hooks: the X-Hook-Secret handshake, delivery, batching and Keap's retry schedule."""

import time

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


def subscribe(api, event_key, url):
    return api.post(api.base + "/v1/hooks", json={"eventKey": event_key, "hookUrl": url}, timeout=5)


def create_contact(api, email):
    response = api.post(
        api.base + "/v2/contacts", json={"email_addresses": [{"email": email}]}, timeout=5
    )
    assert response.status_code == 201
    return response.json()["id"]


def wait_for_status(keap_sandbox, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hooks = keap_sandbox.hooks()["hooks"]["ab123.infusionsoft.com"]
        if hooks and hooks[0]["status"] == status:
            return hooks[0]
        time.sleep(0.02)
    return keap_sandbox.hooks()["hooks"]["ab123.infusionsoft.com"][0]


def test_it_verifies_by_handshake(api, keap_hook_receiver):
    response = subscribe(api, "contact.add", keap_hook_receiver.url)

    assert response.status_code == 200
    assert response.json()["status"] == "Verified"
    assert len(keap_hook_receiver.secrets) == 1
    assert len(keap_hook_receiver.secrets[0]) >= 32


def test_it_stays_unverified_without_echo(api, keap_hook_receiver):
    keap_hook_receiver.echo_secret = False
    hook = subscribe(api, "contact.add", keap_hook_receiver.url).json()
    create_contact(api, "nobody@example.com")

    time.sleep(0.2)
    delayed = api.post(
        api.base + f"/v1/hooks/{hook['key']}/delayedVerify",
        headers={"X-Hook-Secret": keap_hook_receiver.secrets[-1]},
        timeout=5,
    )

    assert hook["status"] == "Unverified"
    assert keap_hook_receiver.deliveries == []
    assert delayed.json()["status"] == "Verified"


def test_it_rejects_other_hosts(api):
    for url in ("http://example.com/hook", "http://10.0.0.1/hook", "file:///etc/passwd"):
        response = subscribe(api, "contact.add", url)
        assert response.status_code == 400
        assert "127.0.0.1" in response.json()["message"]


def test_it_rejects_unknown_event_key(api, keap_hook_receiver):
    response = subscribe(api, "contact.teleported", keap_hook_receiver.url)

    assert response.status_code == 400
    assert "eventKey" in response.json()["message"]


def test_it_delivers_contact_add_in_one_batch(api, keap_sandbox, keap_hook_receiver):
    subscribe(api, "contact.add", keap_hook_receiver.url)

    ids = [create_contact(api, f"batch{n}@example.com") for n in range(3)]
    deliveries = keap_hook_receiver.wait_for_deliveries(1)

    assert len(deliveries) == 1
    payload = deliveries[0]
    assert payload["event_key"] == "contact.add"
    assert payload["object_type"] == "contact"
    assert [str(key["id"]) for key in payload["object_keys"]] == ids
    first = payload["object_keys"][0]
    assert first["apiUrl"] == f"{keap_sandbox.api_base_url}/v1/contacts/{ids[0]}"
    assert first["timestamp"].endswith("Z")


def test_it_delivers_edit_and_tag_events(api, keap_hook_receiver):
    subscribe(api, "contact.edit", keap_hook_receiver.url)
    subscribe(api, "contactGroup.applied", keap_hook_receiver.url)
    contact_id = create_contact(api, "edit@example.com")
    tag_id = api.get(api.base + "/v2/tags", timeout=5).json()["tags"][0]["id"]

    api.patch(api.base + f"/v2/contacts/{contact_id}", json={"given_name": "Édith"}, timeout=5)
    api.post(
        api.base + f"/v2/tags/{tag_id}/contacts:applyTags",
        json={"contact_ids": [contact_id]},
        timeout=5,
    )
    deliveries = keap_hook_receiver.wait_for_deliveries(2)

    by_event = {d["event_key"]: d for d in deliveries}
    assert by_event["contact.edit"]["object_keys"][0]["id"] == int(contact_id)
    assert by_event["contactGroup.applied"]["object_keys"][0]["id"] == int(tag_id)
    assert by_event["contactGroup.applied"]["object_keys"][0]["contact_id"] == int(contact_id)


def test_it_retries_then_deactivates(api, keap_sandbox, keap_hook_receiver):
    keap_sandbox.set_hook_time_scale(0.0002)
    subscribe(api, "contact.add", keap_hook_receiver.url)
    keap_hook_receiver.status = 500

    create_contact(api, "retry@example.com")
    hook = wait_for_status(keap_sandbox, "Inactive", timeout=10)

    attempts = keap_sandbox.hooks()["deliveries"]
    assert hook["status"] == "Inactive"
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert {a["status"] for a in attempts} == {500}
    assert len(keap_hook_receiver.deliveries) == 4


def test_it_deactivates_on_410(api, keap_sandbox, keap_hook_receiver):
    subscribe(api, "contact.add", keap_hook_receiver.url)
    keap_hook_receiver.status = 410

    create_contact(api, "gone@example.com")
    hook = wait_for_status(keap_sandbox, "Inactive")

    assert hook["status"] == "Inactive"
    assert len(keap_sandbox.hooks()["deliveries"]) == 1


def test_it_reactivates_by_verify(api, keap_sandbox, keap_hook_receiver):
    hook = subscribe(api, "contact.add", keap_hook_receiver.url).json()
    keap_hook_receiver.status = 410
    create_contact(api, "first@example.com")
    wait_for_status(keap_sandbox, "Inactive")
    keap_hook_receiver.status = 200

    verified = api.post(api.base + f"/v1/hooks/{hook['key']}/verify", timeout=5)
    create_contact(api, "second@example.com")
    deliveries = keap_hook_receiver.wait_for_deliveries(2)

    assert verified.json()["status"] == "Verified"
    assert len(deliveries) == 2
