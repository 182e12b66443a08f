"""The sandbox's WSGI application: Keap's OAuth pages, REST API and gateway, and the control API.

Order for a Keap request: injected faults that act on the connection (latency, hang, drop),
then the gateway (credential, quotas), then injected 5xx responses, then the endpoint. Every
Keap request goes into the request log; control API calls do not.
"""

import logging
import threading
import time

from keap_sandbox import control_api, errors, oauth, rest_v1, rest_v2
from keap_sandbox.actions import ApiCall
from keap_sandbox.faults import FaultOutcome
from keap_sandbox.gateway import authenticate, count_request, read_credential
from keap_sandbox.http import DropConnection, HttpError, Request, Response, Router
from keap_sandbox.paging import iso
from keap_sandbox.state import SandboxState

logger = logging.getLogger(__name__)

API_PREFIX = "/crm/rest/"
CONTROL_PREFIX = "/_sandbox/"


class SandboxApp:
    def __init__(self, state: SandboxState):
        self.state = state
        self.api_router = Router()
        rest_v1.register(self.api_router)
        rest_v2.register(self.api_router)
        self.control_router = control_api.build_router()
        # Set on shutdown so hanging requests end at once.
        self.stopping = threading.Event()
        self.sequence = 0

    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        if request.path.startswith(CONTROL_PREFIX) or request.path == CONTROL_PREFIX.rstrip("/"):
            response = control_api.handle(self.control_router, self.state, request)
        else:
            response = self.handle_keap(request)
        start_response(response.status_line(), list(response.headers.items()))
        return [response.body]

    def handle_keap(self, request: Request) -> Response:
        started = time.monotonic()
        entry = {
            "method": request.method,
            "path": request.path,
            "credential": None,
            "tenant_id": None,
        }
        with self.state.lock:
            outcome = self.state.faults.decide(request.path)
            entry["time"] = iso(self.state.now())
        if outcome.latency:
            self.stopping.wait(outcome.latency)
        if outcome.kind in ("drop", "hang"):
            self._end_without_response(request, entry, outcome, started)

        try:
            response = self._dispatch(request, entry, outcome)
        except HttpError as exc:
            response = exc.response
        except Exception:
            logger.exception("[path=%s] Sandbox request failed", request.path)
            response = Response.json({"message": "Internal sandbox error"}, status=500)
        self._log(entry, response.status, outcome, started)
        return response

    def _end_without_response(self, request, entry, outcome: FaultOutcome, started) -> None:
        if outcome.kind == "hang":
            self.stopping.wait(outcome.seconds)
        self._log(entry, None, outcome, started)
        raise DropConnection(request.path)

    def _dispatch(self, request: Request, entry: dict, outcome: FaultOutcome) -> Response:
        path = request.path
        if path.startswith(API_PREFIX):
            return self._handle_api(request, entry, outcome)
        if outcome.kind == "error":
            return _injected_error(path, outcome.status)
        if path.rstrip("/") == "/app/oauth/authorize":
            if request.method == "GET":
                return oauth.authorize_page(self.state, request)
            if request.method == "POST":
                return oauth.authorize_decision(self.state, request)
            return Response.json({"message": "Method not allowed"}, status=405)
        if path.rstrip("/") == "/token":
            basic_client_id, _secret = oauth.basic_credentials(request)
            entry["credential"] = "client:" + (
                request.form().get("client_id") or basic_client_id or "unknown"
            )
            if request.method != "POST":
                return errors.oauth_error(
                    "invalid_request", "Use POST for the token endpoint.", 405
                )
            return oauth.token_endpoint(self.state, request)
        return Response.json({"message": f"Not found: {path}"}, status=404)

    def _handle_api(self, request: Request, entry: dict, outcome: FaultOutcome) -> Response:
        version = "v2" if request.path.startswith(API_PREFIX + "v2") else "v1"
        with self.state.lock:
            if read_credential(request) is not None:
                entry["credential"] = "rejected"
            caller = authenticate(self.state, request)
            entry["credential"] = caller.credential_id
            entry["tenant_id"] = caller.account.tenant_id
            quota_headers = count_request(self.state, caller)

            if outcome.kind == "error":
                response = _injected_error(request.path, outcome.status)
            else:
                response = self._route(request, caller, version)
            response.headers.update(quota_headers)
            return response

    def _route(self, request: Request, caller, version: str) -> Response:
        handler, params, path_known = self.api_router.match(request.method, request.path)
        if handler is None:
            status = 405 if path_known else 404
            message = f"No operation {request.method} {request.path}."
            return errors.api_error(version, status, message).response
        request.path_params = params
        try:
            return handler(ApiCall(self.state, request, caller, version))
        except HttpError as exc:
            return exc.response

    def _log(self, entry: dict, status: int | None, outcome: FaultOutcome, started: float) -> None:
        with self.state.lock:
            self.sequence += 1
            entry.update(
                seq=self.sequence,
                status=status,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                fault=outcome.kind or ("latency" if outcome.latency else None),
            )
            self.state.request_log.append(entry)


def _injected_error(path: str, status: int) -> Response:
    if status in errors.GATEWAY_5XX:
        return errors.gateway_5xx(status)
    if path.startswith(API_PREFIX + "v2"):
        return errors.v2_error(status, "Internal Server Error")
    return errors.v1_error(status, "Internal Server Error")
