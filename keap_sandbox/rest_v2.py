"""Keap REST v2 (`/crm/rest/v2`): contacts, tags, tag categories, companies, userinfo, profile.

Shapes follow Keap's official v2 OpenAPI file (`infusionsoft/keap-sdk`, SDK 2.0.21), whose
paths start `/rest/v2/` under `https://api.keap.com/crm`. Ids are strings.
"""

from keap_sandbox import actions, model
from keap_sandbox.actions import ApiCall
from keap_sandbox.errors import api_error
from keap_sandbox.http import Response, Router
from keap_sandbox.paging import (
    apply_filter,
    id_list_matcher,
    number_matcher,
    parse_filter,
    text_matcher,
    time_matcher,
    v2_order,
    v2_page,
)


def _error(status: int, message: str, resource: str | None = None):
    return api_error("v2", status, message, resource)


def _primary_email(contact: dict) -> str | None:
    emails = model.contact_emails(contact)
    return emails[0] if emails else None


def _address_getter(field: str, key: str):
    def get(contact: dict):
        return [a.get(key) for a in contact.get("addresses", []) if a.get("field") == field]

    return get


def _contact_matchers(account) -> dict:
    matchers = {
        "email": text_matcher(model.contact_emails, wildcard=True),
        "given_name": text_matcher(lambda c: c.get("given_name"), wildcard=True),
        "family_name": text_matcher(lambda c: c.get("family_name"), wildcard=True),
        "middle_name": text_matcher(lambda c: c.get("middle_name"), wildcard=True),
        "company_id": id_list_matcher(lambda c: c.get("company_id")),
        "ids": id_list_matcher(lambda c: c["id"]),
        "contact_ids": id_list_matcher(lambda c: c["id"]),
        "contact_id": number_matcher(lambda c: c["id"]),
        "start_update_time": time_matcher(lambda c: c["updated_at"], "since"),
        "end_update_time": time_matcher(lambda c: c["updated_at"], "until"),
    }
    for prefix, field in (("billing", "BILLING"), ("shipping", "SHIPPING"), ("other", "OTHER")):
        for key in ("line1", "locality", "region", "postal_code", "country_code"):
            getter = _address_getter(field, key)
            matchers[f"{prefix}_address_{key}"] = text_matcher(getter)
    # Custom fields filter by their field_name from /v2/contacts/model; standard names win.
    for field in account.custom_fields.values():
        field_id = field["id"]
        matchers.setdefault(
            field["field_name"],
            text_matcher(lambda c, fid=field_id: str(c["custom_fields"].get(fid) or "")),
        )
    return matchers


PHONE_FILTER_FIELDS = ("phone_number", "phone_fields")
V2_CONTACT_ORDER = {
    "id": lambda c: c["id"],
    "create_time": lambda c: c["created_at"],
    "email": _primary_email,
    "update_time": lambda c: c["updated_at"],
}


def _phone_filter(call: ApiCall, contacts: list[dict]) -> list[dict]:
    """Handle `phone_number` with `phone_fields`, which only make sense together."""
    clauses = {field: value for field, _op, value in parse_filter(call.request.arg("filter") or "")}
    number = clauses.pop("phone_number", None)
    fields = clauses.pop("phone_fields", None)
    if number is None and fields is None:
        return contacts
    if number is None or fields is None:
        raise _error(400, "Invalid filter: phone_number and phone_fields must come together.")
    wanted = {part.strip() for part in fields.split(",")}
    digits = "".join(ch for ch in number if ch.isdigit())
    return [
        c
        for c in contacts
        if any(
            p.get("field") in wanted and "".join(ch for ch in p["number"] if ch.isdigit()) == digits
            for p in c.get("phone_numbers", [])
        )
    ]


# --- Contacts ----------------------------------------------------------------------------------


def list_contacts(call: ApiCall) -> Response:
    contacts = _phone_filter(call, list(call.account.contacts.values()))
    contacts = apply_filter(
        call.request, contacts, _contact_matchers(call.account), skip=PHONE_FILTER_FIELDS
    )
    contacts = v2_order(call.request, contacts, V2_CONTACT_ORDER, "id asc")
    fields = call.request.list_arg("fields") or None
    return Response.json(
        v2_page(
            call.request, contacts, "contacts", lambda c: model.contact_v2(c, call.account, fields)
        )
    )


