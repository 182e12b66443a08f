"""Check sandbox responses against Keap's OpenAPI files with openapi-core.

The spec files live in `specs/keap/` in the repository; `KEAP_SPEC_DIR` overrides the location.
"""

import json
import os
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = Path(os.environ.get("KEAP_SPEC_DIR") or REPO_ROOT / "specs" / "keap")

V1_FILE = "keap-v1-openapi-3.0-2025-11-05.json"
V2_OFFICIAL_FILE = "keap-v2-openapi-3.1-official.yml"
V2_2025_FILE = "keap-v2-openapi-3.0-2025-11-05.json"

# Each file's `servers` entry, onto which sandbox URLs are mapped before validation.
V1_SERVER = "https://api.infusionsoft.com/crm/rest"
V2_OFFICIAL_SERVER = "https://api.keap.com/crm/rest"
V2_2025_SERVER = "https://api.infusionsoft.com/crm/rest"

GATEWAY_FAULT_CODES = {
    "oauth.v2.InvalidAccessToken",
    "keymanagement.service.invalid_access_token",
    "keymanagement.service.access_token_expired",
}


def _untype_custom_field_content(node) -> None:
    """Drop `type: object` from custom field values' `content` in the two generated files.

    NOTE: the v1 file and the 2025-11-05 v2 file were generated from Java, where `content` is
    an `Object`: any JSON value. Keap sends a text field's value as a string, which `type:
    object` rejects. The official v2 file leaves `content` untyped, as here.
    """
    if isinstance(node, dict):
        content = node.get("properties", {}).get("content")
        is_custom_value = node.get("title") == "CustomFieldValue" or "id" in node.get(
            "properties", {}
        )
        if is_custom_value and content == {"type": "object"}:
            node["properties"]["content"] = {}
        for value in node.values():
            _untype_custom_field_content(value)
    elif isinstance(node, list):
        for value in node:
            _untype_custom_field_content(value)


@cache
def load_specs() -> dict[str, OpenAPI]:
    # The v1 file fails strict OpenAPI validation (its oauth2 flow has no scopes map), so the
    # spec validator is off for all three.
    config = Config(spec_validator_cls=None)
    v1 = json.loads((SPEC_DIR / V1_FILE).read_text())
    _untype_custom_field_content(v1)
    # The C loader parses the 1.3 MB file several times faster when libyaml is present.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    v2_official = yaml.load((SPEC_DIR / V2_OFFICIAL_FILE).read_text(), Loader=loader)  # noqa: S506
    v2_2025 = json.loads((SPEC_DIR / V2_2025_FILE).read_text())
    _untype_custom_field_content(v2_2025)
    return {
        "v1": OpenAPI.from_dict(v1, config=config),
        "v2-official": OpenAPI.from_dict(v2_official, config=config),
        "v2-2025": OpenAPI.from_dict(v2_2025, config=config),
    }


def _mapped_request(response: requests.Response, server: str) -> RequestsOpenAPIRequest:
    sent = response.request
    parts = urlsplit(sent.url)
    path = parts.path.removeprefix("/crm/rest")
    url = server + path + (f"?{parts.query}" if parts.query else "")
    prepared = requests.Request(sent.method, url, headers=dict(sent.headers)).prepare()
    prepared.body = sent.body
    return RequestsOpenAPIRequest(prepared)


def check_gateway_body(response: requests.Response) -> list[str]:
    """Check a body the specs do not declare: the gateway's 401 fault or Keap's 429."""
    body = response.json()
    if response.status_code == 429:
        expected = {
            "code": "429",
            "message": "Quota Exceeded",
            "status": "Request Throttled",
            "details": None,
        }
        return [] if body == expected else [f"429 body {body} is not Keap's"]
    fault = body.get("fault") if isinstance(body, dict) else None
    detail = (fault or {}).get("detail") or {}
    if not isinstance((fault or {}).get("faultstring"), str):
        return [f"401 body {body} has no fault.faultstring"]
    if detail.get("errorcode") not in GATEWAY_FAULT_CODES:
        return [f"401 body {body} has an unknown fault.detail.errorcode"]
    return []


def check_response(response: requests.Response) -> list[str]:
    """Return every schema violation of one sandbox response; an empty list means it is valid."""
    path = urlsplit(response.request.url).path
    if response.status_code in (401, 429):
        return check_gateway_body(response)
    if path.startswith("/crm/rest/v1/"):
        targets = [("v1", V1_SERVER, True)]
    elif path.startswith("/crm/rest/v2/"):
        # The older 2025-11-05 file covers a subset of the official file's operations and
        # statuses (no 400s, no upsert 200), so it checks only what it declares.
        targets = [("v2-official", V2_OFFICIAL_SERVER, True), ("v2-2025", V2_2025_SERVER, False)]
    else:
        return [f"{path} is not a Keap REST path"]

    problems = []
    for name, server, required in targets:
        spec = load_specs()[name]
        request = _mapped_request(response, server)
        try:
            spec.validate_response(request, RequestsOpenAPIResponse(response))
        except (PathNotFound, OperationNotFound) as exc:
            if required:
                problems.append(f"{name}: {response.request.method} {path}: {exc}")
        except ResponseNotFound:
            if required:
                problems.extend(_check_undeclared_error(name, response))
        except Exception as exc:  # noqa: BLE001 - every validation failure is a finding
            problems.append(f"{name}: {response.request.method} {path} -> {_describe(exc)}")
    return problems


def _check_undeclared_error(name: str, response: requests.Response) -> list[str]:
    """v1 declares no 400, so a v1 error body is checked for a string `message` instead."""
    body = response.json() if response.content else None
    if name == "v1" and response.status_code == 400 and isinstance(body, dict):
        return [] if isinstance(body.get("message"), str) else [f"v1 400 body {body}"]
    return [f"{name}: status {response.status_code} is not declared for {response.request.url}"]


def _describe(exc: Exception) -> str:
    details = [str(exc)]
    for inner in getattr(exc, "schema_errors", None) or []:
        details.append(f"{list(inner.path)}: {inner.message}")
    cause = exc.__cause__
    for inner in getattr(cause, "schema_errors", None) or []:
        details.append(f"{list(inner.path)}: {inner.message}")
    return "; ".join(details)[:2000]
