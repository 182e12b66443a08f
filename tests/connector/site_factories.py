"""Factories for client sites and site keys. Each returns saved rows.

They write the rows directly, without the actions, so they add no audit events: a test that
deletes a tenant by a plain `delete()` would otherwise hit the audit log's append-only trigger.
"""

import itertools
from types import SimpleNamespace

from connector import sites
from connector.site_models import ClientSite, Consent, SiteKey
from tests.connector.factories import make_connection

_sequence = itertools.count(1)


def make_site(
    tenant,
    *,
    connection=None,
    scopes=("contacts:write", "tags:apply"),
    status=ClientSite.Status.ACTIVE,
    name=None,
    requests_per_minute=None,
    expires_at=None,
    created_by=None,
):
    """Create a client site with a consent record and one key.

    Returns a namespace with `site`, `site_key` and `raw_key`.
    """
    site = ClientSite(
        tenant=tenant,
        name=name or f"Site {next(_sequence)}",
        connection=connection or make_connection(tenant),
        scopes=sorted(scopes),
        status=status,
        created_by=created_by,
    )
    if requests_per_minute is not None:
        site.requests_per_minute = requests_per_minute
    site.save()
    Consent.objects.create(
        tenant=tenant,
        site=site,
        connection=site.connection,
        scopes=site.scopes,
        granted_by=created_by,
        kind=Consent.Kind.GRANTED,
    )
    site_key, raw_key = add_key(site, expires_at=expires_at)
    return SimpleNamespace(site=site, site_key=site_key, raw_key=raw_key)


def add_key(site, *, expires_at=None):
    """Create another key for `site`; returns (SiteKey, raw key)."""
    raw_key, lookup_id = sites.generate_key()
    site_key = SiteKey.objects.create(
        tenant=site.tenant,
        site=site,
        lookup_id=lookup_id,
        digest=sites.key_digest(raw_key),
        hint=raw_key[-4:],
        expires_at=expires_at,
    )
    return site_key, raw_key


def signed_in(client, membership, *, mfa=True, seconds_ago=0):
    """Sign `client` in as `membership`'s user, with TOTP set up unless `mfa` is False.

    `seconds_ago` dates the sign-in; more than 900 makes sensitive pages ask for the password.
    """
    from allauth.mfa.models import Authenticator

    from tests import factories

    if mfa:
        Authenticator.objects.create(
            user=membership.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
        )
    return factories.login(client, membership.user, seconds_ago=seconds_ago)
