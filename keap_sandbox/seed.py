"""Accounts, users, keys and realistic sample data, including the demo set-up.

Sample names use accents and non-Latin scripts, and contacts have several emails, phones and
addresses, so that encoding and list handling get exercised.
"""

import secrets
import string

from keap_sandbox import model
from keap_sandbox.oauth import check_redirect_uri
from keap_sandbox.state import Account, ApiKey, OAuthClient, SandboxState, User, new_api_key

DEMO_CLIENT_ID = "sandbox-demo-client"
DEMO_CLIENT_SECRET = "sandbox-demo-secret"
DEFAULT_PORTAL_BASE_URL = "http://127.0.0.1:8000"
OAUTH_CALLBACK_PATH = "/connections/oauth/callback/"


def create_account(
    state: SandboxState,
    app_name: str | None = None,
    name: str | None = None,
    profile: dict | None = None,
) -> Account:
    """Create an empty account; `app_name` defaults to a fresh one like `ab123`."""
    if app_name is None:
        app_name = _free_app_name(state)
    app_name = app_name.removesuffix(".infusionsoft.com")
    if not app_name.isalnum() or not app_name.islower():
        raise ValueError(f"Invalid app_name {app_name!r}: use lower-case letters and digits.")
    if app_name in state.accounts:
        raise ValueError(f"Account {app_name!r} already exists.")
    name = name or f"Sandbox account {app_name}"
    base_profile = {
        "name": name,
        "email": f"office@{app_name}.example.com",
        "phone": "+1 480-555-0100",
        "website": f"https://{app_name}.example.com",
        "time_zone": "America/Phoenix",
        "currency_code": "USD",
        "language_tag": "en-US",
        "business_type": "Consulting",
        "business_goals": ["Grow my list", "Automate follow-up"],
        "business_primary_color": "#1E6B52",
        "business_secondary_color": "#F2C14E",
        "logo_url": f"https://{app_name}.example.com/logo.png",
        "address": {
            "line1": "100 Main Street",
            "locality": "Chandler",
            "region": "Arizona",
            "postal_code": "85225",
            "zip_code": "85225",
            "country_code": "USA",
        },
    }
    account = Account(app_name=app_name, name=name, profile={**base_profile, **(profile or {})})
    state.accounts[app_name] = account
    return account


def _free_app_name(state: SandboxState) -> str:
    while True:
        letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(2))
        candidate = f"{letters}{secrets.randbelow(900) + 100}"
        if candidate not in state.accounts:
            return candidate


def add_user(
    state: SandboxState,
    account: Account,
    email: str,
    given_name: str,
    family_name: str,
    *,
    is_admin: bool = False,
) -> User:
    user = User(
        id=next(state.user_ids),
        email=email,
        given_name=given_name,
        family_name=family_name,
        is_admin=is_admin,
    )
    account.users[user.id] = user
    return user


def create_api_key(
    state: SandboxState,
    app_name: str,
    kind: str = "PAT",
    user_id: int | None = None,
    name: str = "Sandbox key",
) -> ApiKey:
    """Create a PAT (acts as one user) or SAK (acts as an admin); the value is shown once."""
    account = state.get_account(app_name)
    kind = kind.upper()
    if kind not in ("PAT", "SAK"):
        raise ValueError(f"Invalid key kind {kind!r}: use PAT or SAK.")
    if not account.users:
        raise ValueError(f"Account {app_name!r} has no users: add one before creating a key.")
    if user_id is None:
        user_id = account.primary_user().id
    if user_id not in account.users:
        raise ValueError(f"User {user_id} is not in account {app_name!r}.")
    if kind == "SAK" and not account.users[user_id].is_admin:
        raise ValueError("Only an admin user can create a Service Account Key (SAK).")
    api_key = ApiKey(
        key_id=state.new_credential_id(kind.lower()),
        key=new_api_key(),
        kind=kind,
        app_name=account.app_name,
        user_id=user_id,
        name=name,
        created_at=state.now(),
    )
    state.api_keys[api_key.key_id] = api_key
    return api_key


def create_oauth_client(
    state: SandboxState,
    redirect_uris: list[str],
    client_id: str | None = None,
    client_secret: str | None = None,
    name: str = "Sandbox OAuth client",
) -> OAuthClient:
    if not redirect_uris:
        raise ValueError("Missing redirect_uris: register at least one redirect URI.")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    client = OAuthClient(
        client_id=client_id or secrets.token_urlsafe(16),
        client_secret=client_secret or secrets.token_urlsafe(24),
        redirect_uris=list(redirect_uris),
        name=name,
    )
    state.oauth_clients[client.client_id] = client
    return client


