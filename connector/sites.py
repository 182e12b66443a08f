"""Actions on client sites and site keys, and how site keys are made and checked.

`do_*` functions change state and write their audit event in the same transaction.

A site key reads `kpsk_<lookup id>_<secret>`: the `kpsk_` prefix lets secret scanners find a
leaked key, the lookup id (16 hex characters) finds its row in one indexed query, and the secret
carries 256 random bits. The portal stores only HMAC-SHA256 of the whole key under
SITE_KEY_HMAC_KEY, so a copy of the database cannot be used to call the API. Changing
SITE_KEY_HMAC_KEY makes every issued key invalid.
"""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from connector.actor import Actor
from connector.keyformats import SITE_KEY_PREFIX
from connector.models import Connection
from connector.scopes import validate_scope_names
from connector.site_models import ClientSite, Consent, SiteKey
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

LOOKUP_ID_BYTES = 8
SECRET_BYTES = 32

# Overlaps a rotated key may keep working for, offered on the rotation page.
ROTATION_OVERLAPS = {
    "0": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_ROTATION_OVERLAP = "24h"

# Fixed input for deriving the HMAC key from SECRET_KEY in demo and test mode.
_DERIVATION_LABEL = b"connector-portal site key digests"


class SiteError(Exception):
    """A site or key action that cannot run in the object's current state.

    `code` keys `error_messages`.
    """

    def __init__(self, code):
        super().__init__(code)
        self.code = code

    @property
    def message(self):
        return error_messages[self.code]


error_messages = {
    "connection_not_active": (
        "That Keap connection is not active. Pick an active connection, or reconnect this one "
        "first."
    ),
    "site_revoked": "This site is revoked, so it cannot be changed. Create a new site instead.",
    "key_not_usable": (
        "This key is already revoked or expired, so it cannot be rotated. Create a new key instead."
    ),
}


@dataclass(frozen=True)
class IssuedKey:
    """A newly created site key row and its raw value, which exists only in this object."""

    site_key: SiteKey
    raw_key: str = field(repr=False)


# --- Key material -----------------------------------------------------------------------------


def hmac_key() -> bytes:
    """Return the server secret that keys site key digests.

    Uses SITE_KEY_HMAC_KEY. Outside production an empty value is replaced by a key derived from
    SECRET_KEY; in production an empty value raises ImproperlyConfigured.
    """
    configured = getattr(settings, "SITE_KEY_HMAC_KEY", "")
    if configured:
        return configured.encode()
    if getattr(settings, "IS_PRODUCTION", True):
        raise ImproperlyConfigured(
            "Missing required environment variable SITE_KEY_HMAC_KEY: set it to a long random "
            "value, for example the output of `openssl rand -hex 32`."
        )
    return hmac.new(settings.SECRET_KEY.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()


def key_digest(raw_key: str) -> str:
    """Return the hex HMAC-SHA256 digest of a whole site key."""
    return hmac.new(hmac_key(), raw_key.encode(), hashlib.sha256).hexdigest()


def generate_key() -> tuple[str, str]:
    """Return a new (raw key, lookup id)."""
    lookup_id = secrets.token_hex(LOOKUP_ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{SITE_KEY_PREFIX}{lookup_id}_{secret}", lookup_id


def parse_lookup_id(raw_key: str) -> str | None:
    """Return the lookup id of a key shaped like a site key, or None for any other string."""
    if not raw_key.startswith(SITE_KEY_PREFIX):
        return None
    lookup_id, separator, secret = raw_key[len(SITE_KEY_PREFIX) :].partition("_")
    shaped = (
        separator
        and len(lookup_id) == LOOKUP_ID_BYTES * 2
        and all(character in "0123456789abcdef" for character in lookup_id)
        and secret
    )
    return lookup_id if shaped else None


# --- Sites ------------------------------------------------------------------------------------


def do_create_site(
    tenant,
    *,
    name,
    connection,
    scopes,
    actor: Actor,
    requests_per_minute=None,
    key_expires_at=None,
    request=None,
) -> IssuedKey:
    """Create a client site bound to `connection`, record the consent and issue its first key.

    Returns the IssuedKey; its `site_key.site` is the new site. Raises ValueError for unknown
    scopes and SiteError("connection_not_active") unless the connection is active and belongs
    to `tenant`.
    """
    scopes = validate_scope_names(scopes)
    created_by = _user_of(actor)
    with transaction.atomic():
        locked = Connection.objects.select_for_update().filter(pk=connection.pk).first()
        if locked is None or locked.tenant_id != tenant.pk:
            raise SiteError("connection_not_active")
        if locked.status != Connection.Status.ACTIVE:
            raise SiteError("connection_not_active")

        site = ClientSite(
            tenant=tenant, name=name, connection=locked, scopes=scopes, created_by=created_by
        )
        if requests_per_minute is not None:
            site.requests_per_minute = requests_per_minute
        site.save()
        _record_consent(site, Consent.Kind.GRANTED, granted_by=created_by)
        record_event(
            tenant,
            "site.created",
            **actor.audit_fields(),
            target_type="client_site",
            target_id=site.public_id,
            details={
                "name": name,
                "connection": str(locked.public_id),
                "scopes": scopes,
                "requests_per_minute": site.requests_per_minute,
            },
            request=request,
        )
        issued = do_create_site_key(site, actor=actor, expires_at=key_expires_at, request=request)

    logger.info("[site=%s tenant=%s] created", site.public_id, tenant.public_id)
    return issued


def do_update_site(site, *, name, scopes, requests_per_minute, actor: Actor, request=None):
    """Change a site's name, request limit and scopes, auditing each kind of change.

    A change of scopes goes through `do_update_site_scopes`, which records a new consent.
    Returns the names of the fields that changed. Raises SiteError("site_revoked").
    """
    with transaction.atomic():
        locked = _lock_site(site)
        changed = []
        old = {"name": locked.name, "requests_per_minute": locked.requests_per_minute}
        if name != locked.name:
            locked.name = name
            changed.append("name")
        if requests_per_minute != locked.requests_per_minute:
            locked.requests_per_minute = requests_per_minute
            changed.append("requests_per_minute")
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            record_event(
                locked.tenant,
                "site.updated",
                **actor.audit_fields(),
                target_type="client_site",
                target_id=locked.public_id,
                details={
                    "old": {field: old[field] for field in changed},
                    "new": {field: getattr(locked, field) for field in changed},
                },
                request=request,
            )
        if do_update_site_scopes(locked, scopes, actor=actor, request=request):
            changed.append("scopes")

    _refresh(site, locked)
    return changed


def do_update_site_scopes(site, scopes, *, actor: Actor, request=None) -> bool:
    """Replace a site's scopes and record the change as a new consent by `actor`.

    Returns False when the scopes are unchanged (no consent is recorded). Raises ValueError for
    unknown scopes and SiteError("site_revoked") for a revoked site.
    """
    scopes = validate_scope_names(scopes)
    with transaction.atomic():
        locked = _lock_site(site)
        old_scopes = list(locked.scopes)
        if scopes == old_scopes:
            return False

        locked.scopes = scopes
        locked.save(update_fields=["scopes", "updated_at"])
        _record_consent(locked, Consent.Kind.CHANGED, granted_by=_user_of(actor))
        record_event(
            locked.tenant,
            "site.scopes_changed",
            **actor.audit_fields(),
            target_type="client_site",
            target_id=locked.public_id,
            details={"old": old_scopes, "new": scopes},
            request=request,
        )

    _refresh(site, locked)
    return True


def do_pause_site(site, *, actor: Actor, request=None) -> bool:
    """Pause an active site: its keys are rejected with `site_paused` until it is resumed.

    Returns False when the site was not active.
    """
    return _change_status(
        site, ClientSite.Status.ACTIVE, ClientSite.Status.PAUSED, "site.paused", actor, request
    )


def do_resume_site(site, *, actor: Actor, request=None) -> bool:
    """Resume a paused site. Returns False when the site was not paused."""
    return _change_status(
        site, ClientSite.Status.PAUSED, ClientSite.Status.ACTIVE, "site.resumed", actor, request
    )


def do_revoke_site(site, *, actor: Actor, request=None) -> bool:
    """Revoke a site for good: revoke all its keys and record an empty consent.

    The very next request with any of its keys is rejected, because authentication reads the
    site's status from the database on every request. Returns False when already revoked.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = ClientSite.objects.select_for_update().filter(pk=site.pk).first()
        if locked is None or locked.status == ClientSite.Status.REVOKED:
            return False

        old_status = locked.status
        locked.status = ClientSite.Status.REVOKED
        locked.revoked_at = now
        locked.save(update_fields=["status", "revoked_at", "updated_at"])
        keys_revoked = SiteKey.objects.filter(site=locked, revoked_at__isnull=True).update(
            revoked_at=now
        )
        _record_consent(locked, Consent.Kind.REVOKED, granted_by=_user_of(actor), scopes=[])
        record_event(
            locked.tenant,
            "site.revoked",
            **actor.audit_fields(),
            target_type="client_site",
            target_id=locked.public_id,
            details={"old": old_status, "new": "revoked", "keys_revoked": keys_revoked},
            request=request,
        )

    _refresh(site, locked)
    logger.info("[site=%s tenant=%s] revoked", locked.public_id, locked.tenant.public_id)
    return True


# --- Site keys --------------------------------------------------------------------------------


def do_create_site_key(site, *, actor: Actor, expires_at=None, request=None) -> IssuedKey:
    """Issue a new key for `site` and return it with its raw value, which is never stored.

    Raises SiteError("site_revoked") for a revoked site. A paused site may get keys; they work
    once the site is resumed.
    """
    raw_key, lookup_id = generate_key()
    with transaction.atomic():
        locked = _lock_site(site)
        site_key = SiteKey.objects.create(
            tenant=locked.tenant,
            site=locked,
            lookup_id=lookup_id,
            digest=key_digest(raw_key),
            hint=raw_key[-4:],
            created_by=_user_of(actor),
            expires_at=expires_at,
        )
        record_event(
            locked.tenant,
            "site_key.created",
            **actor.audit_fields(),
            target_type="site_key",
            target_id=site_key.public_id,
            details={
                "site": str(locked.public_id),
                "hint": site_key.hint,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
            request=request,
        )
    return IssuedKey(site_key, raw_key)


def do_rotate_site_key(
    site_key, *, overlap: timedelta, actor: Actor, expires_at=None, request=None
) -> IssuedKey:
    """Issue a replacement for `site_key` and let the old key work for `overlap` more.

    The old key's `expires_at` becomes now + overlap, or stays earlier if it already was, so a
    zero overlap ends it at once. Returns the new key. Raises SiteError("key_not_usable") for a
    revoked or expired key and SiteError("site_revoked") for a revoked site.
    """
    if overlap < timedelta(0):
        raise ValueError(f"Invalid overlap {overlap}: use zero or more.")

    now = timezone.now()
    with transaction.atomic():
        old = SiteKey.objects.select_for_update().filter(pk=site_key.pk).first()
        if old is None or not old.is_valid(now):
            raise SiteError("key_not_usable")
        issued = do_create_site_key(old.site, actor=actor, expires_at=expires_at, request=request)

        old_expires_at = old.expires_at
        old.expires_at = min(filter(None, [old_expires_at, now + overlap]))
        old.save(update_fields=["expires_at"])
        record_event(
            old.tenant,
            "site_key.rotated",
            **actor.audit_fields(),
            target_type="site_key",
            target_id=old.public_id,
            details={
                "site": str(old.site.public_id),
                "replacement": str(issued.site_key.public_id),
                "old": {"expires_at": old_expires_at.isoformat() if old_expires_at else None},
                "new": {"expires_at": old.expires_at.isoformat()},
            },
            request=request,
        )

    site_key.expires_at = old.expires_at
    return issued


def do_revoke_site_key(site_key, *, actor: Actor, request=None) -> bool:
    """Revoke one key; its very next request is rejected. Returns False if already revoked."""
    now = timezone.now()
    with transaction.atomic():
        changed = SiteKey.objects.filter(pk=site_key.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not changed:
            return False

        record_event(
            site_key.tenant,
            "site_key.revoked",
            **actor.audit_fields(),
            target_type="site_key",
            target_id=site_key.public_id,
            details={"site": str(site_key.site.public_id), "hint": site_key.hint},
            request=request,
        )

    site_key.revoked_at = now
    return True


# --- Denied API requests ----------------------------------------------------------------------


def do_record_key_rejection(site_key, code, *, request=None):
    """Audit a rejected API request that presented `site_key` (a known lookup id).

    Records `site_key.rejected` with outcome denied. Repeats are throttled, see
    `_record_throttled`. The details hold the rejection code only, never the presented key.
    """
    site = site_key.site
    _record_throttled(
        site_key.tenant,
        "site_key.rejected",
        throttle_key=f"{site_key.public_id}:{code}",
        actor=_site_actor(site),
        target_type="site_key",
        target_id=site_key.public_id,
        details={"code": code, "site": str(site.public_id)},
        request=request,
    )


def do_record_scope_denial(site, missing_scopes, *, request=None):
    """Audit an API request refused because `site` lacks `missing_scopes` (`scope.denied`)."""
    missing = sorted(missing_scopes)
    _record_throttled(
        site.tenant,
        "scope.denied",
        throttle_key=f"{site.public_id}:{','.join(missing)}",
        actor=_site_actor(site),
        target_type="client_site",
        target_id=site.public_id,
        details={"missing": missing, "path": request.path if request else ""},
        request=request,
    )


def _record_throttled(tenant, action, *, throttle_key, actor, details, request, **target):
    """Record an audit event at most once per SITE_DENIAL_AUDIT_SECONDS (60) per throttle key.

    A site that keeps calling with a revoked key or a missing scope would otherwise add an
    event per request. Repeats inside the interval are counted in the cache, and the next
    recorded event carries their number as `repeats_not_recorded`. When the cache is down,
    every event is recorded.
    """
    interval = getattr(settings, "SITE_DENIAL_AUDIT_SECONDS", 60)
    window_key = f"sites:denial:{action}:{throttle_key}"
    count_key = f"{window_key}:repeats"
    try:
        if not cache.add(window_key, 1, interval):
            cache.add(count_key, 0, None)
            cache.incr(count_key)
            return
        repeats = cache.get(count_key, 0)
        cache.delete(count_key)
    except redis.RedisError as error:
        logger.warning("[tenant=%s] audit throttle unavailable: %s", tenant.public_id, error)
        repeats = 0

    record_event(
        tenant,
        action,
        **actor.audit_fields(),
        outcome=AuditEvent.Outcome.DENIED,
        details={**details, "repeats_not_recorded": repeats},
        request=request,
        **target,
    )


# --- Helpers ----------------------------------------------------------------------------------


def _lock_site(site):
    locked = ClientSite.objects.select_for_update().select_related("tenant").get(pk=site.pk)
    if locked.status == ClientSite.Status.REVOKED:
        raise SiteError("site_revoked")
    return locked


def _change_status(site, old_status, new_status, action, actor, request):
    with transaction.atomic():
        changed = ClientSite.objects.filter(pk=site.pk, status=old_status).update(
            status=new_status, updated_at=timezone.now()
        )
        if not changed:
            return False

        record_event(
            site.tenant,
            action,
            **actor.audit_fields(),
            target_type="client_site",
            target_id=site.public_id,
            details={"old": old_status, "new": new_status},
            request=request,
        )

    site.status = new_status
    logger.info("[site=%s tenant=%s] %s", site.public_id, site.tenant.public_id, action)
    return True


def _record_consent(site, kind, *, granted_by, scopes=None):
    return Consent.objects.create(
        tenant=site.tenant,
        site=site,
        connection_id=site.connection_id,
        scopes=list(site.scopes) if scopes is None else scopes,
        granted_by=granted_by,
        kind=kind,
    )


def _user_of(actor):
    from django.contrib.auth import get_user_model

    if actor.type != AuditEvent.ActorType.USER or not actor.id:
        return None
    return get_user_model().objects.filter(pk=actor.id).first()


def _site_actor(site):
    return Actor(AuditEvent.ActorType.CLIENT_SITE, str(site.public_id), site.name)


def _refresh(site, locked):
    """Copy the saved state of the locked copy back to the caller's instance."""
    for name in ("name", "scopes", "status", "requests_per_minute", "revoked_at", "updated_at"):
        setattr(site, name, getattr(locked, name))
