"""Turning the client API's contact into the body of Keap's v1 contact upsert.

Reference: https://developer.infusionsoft.com/docs/rest/ (PUT /v1/contacts, FullContact).
Fields the client leaves out are left out of the body too, so an upsert never blanks data
that Keap already holds for the contact.
"""

# Keap v1 names up to five phone numbers PHONE1 to PHONE5.
MAX_PHONES = 5


def keap_contact_body(contact: dict) -> dict:
    """Return the Keap v1 contact for an API contact (keys as in `connector.api.operations`).

    `contact` has `email` and optionally `given_name`, `family_name`, `phones` (each with
    `number`, `extension`, `type`), `address` (`line1`, `line2`, `locality`, `region`,
    `postal_code`, `country_code`), `custom_fields` (each `id` and `content`) and
    `opt_in_reason`. `duplicate_option` is added by the job, not here.
    """
    body = {"email_addresses": [{"email": contact["email"], "field": "EMAIL1"}]}
    for name in ("given_name", "family_name", "opt_in_reason"):
        if contact.get(name):
            body[name] = contact[name]

    phones = contact.get("phones") or []
    if phones:
        body["phone_numbers"] = [_phone(phone, index) for index, phone in enumerate(phones)]
    if contact.get("address"):
        body["addresses"] = [_address(contact["address"])]
    if contact.get("custom_fields"):
        body["custom_fields"] = [
            {"id": int(item["id"]), "content": item.get("content")}
            for item in contact["custom_fields"]
        ]
    return body


def _phone(phone: dict, index: int) -> dict:
    value = {"number": phone["number"], "field": f"PHONE{index + 1}"}
    if phone.get("extension"):
        value["extension"] = phone["extension"]
    if phone.get("type"):
        value["type"] = phone["type"]
    return value


def _address(address: dict) -> dict:
    value = {"field": "BILLING"}
    for name in ("line1", "line2", "locality", "region", "postal_code", "country_code"):
        if address.get(name):
            value[name] = address[name]
    return value