def seed_contact(state: SandboxState, account: Account, body: dict) -> dict:
    """Store a contact given in v2 shape, without firing REST hooks."""
    changes = model.contact_changes(body, "v2", account)
    contact = model.new_contact(account.next_id(), state.now())
    model.apply_contact_changes(contact, changes, state.now())
    contact["owner_id"] = contact.get("owner_id") or account.primary_user().id
    for tag_id in body.get("tag_ids", []):
        if int(tag_id) in account.tags:
            contact["tags"][int(tag_id)] = state.now()
    account.contacts[contact["id"]] = contact
    return contact


# --- Sample data -------------------------------------------------------------------------------

SAMPLE_PEOPLE = [
    (
        "José",
        "Álvarez Núñez",
        "jose.alvarez",
        "+34 612 345 678",
        "Madrid",
        "Comunidad de Madrid",
        "ESP",
    ),
    ("Zoë", "Müller", "zoe.mueller", "+49 30 1234567", "Berlin", "Berlin", "DEU"),
    ("Søren", "Kierkegård", "soren.k", "+45 20 12 34 56", "København", "Hovedstaden", "DNK"),
    ("Łukasz", "Wiśniewski", "lukasz.w", "+48 601 234 567", "Kraków", "Małopolskie", "POL"),
    ("Nguyễn Thị", "Hương", "huong.nguyen", "+84 912 345 678", "Hà Nội", "Hà Nội", "VNM"),
    ("太郎", "山田", "taro.yamada", "+81 90-1234-5678", "大阪市", "大阪府", "JPN"),
    ("Αλέξανδρος", "Παπαδόπουλος", "alex.papa", "+30 691 234 5678", "Αθήνα", "Αττική", "GRC"),
    ("Дмитрий", "Иванов", "dmitry.ivanov", "+7 912 345-67-89", "Москва", "Москва", "RUS"),
    ("محمد", "الأحمد", "m.alahmad", "+971 50 123 4567", "دبي", "دبي", "ARE"),
    ("Siobhán", "Ó Briain", "siobhan.obriain", "+353 87 123 4567", "Gaillimh", "Connacht", "IRL"),
    (
        "François",
        "Dupont-Lefèvre",
        "f.dupont",
        "+33 6 12 34 56 78",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        "FRA",
    ),
    ("Mary", "Smith", "mary.smith", "+1 480-555-0142", "Chandler", "Arizona", "USA"),
]


