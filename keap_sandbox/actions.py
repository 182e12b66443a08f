"""Changes to an account's data shared by REST v1, REST v2 and the control API.

Callers hold `state.lock`. Each change that Keap announces through REST hooks queues the event
(`contact.add`, `contact.edit`, `contactGroup.applied`, `contactGroup.removed`).
"""

from contextlib import contextmanager
from dataclasses import dataclass

from keap_sandbox import hooks, model
from keap_sandbox.errors import api_error
from keap_sandbox.gateway import Caller
from keap_sandbox.http import Request
from keap_sandbox.state import Account, SandboxState


@dataclass
class ApiCall:
    """One authenticated REST request: the state, the request, the caller and the API version."""

    state: SandboxState
    request: Request
    caller: Caller
    version: str

    @property
    def account(self) -> Account:
        return self.caller.account

    def now(self) -> float:
        return self.state.now()

    @contextmanager
    def unlocked(self):
        """Release the state lock for a slow step, such as a call out to a hook receiver.

        The app takes the lock exactly once around each handler, so one release frees it.
        """
        self.state.lock.release()
        try:
            yield
        finally:
            self.state.lock.acquire()

    def body(self):
        try:
            return self.request.json()
        except ValueError:
            raise api_error(self.version, 400, "Invalid JSON in the request body.")

    def int_param(self, name: str) -> int:
        value = self.request.path_params[name]
        try:
            return int(value)
        except ValueError:
            raise api_error(self.version, 400, f"Invalid {name} {value!r}: use a numeric id.")


def create_contact(state: SandboxState, account: Account, changes: dict, version: str) -> dict:
    # One reading of the clock, so a new contact's creation and update times are equal, as
    # Keap returns them.
    now = state.now()
    contact = model.new_contact(account.next_id(), now)
    model.apply_contact_changes(contact, changes, now)
    model.check_contact_has_channel(contact, version)
    if contact.get("owner_id") is None:
        contact["owner_id"] = account.primary_user().id
    account.contacts[contact["id"]] = contact
    hooks.queue_event(state, account, "contact.add", contact["id"])
    return contact


def update_contact(state: SandboxState, account: Account, contact: dict, changes: dict) -> dict:
    model.apply_contact_changes(contact, changes, state.now())
    hooks.queue_event(state, account, "contact.edit", contact["id"])
    return contact


def upsert_contact(
    state: SandboxState, account: Account, changes: dict, option: str, version: str
) -> tuple[dict, bool]:
    """Update the contact that `option` matches, or create one; return (contact, created)."""
    existing = model.find_duplicate(account, changes, option, version)
    if existing is None:
        return create_contact(state, account, changes, version), True
    return update_contact(state, account, existing, changes), False


def get_contact(account: Account, contact_id: int, version: str) -> dict:
    contact = account.contacts.get(contact_id)
    if contact is None:
        raise api_error(version, 404, f"Contact {contact_id} not found.", "contact")
    return contact


def get_tag(account: Account, tag_id: int, version: str) -> dict:
    tag = account.tags.get(tag_id)
    if tag is None:
        raise api_error(version, 404, f"Tag {tag_id} not found.", "tag")
    return tag


def delete_contact(state: SandboxState, account: Account, contact_id: int, version: str) -> None:
    get_contact(account, contact_id, version)
    del account.contacts[contact_id]
    hooks.queue_event(state, account, "contact.delete", contact_id)


def apply_tag(state: SandboxState, account: Account, tag_id: int, contact_ids: list) -> dict:
    """Apply a tag to contacts; return each contact id's result as Keap names it."""
    results = {}
    for raw_id in contact_ids:
        try:
            contact_id = int(raw_id)
        except (TypeError, ValueError):
            results[str(raw_id)] = "CONTACT_NOT_FOUND"
            continue
        if tag_id not in account.tags:
            results[str(contact_id)] = "TAG_ID_NOT_FOUND"
            continue
        contact = account.contacts.get(contact_id)
        if contact is None:
            results[str(contact_id)] = "CONTACT_NOT_FOUND"
        elif tag_id in contact["tags"]:
            results[str(contact_id)] = "DUPLICATE"
        else:
            contact["tags"][tag_id] = state.now()
            results[str(contact_id)] = "SUCCESS"
            hooks.queue_event(state, account, "contactGroup.applied", contact_id, tag_id=tag_id)
    return results


