"""The scopes a site owner can grant a client site, and the Keap operations each one allows.

A scope is a plain-language permission such as `contacts:write`. Each lists the exact Keap REST
operations (HTTP method and path template) it allows, in both API versions. A request that
matches no listed operation is denied, whatever scopes the site holds: deleting or merging
contacts, REST hooks, orders and everything else Keap offers stay out of reach until a scope
lists them.

Path templates are relative to the REST base URL `https://api.infusionsoft.com/crm/rest`, so
they read `/v1/...` and `/v2/...`. They are copied from Keap's OpenAPI files: the v1 file
(server `https://api.infusionsoft.com/crm/rest`) and Keap's official v2 file from the
`infusionsoft/keap-sdk` repository, whose server is `https://api.keap.com/crm` with paths
`/rest/v2/...`. `v2_path_from_official_spec` is the one place that maps the second form to the
first.

Parameters in a template (`{contact_id}`) match one path segment of digits only. Keap's ids are
integers in v1 and digit strings in v2, and the restriction keeps a literal segment such as
`model` or `categories` from matching a parameter of another operation.
"""

import re
from dataclasses import dataclass

# The official v2 OpenAPI file writes paths as `/rest/v2/...` under the server
# `https://api.keap.com/crm`. The portal calls `https://api.infusionsoft.com/crm/rest`, where
# the same operation is `/v2/...`.
OFFICIAL_V2_SPEC_PREFIX = "/rest/v2/"
PORTAL_V2_PREFIX = "/v2/"

# Longer paths are rejected before matching. The longest template is under 60 characters.
MAX_PATH_LENGTH = 512

_ALLOWED_PATH_CHARACTERS = re.compile(r"[A-Za-z0-9_.:/-]*")
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PARAMETER_VALUE = "[0-9]+"


class InvalidPathError(ValueError):
    """A request path that cannot be matched safely, such as one containing `..` or `%2F`."""


@dataclass(frozen=True)
class Operation:
    """One Keap REST operation, named as Keap's OpenAPI file names it."""

    method: str
    path: str
    operation_id: str

    @property
    def version(self) -> str:
        """API version, `v1` or `v2`, taken from the first path segment."""
        return self.path.split("/")[1]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Scope:
    """A permission a site owner grants a client site, with the operations it allows."""

    name: str
    title: str
    description: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class MatchedRequest:
    """A concrete request matched to its operation and to every scope that allows it."""

    operation: Operation
    scopes: frozenset[str]
    path_parameters: dict[str, str]


def _op(method: str, path: str, operation_id: str) -> Operation:
    return Operation(method=method, path=path, operation_id=operation_id)


