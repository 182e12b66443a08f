"""Connections to Keap, their encrypted credentials and each tenant's vault keyset.

Client sites, site keys and jobs will sit beside these models.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from tenants.models import TenantOwnedModel

# Keap access tokens last about 24 hours; refreshing a few minutes early keeps a call that is
# about to start from carrying a token that expires in flight.
ACCESS_TOKEN_REFRESH_MARGIN = timedelta(minutes=5)

# Keap refresh tokens last 45 days. Keap staff recommend refreshing any token older than about
# 30 days, so an idle connection never reaches the limit.
# Source: https://integration.keap.com/t/how-to-get-access-token/86529
REFRESH_TOKEN_MAX_AGE = timedelta(days=30)


class TenantKeyset(models.Model):
    """A tenant's Tink AEAD keyset, stored wrapped by the master keyset.

    `encrypted_keyset` is Tink's JSON `EncryptedKeyset`: the keyset encrypted under the master
    AEAD with the tenant's public id as associated data, plus the unencrypted key ids.
    """

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="vault_keyset"
    )
    encrypted_keyset = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"vault keyset of tenant {self.tenant_id}"


class Connection(TenantOwnedModel):
    """One tenant's link to one Keap account."""

    class Method(models.TextChoices):
        PAT = "pat", "Personal access token"
        SAK = "sak", "Service account key"
        OAUTH = "oauth", "OAuth (Connect with Keap)"

    class Status(models.TextChoices):
        # Created with a credential that a worker is still checking with Keap; deleted if Keap
        # rejects it.
        PENDING = "pending", "Checking with Keap"
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs reconnecting"
        REVOKED = "revoked", "Revoked"

    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    keap_tenant_id = models.CharField(max_length=255, blank=True)
    keap_account_name = models.CharField(max_length=200, blank=True)
    keap_user_email = models.EmailField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Connecting the same Keap account twice by the same method would give two rows
            # that refresh the same OAuth grant or share one key's quota; reconnecting reuses
            # the existing row instead.
            models.UniqueConstraint(
                fields=["tenant", "keap_tenant_id", "method"],
                condition=models.Q(status__in=["active", "needs_reauth"]),
                name="connector_connection_one_live_per_account",
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["pat", "sak", "oauth"]),
                name="connector_connection_known_method",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "active", "needs_reauth", "revoked"]),
                name="connector_connection_known_status",
            ),
        ]
        indexes = [
            # The health check task: active connections, least recently checked first.
            models.Index(fields=["status", "last_checked_at"], name="connector_conn_health_idx"),
            # The connections page: a tenant's connections, newest first.
            models.Index(fields=["tenant", "-created_at"], name="connector_conn_tenant_idx"),
        ]

    def __str__(self):
        account = self.keap_account_name or self.keap_tenant_id or "unverified account"
        return f"{account} ({self.get_method_display()}, {self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("connection_detail", args=[self.public_id])

    @property
    def is_api_key(self):
        return self.method in (self.Method.PAT, self.Method.SAK)

    @property
    def display_name(self):
        return self.keap_account_name or self.keap_tenant_id or "Keap account (checking)"

    @property
    def label(self):
        """Return the account's name and connection method, so that pages distinguish two
        connections of one Keap account (one by key, one by OAuth)."""
        short = {"pat": "PAT", "sak": "SAK", "oauth": "OAuth"}[self.method]
        return f"{self.display_name} ({short})"


class Credential(TenantOwnedModel):
    """The secret material of a connection, only ever stored as Tink AEAD ciphertext.

    Each ciphertext is encrypted with the tenant's keyset and associated data naming the tenant,
    the connection and the field, so a value copied to another row or field does not decrypt.
    A connection has at most one current credential and one pending one: a pending credential
    is a replacement that a worker is still checking with Keap.
    """

    class Field(models.TextChoices):
        API_KEY = "api_key", "API key"
        ACCESS_TOKEN = "access_token", "Access token"
        REFRESH_TOKEN = "refresh_token", "Refresh token"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="credentials")
    is_pending = models.BooleanField(default=False)
    api_key_ciphertext = models.BinaryField(null=True, blank=True)
    access_token_ciphertext = models.BinaryField(null=True, blank=True)
    refresh_token_ciphertext = models.BinaryField(null=True, blank=True)
    # The last four characters of a PAT or SAK, shown so the owner can tell keys apart.
    key_hint = models.CharField(max_length=4, blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "connection", "is_pending"],
                name="connector_credential_one_current_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(api_key_ciphertext__isnull=False)
                | models.Q(
                    access_token_ciphertext__isnull=False,
                    refresh_token_ciphertext__isnull=False,
                    access_token_expires_at__isnull=False,
                    refresh_token_issued_at__isnull=False,
                ),
                name="connector_credential_has_secret",
            ),
        ]
        indexes = [
            # The refresh task: OAuth credentials whose access token expires soon.
            models.Index(fields=["access_token_expires_at"], name="connector_cred_expiry_idx"),
            # The refresh task: OAuth credentials whose refresh token is older than 30 days.
            models.Index(fields=["refresh_token_issued_at"], name="connector_cred_issued_idx"),
        ]

    def __str__(self):
        state = "pending credential" if self.is_pending else "credential"
        return f"{state} of connection {self.connection_id}"

    def ciphertext(self, field):
        return getattr(self, f"{field}_ciphertext")

    def set_ciphertext(self, field, value):
        setattr(self, f"{field}_ciphertext", value)

    def is_access_token_due(self, now=None, margin=ACCESS_TOKEN_REFRESH_MARGIN):
        """Return whether the access token expires within `margin` of `now`."""
        now = now or timezone.now()
        return self.access_token_expires_at <= now + margin

    def is_refresh_token_old(self, now=None):
        now = now or timezone.now()
        return self.refresh_token_issued_at <= now - REFRESH_TOKEN_MAX_AGE


from connector.job_models import Job, JobAttempt  # noqa: E402,F401
from connector.site_models import ClientSite, Consent, SiteKey  # noqa: E402,F401
