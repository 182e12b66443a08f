"""The sandbox's in-memory state: accounts and their data, credentials, and the request log.

One `SandboxState` holds everything, guarded by one re-entrant lock (`state.lock`). Request
handlers take the lock for their whole read-modify-write, so the threaded server never shows a
half-applied change. Nothing here touches the portal's database.
"""

import collections
import itertools
import secrets
import threading
from dataclasses import dataclass, field

from keap_sandbox.clock import SandboxClock
from keap_sandbox.faults import FaultSettings
from keap_sandbox.quotas import QuotaCounter, QuotaLimits

ACCESS_TOKEN_LIFETIME = 24 * 3600
REFRESH_TOKEN_LIFETIME = 45 * 24 * 3600
# Keap documents no code lifetime; ten minutes is what RFC 6749 section 4.1.2 recommends at most.
AUTHORIZATION_CODE_LIFETIME = 10 * 60
REQUEST_LOG_SIZE = 20_000


def new_api_key() -> str:
    """Return a key in the form seen in Keap's keys: `KeapAK-` and 50 hex characters."""
    return "KeapAK-" + secrets.token_hex(25)


@dataclass
class User:
    id: int
    email: str
    given_name: str
    family_name: str
    is_admin: bool = False
    middle_name: str = ""
    preferred_name: str = ""


@dataclass
class Account:
    """One Keap application ("app"), such as `ab123.infusionsoft.com`."""

    app_name: str
    name: str
    profile: dict
    users: dict[int, User] = field(default_factory=dict)
    contacts: dict[int, dict] = field(default_factory=dict)
    tags: dict[int, dict] = field(default_factory=dict)
    tag_categories: dict[int, dict] = field(default_factory=dict)
    custom_fields: dict[int, dict] = field(default_factory=dict)
    companies: dict[int, dict] = field(default_factory=dict)
    hooks: dict[str, dict] = field(default_factory=dict)
    id_counter: itertools.count = field(default_factory=lambda: itertools.count(101))

    @property
    def tenant_id(self) -> str:
        return f"{self.app_name}.infusionsoft.com"

    def next_id(self) -> int:
        """Return a new object id. Ids are per account, as in Keap, so two accounts share ids."""
        return next(self.id_counter)

    def primary_user(self) -> User:
        admins = [user for user in self.users.values() if user.is_admin]
        return (admins or list(self.users.values()))[0]


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = "Sandbox OAuth client"


@dataclass
class ApiKey:
    """A Personal Access Token (PAT) or Service Account Key (SAK) of one account."""

    key_id: str
    key: str
    kind: str
    app_name: str
    user_id: int
    name: str
    created_at: float
    last_used_at: float | None = None
    is_deleted: bool = False


@dataclass
class AccessToken:
    token_id: str
    token: str
    client_id: str
    app_name: str
    user_id: int
    expires_at: float
    is_revoked: bool = False


@dataclass
class RefreshToken:
    token_id: str
    token: str
    client_id: str
    app_name: str
    user_id: int
    expires_at: float
    is_used: bool = False
    is_revoked: bool = False


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    app_name: str
    user_id: int
    expires_at: float
    is_used: bool = False
    issued_token_ids: list[str] = field(default_factory=list)


@dataclass
class TokenLifetimes:
    """Seconds each OAuth artefact lives; tests shorten them."""

    access_token: int = ACCESS_TOKEN_LIFETIME
    refresh_token: int = REFRESH_TOKEN_LIFETIME
    authorization_code: int = AUTHORIZATION_CODE_LIFETIME


class SandboxState:
    """The whole sandbox state. Callers hold `lock` while they read or change it."""

    def __init__(self, clock: SandboxClock | None = None):
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        # Set whenever a hook event is queued, so the dispatcher thread wakes at once.
        self.hook_wakeup = threading.Event()
        # The sandbox's own address, used in `apiUrl` of hook payloads; the server sets it.
        self.public_base_url = "http://127.0.0.1:8765"
        self.reset()

    def reset(self) -> None:
        """Forget all accounts, credentials, counts, faults and log entries, but keep the clock."""
        with self.lock:
            self.accounts: dict[str, Account] = {}
            self.oauth_clients: dict[str, OAuthClient] = {}
            self.api_keys: dict[str, ApiKey] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.authorization_codes: dict[str, AuthorizationCode] = {}
            self.lifetimes = TokenLifetimes()
            self.quota_limits = QuotaLimits()
            self.quota_counter = QuotaCounter()
            self.faults = FaultSettings()
            self.request_log: collections.deque = collections.deque(maxlen=REQUEST_LOG_SIZE)
            self.hook_deliveries: list[dict] = []
            self.hook_outbox: list = []
            # Multiplies Keap's hook delays (30 s to 30 min); tests set it to about 0.001.
            self.hook_time_scale = 1.0
            self.user_ids = itertools.count(1001)
            self.credential_ids = itertools.count(1)

    def now(self) -> float:
        return self.clock.now()

    # --- Accounts and users -------------------------------------------------------------------

    def get_account(self, app_name: str) -> Account:
        """Return the account for an app name or tenant id (`ab123` or `ab123.infusionsoft.com`)."""
        return self.accounts[app_name.removesuffix(".infusionsoft.com")]

    def find_user(self, user_id: int) -> tuple[Account, User] | None:
        for account in self.accounts.values():
            if user_id in account.users:
                return account, account.users[user_id]
        return None

    # --- Credentials --------------------------------------------------------------------------

    def new_credential_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.credential_ids)}"

    def find_api_key(self, key: str) -> ApiKey | None:
        for api_key in self.api_keys.values():
            if secrets.compare_digest(api_key.key, key):
                return api_key
        return None

    def issue_token_pair(
        self, client_id: str, app_name: str, user_id: int
    ) -> tuple[AccessToken, RefreshToken]:
        now = self.now()
        access = AccessToken(
            token_id=self.new_credential_id("access"),
            token=secrets.token_urlsafe(24),
            client_id=client_id,
            app_name=app_name,
            user_id=user_id,
            expires_at=now + self.lifetimes.access_token,
        )
        refresh = RefreshToken(
            token_id=self.new_credential_id("refresh"),
            token=secrets.token_urlsafe(24),
            client_id=client_id,
            app_name=app_name,
            user_id=user_id,
            expires_at=now + self.lifetimes.refresh_token,
        )
        self.access_tokens[access.token] = access
        self.refresh_tokens[refresh.token] = refresh
        return access, refresh

    def find_token(self, token_id: str) -> AccessToken | RefreshToken | None:
        for token in [*self.access_tokens.values(), *self.refresh_tokens.values()]:
            if token.token_id == token_id:
                return token
        return None
