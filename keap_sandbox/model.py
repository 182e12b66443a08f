"""Contacts, companies, tags and custom fields: one stored form, rendered as v1 or v2 JSON.

Stored objects are plain dicts with integer ids and epoch-second times. v1 renders ids as
integers and enums in CamelCase; v2 renders ids as strings and enums in UPPER_SNAKE_CASE.
"""

from keap_sandbox.errors import api_error
from keap_sandbox.paging import iso

CONTACT_TEXT_FIELDS = (
    "given_name",
    "family_name",
    "middle_name",
    "prefix",
    "suffix",
    "preferred_name",
    "job_title",
    "website",
    "time_zone",
    "preferred_locale",
    "spouse_name",
    "contact_type",
)
# v1 email statuses and their v2 names, in the order both specs list them.
EMAIL_STATUS_V1 = {
    "UNENGAGED_MARKETABLE": "UnengagedMarketable",
    "SINGLE_OPT_IN": "SingleOptIn",
    "DOUBLE_OPT_IN": "DoubleOptin",
    "CONFIRMED": "Confirmed",
    "UNENGAGED_NON_MARKETABLE": "UnengagedNonMarketable",
    "NON_MARKETABLE": "NonMarketable",
    "LOCKDOWN": "Lockdown",
    "BOUNCE": "Bounce",
    "HARD_BOUNCE": "HardBounce",
    "MANUAL": "Manual",
    "ADMIN": "Admin",
    "SYSTEM": "System",
    "LIST_UNSUBSCRIBE": "ListUnsubscribe",
    "FEEDBACK": "Feedback",
    "SPAM": "Spam",
    "INVALID": "Invalid",
    "DEACTIVATED": "Deactivated",
}
MARKETABLE_STATUSES = {"UNENGAGED_MARKETABLE", "SINGLE_OPT_IN", "DOUBLE_OPT_IN", "CONFIRMED"}
SOCIAL_TYPE_V1 = {
    "FACEBOOK": "Facebook",
    "TWITTER": "Twitter",
    "LINKED_IN": "LinkedIn",
    "INSTAGRAM": "Instagram",
    "SNAPCHAT": "Snapchat",
    "YOUTUBE": "YouTube",
    "PINTEREST": "Pinterest",
}
SOURCE_TYPE_V1 = {
    "API": "API",
    "APPOINTMENT": "APPOINTMENT",
    "FORM_API_HOSTED": "FORMAPIHOSTED",
    "FORM_API_INTERNAL": "FORMAPIINTERNAL",
    "IMPORT": "IMPORT",
    "INTERNAL_FORM": "INTERNALFORM",
    "LANDING_PAGE": "LANDINGPAGE",
    "MANUAL": "MANUAL",
    "OTHER": "OTHER",
    "UNKNOWN": "UNKNOWN",
    "WEBFORM": "WEBFORM",
}
FIELD_TYPE_V2 = {
    "Currency": "CURRENCY",
    "Date": "DATE",
    "DateTime": "DATE_TIME",
    "DayOfWeek": "DAY_OF_WEEK",
    "DecimalNumber": "DECIMAL_NUMBER",
    "Drilldown": "DRILLDOWN",
    "Dropdown": "DROPDOWN",
    "Email": "EMAIL",
    "ListBox": "LIST_BOX",
    "Month": "MONTH",
    "Name": "NAME",
    "Percent": "PERCENT",
    "PhoneNumber": "PHONE_NUMBER",
    "Radio": "RADIO",
    "SocialSecurityNumber": "SOCIAL_SECURITY_NUMBER",
    "State": "STATE",
    "Text": "TEXT",
    "TextArea": "TEXT_AREA",
    "User": "USER",
    "UserListBox": "USER_LIST_BOX",
    "Website": "WEBSITE",
    "WholeNumber": "WHOLE_NUMBER",
    "Year": "YEAR",
    "YesNo": "YES_NO",
}
ADDRESS_KEYS = (
    "field",
    "line1",
    "line2",
    "locality",
    "region",
    "postal_code",
    "zip_code",
    "zip_four",
    "country_code",
)