SCOPES: dict[str, Scope] = {
    scope.name: scope
    for scope in [
        Scope(
            name="contacts:read",
            title="See contacts",
            description=(
                "See contacts: names, emails, phone numbers, addresses and the tags applied "
                "to them."
            ),
            operations=(
                _op("GET", "/v1/contacts", "listContactsUsingGET"),
                _op("GET", "/v1/contacts/{id}", "getContactUsingGET"),
                _op("GET", "/v1/contacts/{contactId}/tags", "listAppliedTagsUsingGET"),
                _op("GET", "/v2/contacts", "listContacts"),
                _op("GET", "/v2/contacts/{contact_id}", "getContact"),
                _op("GET", "/v2/contacts/{contact_id}/tags", "listTagsForContact"),
            ),
        ),
        Scope(
            name="contacts:write",
            title="Add and update contacts",
            description=(
                "Add new contacts and change existing ones, for example from a sign-up form, "
                "but never delete or merge them."
            ),
            operations=(
                _op("POST", "/v1/contacts", "createContactUsingPOST"),
                # Create or update by email (`duplicate_option` in the body).
                _op("PUT", "/v1/contacts", "createOrUpdateContactUsingPUT"),
                _op("PATCH", "/v1/contacts/{contactId}", "updatePropertiesOnContactUsingPATCH"),
                # Also the v2 create-or-update, with the `duplicate_option` query parameter.
                _op("POST", "/v2/contacts", "createContact"),
                _op("PATCH", "/v2/contacts/{contact_id}", "updateContact"),
            ),
        ),
        Scope(
            name="tags:read",
            title="See tags",
            description=(
                "See the tags and tag categories in the account and which contacts have a tag."
            ),
            operations=(
                _op("GET", "/v1/tags", "listTagsUsingGET"),
                _op("GET", "/v1/tags/{id}", "getTagUsingGET"),
                _op("GET", "/v1/tags/{tagId}/contacts", "listContactsForTagIdUsingGET"),
                _op("GET", "/v2/tags", "listTags"),
                _op("GET", "/v2/tags/{tag_id}", "getTag"),
                _op("GET", "/v2/tags/categories", "listTagCategories"),
                _op("GET", "/v2/tags/categories/{tag_category_id}", "getCategory"),
                _op("GET", "/v2/tags/{tag_id}/contacts", "listContactsWithTagId"),
            ),
        ),
        Scope(
            name="tags:apply",
            title="Tag contacts",
            description=(
                "Add existing tags to contacts and remove them again, but never create or "
                "delete a tag."
            ),
            operations=(
                _op("POST", "/v1/contacts/{contactId}/tags", "applyTagsToContactIdUsingPOST"),
                _op("DELETE", "/v1/contacts/{contactId}/tags", "removeTagsFromContactUsingDELETE"),
                _op(
                    "DELETE",
                    "/v1/contacts/{contactId}/tags/{tagId}",
                    "removeTagsFromContactUsingDELETE_1",
                ),
                _op("POST", "/v1/tags/{tagId}/contacts", "applyTagToContactIdsUsingPOST"),
                _op("DELETE", "/v1/tags/{tagId}/contacts", "removeTagFromContactIdsUsingDELETE"),
                _op(
                    "DELETE",
                    "/v1/tags/{tagId}/contacts/{contactId}",
                    "removeTagFromContactIdUsingDELETE",
                ),
                _op("POST", "/v2/tags/{tag_id}/contacts:applyTags", "applyTags"),
                _op("POST", "/v2/tags/{tag_id}/contacts:removeTags", "removeTags"),
            ),
        ),
        Scope(
            name="custom_fields:read",
            title="See custom fields",
            description=(
                "See which custom fields exist for contacts and companies, with their names, "
                "types and options."
            ),
            operations=(
                _op("GET", "/v1/contacts/model", "retrieveContactModelUsingGET"),
                _op("GET", "/v1/companies/model", "retrieveCompanyModelUsingGET"),
                _op("GET", "/v2/contacts/model", "retrieveContactModel"),
                _op("GET", "/v2/companies/model", "retrieveCompanyCustomFieldModel"),
            ),
        ),
        Scope(
            name="companies:read",
            title="See companies",
            description=(
                "See companies: names, addresses, phone numbers and the tags applied to them."
            ),
            operations=(
                _op("GET", "/v1/companies", "listCompaniesUsingGET"),
                _op("GET", "/v1/companies/{companyId}", "getCompanyUsingGET"),
                _op("GET", "/v2/companies", "listCompanies"),
                _op("GET", "/v2/companies/{company_id}", "getCompany"),
                _op("GET", "/v2/companies/{company_id}/tags", "listTagsForCompany"),
            ),
        ),
        Scope(
            name="companies:write",
            title="Add and update companies",
            description="Add new companies and change existing ones, but never delete them.",
            operations=(
                _op("POST", "/v1/companies", "createCompanyUsingPOST"),
                _op("PATCH", "/v1/companies/{companyId}", "updateCompanyUsingPATCH"),
                _op("POST", "/v2/companies", "createCompany"),
                _op("PATCH", "/v2/companies/{company_id}", "updateCompany"),
            ),
        ),
        Scope(
            name="account:read",
            title="See account details",
            description=(
                "See the business name, address and contact details of the Keap account, and "
                "which Keap user connected it."
            ),
            operations=(
                _op("GET", "/v1/account/profile", "getAccountProfileUsingGET"),
                _op("GET", "/v1/oauth/connect/userinfo", "getUserInfoUsingGET"),
                _op("GET", "/v2/businessProfile", "getBusinessProfile"),
                _op("GET", "/v2/oauth/connect/userinfo", "getUserInfo"),
            ),
        ),
    ]
}

# Scopes offered to a new client site by default: enough for a sign-up form that adds or updates
# a contact and tags it, and nothing that reads data back out of Keap.
LEAST_SCOPES = ("contacts:write", "tags:apply")


def least_scopes() -> list[str]:
    """Return the scopes suggested for a new client site, as a new list the caller may change."""
    return list(LEAST_SCOPES)


def validate_scope_names(names) -> list[str]:
    """Return `names` sorted and without repeats, or raise ValueError naming unknown scopes."""
    unknown = sorted(set(names) - SCOPES.keys())
    if unknown:
        known = ", ".join(SCOPES)
        raise ValueError(f"Unknown scope(s) {', '.join(unknown)}: use one of {known}.")
    return sorted(set(names))


def v2_path_from_official_spec(spec_path: str) -> str:
    """Map a path of the official v2 OpenAPI file (`/rest/v2/tags`) to the portal's (`/v2/tags`)."""
    if not spec_path.startswith(OFFICIAL_V2_SPEC_PREFIX):
        raise ValueError(
            f"Invalid v2 spec path {spec_path!r}: expected it to start with /rest/v2/."
        )
    return PORTAL_V2_PREFIX + spec_path[len(OFFICIAL_V2_SPEC_PREFIX) :]


