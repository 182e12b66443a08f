"""Errors of the client API as RFC 9457 problem details (`application/problem+json`).

Every error response has `type`, `title`, `status`, `detail` and `code`. `type` is
`about:blank`, so `title` is the HTTP status phrase, and `code` is the stable, machine-readable
reason that clients branch on. `detail` is a sentence that states what to do next.
"""

import json
import logging
import math
from http import HTTPStatus

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger(__name__)

# Seconds a client should wait after the database was unreachable: an estimate of how long a
# PostgreSQL restart takes.
DATABASE_UNAVAILABLE_RETRY_SECONDS = 5

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Default `detail` for each code, used when the raiser gives none.
DETAILS = {
    "missing_key": (
        "Send the site key in the Authorization header as `Bearer kpsk_...`. The site owner "
        "creates keys on the site's page in the portal."
    ),
    "invalid_key": (
        "The site key is not valid. Check that the whole key was copied, or ask the site owner "
        "for a new one."
    ),
    "revoked_key": "This site key was revoked. Ask the site owner for a new key.",
    "expired_key": "This site key has expired. Use its replacement, or ask the site owner for one.",
    "site_revoked": (
        "This client site was revoked, so none of its keys work. Ask the site owner to create a "
        "new site."
    ),
    "connection_revoked": (
        "The Keap connection of this site was revoked, so its keys no longer work. Ask the site "
        "owner to create a new site on an active connection."
    ),
    "site_paused": (
        "This client site is paused by its owner. Try again after the owner resumes it in the "
        "portal."
    ),
    "scope_not_granted": (
        "This site lacks a scope the request needs. Ask the site owner to grant it on the "
        "site's page in the portal."
    ),
    "not_found": "No such object. Check the id; objects of other sites are not visible.",
    "method_not_allowed": "This endpoint does not accept that HTTP method.",
    "connection_needs_reauth": (
        "Keap no longer accepts the site's connection. Ask the site owner to reconnect it in "
        "the portal, then retry."
    ),
    "body_too_large": "The request body is too large. Send less data per request.",
    "invalid_input": "The request is invalid. Correct the fields named in `errors` and retry.",
    "rate_limited": (
        "This site sent more requests per minute than its limit allows. Wait for the number "
        "of seconds in Retry-After, then retry."
    ),
    "service_unavailable": (
        "The request cannot be queued right now. Wait for the number of seconds in "
        "Retry-After, then retry."
    ),
    "internal_error": (
        "The portal failed to handle the request. Retry later; if it keeps failing, tell the "
        "site owner the request id from the X-Request-ID header."
    ),
}


# Codes for ninja's own HttpError, which endpoints may raise with a status and a message.
HTTP_ERROR_CODES = {
    400: "invalid_input",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "invalid_input",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiProblem(Exception):
    """An API error that becomes a problem+json response.

    `headers` are added to the response (for example Retry-After). `extensions` are extra
    members of the problem document, such as `missing_scopes`; they must hold no secret.
    """

    def __init__(self, status, code, detail=None, headers=None, *, extensions=None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail or DETAILS.get(code, HTTPStatus(status).phrase + ".")
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    def __str__(self):
        return f"{self.status} {self.code}: {self.detail}"


def problem_response(problem: ApiProblem) -> HttpResponse:
    document = {
        "type": "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        **problem.extensions,
    }
    response = HttpResponse(
        json.dumps(document), status=problem.status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def retry_after_header(seconds: float) -> dict:
    """Return a Retry-After header of whole seconds, rounded up and at least 1."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def max_body_bytes() -> int:
    """Return the largest request body the API accepts, in bytes.

    API_MAX_BODY_BYTES (default 5 MB), capped by Django's DATA_UPLOAD_MAX_MEMORY_SIZE, because
    Django refuses to read a larger body at all.
    """
    limit = getattr(settings, "API_MAX_BODY_BYTES", 5 * 1024 * 1024)
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit if django_limit is None else min(limit, django_limit)


def body_too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        "body_too_large",
        f"The request body is larger than the maximum of {limit} bytes. Send less data per "
        "request, for example fewer contacts per batch.",
        extensions={"max_bytes": limit},
    )


def invalid_input(errors) -> ApiProblem:
    """Build the 422 problem for ninja's validation errors, naming each invalid field."""
    fields = [_describe_error(error) for error in errors]
    names = ", ".join(dict.fromkeys(item["field"] for item in fields))
    return ApiProblem(
        422,
        "invalid_input",
        f"Invalid value for {names}. Correct the fields listed in `errors` and retry.",
        extensions={"errors": fields},
    )


def _describe_error(error):
    # ninja's `loc` starts with the parameter source (body, query, path), then the field path.
    # For the body, the next part is the view's parameter name, which clients never send.
    location = [str(part) for part in error.get("loc", ())]
    source = location[0] if location else ""
    first_field = 2 if source == "body" else 1
    field_path = location[first_field:] if len(location) > first_field else []
    return {
        "field": ".".join(field_path) or "body",
        "in": source,
        "message": str(error.get("msg", "Invalid value.")),
    }


def register_handlers(api):
    """Make every error of `api` a problem+json response."""

    def handle_problem(request, exc):
        return problem_response(exc)

    def handle_authentication(request, exc):
        return problem_response(
            ApiProblem(401, "missing_key", headers={"WWW-Authenticate": 'Bearer realm="api"'})
        )

    def handle_http_error(request, exc):
        code = HTTP_ERROR_CODES.get(exc.status_code, "error")
        detail = f"{str(exc).rstrip('.')}. Correct the request and retry."
        if str(exc).startswith("Cannot parse request body"):
            detail = (
                "The request body is not valid JSON. Send a JSON object with the header "
                "Content-Type: application/json."
            )
        return problem_response(ApiProblem(exc.status_code, code, detail))

    def handle_not_found(request, exc):
        return problem_response(ApiProblem(404, "not_found"))

    def handle_validation(request, exc):
        return problem_response(invalid_input(exc.errors))

    def handle_database_unavailable(request, exc):
        logger.warning(
            "%s %s not handled, database unavailable: %s",
            request.method,
            request.path,
            " ".join(str(exc).split()),
        )
        return problem_response(
            ApiProblem(
                503,
                "service_unavailable",
                "The portal cannot reach its database right now. Wait for the number of seconds "
                "in Retry-After, then retry.",
                retry_after_header(DATABASE_UNAVAILABLE_RETRY_SECONDS),
            )
        )

    def handle_unexpected(request, exc):
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return problem_response(ApiProblem(500, "internal_error"))

    api.add_exception_handler(ApiProblem, handle_problem)
    api.add_exception_handler(AuthenticationError, handle_authentication)
    api.add_exception_handler(HttpError, handle_http_error)
    api.add_exception_handler(Http404, handle_not_found)
    api.add_exception_handler(ValidationError, handle_validation)
    api.add_exception_handler(OperationalError, handle_database_unavailable)
    api.add_exception_handler(InterfaceError, handle_database_unavailable)
    api.add_exception_handler(Exception, handle_unexpected)