def remove_tag(state: SandboxState, account: Account, tag_id: int, contact_ids: list) -> None:
    for raw_id in contact_ids:
        try:
            contact = account.contacts.get(int(raw_id))
        except (TypeError, ValueError):
            continue
        if contact is not None and contact["tags"].pop(tag_id, None) is not None:
            hooks.queue_event(state, account, "contactGroup.removed", contact["id"], tag_id=tag_id)


def create_tag(state: SandboxState, account: Account, body: dict, version: str) -> dict:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise api_error(version, 400, "Invalid tag: name is required.")
    category_id = None
    category = body.get("category")
    if isinstance(category, dict) and category.get("id") not in (None, ""):
        category_id = model._int_id(category["id"], "category.id", version)
        if category_id not in account.tag_categories:
            raise api_error(version, 400, f"Invalid category.id {category_id}: no such category.")
    now = state.now()
    tag = {
        "id": account.next_id(),
        "name": name.strip(),
        "description": body.get("description") or "",
        "category_id": category_id,
        "created_at": now,
        "updated_at": now,
    }
    account.tags[tag["id"]] = tag
    return tag


def create_tag_category(state: SandboxState, account: Account, body: dict, version: str) -> dict:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise api_error(version, 400, "Invalid tag category: name is required.")
    now = state.now()
    category = {
        "id": account.next_id(),
        "name": name.strip(),
        "description": body.get("description") or "",
        "created_at": now,
        "updated_at": now,
    }
    account.tag_categories[category["id"]] = category
    return category


def create_company(state: SandboxState, account: Account, body: dict, version: str) -> dict:
    if not isinstance(body, dict):
        raise api_error(version, 400, "Invalid company: send a JSON object.")
    if "company_name" not in body:
        raise api_error(version, 400, "Invalid company: company_name is required.")
    now = state.now()
    company = {stored: None for stored in COMPANY_REQUEST_FIELDS.values()}
    company.update(id=account.next_id(), created_at=now)
    company.update(_company_fields(body, version))
    company["updated_at"] = now
    account.companies[company["id"]] = company
    return company


def update_company(
    state: SandboxState, account: Account, company_id: int, body: dict, version: str
) -> dict:
    """Change the fields present in `body`; a field sent as null is cleared."""
    company = account.companies.get(company_id)
    if company is None:
        raise api_error(version, 404, f"Company {company_id} not found.")
    if not isinstance(body, dict):
        raise api_error(version, 400, "Invalid company: send a JSON object.")
    company.update(_company_fields(body, version))
    company["updated_at"] = state.now()
    return company


# Stored field of a company, for each request field that sets it.
COMPANY_REQUEST_FIELDS = {
    "company_name": "company_name",
    "email_address": "email",
    "phone_number": "phone",
    "fax_number": "fax",
    "address": "address",
    "website": "website",
    "notes": "notes",
}


def _company_fields(body: dict, version: str) -> dict:
    """Return the stored company fields that `body` sets, in Keap's v1 or v2 request form."""
    fields = {}
    for name, stored in COMPANY_REQUEST_FIELDS.items():
        if name not in body:
            continue
        value = body[name]
        if name == "company_name":
            if not isinstance(value, str) or not value.strip():
                raise api_error(version, 400, "Invalid company: company_name is required.")
            value = value.strip()
        elif name == "email_address" and version == "v2":
            value = value.get("email") if isinstance(value, dict) else None
        elif name == "phone_number":
            keys = ("number", "extension", "type")
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in keys and v}
            else:
                value = None
        elif name in ("fax_number", "address") and not isinstance(value, dict):
            value = None
        fields[stored] = value
    return fields
