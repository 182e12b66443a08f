"""`SandboxControl`: a Python client for the sandbox's `/_sandbox/` control API.

Tests, the demo and the benchmarks change sandbox state only through it (or the management
commands built on it). Every method returns the decoded JSON of the response and raises
`SandboxControlError` on a non-2xx response.
"""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import requests


class SandboxControlError(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"Sandbox control API returned HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # The sandbox is local; proxy settings from the environment must not reroute it.
        self.session.trust_env = False

    # --- URLs of the emulated Keap ---------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        """The sandbox's equivalent of `https://api.infusionsoft.com/crm/rest`."""
        return self.base_url + "/crm/rest"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/app/oauth/authorize"

    # --- Plumbing --------------------------------------------------------------------------

    def _call(self, method: str, path: str, json=None, params=None):
        response = self.session.request(
            method,
            self.base_url + "/_sandbox/" + path,
            json=json,
            params=params,
            timeout=self.timeout,
        )
        if not response.ok:
            raise SandboxControlError(response.status_code, response.text)
        return response.json()

    # --- State -----------------------------------------------------------------------------

    def reset(self, *, demo: bool = False) -> dict:
        """Forget all state (the clock keeps its time); with `demo`, seed the demo data again."""
        return self._call("POST", "reset", json={"demo": demo})

    def seed_demo(self) -> dict:
        """Create the demo accounts, PATs and OAuth client; return their ids and secrets."""
        return self._call("POST", "demo")

    def create_account(
        self,
        app_name: str | None = None,
        name: str | None = None,
        *,
        users: list[dict] | None = None,
        sample_data: bool = False,
        profile: dict | None = None,
    ) -> dict:
        body = {"app_name": app_name, "name": name, "users": users, "sample_data": sample_data}
        body["profile"] = profile
        return self._call("POST", "accounts", json=body)

    def accounts(self) -> list[dict]:
        return self._call("GET", "accounts")["accounts"]

    def account(self, app_name: str) -> dict:
        return self._call("GET", f"accounts/{app_name}")

    def create_user(
        self, app_name: str, email: str, given_name: str, family_name: str, *, is_admin=False
    ) -> dict:
        body = {
            "email": email,
            "given_name": given_name,
            "family_name": family_name,
            "is_admin": is_admin,
        }
        return self._call("POST", f"accounts/{app_name}/users", json=body)

    def create_oauth_client(
        self,
        redirect_uris: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        name: str | None = None,
    ) -> dict:
        body = {
            "redirect_uris": redirect_uris,
            "client_id": client_id,
            "client_secret": client_secret,
            "name": name,
        }
        return self._call("POST", "oauth-clients", json=body)

    def create_api_key(
        self, app_name: str, kind: str = "PAT", user_id: int | None = None, name: str | None = None
    ) -> dict:
        """Create a PAT or SAK; the result's `key` is the secret, `key_id` its public name."""
        body = {"app_name": app_name, "kind": kind, "user_id": user_id, "name": name}
        return self._call("POST", "api-keys", json=body)

    def delete_api_key(self, key_id: str) -> dict:
        return self._call("DELETE", f"api-keys/{key_id}")

    def api_keys(self) -> list[dict]:
        return self._call("GET", "api-keys")["api_keys"]

    def tokens(self) -> list[dict]:
        return self._call("GET", "tokens")["tokens"]

    def revoke_token(self, token: str | None = None, token_id: str | None = None) -> dict:
        return self._call("POST", "tokens/revoke", json={"token": token, "token_id": token_id})

    def expire_token(self, token: str | None = None, token_id: str | None = None) -> dict:
        return self._call("POST", "tokens/expire", json={"token": token, "token_id": token_id})

    def contacts(self, app_name: str) -> list[dict]:
        """Return every contact of an account in v2 shape, custom fields included."""
        return self._call("GET", f"accounts/{app_name}/contacts")["contacts"]

    def seed_contacts(self, app_name: str, contacts: list[dict]) -> list[dict]:
        """Store contacts given in v2 shape without firing REST hooks."""
        return self._call("POST", f"accounts/{app_name}/contacts", json={"contacts": contacts})[
            "contacts"
        ]

    # --- Settings, faults and clock --------------------------------------------------------

    def settings(self) -> dict:
        return self._call("GET", "settings")

    def set_limits(self, **limits) -> dict:
        """Change quota limits, such as `key_per_minute=5`, `enforced=False` or
        `send_retry_after=False`; `None` removes a limit."""
        return self._call("PATCH", "settings", json={"limits": limits})["limits"]

    def set_lifetimes(self, **lifetimes) -> dict:
        """Change token lifetimes in seconds: access_token, refresh_token, authorization_code."""
        return self._call("PATCH", "settings", json={"lifetimes": lifetimes})["lifetimes"]

    def set_hook_time_scale(self, scale: float) -> dict:
        return self._call("PATCH", "settings", json={"hook_time_scale": scale})

    def add_fault(self, kind: str, **options) -> dict:
        """Add a fault rule: kind latency/error/hang/drop; options path_prefix, rate, pattern,
        status, seconds, times (see docs/sandbox.md)."""
        return self._call("POST", "faults", json={"kind": kind, **options})

    def clear_faults(self, seed: int | None = None) -> dict:
        return self._call("DELETE", "faults", params={"seed": seed} if seed is not None else None)

    def faults(self) -> dict:
        return self._call("GET", "faults")

    def clock(self) -> dict:
        return self._call("GET", "clock")

    def set_clock(self, when, *, frozen: bool = True) -> dict:
        """Move the clock to `when` (epoch seconds or ISO-8601); it stays there if `frozen`."""
        return self._call("POST", "clock", json={"set": when, "frozen": frozen})

    def advance_clock(self, seconds: float) -> dict:
        return self._call("POST", "clock", json={"advance": seconds})

    def follow_real_time(self, *, keep_offset: bool = False) -> dict:
        return self._call(
            "POST", "clock", json={"follow_real_time": True, "keep_offset": keep_offset}
        )

    # --- Logs ------------------------------------------------------------------------------

    def request_log(
        self, *, since: int | None = None, path_prefix: str | None = None, credential=None
    ) -> list[dict]:
        """Return logged Keap requests (control calls are not logged), oldest first."""
        params = {"since": since, "path_prefix": path_prefix, "credential": credential}
        return self._call("GET", "requests", params={k: v for k, v in params.items() if v})[
            "requests"
        ]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def hooks(self) -> dict:
        """Return every hook subscription by tenant, and every delivery attempt."""
        return self._call("GET", "hooks")

    # --- OAuth consent ---------------------------------------------------------------------

    def authorize(self, authorize_url: str, user_id: int, *, allow: bool = True) -> str:
        """Submit the consent page as the sandbox user `user_id`; return the redirect location.

        `authorize_url` is the full URL a portal would send the browser to.
        """
        page = self.session.get(authorize_url, timeout=self.timeout, allow_redirects=False)
        if page.status_code != 200:
            raise SandboxControlError(page.status_code, page.headers.get("Location") or page.text)
        fields = _hidden_fields(page.text)
        fields.update(user_id=str(user_id), decision="allow" if allow else "deny")
        answer = self.session.post(
            self.authorize_url, data=fields, timeout=self.timeout, allow_redirects=False
        )
        if answer.status_code != 302:
            raise SandboxControlError(answer.status_code, answer.text)
        return answer.headers["Location"]

    def authorization_url(self, client_id: str, redirect_uri: str, state: str = "") -> str:
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "full",
            "state": state,
        }
        return f"{self.authorize_url}?{urlencode(query)}"


def query_of(location: str) -> dict[str, str]:
    """Return the query parameters of a redirect location as a plain dict."""
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"]] = values.get("value") or ""


def _hidden_fields(page: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(page)
    return parser.fields