def get_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("contact_id"), "v2")
    fields = call.request.list_arg("fields") or None
    return Response.json(model.contact_v2(contact, call.account, fields))


def create_contact(call: ApiCall) -> Response:
    """`POST /v2/contacts`, an upsert when `duplicate_option` is given (200 on update)."""
    changes = model.contact_changes(call.body(), "v2", call.account)
    option = call.request.arg("duplicate_option")
    fields = call.request.list_arg("fields") or None
    if option:
        contact, created = actions.upsert_contact(call.state, call.account, changes, option, "v2")
    else:
        contact, created = actions.create_contact(call.state, call.account, changes, "v2"), True
    return Response.json(
        model.contact_v2(contact, call.account, fields), status=201 if created else 200
    )


def update_contact(call: ApiCall) -> Response:
    """`PATCH`: with `update_mask`, only the named fields change, and a named field missing from
    the body is cleared. List fields replace the whole list."""
    contact = actions.get_contact(call.account, call.int_param("contact_id"), "v2")
    body = call.body()
    if not isinstance(body, dict):
        raise _error(400, "Invalid contact: send a JSON object.")
    mask = call.request.list_arg("update_mask")
    if mask:
        body = {name: body.get(name) for name in mask}
    changes = model.contact_changes(body, "v2", call.account)
    actions.update_contact(call.state, call.account, contact, changes)
    fields = call.request.list_arg("fields") or None
    return Response.json(model.contact_v2(contact, call.account, fields))


def delete_contact(call: ApiCall) -> Response:
    actions.delete_contact(call.state, call.account, call.int_param("contact_id"), "v2")
    return Response.empty()


def contact_model(call: ApiCall) -> Response:
    fields = sorted(call.account.custom_fields.values(), key=lambda f: f["id"])
    body = {
        "custom_fields": [model.custom_field_v2(field) for field in fields],
        "optional_properties": ["custom_fields", "links", "utm_parameters", "notes"],
    }
    return Response.json(body)


def list_contact_tags(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("contact_id"), "v2")
    entries = [
        {"tag": call.account.tags[tag_id], "applied_at": applied_at}
        for tag_id, applied_at in contact["tags"].items()
    ]
    matchers = {
        "name": text_matcher(lambda e: e["tag"]["name"]),
        "description": text_matcher(lambda e: e["tag"].get("description")),
        "category_id": text_matcher(lambda e: str(e["tag"].get("category_id") or "")),
        "since_applied_time": time_matcher(lambda e: e["applied_at"], "since"),
        "until_applied_time": time_matcher(lambda e: e["applied_at"], "until"),
        "since_create_time": time_matcher(lambda e: e["tag"]["created_at"], "since"),
        "until_create_time": time_matcher(lambda e: e["tag"]["created_at"], "until"),
        "since_update_time": time_matcher(lambda e: e["tag"]["updated_at"], "since"),
        "until_update_time": time_matcher(lambda e: e["tag"]["updated_at"], "until"),
    }
    entries = apply_filter(call.request, entries, matchers)
    order = {
        "name": lambda e: e["tag"]["name"],
        "create_time": lambda e: e["tag"]["created_at"],
        "update_time": lambda e: e["tag"]["updated_at"],
        "applied_time": lambda e: e["applied_at"],
        "category_id": lambda e: e["tag"].get("category_id") or 0,
    }
    entries = v2_order(call.request, entries, order, "applied_time asc")

    def render(entry):
        return {"tag": model.tag_v2(entry["tag"]), "applied_time": model.iso(entry["applied_at"])}

    return Response.json(v2_page(call.request, entries, "tags", render))


# --- Tags and categories ----------------------------------------------------------------------


def list_tags(call: ApiCall) -> Response:
    tags = list(call.account.tags.values())
    matchers = {
        "name": text_matcher(lambda t: t["name"]),
        "description": text_matcher(lambda t: t.get("description")),
        "category_id": text_matcher(lambda t: str(t.get("category_id") or "")),
        "tag_ids": id_list_matcher(lambda t: t["id"]),
        "since_create_time": time_matcher(lambda t: t["created_at"], "since"),
        "until_create_time": time_matcher(lambda t: t["created_at"], "until"),
        "since_update_time": time_matcher(lambda t: t["updated_at"], "since"),
        "until_update_time": time_matcher(lambda t: t["updated_at"], "until"),
    }
    tags = apply_filter(call.request, tags, matchers)
    order = {
        "name": lambda t: t["name"],
        "create_time": lambda t: t["created_at"],
        "update_time": lambda t: t["updated_at"],
    }
    tags = v2_order(call.request, tags, order, "name asc")
    return Response.json(v2_page(call.request, tags, "tags", model.tag_v2))


