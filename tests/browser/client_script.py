"""A client site's script, as a site owner's developer would write it: plain `requests` against
the portal's client API with the site key, reading contacts from a CSV file."""

import csv
import itertools
import re

import requests

TIMEOUT = 30

GIVEN_NAMES = [
    "Zoë",
    "José",
    "Ångström",
    "Chloé",
    "李",
    "Юлия",
    "Όλγα",
    "محمد",
    "Søren",
    "",
    "Анна",
    "健太",
]
FAMILY_NAMES = [
    "Müller",
    "Núñez",
    "O'Brien",
    "王",
    "Иванова",
    "Παπαδοπούλου",
    "",
    "Lefèvre",
    "佐藤",
    "Łukasiewicz",
]
PHONES = ["+1 555 0100 ext. 12", "555-0199", "", "+44 20 7946 0958 x7", "030 1234567", ""]


def write_contacts_csv(path, *, unique=180, duplicates=20):
    """Write a contacts CSV of `unique + duplicates` rows; return the set of lower-case emails.

    The duplicates repeat earlier emails in another letter case, so Keap's case-insensitive
    match must merge them. Names mix accents and non-Latin scripts; some fields are empty.
    """
    names = itertools.cycle(itertools.product(GIVEN_NAMES, FAMILY_NAMES))
    rows = []
    for index in range(unique):
        given, family = next(names)
        rows.append(
            {
                "First Name": given,
                "Last Name": family,
                "Email": f"Person.{index:03d}@Example.com",
                "Phone 1": PHONES[index % len(PHONES)],
                "City": ["Lyon", "東京", "", "Zürich"][index % 4],
            }
        )
    for index in range(duplicates):
        original = rows[index * 7]
        rows.append({**original, "Email": original["Email"].upper(), "City": "Kraków"})

    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {row["Email"].lower() for row in rows}


def read_contacts(path, tag_id):
    """Return the API contacts of the CSV, each with the tag, phones split from extensions."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    return [_contact(row, tag_id) for row in rows]


def upsert_in_batches(portal_url, site_key, contacts, batch_size=100):
    """POST the contacts in batches; return the job ids the API accepted."""
    job_ids = []
    for start in range(0, len(contacts), batch_size):
        response = requests.post(
            f"{portal_url}/api/v1/contacts:batchUpsert",
            json={"contacts": contacts[start : start + batch_size]},
            headers={"Authorization": f"Bearer {site_key}"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        job_ids.append(response.json()["id"])
    return job_ids


def read_job(portal_url, site_key, job_id):
    return requests.get(
        f"{portal_url}/api/v1/jobs/{job_id}",
        headers={"Authorization": f"Bearer {site_key}"},
        timeout=TIMEOUT,
    )


def _contact(row, tag_id):
    contact = {"email": row["Email"], "tag_ids": [tag_id]}
    if row["First Name"]:
        contact["given_name"] = row["First Name"]
    if row["Last Name"]:
        contact["family_name"] = row["Last Name"]
    if row["Phone 1"]:
        match = re.match(r"^(.*?\d)\s*(?:ext\.?|x)\s*(\d+)$", row["Phone 1"])
        number, extension = (match[1], match[2]) if match else (row["Phone 1"], None)
        contact["phones"] = [{"number": number, "extension": extension, "type": "Work"}]
    if row["City"]:
        contact["address"] = {"locality": row["City"]}
    return contact
