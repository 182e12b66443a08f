"""Keap REST v1 (`/crm/rest/v1`): contacts, tags, companies, account, userinfo and REST hooks.

Shapes follow Keap's v1 OpenAPI file (version 1.70.0, 2025-11-05). Ids are integers.
"""

from keap_sandbox import actions, hooks, model
from keap_sandbox.actions import ApiCall
from keap_sandbox.errors import api_error
from keap_sandbox.http import Response, Router
from keap_sandbox.paging import parse_time, v1_page

V1_CONTACT_ORDER = {
    "id": lambda c: c["id"],
    "date_created": lambda c: c["created_at"],
    "last_updated": lambda c: c["updated_at"],
    "name": lambda c: ((c.get("family_name") or "").lower(), (c.get("given_name") or "").lower()),
    "firstName": lambda c: (c.get("given_name") or "").lower(),
    "email": lambda c: (model.contact_emails(c) or [""])[0],
}


def _error(status: int, message: str):
    return api_error("v1", status, message)


# --- Contacts ----------------------------------------------------------------------------------


def list_contacts(call: ApiCall) -> Response:
    request = call.request
    contacts = list(call.account.contacts.values())

    email = request.arg("email")
    if email:
        contacts = [c for c in contacts if email.lower() in model.contact_emails(c)]
    for name in ("given_name", "family_name"):
        value = request.arg(name)
        if value:
            contacts = [c for c in contacts if (c.get(name) or "").lower() == value.lower()]
    since, until = request.arg("since"), request.arg("until")
    if since:
        contacts = [c for c in contacts if c["updated_at"] >= parse_time(since, "v1")]
    if until:
        contacts = [c for c in contacts if c["updated_at"] <= parse_time(until, "v1")]

    order = request.arg("order") or "id"
    if order not in V1_CONTACT_ORDER:
        raise _error(400, f"Invalid order {order!r}: use one of {', '.join(V1_CONTACT_ORDER)}.")
    direction = request.arg("order_direction") or "ASCENDING"
    if direction not in ("ASCENDING", "DESCENDING"):
        raise _error(400, f"Invalid order_direction {direction!r}: use ASCENDING or DESCENDING.")
    contacts.sort(key=V1_CONTACT_ORDER[order], reverse=direction == "DESCENDING")

    optional = set(request.list_arg("optional_properties"))
    body = v1_page(
        request, contacts, "contacts", lambda c: model.contact_v1(c, call.account, optional)
    )
    return Response.json(body)


def get_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    optional = set(call.request.list_arg("optional_properties"))
    return Response.json(model.contact_v1(contact, call.account, optional))


def create_contact(call: ApiCall) -> Response:
    changes = model.contact_changes(call.body(), "v1", call.account)
    contact = actions.create_contact(call.state, call.account, changes, "v1")
    return Response.json(model.contact_v1(contact, call.account), status=201)


def upsert_contact(call: ApiCall) -> Response:
    """`PUT /v1/contacts`: match by `duplicate_option` (Email or EmailAndName), else create."""
    body = call.body()
    option = body.get("duplicate_option") if isinstance(body, dict) else None
    if not option:
        raise _error(400, "Missing duplicate_option: use Email or EmailAndName.")
    changes = model.contact_changes(body, "v1", call.account)
    contact, _created = actions.upsert_contact(call.state, call.account, changes, option, "v1")
    return Response.json(model.contact_v1(contact, call.account))


def update_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    body = call.body()
    mask = call.request.list_arg("update_mask")
    if mask:
        body = {name: body.get(name) for name in mask}
    changes = model.contact_changes(body, "v1", call.account)
    actions.update_contact(call.state, call.account, contact, changes)
    return Response.json(model.contact_v1(contact, call.account))


def delete_contact(call: ApiCall) -> Response:
    actions.delete_contact(call.state, call.account, call.int_param("id"), "v1")
    return Response.empty()


