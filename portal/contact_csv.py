"""Contacts in CSV files: reading an upload for an import, writing a batch job's failed rows.

Column names follow Keap's contact export ("First Name", "Email", "Phone 1", ...), so a file
exported from Keap maps itself and a failed-rows file can be fixed and imported again.
"""

import csv
import io
import re
from dataclasses import dataclass, field

from connector.jobs.contacts import keap_contact_body
from tenants.audit_queries import FORMULA_PREFIXES, escape_formula

# Import fields: (name, label shown in the mapping, column names recognised, lower-cased).
FIELDS = (
    ("email", "Email", ("email", "email address", "e-mail", "email 1")),
    ("given_name", "First name", ("first name", "given name", "firstname")),
    ("family_name", "Last name", ("last name", "family name", "surname", "lastname")),
    ("phone1", "Phone 1", ("phone 1", "phone", "phone number")),
    ("phone1_ext", "Phone 1 extension", ("phone 1 ext", "phone 1 extension")),
    ("phone2", "Phone 2", ("phone 2",)),
    ("phone2_ext", "Phone 2 extension", ("phone 2 ext", "phone 2 extension")),
    ("line1", "Street address 1", ("street address 1", "address", "street address")),
    ("line2", "Street address 2", ("street address 2",)),
    ("locality", "City", ("city",)),
    ("region", "State or region", ("state", "region", "province")),
    ("postal_code", "Postal code", ("postal code", "zip", "zip code", "postcode")),
    ("country_code", "Country (three-letter code)", ("country", "country code")),
    ("company_id", "Company (Keap company id)", ("company", "company id")),
    ("tag_ids", "Tags (Keap tag ids)", ("tags", "tag ids")),
)
FIELD_LABELS = {name: label for name, label, _ in FIELDS}
IGNORE = ""

# Failed-rows files use the export's column names, so they import again unchanged.
EXPORT_COLUMNS = (
    ("email", "Email"),
    ("given_name", "First Name"),
    ("family_name", "Last Name"),
    ("phone1", "Phone 1"),
    ("phone1_ext", "Phone 1 Ext"),
    ("phone2", "Phone 2"),
    ("phone2_ext", "Phone 2 Ext"),
    ("line1", "Street Address 1"),
    ("line2", "Street Address 2"),
    ("locality", "City"),
    ("region", "State"),
    ("postal_code", "Postal Code"),
    ("country_code", "Country"),
)

# "555 0100 ext. 12", "555 0100 x12" or "555 0100 #12": an extension written into the number.
EXTENSION = re.compile(
    r"^(?P<number>.*?\d)\s*(?:ext\.?|extension|x|#)\s*(?P<extension>\d{1,10})$", re.I
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FIELD_LENGTH = 255


class CsvError(ValueError):
    """The upload is not a CSV file the import can read; the message gives the reason."""


@dataclass
class ParsedFile:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class ImportRow:
    """One data row: its line in the file, the batch row it becomes, and what was left out."""

    line: int
    email: str = ""
    batch_row: dict | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)


def read_csv(data: bytes, *, max_rows: int) -> ParsedFile:
    """Parse an uploaded file as UTF-8 CSV (a byte order mark is allowed); raise CsvError.

    The delimiter is whichever of comma, semicolon and tab occurs most often in the header
    line. Rows shorter than the header are padded, and blank lines are skipped.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(
            f"The file is not UTF-8 text (invalid byte at position {exc.start}). Save it as "
            "“CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise CsvError("The file contains NUL characters, so it is not a CSV text file.")

    try:
        reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
        lines = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise CsvError(f"The file is not valid CSV: {exc}.") from None

    if not lines:
        raise CsvError("The file is empty. Upload a CSV file with a header line and contacts.")
    headers = [cell.strip() for cell in lines[0]]
    rows = lines[1:]
    if not rows:
        raise CsvError("The file has a header line but no contacts.")
    if len(rows) > max_rows:
        raise CsvError(
            f"The file has {len(rows)} contacts and one import takes at most {max_rows}. "
            "Split it into smaller files."
        )
    width = len(headers)
    return ParsedFile(headers, [(row + [""] * width)[:width] for row in rows])


def guess_mapping(headers: list[str]) -> list[str]:
    """Return the import field for each column, or IGNORE; each field is guessed at most once."""
    guessed = set()
    mapping = []
    for header in headers:
        key = " ".join(header.lower().replace("_", " ").split())
        guess = IGNORE
        for name, _label, names in FIELDS:
            if key in names and name not in guessed:
                guess = name
                guessed.add(name)
                break
        mapping.append(guess)
    return mapping


def build_rows(parsed: ParsedFile, mapping: list[str]) -> list[ImportRow]:
    """Turn each data row into a batch row for `connector.jobs.create.batch_upsert_job`.

    A row without a valid email gets `error` and no batch row. A value Keap would reject
    (a country that is not a three-letter code, a company or tag that is not an id) is left
    out of the row with a warning, so the rest of the contact is still imported.
    """
    result = []
    for index, cells in enumerate(parsed.rows):
        values = {}
        for name, cell in zip(mapping, cells, strict=True):
            if name != IGNORE:
                values[name] = _clean(cell)
        row = ImportRow(line=index + 2, email=values.get("email", ""))
        contact = _contact(values, row)
        if contact is not None:
            body = keap_contact_body(contact)
            company_id = _company_id(values.get("company_id", ""), row)
            if company_id is not None:
                body["company"] = {"id": company_id}
            row.batch_row = {"contact": body, "tag_ids": _tag_ids(values.get("tag_ids", ""), row)}
        result.append(row)
    return result


def failed_rows_csv(failed_rows: list[dict], payload_rows: list[dict] | None) -> str:
    """Return the CSV of a batch job's failed rows: the export's columns, then Row and Error.

    `payload_rows` are the job's batch rows, which give the contact's other fields. Once the
    payload is purged after its retention time, only the email is known.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for _name, header in EXPORT_COLUMNS] + ["Row", "Error"])
    for failed in failed_rows:
        index = failed.get("row")
        values = {"email": failed.get("email", "")}
        if payload_rows is not None and isinstance(index, int) and index < len(payload_rows):
            values = {**values, **_columns_of(payload_rows[index]["contact"])}
        cells = [values.get(name, "") for name, _header in EXPORT_COLUMNS]
        cells += [index + 1 if isinstance(index, int) else "", failed.get("error", "")]
        writer.writerow([escape_formula(cell) for cell in cells])
    return buffer.getvalue()


