"""Authenticating a client site by its site key.

Every request reads the key, its site and its connection from the database, and nothing caches
a positive result, so revoking a key, a site or a connection rejects the very next request.
"""

import hmac
from datetime import timedelta

from django.utils import timezone

from connector.models import Connection
from connector.site_models import ClientSite, SiteKey
from connector.sites import key_digest, parse_lookup_id

# `last_used_at` and `last_used_ip` are written at most this often per key, so a busy site does
# not turn every request into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Compared against when the lookup id is unknown, so that case costs an HMAC and a comparison
# like a known id with a wrong secret does.
_UNKNOWN_KEY_DIGEST = "0" * 64


class SiteAuthError(Exception):
    """A site key that cannot be used.

    `code` is one of `missing_key`, `invalid_key`, `revoked_key`, `expired_key`, `site_paused`,
    `site_revoked` or `connection_revoked`. `site_key` is the row that the key's lookup id
    named, or None when there was none. It is set even when the secret did not match, so the
    caller can audit the attempt against that key.
    """

    def __init__(self, code, site_key=None):
        super().__init__(code)
        self.code = code
        self.site_key = site_key


def authenticate_site_key(raw_key: str, *, source_ip: str | None = None) -> SiteKey:
    """Return the SiteKey for `raw_key` with its site, connection and tenant loaded.

    Loads them in one query and compares digests in constant time. Raises SiteAuthError when
    the key is missing, malformed, unknown, wrong, revoked or expired, or when its site is
    paused or revoked or its connection revoked. Records the time and `source_ip` of use at most
    once per LAST_USED_RESOLUTION.
    """
    if not raw_key:
        raise SiteAuthError("missing_key")

    lookup_id = parse_lookup_id(raw_key)
    site_key = None
    if lookup_id is not None:
        site_key = (
            SiteKey.objects.select_related("tenant", "site", "site__connection")
            .filter(lookup_id=lookup_id)
            .first()
        )

    expected = site_key.digest if site_key else _UNKNOWN_KEY_DIGEST
    if not hmac.compare_digest(key_digest(raw_key), expected) or site_key is None:
        raise SiteAuthError("invalid_key", site_key)

    now = timezone.now()
    _check_usable(site_key, now)
    _note_use(site_key, now, source_ip)
    return site_key


def _check_usable(site_key, now):
    site = site_key.site
    # The site's state is checked first, because revoking a site also revokes its keys and
    # `site_revoked` gives the caller the more useful reason.
    if site.status == ClientSite.Status.REVOKED:
        raise SiteAuthError("site_revoked", site_key)
    if site_key.revoked_at is not None:
        raise SiteAuthError("revoked_key", site_key)
    if site_key.is_expired(now):
        raise SiteAuthError("expired_key", site_key)
    if site.connection.status == Connection.Status.REVOKED:
        raise SiteAuthError("connection_revoked", site_key)
    if site.status == ClientSite.Status.PAUSED:
        raise SiteAuthError("site_paused", site_key)


def _note_use(site_key, now, source_ip):
    previous = site_key.last_used_at
    if previous is not None and now - previous < LAST_USED_RESOLUTION:
        return

    # The condition makes concurrent requests write once between them.
    stale = SiteKey.objects.filter(pk=site_key.pk)
    if previous is None:
        stale = stale.filter(last_used_at__isnull=True)
    else:
        stale = stale.filter(last_used_at=previous)
    stale.update(last_used_at=now, last_used_ip=source_ip)
    site_key.last_used_at = now
    site_key.last_used_ip = source_ip
