"""Fault injection and the request log."""

import time

import pytest
import requests


@pytest.fixture
def key(keap_sandbox):
    keap_sandbox.create_account("ab123")
    keap_sandbox.set_limits(enforced=False)
    return keap_sandbox.create_api_key("ab123")


def get(keap_sandbox, key, path="/v2/tags", timeout=5):
    return requests.get(
        keap_sandbox.api_base_url + path, headers={"X-Keap-API-Key": key["key"]}, timeout=timeout
    )


def test_it_adds_latency(keap_sandbox, key):
    keap_sandbox.add_fault("latency", seconds=0.3)

    started = time.monotonic()
    response = get(keap_sandbox, key)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_it_answers_errors_by_pattern(keap_sandbox, key):
    keap_sandbox.add_fault("error", status=503, pattern="x..")

    statuses = [get(keap_sandbox, key).status_code for _ in range(6)]

    assert statuses == [503, 200, 200, 503, 200, 200]


def test_it_shapes_injected_errors(keap_sandbox, key):
    keap_sandbox.add_fault("error", status=500, times=1)
    keap_sandbox.add_fault("error", status=502, path_prefix="/crm/rest/v1/", times=1)

    v2 = get(keap_sandbox, key)
    v1 = get(keap_sandbox, key, "/v1/tags")

    assert v2.status_code == 500
    assert v2.json()["code"] == 500
    assert "x-keap-product-throttle-used" in v2.headers
    assert v1.status_code == 502
    assert "fault" in v1.json()
    assert get(keap_sandbox, key).status_code == 200


def test_it_repeats_seeded_random_errors(keap_sandbox, key):
    def run():
        keap_sandbox.clear_faults(seed=7)
        keap_sandbox.add_fault("error", status=500, rate=0.5)
        return [get(keap_sandbox, key).status_code for _ in range(20)]

    first, second = run(), run()

    assert first == second
    assert 500 in first
    assert 200 in first


def test_it_hangs_until_client_times_out(keap_sandbox, key):
    keap_sandbox.add_fault("hang", seconds=2, times=1)

    with pytest.raises(requests.exceptions.ReadTimeout):
        get(keap_sandbox, key, timeout=0.3)

    assert get(keap_sandbox, key).status_code == 200


def test_it_drops_connections(keap_sandbox, key):
    keap_sandbox.add_fault("drop", times=1)

    with pytest.raises(requests.exceptions.ConnectionError):
        get(keap_sandbox, key)

    log = keap_sandbox.request_log()
    assert log[-1]["fault"] == "drop"
    assert log[-1]["status"] is None


def test_it_scopes_faults_to_path_prefix(keap_sandbox, key):
    keap_sandbox.add_fault("error", status=503, path_prefix="/crm/rest/v2/contacts")

    assert get(keap_sandbox, key, "/v2/contacts").status_code == 503
    assert get(keap_sandbox, key, "/v2/tags").status_code == 200


def test_it_fails_token_endpoint(keap_sandbox):
    keap_sandbox.add_fault("error", status=503, path_prefix="/token")

    response = requests.post(keap_sandbox.token_url, data={"grant_type": "x"}, timeout=5)

    assert response.status_code == 503


def test_it_rejects_invalid_fault_rules(keap_sandbox):
    bad_rules = [
        {"kind": "explode"},
        {"kind": "error", "status": 418},
        {"kind": "hang", "seconds": 0},
        {"kind": "error", "rate": 2},
        {"kind": "latency", "colour": "red"},
    ]
    for rule in bad_rules:
        response = requests.post(keap_sandbox.base_url + "/_sandbox/faults", json=rule, timeout=5)
        assert response.status_code == 400, rule
        assert response.json()["error"].startswith("Invalid")


def test_it_logs_requests(keap_sandbox, key):
    keap_sandbox.clear_requests()
    get(keap_sandbox, key)
    get(keap_sandbox, key, "/v2/contacts/424242")
    requests.get(keap_sandbox.api_base_url + "/v2/tags", timeout=5)
    keap_sandbox.settings()

    log = keap_sandbox.request_log()

    assert [entry["status"] for entry in log] == [200, 404, 401]
    assert log[0]["credential"] == key["key_id"]
    assert log[0]["tenant_id"] == "ab123.infusionsoft.com"
    assert log[0]["method"] == "GET"
    assert log[0]["path"] == "/crm/rest/v2/tags"
    assert log[0]["duration_ms"] >= 0
    assert log[2]["credential"] is None
    assert key["key"] not in str(log)
    assert len(keap_sandbox.request_log(since=log[0]["seq"])) == 2
    assert len(keap_sandbox.request_log(credential=key["key_id"])) == 2