def seed_sample_data(state: SandboxState, account: Account) -> None:
    """Give an account custom fields, tag categories, tags, companies and a dozen contacts."""
    now = state.now()
    fields = [
        ("Favourite colour", "FavouriteColour", "Text", []),
        ("Membership level", "MembershipLevel", "Dropdown", ["Bronze", "Silver", "Gold"]),
        ("Renewal date", "RenewalDate", "Date", []),
    ]
    for label, field_name, field_type, options in fields:
        field_id = account.next_id()
        account.custom_fields[field_id] = {
            "id": field_id,
            "label": label,
            "field_name": field_name,
            "field_type": field_type,
            "options": [{"id": account.next_id(), "label": option} for option in options],
            "group_id": 1,
            "group_name": "Additional information",
        }

    categories = {}
    for name, description in (("Lead source", "Where a contact came from"), ("Lifecycle", "")):
        category = {
            "id": account.next_id(),
            "name": name,
            "description": description,
            "created_at": now,
            "updated_at": now,
        }
        account.tag_categories[category["id"]] = category
        categories[name] = category["id"]
    tag_specs = [
        ("Newsletter", "Receives the monthly newsletter", None),
        ("Customer", "Bought at least once", categories["Lifecycle"]),
        ("VIP", "", categories["Lifecycle"]),
        ("Webinar 2025 – Été", "Attended the summer webinar", categories["Lead source"]),
        ("Lead: website", "", categories["Lead source"]),
    ]
    tag_ids = []
    for name, description, category_id in tag_specs:
        tag = {
            "id": account.next_id(),
            "name": name,
            "description": description,
            "category_id": category_id,
            "created_at": now,
            "updated_at": now,
        }
        account.tags[tag["id"]] = tag
        tag_ids.append(tag["id"])

    company_ids = []
    companies = (
        ("Ñandú Logística S.A.", "nandu", "Sevilla"),
        ("Grüne Wiese GmbH", "gruene-wiese", "Köln"),
    )
    for company_name, domain, city in companies:
        company = {
            "id": account.next_id(),
            "company_name": company_name,
            "email": f"info@{domain}.example.com",
            "phone": {"number": "+34 954 123 456", "type": "Work"},
            "address": {"line1": "Calle Mayor 1", "locality": city, "country_code": "ESP"},
            "website": "https://example.com",
            "notes": "Sample company",
            "created_at": now,
            "updated_at": now,
        }
        account.companies[company["id"]] = company
        company_ids.append(company["id"])

    field_ids = list(account.custom_fields)
    for index, person in enumerate(SAMPLE_PEOPLE):
        given, family, handle, phone, city, region, country = person
        body = {
            "given_name": given,
            "family_name": family,
            "email_addresses": [
                {
                    "email": f"{handle}@example.com",
                    "field": "EMAIL1",
                    "opt_in_reason": "Signed up on the website",
                }
                if index % 3 == 0
                else {"email": f"{handle}@example.com", "field": "EMAIL1"},
                {"email": f"{handle}.work@example.org", "field": "EMAIL2"},
            ],
            "phone_numbers": [
                {"number": phone, "field": "PHONE1", "type": "Mobile"},
                {
                    "number": "+1 480-555-01" + f"{index:02d}",
                    "field": "PHONE2",
                    "type": "Work",
                    "extension": "12",
                },
            ],
            "addresses": [
                {
                    "field": "BILLING",
                    "line1": f"{index + 1} Rue de l'Église",
                    "locality": city,
                    "region": region,
                    "postal_code": f"{10000 + index}",
                    "country_code": country,
                },
                {
                    "field": "SHIPPING",
                    "line1": "Postfach 12",
                    "locality": city,
                    "region": region,
                    "country_code": country,
                },
            ],
            "custom_fields": [
                {"id": str(field_ids[0]), "content": ["Bleu", "Grün", "赤"][index % 3]},
                {"id": str(field_ids[1]), "content": ["Bronze", "Silver", "Gold"][index % 3]},
            ],
            "tag_ids": [str(tag_ids[index % len(tag_ids)])],
        }
        if index % 4 == 0:
            body["company"] = {"id": str(company_ids[index % 2])}
        seed_contact(state, account, body)


def demo_oauth_settings() -> tuple[str, str, str]:
    """Return (client id, secret, redirect URI) from Django settings, with sandbox defaults."""
    try:
        from django.conf import settings

        client_id = getattr(settings, "KEAP_CLIENT_ID", "") or DEMO_CLIENT_ID
        client_secret = getattr(settings, "KEAP_CLIENT_SECRET", "") or DEMO_CLIENT_SECRET
        portal = getattr(settings, "PORTAL_BASE_URL", "") or DEFAULT_PORTAL_BASE_URL
    except Exception:  # noqa: BLE001 - Django settings are optional; without them use defaults
        client_id, client_secret, portal = (
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            DEFAULT_PORTAL_BASE_URL,
        )
    return client_id, client_secret, portal.rstrip("/") + OAUTH_CALLBACK_PATH


DEMO_ACCOUNTS = [
    ("ab123", "Café Lumière", ("Amélie", "Poulain", "amelie@cafe-lumiere.example.com")),
    ("xy789", "大阪商事 Ōsaka Trading", ("Kenji", "Sató", "kenji@osaka-trading.example.com")),
]


def seed_demo(state: SandboxState) -> dict:
    """Create the demo accounts, one PAT each and the portal's OAuth client; return them."""
    summary = {"accounts": [], "oauth_client": None}
    for app_name, name, (given, family, email) in DEMO_ACCOUNTS:
        if app_name in state.accounts:
            raise ValueError(f"Account {app_name!r} already exists: reset the sandbox first.")
        account = create_account(state, app_name, name)
        admin = add_user(state, account, email, given, family, is_admin=True)
        add_user(state, account, f"staff@{app_name}.example.com", "Renée", "Østergård")
        seed_sample_data(state, account)
        pat = create_api_key(state, app_name, "PAT", admin.id, name="Demo PAT")
        summary["accounts"].append(
            {
                "app_name": app_name,
                "tenant_id": account.tenant_id,
                "name": name,
                "admin_user_id": admin.id,
                "pat": pat.key,
                "pat_key_id": pat.key_id,
            }
        )
    client_id, client_secret, redirect_uri = demo_oauth_settings()
    client = create_oauth_client(
        state, [redirect_uri], client_id, client_secret, name="Connector portal (demo)"
    )
    summary["oauth_client"] = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uris": client.redirect_uris,
    }
    return summary