# v2 contact properties sent when the request names no `fields`. The v2 spec's `fields` text
# implies that `custom_fields`, `links`, `utm_parameters` and `notes` come only on request.
V2_DEFAULT_CONTACT_FIELDS = (
    "id",
    *CONTACT_TEXT_FIELDS,
    "email_addresses",
    "phone_numbers",
    "addresses",
    "fax_numbers",
    "social_accounts",
    "company",
    "owner_id",
    "leadsource_id",
    "source_type",
    "birth_date",
    "anniversary_date",
    "tag_ids",
    "score_value",
    "create_time",
    "update_time",
)
V1_DUPLICATE_OPTIONS = ("Email", "EmailAndName")
V2_DUPLICATE_OPTIONS = ("Email", "EmailAndName", "EmailAndNameAndCompany")

# v1 sends these only when `optional_properties` names them.
V1_OPTIONAL_CONTACT_FIELDS = ("custom_fields", "lead_source_id", "job_title")


def _clean(data: dict) -> dict:
    return {key: value for key, value in data.items() if value not in (None, "", [])}


# --- Reading request bodies into the stored form ----------------------------------------------


def contact_changes(body: dict, version: str, account) -> dict:
    """Convert a v1 or v2 contact body into stored-form changes, checking values on the way."""
    if not isinstance(body, dict):
        raise api_error(version, 400, "Invalid contact: send a JSON object.")
    changes: dict = {}
    for name in CONTACT_TEXT_FIELDS:
        if name in body:
            changes[name] = _text(body[name], name, version)

    _read_lists(body, version, account, changes)
    _read_ids(body, version, account, changes)
    _read_dates(body, version, changes)
    if "source_type" in body:
        to_v2 = {v1: v2 for v2, v1 in SOURCE_TYPE_V1.items()}
        changes["source_type"] = to_v2.get(body["source_type"], body["source_type"])

    # v1 takes one opt-in reason for the contact; v2 takes one per email address.
    opt_in_reason = body.get("opt_in_reason") if version == "v1" else None
    if opt_in_reason and changes.get("email_addresses"):
        changes["email_addresses"][0]["opt_in_reason"] = opt_in_reason
    return changes


def _read_lists(body: dict, version: str, account, changes: dict) -> None:
    if "email_addresses" in body:
        changes["email_addresses"] = [
            _email(item, version) for item in _list(body, "email_addresses", version)
        ]
    if "phone_numbers" in body:
        changes["phone_numbers"] = [
            _pick(item, ("number", "field", "type", "extension"), "PHONE1")
            for item in _list(body, "phone_numbers", version)
        ]
    if "fax_numbers" in body:
        changes["fax_numbers"] = [
            _pick(item, ("number", "field", "type"), "FAX1")
            for item in _list(body, "fax_numbers", version)
        ]
    if "addresses" in body:
        changes["addresses"] = [
            _address(item, version) for item in _list(body, "addresses", version)
        ]
    if "social_accounts" in body:
        to_v2 = {v1: v2 for v2, v1 in SOCIAL_TYPE_V1.items()}
        changes["social_accounts"] = [
            {"name": item.get("name", ""), "type": to_v2.get(item.get("type"), item.get("type"))}
            for item in _list(body, "social_accounts", version)
        ]
    if "custom_fields" in body:
        changes["custom_fields"] = _custom_values(body, version, account)


def _read_dates(body: dict, version: str, changes: dict) -> None:
    """Store birthdays and anniversaries as dates; a null in the body clears them."""
    for stored, v1_name, v2_name in (
        ("birthday", "birthday", "birth_date"),
        ("anniversary", "anniversary", "anniversary_date"),
    ):
        name = v1_name if version == "v1" else v2_name
        if name in body:
            value = body[name]
            changes[stored] = str(value)[:10] if value else None


def _read_ids(body: dict, version: str, account, changes: dict) -> None:
    company = body.get("company")
    if isinstance(company, dict) and company.get("id") not in (None, ""):
        company_id = _int_id(company["id"], "company.id", version)
        if company_id not in account.companies:
            raise api_error(version, 400, f"Invalid company.id {company_id}: no such company.")
        changes["company_id"] = company_id
    elif "company" in body and company is None:
        changes["company_id"] = None
    if body.get("owner_id") not in (None, ""):
        changes["owner_id"] = _int_id(body["owner_id"], "owner_id", version)
    lead_source = body.get("lead_source_id" if version == "v1" else "leadsource_id")
    if lead_source not in (None, ""):
        changes["lead_source_id"] = _int_id(lead_source, "lead_source_id", version)


