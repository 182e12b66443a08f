"""Client API endpoints that queue Keap calls as jobs.

Each checks the site's request limit and scopes, creates one job and returns 202 with it (200
with the first job for a repeated Idempotency-Key). The job runs in a worker; the client reads
its outcome from `GET /api/v1/jobs/{id}`. Contacts are written through Keap's v1 upsert, which
matches an existing contact by email, ignoring case.
"""

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from connector.api import Problem
from connector.api.auth import check_site_rate_limit, require_scopes
from connector.api.jobs import JobOut, accept_job
from connector.api.problems import ApiProblem
from connector.jobs import config
from connector.jobs.contacts import MAX_PHONES, keap_contact_body
from connector.jobs.create import batch_upsert_job, request_job, upsert_contact_job
from connector.scopes import InvalidPathError, match_request

router = Router(tags=["operations"])

ACCEPTED = {
    200: JobOut,
    202: JobOut,
    401: Problem,
    403: Problem,
    409: Problem,
    422: Problem,
    429: Problem,
    503: Problem,
}

# A simple shape check; Keap validates the address itself and its 400 is passed on.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_TAGS = 100
MAX_CUSTOM_FIELDS = 100
# Keap's v1 tag endpoints take the ids in one request; this keeps the request to a sane size.
MAX_CONTACT_IDS = 1000


