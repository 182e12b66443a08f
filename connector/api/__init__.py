"""The client API that client sites call with their site keys, mounted at /api/v1/.

Every endpoint requires a site key (SiteKeyAuth) unless it passes another `auth`, and every error is
an RFC 9457 problem+json document (connector.api.problems). The OpenAPI description is served
at /api/v1/openapi.json and rendered at /api/v1/docs.
"""

import inspect
import uuid
from datetime import datetime
from functools import wraps

from asgiref.sync import markcoroutinefunction
from django.http import Http404
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema

from connector.api.auth import SiteKeyAuth, check_site_rate_limit
from connector.api.problems import (
    ApiProblem,
    body_too_large,
    max_body_bytes,
    problem_response,
    register_handlers,
)


class ClientApi(NinjaAPI):
    """A NinjaAPI whose URLs reject oversized bodies first and return every error as a problem.

    Endpoints require SiteKeyAuth unless they pass another `auth`. The checks wrap each URL's
    view, so they cover endpoints that routers add later and the responses that ninja builds
    itself (405, its 404 for the API root).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("auth", SiteKeyAuth())
        super().__init__(**kwargs)
        register_handlers(self)

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = _guard(pattern.callback)
        patterns.append(path("<path:unknown_path>", _unknown_path, name="not_found"))
        return patterns, app_name, namespace


def _guard(view):
    if inspect.iscoroutinefunction(view):

        @wraps(view)
        async def guarded_async(request, *args, **kwargs):
            problem = _check_body_size(request)
            if problem is not None:
                return problem_response(problem)
            try:
                response = await view(request, *args, **kwargs)
            except Http404:
                return problem_response(ApiProblem(404, "not_found"))
            return _as_problem(response)

        return markcoroutinefunction(guarded_async)

    @wraps(view)
    def guarded(request, *args, **kwargs):
        problem = _check_body_size(request)
        if problem is not None:
            return problem_response(problem)
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem_response(ApiProblem(404, "not_found"))
        return _as_problem(response)

    return guarded


def _check_body_size(request):
    """Return a problem for a Content-Length that is invalid or over the limit, else None.

    Runs before anything reads the body, so an oversized upload is refused unread.
    """
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        return ApiProblem(400, "invalid_input", f"Invalid Content-Length header {raw[:20]!r}.")

    limit = max_body_bytes()
    return body_too_large(limit) if length > limit else None


def _as_problem(response):
    if response.status_code != 405 or response.get("Content-Type", "").startswith(
        "application/problem+json"
    ):
        return response
    problem = ApiProblem(
        405,
        "method_not_allowed",
        f"This endpoint accepts only {response['Allow']}.",
        {"Allow": response["Allow"]},
    )
    return problem_response(problem)


@csrf_exempt
def _unknown_path(request, unknown_path):
    return problem_response(
        ApiProblem(404, "not_found", "No API endpoint at this path. See /api/v1/openapi.json.")
    )


api = ClientApi(
    title="Connector portal client API",
    version="1",
    description=(
        "Calls to a Keap account on behalf of a client site. Authenticate with the site key "
        "as `Authorization: Bearer kpsk_...`. Errors are RFC 9457 problem+json documents with "
        "a `code` member."
    ),
    urls_namespace="api",
    docs_url="/docs",
)


# --- Schemas ----------------------------------------------------------------------------------


class Problem(Schema):
    """An RFC 9457 problem document, sent as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class SiteOut(Schema):
    id: uuid.UUID
    name: str
    scopes: list[str]
    status: str
    requests_per_minute: int


class SiteKeyOut(Schema):
    hint: str
    expires_at: datetime | None


class ConnectionOut(Schema):
    keap_account_name: str
    status: str


class MeOut(Schema):
    site: SiteOut
    key: SiteKeyOut
    connection: ConnectionOut


# --- Endpoints --------------------------------------------------------------------------------


@api.get(
    "/me",
    response={200: MeOut, 401: Problem, 403: Problem, 429: Problem},
    url_name="me",
    tags=["site"],
    summary="Describe the authenticated client site",
)
def me(request):
    """Return the site that the key belongs to, its scopes and its connection's state.

    Counts against the site's request limit like every other call.
    """
    check_site_rate_limit(request)

    site = request.site
    connection = request.connection
    return {
        "site": {
            "id": site.public_id,
            "name": site.name,
            "scopes": site.scopes,
            "status": site.status,
            "requests_per_minute": site.requests_per_minute,
        },
        "key": {"hint": request.site_key.hint, "expires_at": request.site_key.expires_at},
        "connection": {
            "keap_account_name": connection.display_name,
            "status": connection.status,
        },
    }


from connector.api.jobs import router as jobs_router  # noqa: E402
from connector.api.operations import router as operations_router  # noqa: E402

api.add_router("", jobs_router)
api.add_router("", operations_router)
