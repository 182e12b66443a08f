"""The outbound HTTP wrapper: timeouts, no redirects, Keap hosts only."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector import http


class RedirectingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_keap(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), RedirectingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.KEAP_API_BASE_URL = f"{base}/crm/rest"
    settings.KEAP_TOKEN_URL = f"{base}/token"
    settings.KEAP_AUTHORIZE_URL = f"{base}/app/oauth/authorize"
    yield base
    server.shutdown()
    server.server_close()


def test_it_refuses_other_port_on_same_host(local_keap):
    other = "http://127.0.0.1:1/crm/rest/v2/contacts"

    with pytest.raises(http.DisallowedHost, match="only the configured Keap hosts"):
        http.request("GET", other)


def test_it_refuses_other_scheme(local_keap):
    https_url = local_keap.replace("http://", "https://") + "/crm/rest/v2/contacts"

    with pytest.raises(http.DisallowedHost):
        http.request("GET", https_url)


def test_it_refuses_other_loopback_name(local_keap):
    port = local_keap.rsplit(":", 1)[1]

    with pytest.raises(http.DisallowedHost):
        http.request("GET", f"http://localhost:{port}/crm/rest")


def test_it_does_not_follow_redirects(local_keap):
    response = http.request("GET", f"{local_keap}/crm/rest/v2/contacts")

    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:1/elsewhere"


def test_it_sets_timeout_and_user_agent(local_keap, monkeypatch):
    seen = {}

    def record(method, url, **kwargs):
        seen.update(kwargs)
        return None

    monkeypatch.setattr(http.session(), "request", record)
    http.request("GET", f"{local_keap}/crm/rest/v2/contacts")

    assert seen["timeout"] == (5, 30)
    assert seen["allow_redirects"] is False
    assert http.session().headers["User-Agent"].startswith("connector-portal/")


def test_it_accepts_default_keap_hosts(settings):
    settings.KEAP_API_BASE_URL = "https://api.infusionsoft.com/crm/rest"
    settings.KEAP_TOKEN_URL = "https://api.infusionsoft.com/token"
    settings.KEAP_AUTHORIZE_URL = "https://accounts.infusionsoft.com/app/oauth/authorize"

    http.check_url("https://api.infusionsoft.com/crm/rest/v2/contacts")
    http.check_url("https://api.infusionsoft.com:443/token")
    with pytest.raises(http.DisallowedHost):
        http.check_url("https://api.infusionsoft.com.attacker.test/crm/rest")