class StrictIn(Schema):
    """A request body that rejects unknown fields, so a misspelt field name is a 422 naming it
    instead of data that is silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PhoneIn(StrictIn):
    number: str = Field(min_length=1, max_length=40)
    extension: str | None = Field(None, max_length=20)
    type: Literal["Work", "Home", "Mobile", "Other"] | None = None


class AddressIn(StrictIn):
    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    locality: str | None = Field(None, max_length=100, description="City.")
    region: str | None = Field(None, max_length=100, description="State or province.")
    postal_code: str | None = Field(None, max_length=20)
    country_code: str | None = Field(
        None, min_length=3, max_length=3, description="ISO 3166-1 alpha-3, such as USA."
    )


class CustomFieldIn(StrictIn):
    id: int = Field(gt=0, description="The custom field's id, from GET /api/v1/custom-fields.")
    content: str | int | float | bool | None = None


class ContactIn(StrictIn):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    given_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_PHONES)
    address: AddressIn | None = None
    custom_fields: list[CustomFieldIn] = Field(default_factory=list, max_length=MAX_CUSTOM_FIELDS)
    opt_in_reason: str | None = Field(
        None,
        max_length=250,
        description="Why the person agreed to receive email; Keap marks the address marketable.",
    )
    tag_ids: list[int] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Tags to apply after the upsert."
    )


class BatchIn(StrictIn):
    contacts: list[ContactIn] = Field(min_length=1, max_length=1000)


class ContactIdsIn(StrictIn):
    contact_ids: list[int] = Field(min_length=1, max_length=MAX_CONTACT_IDS)


class RequestIn(StrictIn):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(
        max_length=512, description="Below Keap's REST base, such as /v2/contacts/123."
    )
    query: dict[str, str | int | float | bool | list[str | int]] = Field(default_factory=dict)
    body: Any = None


# --- Contacts --------------------------------------------------------------------------------


@router.post(
    "/contacts:upsert",
    response=ACCEPTED,
    url_name="contact_upsert",
    summary="Create or update a contact by email, then tag it",
)
def upsert_contact(request, payload: ContactIn, response: HttpResponse):
    """Queue an upsert by email (Keap's `PUT /v1/contacts` with `duplicate_option=Email`),
    followed by applying `tag_ids`. Needs `contacts:write`, and `tags:apply` when tags are given.
    """
    check_site_rate_limit(request)
    require_scopes(request, "contacts:write", *(["tags:apply"] if payload.tag_ids else []))

    new_job = upsert_contact_job(keap_contact_body(payload.model_dump()), _unique(payload.tag_ids))
    return accept_job(request, response, new_job)


@router.post(
    "/contacts:batchUpsert",
    response=ACCEPTED,
    url_name="contact_batch_upsert",
    summary="Create or update up to 1,000 contacts as one job",
)
def batch_upsert_contacts(request, payload: BatchIn, response: HttpResponse):
    """Queue one job that upserts every contact in order, with progress counters
    (total, done, created, updated, failed). Rows Keap rejects are kept, encrypted, in the job's
    `failed_rows`. Needs `contacts:write`, and `tags:apply` when any row has tags."""
    check_site_rate_limit(request)
    has_tags = any(contact.tag_ids for contact in payload.contacts)
    require_scopes(request, "contacts:write", *(["tags:apply"] if has_tags else []))
    if len(payload.contacts) > config.max_batch_rows():
        raise ApiProblem(
            422,
            "invalid_input",
            f"Invalid batch of {len(payload.contacts)} contacts: send at most "
            f"{config.max_batch_rows()} per request.",
        )

    rows = [
        {"contact": keap_contact_body(contact.model_dump()), "tag_ids": _unique(contact.tag_ids)}
        for contact in payload.contacts
    ]
    return accept_job(request, response, batch_upsert_job(rows))


@router.get(
    "/contacts/{contact_id}",
    response=ACCEPTED,
    url_name="contact_detail",
    summary="Read one contact",
)
def get_contact(request, contact_id: int, response: HttpResponse):
    """Queue Keap's `GET /v1/contacts/{id}` with custom fields. Needs `contacts:read`."""
    check_site_rate_limit(request)
    require_scopes(request, "contacts:read")
    if contact_id <= 0:
        raise ApiProblem(422, "invalid_input", f"Invalid contact id {contact_id}: use Keap's id.")

    query = {"optional_properties": "custom_fields"}
    return _accept_request(request, response, "GET", f"/v1/contacts/{contact_id}", query)


@router.get(
    "/contacts",
    response=ACCEPTED,
    url_name="contact_search",
    summary="Find contacts by email",
)
def find_contacts(
    request,
    response: HttpResponse,
    email: str = Query(..., max_length=254, pattern=EMAIL_PATTERN),
):
    """Queue Keap's `GET /v1/contacts?email=`; Keap matches the address ignoring case.
    Needs `contacts:read`."""
    check_site_rate_limit(request)
    require_scopes(request, "contacts:read")
    return _accept_request(request, response, "GET", "/v1/contacts", {"email": email})


# --- Tags, custom fields, account ------------------------------------------------------------


@router.post(
    "/tags/{tag_id}:apply",
    response=ACCEPTED,
    url_name="tag_apply",
    summary="Apply a tag to contacts",
)
def apply_tag(request, tag_id: int, payload: ContactIdsIn, response: HttpResponse):
    """Queue Keap's `POST /v1/tags/{tagId}/contacts`. Needs `tags:apply`."""
    check_site_rate_limit(request)
    require_scopes(request, "tags:apply")
    path = f"/v1/tags/{_positive(tag_id, 'tag id')}/contacts"
    return _accept_request(
        request, response, "POST", path, body={"ids": _unique(payload.contact_ids)}
    )


@router.post(
    "/tags/{tag_id}:remove",
    response=ACCEPTED,
    url_name="tag_remove",
    summary="Remove a tag from contacts",
)
def remove_tag(request, tag_id: int, payload: ContactIdsIn, response: HttpResponse):
    """Queue Keap's `DELETE /v1/tags/{tagId}/contacts?ids=...`. Needs `tags:apply`."""
    check_site_rate_limit(request)
    require_scopes(request, "tags:apply")
    path = f"/v1/tags/{_positive(tag_id, 'tag id')}/contacts"
    ids = ",".join(str(contact_id) for contact_id in _unique(payload.contact_ids))
    return _accept_request(request, response, "DELETE", path, {"ids": ids})


@router.get("/tags", response=ACCEPTED, url_name="tag_list", summary="List tags")
def list_tags(
    request,
    response: HttpResponse,
    limit: int = Query(1000, ge=1, le=1000),
    offset: int = Query(0, ge=0),
):
    """Queue Keap's `GET /v1/tags`. Needs `tags:read`."""
    check_site_rate_limit(request)
    require_scopes(request, "tags:read")
    return _accept_request(request, response, "GET", "/v1/tags", {"limit": limit, "offset": offset})


@router.get(
    "/custom-fields",
    response=ACCEPTED,
    url_name="custom_field_list",
    summary="List the contact custom fields",
)
def list_custom_fields(request, response: HttpResponse):
    """Queue Keap's `GET /v1/contacts/model`. Needs `custom_fields:read`."""
    check_site_rate_limit(request)
    require_scopes(request, "custom_fields:read")
    return _accept_request(request, response, "GET", "/v1/contacts/model")


@router.get("/account", response=ACCEPTED, url_name="account", summary="Read the account profile")
def get_account(request, response: HttpResponse):
    """Queue Keap's `GET /v1/account/profile`. Needs `account:read`."""
    check_site_rate_limit(request)
    require_scopes(request, "account:read")
    return _accept_request(request, response, "GET", "/v1/account/profile")


# --- Any allowed operation -------------------------------------------------------------------


@router.post(
    "/requests",
    response=ACCEPTED,
    url_name="request_create",
    summary="Queue any Keap request the site's scopes allow",
)
def create_request(request, payload: RequestIn, response: HttpResponse):
    """Queue one Keap REST request, given as `{method, path, query, body}`.

    `path` is relative to Keap's REST base (`/v1/...` or `/v2/...`). The request must match an
    operation of a scope the site holds. An operation that no scope lists is 403
    `operation_not_allowed`, and one of a scope the site lacks is 403 `scope_not_granted`. A
    path that cannot be matched safely (`..`, `%2F`, a query string) is 422 `invalid_path`.
    """
    check_site_rate_limit(request)
    try:
        matched = match_request(payload.method, payload.path)
    except InvalidPathError as exc:
        raise ApiProblem(422, "invalid_path", str(exc))
    if matched is None:
        raise ApiProblem(
            403,
            "operation_not_allowed",
            f"No scope allows {payload.method} {payload.path}, so the portal forwards it for no "
            "site. The scope catalogue (docs/scopes.md in the portal's source) lists the Keap "
            "operations each scope allows.",
        )
    if not matched.scopes & set(request.site.scopes):
        require_scopes(request, min(matched.scopes))

    new_job = request_job(matched.operation, payload.path, payload.query, payload.body)
    return accept_job(request, response, new_job)


def _accept_request(request, response, method, path, query=None, body=None):
    matched = match_request(method, path)
    return accept_job(request, response, request_job(matched.operation, path, query, body))


def _positive(value, name):
    if value <= 0:
        raise ApiProblem(422, "invalid_input", f"Invalid {name} {value}: use Keap's id.")
    return value


def _unique(ids):
    return list(dict.fromkeys(ids))
