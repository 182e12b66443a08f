"""Reading contact CSV files and writing failed rows (portal.contact_csv)."""

import pytest

from portal import contact_csv

KEAP_EXPORT = (
    "First Name,Last Name,Email,Phone 1,Street Address 1,City,State,Postal Code,Country,"
    "Company,Tags\n"
    "Zoë,Ångström,zoe@example.com,+46 8 123 45 67 ext. 12,Storgatan 1,Stockholm,AB,11122,SWE,"
    '7,"3, 4"\n'
)


def test_it_reads_utf8_with_bom():
    parsed = contact_csv.read_csv(("\ufeff" + KEAP_EXPORT).encode(), max_rows=10)

    assert parsed.headers[0] == "First Name"
    assert parsed.rows[0][0] == "Zoë"


def test_it_detects_semicolons_and_pads_short_rows():
    data = b"Email;First Name;Last Name\n\na@example.com;Ann\n"

    parsed = contact_csv.read_csv(data, max_rows=10)

    assert parsed.headers == ["Email", "First Name", "Last Name"]
    assert parsed.rows == [["a@example.com", "Ann", ""]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"Email\n\xff\xfe@example.com\n",
            "The file is not UTF-8 text (invalid byte at position 6).",
        ),
        (b"", "The file is empty."),
        (b"Email\n", "The file has a header line but no contacts."),
        (b"Email\na@example.com\x00\n", "The file contains NUL characters"),
        (
            b"Email\na@x.io\nb@x.io\nc@x.io\n",
            "The file has 3 contacts and one import takes at most 2.",
        ),
    ],
)
def test_it_rejects_unreadable_files(data, message):
    with pytest.raises(contact_csv.CsvError) as caught:
        contact_csv.read_csv(data, max_rows=2)

    assert message in str(caught.value)


def test_it_recognises_keap_export_columns():
    parsed = contact_csv.read_csv(KEAP_EXPORT.encode(), max_rows=10)

    mapping = contact_csv.guess_mapping(parsed.headers)

    assert mapping == [
        "given_name",
        "family_name",
        "email",
        "phone1",
        "line1",
        "locality",
        "region",
        "postal_code",
        "country_code",
        "company_id",
        "tag_ids",
    ]


def test_it_guesses_each_field_once():
    assert contact_csv.guess_mapping(["Email", "email", "Notes"]) == ["email", "", ""]


def test_it_builds_keap_contact():
    parsed = contact_csv.read_csv(KEAP_EXPORT.encode(), max_rows=10)

    (row,) = contact_csv.build_rows(parsed, contact_csv.guess_mapping(parsed.headers))

    assert row.error == ""
    assert row.warnings == []
    contact = row.batch_row["contact"]
    assert contact["email_addresses"] == [{"email": "zoe@example.com", "field": "EMAIL1"}]
    assert contact["given_name"] == "Zoë"
    assert contact["family_name"] == "Ångström"
    assert contact["phone_numbers"] == [
        {"number": "+46 8 123 45 67", "extension": "12", "field": "PHONE1"}
    ]
    assert contact["addresses"] == [
        {
            "field": "BILLING",
            "line1": "Storgatan 1",
            "locality": "Stockholm",
            "region": "AB",
            "postal_code": "11122",
            "country_code": "SWE",
        }
    ]
    assert contact["company"] == {"id": 7}
    assert row.batch_row["tag_ids"] == [3, 4]


def test_it_leaves_out_values_keap_would_reject():
    data = 'Email,State,Country,Company,Tags\nx@example.com,CA,United States,Acme,"VIP, 5"\n'
    parsed = contact_csv.read_csv(data.encode(), max_rows=10)

    (row,) = contact_csv.build_rows(parsed, contact_csv.guess_mapping(parsed.headers))

    assert row.batch_row["tag_ids"] == [5]
    assert "company" not in row.batch_row["contact"]
    assert "addresses" not in row.batch_row["contact"]
    assert row.warnings == [
        "Country “United States” left out: Keap takes a three-letter code such as USA.",
        "State “CA” left out: Keap needs a country with it.",
        "Company “Acme” left out: the import links companies by Keap id only.",
        "Tag “VIP” left out: the import applies tags by Keap id only.",
    ]


@pytest.mark.parametrize(
    ("email", "error"),
    [("", "Missing email address."), ("not-an-email", "Invalid email address “not-an-email”.")],
)
def test_it_skips_rows_without_valid_email(email, error):
    parsed = contact_csv.ParsedFile(["Email", "First Name"], [[email, "Ann"]])

    (row,) = contact_csv.build_rows(parsed, ["email", "given_name"])

    assert row.batch_row is None
    assert row.error == error
    assert row.line == 2


def test_it_unescapes_formula_apostrophe():
    parsed = contact_csv.ParsedFile(["Email", "Phone 1"], [["a@example.com", "'+1 555 0100"]])

    (row,) = contact_csv.build_rows(parsed, ["email", "phone1"])

    assert row.batch_row["contact"]["phone_numbers"][0]["number"] == "+1 555 0100"


def test_failed_rows_import_again():
    parsed = contact_csv.read_csv(KEAP_EXPORT.encode(), max_rows=10)
    (row,) = contact_csv.build_rows(parsed, contact_csv.guess_mapping(parsed.headers))
    failed = [{"row": 0, "email": "zoe@example.com", "error": "Rejected."}]

    written = contact_csv.failed_rows_csv(failed, [row.batch_row])
    again = contact_csv.read_csv(written.encode(), max_rows=10)
    (row_again,) = contact_csv.build_rows(again, contact_csv.guess_mapping(again.headers))

    assert (
        row_again.batch_row["contact"]["phone_numbers"] == row.batch_row["contact"]["phone_numbers"]
    )
    assert row_again.batch_row["contact"]["addresses"] == row.batch_row["contact"]["addresses"]
    assert row_again.batch_row["contact"]["given_name"] == "Zoë"