def contact_model(call: ApiCall) -> Response:
    fields = sorted(call.account.custom_fields.values(), key=lambda f: f["id"])
    body = {
        "custom_fields": [model.custom_field_v1(field) for field in fields],
        "optional_properties": list(model.V1_OPTIONAL_CONTACT_FIELDS),
    }
    return Response.json(body)


# --- Tags --------------------------------------------------------------------------------------


def list_contact_tags(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    applied = sorted(contact["tags"].items())

    def render(entry):
        tag_id, applied_at = entry
        tag = call.account.tags[tag_id]
        category = call.account.tag_categories.get(tag.get("category_id"))
        rendered = {"id": tag_id, "name": tag["name"]}
        if category:
            rendered["category"] = category["name"]
        return {"tag": rendered, "date_applied": model.iso(applied_at)}

    return Response.json(v1_page(call.request, applied, "tags", render))


def apply_tags_to_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    tag_ids = _id_list(call.body(), "tagIds")
    results = []
    for tag_id in tag_ids:
        outcome = actions.apply_tag(call.state, call.account, tag_id, [contact["id"]])
        results.append({str(tag_id): outcome[str(contact["id"])]})
    return Response.json(results)


def remove_tags_from_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    tag_ids = call.request.list_arg("ids")
    if not tag_ids:
        raise _error(400, "Missing ids: give the tag ids to remove, comma-separated.")
    for tag_id in tag_ids:
        actions.remove_tag(call.state, call.account, _int(tag_id, "ids"), [contact["id"]])
    return Response.empty()


def remove_tag_from_contact(call: ApiCall) -> Response:
    contact = actions.get_contact(call.account, call.int_param("id"), "v1")
    actions.remove_tag(call.state, call.account, call.int_param("tag_id"), [contact["id"]])
    return Response.empty()


def list_tags(call: ApiCall) -> Response:
    tags = sorted(call.account.tags.values(), key=lambda t: t["id"])
    name = call.request.arg("name")
    if name:
        tags = [t for t in tags if t["name"].lower() == name.lower()]
    category = call.request.arg("category")
    if category:
        tags = [t for t in tags if t.get("category_id") == _int(category, "category")]
    return Response.json(
        v1_page(call.request, tags, "tags", lambda t: model.tag_v1(t, call.account))
    )


def get_tag(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("id"), "v1")
    return Response.json(model.tag_v1(tag, call.account))


def create_tag(call: ApiCall) -> Response:
    tag = actions.create_tag(call.state, call.account, call.body(), "v1")
    return Response.json(model.tag_v1(tag, call.account))


def create_tag_category(call: ApiCall) -> Response:
    category = actions.create_tag_category(call.state, call.account, call.body(), "v1")
    return Response.json(model.category_v1(category))


def list_tagged_contacts(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v1")
    tagged = sorted(
        (c for c in call.account.contacts.values() if tag["id"] in c["tags"]),
        key=lambda c: c["id"],
    )

    def render(contact):
        emails = model.contact_emails(contact)
        basic = {
            "id": contact["id"],
            "first_name": contact.get("given_name"),
            "last_name": contact.get("family_name"),
            "email": contact["email_addresses"][0]["email"] if emails else None,
        }
        return {
            "contact": {k: v for k, v in basic.items() if v},
            "date_applied": model.iso(contact["tags"][tag["id"]]),
        }

    return Response.json(v1_page(call.request, tagged, "contacts", render))


def apply_tag_to_contacts(call: ApiCall) -> Response:
    """`POST /v1/tags/{tagId}/contacts`: one `{"<contact id>": "<result>"}` entry per contact.

    NOTE: the v1 spec types each entry as a Java `Map.Entry<Long, String>`; the sandbox sends it
    as Jackson serialises one, with the contact id as the key.
    """
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v1")
    contact_ids = _id_list(call.body(), "ids")
    results = actions.apply_tag(call.state, call.account, tag["id"], contact_ids)
    return Response.json([{contact_id: result} for contact_id, result in results.items()])


def remove_tag_from_contacts(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v1")
    contact_ids = call.request.list_arg("ids")
    if not contact_ids:
        raise _error(400, "Missing ids: give the contact ids, comma-separated.")
    actions.remove_tag(call.state, call.account, tag["id"], contact_ids)
    return Response.empty()


def remove_tag_from_one_contact(call: ApiCall) -> Response:
    tag = actions.get_tag(call.account, call.int_param("tag_id"), "v1")
    actions.remove_tag(call.state, call.account, tag["id"], [call.int_param("id")])
    return Response.empty()


def _id_list(body, name: str) -> list[int]:
    values = body.get(name) if isinstance(body, dict) else None
    if not isinstance(values, list) or not values:
        raise _error(400, f"Missing {name}: send a non-empty list of ids.")
    return [_int(value, name) for value in values]


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _error(400, f"Invalid {name} value {value!r}: use numeric ids.")


# --- Account, user and companies ---------------------------------------------------------------


def userinfo(call: ApiCall) -> Response:
    user = call.caller.user
    body = {
        "email": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "middle_name": user.middle_name or None,
        "preferred_name": user.preferred_name or None,
        "global_user_id": user.id,
        "infusionsoft_id": user.email,
        "is_admin": user.is_admin,
        "sub": str(user.id),
    }
    return Response.json({k: v for k, v in body.items() if v is not None})


def account_profile(call: ApiCall) -> Response:
    profile = dict(call.account.profile)
    profile["address"] = dict(profile.get("address") or {}, field="BILLING")
    return Response.json(profile)


def list_companies(call: ApiCall) -> Response:
    companies = sorted(call.account.companies.values(), key=lambda c: c["id"])
    name = call.request.arg("company_name")
    if name:
        companies = [c for c in companies if c["company_name"].lower() == name.lower()]
    return Response.json(v1_page(call.request, companies, "companies", model.company_v1))


def get_company(call: ApiCall) -> Response:
    company = call.account.companies.get(call.int_param("id"))
    if company is None:
        raise _error(404, f"Company {call.request.path_params['id']} not found.")
    return Response.json(model.company_v1(company))


def create_company(call: ApiCall) -> Response:
    company = actions.create_company(call.state, call.account, call.body(), "v1")
    return Response.json(model.company_v1(company), status=201)


def update_company(call: ApiCall) -> Response:
    company_id = call.int_param("id")
    company = actions.update_company(call.state, call.account, company_id, call.body(), "v1")
    return Response.json(model.company_v1(company))


# --- REST hooks --------------------------------------------------------------------------------


def list_event_keys(call: ApiCall) -> Response:
    return Response.json(hooks.EVENT_KEYS)


def list_hooks(call: ApiCall) -> Response:
    return Response.json([hooks.hook_json(h) for h in call.account.hooks.values()])


def _hook_request(call: ApiCall) -> tuple[str, str]:
    body = call.body()
    event_key = body.get("eventKey") if isinstance(body, dict) else None
    hook_url = body.get("hookUrl") if isinstance(body, dict) else None
    if event_key not in hooks.EVENT_KEYS:
        raise _error(400, f"Invalid eventKey {event_key!r}: see GET /v1/hooks/event_keys.")
    try:
        hooks.check_hook_url(hook_url)
    except ValueError as exc:
        raise _error(400, str(exc))
    return event_key, hook_url


def create_hook(call: ApiCall) -> Response:
    event_key, hook_url = _hook_request(call)
    key = str(call.account.next_id())
    hook = {"key": key, "eventKey": event_key, "hookUrl": hook_url, "status": "Unverified"}
    call.account.hooks[key] = hook
    _verify(call, hook)
    return Response.json(hooks.hook_json(hook))


def _get_hook(call: ApiCall) -> dict:
    hook = call.account.hooks.get(call.request.path_params["key"])
    if hook is None:
        raise _error(404, f"Hook subscription {call.request.path_params['key']} not found.")
    return hook


def _verify(call: ApiCall, hook: dict) -> None:
    """Run the handshake without holding the state lock, since the receiver may call back."""
    secret = hooks.new_hook_secret()
    hook["secret"] = secret
    url = hook["hookUrl"]
    with call.unlocked():
        verified = hooks.send_verification(url, secret)
    if verified and hook.get("secret") == secret:
        hook["status"] = "Verified"


def get_hook(call: ApiCall) -> Response:
    return Response.json(hooks.hook_json(_get_hook(call)))


def update_hook(call: ApiCall) -> Response:
    hook = _get_hook(call)
    event_key, hook_url = _hook_request(call)
    hook.update(eventKey=event_key, hookUrl=hook_url, status="Unverified")
    _verify(call, hook)
    return Response.json(hooks.hook_json(hook))


def delete_hook(call: ApiCall) -> Response:
    hook = _get_hook(call)
    del call.account.hooks[hook["key"]]
    return Response.empty()


def verify_hook(call: ApiCall) -> Response:
    hook = _get_hook(call)
    _verify(call, hook)
    return Response.json(hooks.hook_json(hook))


def delayed_verify_hook(call: ApiCall) -> Response:
    hook = _get_hook(call)
    secret = call.request.headers.get("x-hook-secret", "")
    if not secret:
        raise _error(400, "Missing X-Hook-Secret header: send the secret as a header.")
    if not hook.get("secret") or secret != hook["secret"]:
        raise _error(400, "Invalid X-Hook-Secret: it does not match the last secret sent.")
    hook["status"] = "Verified"
    return Response.json(hooks.hook_json(hook))


def register(router: Router, prefix: str = "/crm/rest/v1") -> None:
    routes = [
        ("GET", "/contacts", list_contacts),
        ("POST", "/contacts", create_contact),
        ("PUT", "/contacts", upsert_contact),
        ("GET", "/contacts/model", contact_model),
        ("GET", "/contacts/{id}", get_contact),
        ("PATCH", "/contacts/{id}", update_contact),
        ("DELETE", "/contacts/{id}", delete_contact),
        ("GET", "/contacts/{id}/tags", list_contact_tags),
        ("POST", "/contacts/{id}/tags", apply_tags_to_contact),
        ("DELETE", "/contacts/{id}/tags", remove_tags_from_contact),
        ("DELETE", "/contacts/{id}/tags/{tag_id}", remove_tag_from_contact),
        ("GET", "/tags", list_tags),
        ("POST", "/tags", create_tag),
        ("POST", "/tags/categories", create_tag_category),
        ("GET", "/tags/{id}", get_tag),
        ("GET", "/tags/{tag_id}/contacts", list_tagged_contacts),
        ("POST", "/tags/{tag_id}/contacts", apply_tag_to_contacts),
        ("DELETE", "/tags/{tag_id}/contacts", remove_tag_from_contacts),
        ("DELETE", "/tags/{tag_id}/contacts/{id}", remove_tag_from_one_contact),
        ("GET", "/oauth/connect/userinfo", userinfo),
        ("GET", "/account/profile", account_profile),
        ("GET", "/companies", list_companies),
        ("POST", "/companies", create_company),
        ("GET", "/companies/{id}", get_company),
        ("PATCH", "/companies/{id}", update_company),
        ("GET", "/hooks/event_keys", list_event_keys),
        ("GET", "/hooks", list_hooks),
        ("POST", "/hooks", create_hook),
        ("GET", "/hooks/{key}", get_hook),
        ("PUT", "/hooks/{key}", update_hook),
        ("DELETE", "/hooks/{key}", delete_hook),
        ("POST", "/hooks/{key}/verify", verify_hook),
        ("POST", "/hooks/{key}/delayedVerify", delayed_verify_hook),
    ]
    for method, path, handler in routes:
        router.add(method, prefix + path, handler)