def _text(value, name: str, version: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise api_error(version, 400, f"Invalid {name}: send a string.")
    return value


def _list(body: dict, name: str, version: str) -> list[dict]:
    value = body[name]
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise api_error(version, 400, f"Invalid {name}: send a list of objects.")
    return value


def _pick(item: dict, keys: tuple, default_field: str) -> dict:
    picked = {key: item[key] for key in keys if item.get(key) not in (None, "")}
    picked.setdefault("field", default_field)
    return picked


def _email(item: dict, version: str) -> dict:
    email = (item.get("email") or "").strip()
    if "@" not in email:
        raise api_error(version, 400, f"Invalid email address {email!r}.")
    stored = {"email": email, "field": item.get("field") or "EMAIL1"}
    if item.get("opt_in_reason"):
        stored["opt_in_reason"] = item["opt_in_reason"]
    return stored


def _address(item: dict, version: str) -> dict:
    address = {key: item[key] for key in ADDRESS_KEYS if item.get(key) not in (None, "")}
    address.setdefault("field", "BILLING")
    if address.get("region") and not address.get("country_code"):
        raise api_error(version, 400, "Invalid address: country_code is required with region.")
    return address


def _custom_values(body: dict, version: str, account) -> dict[int, object]:
    values = {}
    for item in _list(body, "custom_fields", version):
        field_id = _int_id(item.get("id"), "custom_fields.id", version)
        if field_id not in account.custom_fields:
            raise api_error(version, 400, f"Invalid custom field id {field_id}: no such field.")
        values[field_id] = item.get("content")
    return values


def _int_id(value, name: str, version: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise api_error(version, 400, f"Invalid {name} {value!r}: use a numeric id.")


def check_contact_has_channel(contact: dict, version: str) -> None:
    """Reject a contact with no way to reach it, as Keap's create and upsert do."""
    channels = ("email_addresses", "phone_numbers") + (("addresses",) if version == "v2" else ())
    if not any(contact.get(name) for name in channels):
        names = " or ".join(channels)
        raise api_error(version, 400, f"Invalid contact: give at least one of {names}.")


def apply_contact_changes(contact: dict, changes: dict, now: float) -> None:
    """Apply changes to a stored contact; list fields replace the whole list, as in Keap."""
    for name, value in changes.items():
        if name == "custom_fields":
            contact["custom_fields"] = dict(value)
        else:
            contact[name] = value
    for email in contact.get("email_addresses", []):
        if email.get("opt_in_reason"):
            email["status"] = "SINGLE_OPT_IN"
        else:
            email.setdefault("status", "UNENGAGED_NON_MARKETABLE")
    contact["updated_at"] = now


def new_contact(contact_id: int, now: float) -> dict:
    return {
        "id": contact_id,
        "email_addresses": [],
        "phone_numbers": [],
        "addresses": [],
        "fax_numbers": [],
        "social_accounts": [],
        "custom_fields": {},
        "tags": {},
        "source_type": "API",
        "created_at": now,
        "updated_at": now,
    }


def contact_emails(contact: dict) -> list[str]:
    return [item["email"].lower() for item in contact.get("email_addresses", [])]


def find_duplicate(account, changes: dict, option: str, version: str) -> dict | None:
    """Return the contact an upsert updates: same email (any case), and the same names if asked."""
    allowed = V1_DUPLICATE_OPTIONS if version == "v1" else V2_DUPLICATE_OPTIONS
    if option not in allowed:
        raise api_error(
            version, 400, f"Invalid duplicate_option {option!r}: use {', '.join(allowed)}."
        )
    emails = {item["email"].lower() for item in changes.get("email_addresses", [])}
    if not emails:
        raise api_error(version, 400, f"Invalid upsert: duplicate_option {option} needs an email.")
    for contact in sorted(account.contacts.values(), key=lambda c: c["id"]):
        if not emails & set(contact_emails(contact)):
            continue
        if option != "Email" and not _same_names(contact, changes):
            continue
        if option == "EmailAndNameAndCompany" and contact.get("company_id") != changes.get(
            "company_id"
        ):
            continue
        return contact
    return None


def _same_names(contact: dict, changes: dict) -> bool:
    return all(
        (contact.get(name) or "").lower() == (changes.get(name) or "").lower()
        for name in ("given_name", "family_name")
    )


# --- Rendering ---------------------------------------------------------------------------------


def contact_v1(contact: dict, account, optional: set[str] = frozenset()) -> dict:
    emails = contact.get("email_addresses", [])
    status = emails[0].get("status", "UNENGAGED_NON_MARKETABLE") if emails else None
    company = account.companies.get(contact.get("company_id"))
    data = {
        "id": contact["id"],
        **{name: contact.get(name) for name in CONTACT_TEXT_FIELDS if name != "job_title"},
        "email_addresses": [{"email": e["email"], "field": e["field"]} for e in emails],
        "email_status": EMAIL_STATUS_V1.get(status) if status else None,
        "email_opted_in": status in MARKETABLE_STATUSES if status else None,
        "phone_numbers": contact.get("phone_numbers", []),
        "addresses": contact.get("addresses", []),
        "fax_numbers": contact.get("fax_numbers", []),
        "social_accounts": [
            {"name": item["name"], "type": SOCIAL_TYPE_V1.get(item["type"], "Facebook")}
            for item in contact.get("social_accounts", [])
        ],
        "company": {"id": company["id"], "company_name": company["company_name"]}
        if company
        else None,
        "company_name": company["company_name"] if company else None,
        "owner_id": contact.get("owner_id"),
        "source_type": SOURCE_TYPE_V1.get(contact.get("source_type")),
        "birthday": f"{contact['birthday']}T00:00:00.000Z" if contact.get("birthday") else None,
        "anniversary": contact.get("anniversary"),
        "tag_ids": sorted(contact.get("tags", {})),
        "ScoreValue": "0",
        "date_created": iso(contact["created_at"]),
        "last_updated": iso(contact["updated_at"]),
    }
    if "job_title" in optional:
        data["job_title"] = contact.get("job_title")
    if "lead_source_id" in optional:
        data["lead_source_id"] = contact.get("lead_source_id")
    if "custom_fields" in optional:
        data["custom_fields"] = [
            {"id": field_id, "content": content}
            for field_id, content in sorted(contact.get("custom_fields", {}).items())
        ]
    return _clean(data) | {"tag_ids": data["tag_ids"]}


def contact_v2(contact: dict, account, fields: list[str] | None = None) -> dict:
    wanted = set(fields) | {"id"} if fields else set(V2_DEFAULT_CONTACT_FIELDS)
    company = account.companies.get(contact.get("company_id"))
    data = {
        "id": str(contact["id"]),
        **{name: contact.get(name) for name in CONTACT_TEXT_FIELDS},
        "email_addresses": [_email_v2(e) for e in contact.get("email_addresses", [])],
        "phone_numbers": contact.get("phone_numbers", []),
        "addresses": contact.get("addresses", []),
        "fax_numbers": contact.get("fax_numbers", []),
        "social_accounts": contact.get("social_accounts", []),
        "company": {"id": str(company["id"]), "company_name": company["company_name"]}
        if company
        else None,
        "owner_id": _str_id(contact.get("owner_id")),
        "leadsource_id": _str_id(contact.get("lead_source_id")),
        "source_type": contact.get("source_type"),
        "birth_date": contact.get("birthday"),
        "anniversary_date": contact.get("anniversary"),
        "tag_ids": [str(tag_id) for tag_id in sorted(contact.get("tags", {}))],
        "score_value": "0",
        "create_time": iso(contact["created_at"]),
        "update_time": iso(contact["updated_at"]),
        "custom_fields": [
            {"id": str(field_id), "content": content}
            for field_id, content in sorted(contact.get("custom_fields", {}).items())
        ],
    }
    kept = {name: value for name, value in data.items() if name in wanted}
    cleaned = _clean(kept)
    for name in ("tag_ids", "custom_fields"):
        if name in kept:
            cleaned[name] = kept[name]
    return cleaned


def _email_v2(email: dict) -> dict:
    status = email.get("status", "UNENGAGED_NON_MARKETABLE")
    data = {
        "email": email["email"],
        "field": email["field"],
        "is_opt_in": status in MARKETABLE_STATUSES,
        "email_opt_status": status,
    }
    if email.get("opt_in_reason"):
        data["opt_in_reason"] = email["opt_in_reason"]
    return data


def _str_id(value) -> str | None:
    return None if value is None else str(value)


def tag_v1(tag: dict, account) -> dict:
    data = {"id": tag["id"], "name": tag["name"], "description": tag.get("description") or None}
    category = account.tag_categories.get(tag.get("category_id"))
    if category:
        data["category"] = _clean(
            {"id": category["id"], "name": category["name"], "description": category["description"]}
        )
    return _clean(data)


def tag_v2(tag: dict) -> dict:
    data = {
        "id": str(tag["id"]),
        "name": tag["name"],
        "description": tag.get("description"),
        "category": {"id": str(tag["category_id"])} if tag.get("category_id") else None,
        "create_time": iso(tag["created_at"]),
        "update_time": iso(tag["updated_at"]),
    }
    return _clean(data)


def category_v1(category: dict) -> dict:
    return _clean(
        {"id": category["id"], "name": category["name"], "description": category["description"]}
    )


def category_v2(category: dict) -> dict:
    return _clean(
        {
            "id": str(category["id"]),
            "name": category["name"],
            "description": category["description"],
            "create_time": iso(category["created_at"]),
            "update_time": iso(category["updated_at"]),
        }
    )


def custom_field_v1(field: dict) -> dict:
    data = {
        "id": field["id"],
        "label": field["label"],
        "field_name": field["field_name"],
        "field_type": field["field_type"],
        "record_type": "CONTACT",
        "options": [{"id": str(o["id"]), "label": o["label"]} for o in field.get("options", [])],
        "default_value": field.get("default_value"),
    }
    return _clean(data)


def custom_field_v2(field: dict) -> dict:
    data = {
        "id": str(field["id"]),
        "label": field["label"],
        "field_name": field["field_name"],
        "field_type": FIELD_TYPE_V2[field["field_type"]],
        "record_type": "CONTACT",
        "options": [{"id": str(o["id"]), "label": o["label"]} for o in field.get("options", [])],
        "default_value": field.get("default_value"),
        "group_id": str(field["group_id"]) if field.get("group_id") else None,
        "group_name": field.get("group_name"),
    }
    return _clean(data)


def company_v1(company: dict) -> dict:
    data = {
        "id": company["id"],
        "company_name": company["company_name"],
        "email_address": company.get("email"),
        "email_status": "UnengagedNonMarketable" if company.get("email") else None,
        "email_opted_in": False if company.get("email") else None,
        "phone_number": company.get("phone"),
        "fax_number": company.get("fax"),
        "address": _company_address(company, version="v1"),
        "website": company.get("website"),
        "notes": company.get("notes"),
    }
    return _clean(data)


# v2 sends these company properties only when `fields` names them, per the v2 spec.
V2_OPTIONAL_COMPANY_FIELDS = (
    "notes",
    "fax_number",
    "address",
    "email_address",
    "phone_number",
    "update_time",
    "create_time",
    "custom_fields",
)


def company_v2(company: dict, fields: list[str] | None = None) -> dict:
    data = {
        "id": str(company["id"]),
        "company_name": company["company_name"],
        "website": company.get("website"),
        "notes": company.get("notes"),
        "fax_number": company.get("fax"),
        "address": _company_address(company, version="v2"),
        "email_address": {"email": company["email"], "field": "EMAIL1"}
        if company.get("email")
        else None,
        "phone_number": dict(company["phone"], field="PHONE1") if company.get("phone") else None,
        "create_time": iso(company["created_at"]),
        "update_time": iso(company["updated_at"]),
    }
    requested = set(fields or ())
    kept = {
        name: value
        for name, value in data.items()
        if name not in V2_OPTIONAL_COMPANY_FIELDS or name in requested
    }
    return _clean(kept)


def _company_address(company: dict, version: str) -> dict | None:
    address = company.get("address")
    if not address:
        return None
    keys = ("line1", "line2", "locality", "region", "zip_code", "zip_four", "country_code")
    if version == "v2":
        keys = (*keys, "postal_code")
    return {key: address[key] for key in keys if address.get(key)}