def get_tag(call: ApiCall) -> Response:
    return Response.json(
        model.tag_v2(actions.get_tag(call.account, call.int_param("tag_id"), "v2"))
    )


def create_tag(call: ApiCall) -> Response:
    tag = actions.create_tag(call.state, call.account, call.body(), "v2")
    return Response.json(model.tag_v2(tag), status=201)


def list_tag_categories(call: ApiCall) -> Response:
    categories = list(call.account.tag_categories.values())
    matchers = {
        "name": text_matcher(lambda c: c["name"]),
        "description": text_matcher(lambda c: c.get("description")),
        "since_create_time": time_matcher(lambda c: c["created_at"], "since"),
        "until_create_time": time_matcher(lambda c: c["created_at"], "until"),
        "since_update_time": time_matcher(lambda c: c["updated_at"], "since"),
        "until_update_time": time_matcher(lambda c: c["updated_at"], "until"),
    }
    categories = apply_filter(call.request, categories, matchers)
    order = {
        "name": lambda c: c["name"],
        "create_time": lambda c: c["created_at"],
        "update_time": lambda c: c["updated_at"],
    }
    categories = v2_order(call.request, categories, order, "name asc")
    return Response.json(v2_page(call.request, categories, "tag_categories", model.category_v2))


def create_tag_category(call: ApiCall) -> Response:
    category = actions.create_tag_category(call.state, call.account, call.body(), "v2")
    return Response.json(model.category_v2(category), status=201)