def _delimiter(text: str) -> str:
    # csv.Sniffer (Python 3.11) misreads short files, such as a header and one row with blank
    # lines, and spreadsheets write one delimiter throughout the file.
    header = text.lstrip("\r\n").split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _clean(cell: str) -> str:
    value = " ".join(cell.split())
    # failed_rows_csv escapes formula characters with a leading apostrophe, so a corrected
    # failed-rows file imports the original value.
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        value = value[1:]
    return value[:MAX_FIELD_LENGTH]


def _contact(values: dict, row: ImportRow) -> dict | None:
    email = values.get("email", "")
    if not email:
        row.error = "Missing email address."
        return None
    if not EMAIL.match(email):
        row.error = f"Invalid email address “{email}”."
        return None

    contact = {"email": email}
    for name in ("given_name", "family_name"):
        if values.get(name):
            contact[name] = values[name]
    phones = [_phone(values.get(f"phone{n}", ""), values.get(f"phone{n}_ext", "")) for n in (1, 2)]
    phones = [phone for phone in phones if phone]
    if phones:
        contact["phones"] = phones
    address = _address(values, row)
    if address:
        contact["address"] = address
    return contact


def _phone(number: str, extension: str) -> dict | None:
    if not number:
        return None
    match = EXTENSION.match(number)
    if match and not extension:
        number, extension = match["number"].strip(), match["extension"]
    phone = {"number": number}
    if extension:
        phone["extension"] = extension
    return phone


def _address(values: dict, row: ImportRow) -> dict:
    address = {
        name: values[name]
        for name in ("line1", "line2", "locality", "region", "postal_code")
        if values.get(name)
    }
    country = values.get("country_code", "")
    if country:
        if len(country) == 3 and country.isalpha():
            address["country_code"] = country.upper()
        else:
            row.warnings.append(
                f"Country “{country}” left out: Keap takes a three-letter code such as USA."
            )
    # NOTE: the Keap sandbox rejects a region without a country code. Keap's documentation
    # does not say whether Keap does, so the region is left out rather than risk the row.
    if address.get("region") and "country_code" not in address:
        row.warnings.append(
            f"State “{address.pop('region')}” left out: Keap needs a country with it."
        )
    return address


def _company_id(value: str, row: ImportRow) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    row.warnings.append(f"Company “{value}” left out: the import links companies by Keap id only.")
    return None


def _tag_ids(value: str, row: ImportRow) -> list[int]:
    tag_ids = []
    for item in re.split(r"[,;]", value):
        item = item.strip()
        if not item:
            continue
        if item.isdigit():
            tag_ids.append(int(item))
        else:
            row.warnings.append(f"Tag “{item}” left out: the import applies tags by Keap id only.")
    return tag_ids


def _columns_of(contact: dict) -> dict:
    """Return the export columns of a Keap v1 contact body, the reverse of `build_rows`."""
    values = {
        "given_name": contact.get("given_name", ""),
        "family_name": contact.get("family_name", ""),
    }
    emails = contact.get("email_addresses") or []
    if emails:
        values["email"] = emails[0].get("email", "")
    for number, phone in enumerate((contact.get("phone_numbers") or [])[:2], start=1):
        values[f"phone{number}"] = phone.get("number", "")
        values[f"phone{number}_ext"] = phone.get("extension", "")
    addresses = contact.get("addresses") or []
    if addresses:
        for name in ("line1", "line2", "locality", "region", "postal_code", "country_code"):
            values[name] = addresses[0].get(name, "")
    return values
