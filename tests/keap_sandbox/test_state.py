"""Reset, demo seeding, the clock and the control API's guards."""

import requests
from django.core.management import call_command


def test_it_resets_state(keap_sandbox):
    keap_sandbox.create_account("ab123", sample_data=True)
    key = keap_sandbox.create_api_key("ab123")["key"]
    keap_sandbox.add_fault("latency", seconds=0.01)

    keap_sandbox.reset()

    assert keap_sandbox.accounts() == []
    assert keap_sandbox.api_keys() == []
    assert keap_sandbox.faults()["rules"] == []
    response = requests.get(
        keap_sandbox.api_base_url + "/v1/contacts", headers={"X-Keap-API-Key": key}, timeout=5
    )
    assert response.status_code == 401


def test_it_seeds_demo(keap_sandbox, settings):
    settings.KEAP_CLIENT_ID = "portal-id"
    settings.KEAP_CLIENT_SECRET = "portal-secret"
    settings.PORTAL_BASE_URL = "http://localhost:8001/"

    demo = keap_sandbox.seed_demo()

    assert len(demo["accounts"]) >= 2
    assert demo["oauth_client"] == {
        "client_id": "portal-id",
        "client_secret": "portal-secret",
        "redirect_uris": ["http://localhost:8001/connections/oauth/callback/"],
    }
    for account in demo["accounts"]:
        response = requests.get(
            keap_sandbox.api_base_url + "/v2/contacts",
            headers={"X-Keap-API-Key": account["pat"]},
            timeout=5,
        )
        assert response.status_code == 200
        assert response.headers["x-keap-tenant-id"] == account["tenant_id"]
        assert len(response.json()["contacts"]) >= 10
    names = {c["given_name"] for c in keap_sandbox.contacts("ab123")}
    assert {"Zoë", "太郎", "Дмитрий", "محمد"} <= names


def test_it_seeds_demo_defaults(keap_sandbox, settings):
    settings.KEAP_CLIENT_ID = ""
    settings.KEAP_CLIENT_SECRET = ""
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"

    client = keap_sandbox.reset(demo=True)["demo"]["oauth_client"]

    assert client["client_id"] == "sandbox-demo-client"
    assert client["redirect_uris"] == ["http://127.0.0.1:8000/connections/oauth/callback/"]


def test_it_controls_clock(keap_sandbox):
    keap_sandbox.set_clock("2026-01-01T00:00:00Z")
    keap_sandbox.advance_clock(90)

    frozen = keap_sandbox.clock()
    keap_sandbox.follow_real_time()

    assert frozen["iso"] == "2026-01-01T00:01:30.000Z"
    assert frozen["frozen"] is True
    assert keap_sandbox.clock()["frozen"] is False


def test_it_seeds_contacts_in_v2_shape(keap_sandbox):
    keap_sandbox.create_account("ab123")

    created = keap_sandbox.seed_contacts(
        "ab123", [{"given_name": "Ana", "email_addresses": [{"email": "ana@example.pt"}]}]
    )

    assert created[0]["given_name"] == "Ana"
    assert keap_sandbox.contacts("ab123")[0]["id"] == created[0]["id"]


def test_it_listens_on_loopback(keap_sandbox):
    assert keap_sandbox.server.host == "127.0.0.1"


def test_it_runs_control_command(keap_sandbox, capsys):
    call_command("keap_sandbox_control", "--url", keap_sandbox.base_url, "demo")
    call_command(
        "keap_sandbox_control",
        "--url",
        keap_sandbox.base_url,
        "create-key",
        "ab123",
        "--kind",
        "SAK",
    )

    output = capsys.readouterr().out
    assert "ab123.infusionsoft.com" in output
    assert '"kind": "SAK"' in output
    assert len(keap_sandbox.api_keys()) == 3


def test_it_lists_control_endpoints(keap_sandbox):
    import requests

    response = requests.get(f"{keap_sandbox.server.base_url}/_sandbox/", timeout=5)

    assert response.status_code == 200
    assert "POST /_sandbox/reset" in response.json()["endpoints"]