def list_tagged_contacts(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v2")
    contacts = [c for c in call.account.contacts.values() if tag["id"] in c["tags"]]
    matchers = {
        "given_name": text_matcher(lambda c: c.get("given_name")),
        "family_name": text_matcher(lambda c: c.get("family_name")),
        "email": text_matcher(_primary_email),
        "since_applied_time": time_matcher(lambda c: c["tags"][tag["id"]], "since"),
        "until_applied_time": time_matcher(lambda c: c["tags"][tag["id"]], "until"),
    }
    contacts = apply_filter(call.request, contacts, matchers)
    order = {
        "given_name": lambda c: c.get("given_name") or "",
        "family_name": lambda c: c.get("family_name") or "",
        "email": lambda c: _primary_email(c) or "",
        "applied_time": lambda c: c["tags"][tag["id"]],
    }
    contacts = v2_order(call.request, contacts, order, "applied_time asc")

    def render(contact):
        data = {
            "id": str(contact["id"]),
            "email": contact["email_addresses"][0]["email"] if contact["email_addresses"] else None,
            "given_name": contact.get("given_name"),
            "family_name": contact.get("family_name"),
            "applied_time": model.iso(contact["tags"][tag["id"]]),
        }
        return {k: v for k, v in data.items() if v}

    return Response.json(v2_page(call.request, contacts, "contacts", render))


def _contact_ids(call: ApiCall) -> list[str]:
    body = call.body()
    ids = body.get("contact_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise _error(400, "Missing contact_ids: send a non-empty list of contact ids.")
    return [str(contact_id) for contact_id in ids]


def apply_tag(call: ApiCall) -> Response:
    """`:applyTags` returns 200 with a result per contact, also when some of them failed."""
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v2")
    results = actions.apply_tag(call.state, call.account, tag["id"], _contact_ids(call))
    return Response.json({"results": results})


def remove_tag(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v2")
    actions.remove_tag(call.state, call.account, tag["id"], _contact_ids(call))
    return Response.empty()


# --- Account, user and companies ---------------------------------------------------------------


def userinfo(call: ApiCall) -> Response:
    user = call.caller.user
    body = {
        "email": user.email,
        "sub": str(user.id),
        "id": str(user.id),
        "keap_id": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "middle_name": user.middle_name or None,
        "preferred_name": user.preferred_name or None,
        "is_admin": user.is_admin,
        "tenant_id": call.account.tenant_id,
    }
    return Response.json({k: v for k, v in body.items() if v is not None})


def business_profile(call: ApiCall) -> Response:
    profile = {k: v for k, v in call.account.profile.items() if k != "phone_ext"}
    address = profile.get("address") or {}
    keys = ("line1", "line2", "locality", "region", "country_code", "postal_code")
    profile["address"] = {key: address[key] for key in keys if address.get(key)}
    return Response.json(profile)


def _company_matchers() -> dict:
    def address(key):
        return lambda c: (c.get("address") or {}).get(key)

    return {
        "company_name": text_matcher(lambda c: c["company_name"]),
        "name": text_matcher(lambda c: c["company_name"], wildcard=True),
        "email": text_matcher(lambda c: c.get("email")),
        "city": text_matcher(address("locality"), wildcard=True),
        "state": text_matcher(address("region"), wildcard=True),
        "since_time": time_matcher(lambda c: c["updated_at"], "since"),
        "until_time": time_matcher(lambda c: c["updated_at"], "until"),
        "company_id": number_matcher(lambda c: c["id"]),
    }


def list_companies(call: ApiCall) -> Response:
    companies = apply_filter(
        call.request, list(call.account.companies.values()), _company_matchers()
    )
    order = {
        "id": lambda c: c["id"],
        "create_time": lambda c: c["created_at"],
        "name": lambda c: c["company_name"],
        "email": lambda c: c.get("email") or "",
    }
    companies = v2_order(call.request, companies, order, "id asc")
    fields = call.request.list_arg("fields") or None
    return Response.json(
        v2_page(call.request, companies, "companies", lambda c: model.company_v2(c, fields))
    )


def get_company(call: ApiCall) -> Response:
    company = call.account.companies.get(call.int_param("company_id"))
    if company is None:
        raise _error(404, f"Company {call.request.path_params['company_id']} not found.", "company")
    fields = call.request.list_arg("fields") or None
    return Response.json(model.company_v2(company, fields))


def create_company(call: ApiCall) -> Response:
    company = actions.create_company(call.state, call.account, call.body(), "v2")
    return Response.json(model.company_v2(company, list(model.V2_OPTIONAL_COMPANY_FIELDS)), 201)


def update_company(call: ApiCall) -> Response:
    """`PATCH`: with `update_mask`, only the named fields change, and a named field missing from
    the body is cleared."""
    body = call.body()
    mask = call.request.list_arg("update_mask")
    if mask and isinstance(body, dict):
        body = {name: body.get(name) for name in mask if name in actions.COMPANY_REQUEST_FIELDS}
    company_id = call.int_param("company_id")
    company = actions.update_company(call.state, call.account, company_id, body, "v2")
    return Response.json(model.company_v2(company, list(model.V2_OPTIONAL_COMPANY_FIELDS)))


def get_tag_category(call: ApiCall) -> Response:
    category_id = call.int_param("tag_category_id")
    category = call.account.tag_categories.get(category_id)
    if category is None:
        raise _error(404, f"Tag category {category_id} not found.", "tag category")
    return Response.json(model.category_v2(category))


def register(router: Router, prefix: str = "/crm/rest/v2") -> None:
    routes = [
        ("GET", "/contacts", list_contacts),
        ("POST", "/contacts", create_contact),
        ("GET", "/contacts/model", contact_model),
        ("GET", "/contacts/{contact_id}", get_contact),
        ("PATCH", "/contacts/{contact_id}", update_contact),
        ("DELETE", "/contacts/{contact_id}", delete_contact),
        ("GET", "/contacts/{contact_id}/tags", list_contact_tags),
        ("GET", "/tags", list_tags),
        ("POST", "/tags", create_tag),
        ("GET", "/tags/categories", list_tag_categories),
        ("POST", "/tags/categories", create_tag_category),
        ("GET", "/tags/categories/{tag_category_id}", get_tag_category),
        ("GET", "/tags/{tag_id}", get_tag),
        ("GET", "/tags/{tag_id}/contacts", list_tagged_contacts),
        ("POST", "/tags/{tag_id}/contacts:applyTags", apply_tag),
        ("POST", "/tags/{tag_id}/contacts:removeTags", remove_tag),
        ("GET", "/oauth/connect/userinfo", userinfo),
        ("GET", "/businessProfile", business_profile),
        ("GET", "/companies", list_companies),
        ("POST", "/companies", create_company),
        ("GET", "/companies/{company_id}", get_company),
        ("PATCH", "/companies/{company_id}", update_company),
    ]
    for method, path, handler in routes:
        router.add(method, prefix + path, handler)