def validate_request_path(path: str) -> list[str]:
    """Return the segments of a client-supplied Keap path, or raise InvalidPathError.

    The path comes from a client site, so anything that a server or proxy might resolve to
    another path is rejected rather than normalised. That covers `.` and `..` segments, empty
    segments (`//` or a trailing slash) and percent-encoding (`%2F` is a slash to some
    servers). It also covers a query string or fragment, backslashes, whitespace and non-ASCII
    characters.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPathError("Missing Keap path: send one such as /v2/contacts.")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPathError(
            f"Invalid Keap path: it is {len(path)} characters long, and the maximum is "
            f"{MAX_PATH_LENGTH}."
        )
    if "?" in path or "#" in path:
        raise InvalidPathError(
            f"Invalid Keap path {path!r}: send query parameters separately, not in the path."
        )
    if "%" in path:
        raise InvalidPathError(
            f"Invalid Keap path {path!r}: percent-encoded characters such as %2F are not "
            "allowed. Ids are plain digits."
        )
    if not _ALLOWED_PATH_CHARACTERS.fullmatch(path):
        raise InvalidPathError(
            f"Invalid Keap path {path!r}: use only letters, digits and _ . : - / characters."
        )
    if not path.startswith(("/v1/", "/v2/")):
        raise InvalidPathError(f"Invalid Keap path {path!r}: it must start with /v1/ or /v2/.")

    segments = path.split("/")[1:]
    if "" in segments:
        raise InvalidPathError(
            f"Invalid Keap path {path!r}: it contains an empty segment (a doubled or trailing "
            "slash)."
        )
    if "." in segments or ".." in segments:
        raise InvalidPathError(
            f"Invalid Keap path {path!r}: '.' and '..' segments are not allowed."
        )
    return segments


@dataclass(frozen=True)
class _CompiledTemplate:
    operation: Operation
    segments: tuple[re.Pattern, ...]
    literal_count: int


def _compile_template(operation: Operation) -> _CompiledTemplate:
    patterns = []
    literal_count = 0
    for segment in operation.path.split("/")[1:]:
        pieces = _PARAMETER.split(segment)
        # re.split with one group alternates literal text and parameter names.
        regex = ""
        for index, piece in enumerate(pieces):
            if index % 2:
                regex += f"(?P<{piece}>{_PARAMETER_VALUE})"
            else:
                regex += re.escape(piece)
        if len(pieces) == 1:
            literal_count += 1
        patterns.append(re.compile(regex))
    return _CompiledTemplate(operation, tuple(patterns), literal_count)


def _build_index() -> dict[tuple[str, int], list[tuple[_CompiledTemplate, frozenset[str]]]]:
    scopes_by_operation: dict[Operation, set[str]] = {}
    for scope in SCOPES.values():
        for operation in scope.operations:
            scopes_by_operation.setdefault(operation, set()).add(scope.name)

    index: dict[tuple[str, int], list[tuple[_CompiledTemplate, frozenset[str]]]] = {}
    for operation, scope_names in scopes_by_operation.items():
        compiled = _compile_template(operation)
        bucket = index.setdefault((operation.method, len(compiled.segments)), [])
        bucket.append((compiled, frozenset(scope_names)))

    # When two templates match, the one with more literal segments is the more specific one,
    # as in OpenAPI's rule that `/contacts/model` wins over `/contacts/{id}`.
    for bucket in index.values():
        bucket.sort(key=lambda entry: -entry[0].literal_count)
    return index


_INDEX = _build_index()


def match_request(method: str, path: str) -> MatchedRequest | None:
    """Match a concrete Keap request to its operation and the scopes that allow it.

    `path` is relative to the REST base URL, without a query string, for example
    `/v2/tags/123/contacts:applyTags`. Returns None when no scope lists the operation, which
    means the request is denied. Raises InvalidPathError for a path that is unsafe to match.
    """
    segments = validate_request_path(path)
    candidates = _INDEX.get((method.upper(), len(segments)), [])

    for compiled, scope_names in candidates:
        parameters = {}
        for pattern, segment in zip(compiled.segments, segments, strict=True):
            found = pattern.fullmatch(segment)
            if found is None:
                break
            parameters.update(found.groupdict())
        else:
            return MatchedRequest(compiled.operation, scope_names, parameters)
    return None


def is_request_allowed(method: str, path: str, granted_scopes) -> bool:
    """Return whether any of `granted_scopes` allows the request.

    Raises InvalidPathError for an unsafe path, like `match_request`.
    """
    matched = match_request(method, path)
    if matched is None:
        return False
    return not matched.scopes.isdisjoint(granted_scopes)


def all_operations() -> list[Operation]:
    """Return every operation some scope allows, each once, in catalogue order."""
    seen: dict[Operation, None] = {}
    for scope in SCOPES.values():
        for operation in scope.operations:
            seen.setdefault(operation, None)
    return list(seen)
