"""Error bodies in the shapes Keap sends them."""

from http import HTTPStatus

from keap_sandbox.http import HttpError, Response

# The gateway's 401 fault codes. `oauth.v2.InvalidAccessToken` means no credential arrived; the
# `keymanagement.service.*` codes mean one arrived and was rejected.
NO_CREDENTIAL = "oauth.v2.InvalidAccessToken"
INVALID_TOKEN = "keymanagement.service.invalid_access_token"
EXPIRED_TOKEN = "keymanagement.service.access_token_expired"

FAULT_STRINGS = {
    NO_CREDENTIAL: "Invalid access token",
    INVALID_TOKEN: "Invalid Access Token",
    EXPIRED_TOKEN: "Access Token expired",
}

# NOTE: these 502/503 bodies follow the Apigee gateway's standard fault codes. No Keap source
# shows a captured 502 or 503 body, so a client should rely on the status code only.
GATEWAY_5XX = {
    502: ("Unexpected EOF at target", "messaging.adaptors.http.flow.UnexpectedEOFAtTarget"),
    503: (
        "The Service is temporarily unavailable",
        "messaging.adaptors.http.flow.ServiceUnavailable",
    ),
}

QUOTA_EXCEEDED_BODY = {
    "code": "429",
    "message": "Quota Exceeded",
    "status": "Request Throttled",
    "details": None,
}


def gateway_fault(errorcode: str, status: int = 401) -> Response:
    faultstring = FAULT_STRINGS.get(errorcode) or GATEWAY_5XX[status][0]
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return Response.json(body, status=status)


def gateway_5xx(status: int) -> Response:
    return gateway_fault(GATEWAY_5XX[status][1], status=status)


def v1_error(status: int, message: str) -> Response:
    """Return a v1 error; Keap's v1 API sends at least `message` in its errors."""
    return Response.json({"message": message}, status=status)


def v2_error(status: int, message: str, resource: str | None = None) -> Response:
    """Return the v2 `Error` schema: `{code, message, status, details}`.

    NOTE: `status` contains the HTTP reason phrase. The v2 spec types it as a string without
    examples, so Keap may send another form there.
    """
    details = [{"domain": "crm", "resource": resource}] if resource else []
    body = {
        "code": status,
        "message": message,
        "status": HTTPStatus(status).phrase,
        "details": details,
    }
    return Response.json(body, status=status)


def api_error(version: str, status: int, message: str, resource: str | None = None) -> HttpError:
    """Return an exception that sends the error in the shape of API `version` ("v1" or "v2")."""
    if version == "v1":
        return HttpError(v1_error(status, message))
    return HttpError(v2_error(status, message, resource))


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status=status)
