"""The Keap operations jobs run, and which of them are safe to repeat after a lost response."""

from dataclasses import dataclass

from connector.scopes import Operation

# Reference: https://developer.infusionsoft.com/docs/rest/ (PUT /v1/contacts). Creates the
# contact, or updates the one whose email matches when `duplicate_option` is Email.
UPSERT_CONTACT = Operation("PUT", "/v1/contacts", "createOrUpdateContactUsingPUT")
# Reference: https://developer.infusionsoft.com/docs/rest/ (POST /v1/contacts/{contactId}/tags)
APPLY_TAGS_TO_CONTACT = Operation(
    "POST", "/v1/contacts/{contactId}/tags", "applyTagsToContactIdUsingPOST"
)

# POST operations that are safe to repeat: applying or removing a tag twice leaves the same
# state (Keap returns DUPLICATE for a tag already applied).
REPEATABLE_POST_OPERATIONS = frozenset(
    {
        "applyTagToContactIdsUsingPOST",
        "applyTagsToContactIdUsingPOST",
        "applyTags",
        "removeTags",
    }
)

# v2's create-contact becomes an upsert with this query parameter.
V2_CREATE_CONTACT = "createContact"


@dataclass(frozen=True)
class KeapRequest:
    """One concrete Keap request: `path` has its ids filled in."""

    method: str
    path: str
    query: dict | None = None
    body: object = None


def is_repeatable(method: str, operation_id: str, query: dict | None = None) -> bool:
    """Return whether sending the request twice leaves Keap as sending it once does.

    GET, PUT, PATCH and DELETE are. A POST is not, because a create that Keap carried out
    before its response was lost would create a second record, except for tag changes and v2's
    create-contact with `duplicate_option`, which is an upsert.
    """
    method = method.upper()
    if method != "POST":
        return True
    if operation_id in REPEATABLE_POST_OPERATIONS:
        return True
    return operation_id == V2_CREATE_CONTACT and bool((query or {}).get("duplicate_option"))
