"""Client sites, their site keys and the consent records behind their scopes.

A client site is a site or script allowed to call the client API through one Keap connection.
It authenticates with a portal-issued site key, stored only as an HMAC digest, and may call
only the operations of the scopes its consent grants.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from connector.models import Connection
from tenants.mfa import register_mfa_condition
from tenants.models import TenantOwnedModel

# Keap allows one account 10,000 requests a minute whatever the credential, so a higher limit
# for one site would never be reached.
MAX_SITE_REQUESTS_PER_MINUTE = 10_000


def default_requests_per_minute():
    """Default request limit of a new client site, from SITE_REQUESTS_PER_MINUTE (600)."""
    return getattr(settings, "SITE_REQUESTS_PER_MINUTE", 600)


class ClientSite(TenantOwnedModel):
    """A site or script allowed to use one connection through the client API."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        REVOKED = "revoked", "Revoked"

    name = models.CharField(max_length=100)
    # RESTRICT keeps a connection row, and so the site's consent history, from being deleted
    # while a site refers to it. Revoking a connection only changes its status, and deleting
    # the tenant still removes both, because the tenant cascade reaches the site too.
    connection = models.ForeignKey(
        Connection, on_delete=models.RESTRICT, related_name="client_sites"
    )
    # Scope names from connector.scopes.SCOPES, sorted, validated by validate_scope_names.
    scopes = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    requests_per_minute = models.PositiveIntegerField(
        default=default_requests_per_minute,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SITE_REQUESTS_PER_MINUTE)],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=~models.Q(status="revoked"),
                name="connector_clientsite_unique_live_name",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "paused", "revoked"]),
                name="connector_clientsite_known_status",
            ),
            models.CheckConstraint(
                condition=models.Q(requests_per_minute__gte=1),
                name="connector_clientsite_positive_limit",
            ),
        ]
        indexes = [
            # The sites page: a tenant's sites, newest first.
            models.Index(fields=["tenant", "-created_at"], name="connector_site_tenant_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("site_detail", args=[self.public_id])

    def is_usable(self) -> bool:
        """Return whether the site may authenticate: active, and its connection not revoked.

        A connection that needs reauthorisation still counts as usable here, because the
        endpoints that queue Keap calls return 409 for it instead.
        """
        return (
            self.status == self.Status.ACTIVE
            and self.connection.status != Connection.Status.REVOKED
        )


class SiteKey(TenantOwnedModel):
    """A bearer key of a client site, stored as an HMAC-SHA256 digest and shown only once."""

    site = models.ForeignKey(ClientSite, on_delete=models.CASCADE, related_name="keys")
    # The public part of the key, which finds the row in one indexed query. It is unique across
    # all tenants, not per tenant, because a request names no tenant before it is authenticated.
    lookup_id = models.CharField(max_length=32, unique=True)
    # HMAC-SHA256 of the whole key under SITE_KEY_HMAC_KEY, as 64 hex characters.
    digest = models.CharField(max_length=64)
    # The last four characters of the key, so the owner can tell keys apart.
    hint = models.CharField(max_length=4)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            # The site page: a site's keys, newest first.
            models.Index(fields=["site", "-created_at"], name="connector_sitekey_site_idx"),
        ]

    def __str__(self):
        return f"site key …{self.hint} of site {self.site_id}"

    def is_expired(self, now) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_valid(self, now) -> bool:
        """Return whether the key itself is neither revoked nor expired at `now`."""
        return self.revoked_at is None and not self.is_expired(now)


class Consent(TenantOwnedModel):
    """The record that a named user granted a client site a set of scopes on a connection."""

    class Kind(models.TextChoices):
        GRANTED = "granted", "Granted"
        CHANGED = "changed", "Changed"
        REVOKED = "revoked", "Revoked"

    site = models.ForeignKey(ClientSite, on_delete=models.CASCADE, related_name="consents")
    connection = models.ForeignKey(Connection, on_delete=models.RESTRICT, related_name="+")
    # The scopes in force after this record; empty for a revocation.
    scopes = models.JSONField(default=list)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["granted", "changed", "revoked"]),
                name="connector_consent_known_kind",
            ),
        ]
        indexes = [
            # The site page: a site's consent history, newest first.
            models.Index(fields=["site", "-granted_at"], name="connector_consent_site_idx"),
        ]

    def __str__(self):
        return f"consent {self.kind} for site {self.site_id}: {', '.join(self.scopes) or 'none'}"


def tenant_has_client_site(tenant):
    """Return whether `tenant` has a client site that is not revoked, which requires MFA."""
    return ClientSite.objects.for_tenant(tenant).exclude(status=ClientSite.Status.REVOKED).exists()


# Registered when Django imports the models, once per process, so the rule applies in every
# process that checks two-factor authentication.
register_mfa_condition(tenant_has_client_site)
