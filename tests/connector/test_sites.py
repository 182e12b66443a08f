"""Client site actions: create, change scopes, pause, resume, revoke, and their audit events."""

import pytest
from django.core.cache import cache
from django.db import IntegrityError

from connector import sites
from connector.actor import Actor
from connector.models import Connection
from connector.site_models import ClientSite, Consent, SiteKey, tenant_has_client_site
from tenants.actions import do_delete_tenant
from tenants.mfa import tenant_requires_mfa
from tenants.models import AuditEvent, Tenant
from tests import factories
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(owner):
    return Actor.for_user(owner.user)


def create(tenant, actor, **overrides):
    values = {
        "name": "Shop on example.com",
        "connection": make_connection(tenant),
        "scopes": ["tags:apply", "contacts:write"],
        "actor": actor,
    }
    values.update(overrides)
    return sites.do_create_site(tenant, **values)


# --- Create -----------------------------------------------------------------------------------


def test_create_makes_site_consent_key_and_events(tenant, owner, actor):
    issued = create(tenant, actor, requests_per_minute=120)

    site = issued.site_key.site
    assert site.name == "Shop on example.com"
    assert site.scopes == ["contacts:write", "tags:apply"]
    assert site.status == ClientSite.Status.ACTIVE
    assert site.requests_per_minute == 120
    assert site.created_by == owner.user
    consent = Consent.objects.get(site=site)
    assert consent.kind == Consent.Kind.GRANTED
    assert consent.scopes == ["contacts:write", "tags:apply"]
    assert consent.granted_by == owner.user
    assert consent.connection_id == site.connection_id
    assert SiteKey.objects.filter(site=site).count() == 1

    created = factories.audit_events(tenant, "site.created")
    assert len(created) == 1
    assert created[0].target_id == str(site.public_id)
    assert created[0].actor_id == str(owner.user.pk)
    assert created[0].details["scopes"] == ["contacts:write", "tags:apply"]
    assert len(factories.audit_events(tenant, "site_key.created")) == 1


def test_create_uses_default_request_limit(tenant, actor, settings):
    settings.SITE_REQUESTS_PER_MINUTE = 42

    issued = create(tenant, actor)

    assert issued.site_key.site.requests_per_minute == 42


def test_create_rejects_unknown_scope(tenant, actor):
    with pytest.raises(ValueError, match="contacts:delete"):
        create(tenant, actor, scopes=["contacts:delete"])

    assert ClientSite.objects.count() == 0
    assert factories.audit_events(tenant, "site.created") == []


def test_create_rejects_other_tenants_connection(tenant, actor, outsider):
    foreign = make_connection(outsider.tenant)

    with pytest.raises(sites.SiteError) as caught:
        create(tenant, actor, connection=foreign)

    assert caught.value.code == "connection_not_active"
    assert ClientSite.objects.count() == 0


@pytest.mark.parametrize(
    "status",
    [Connection.Status.PENDING, Connection.Status.NEEDS_REAUTH, Connection.Status.REVOKED],
)
def test_create_rejects_inactive_connection(tenant, actor, status):
    connection = make_connection(tenant, status=status)

    with pytest.raises(sites.SiteError) as caught:
        create(tenant, actor, connection=connection)

    assert caught.value.code == "connection_not_active"
    assert ClientSite.objects.count() == 0


def test_live_site_names_are_unique_per_tenant(tenant, actor, outsider):
    create(tenant, actor, name="Shop")
    create(outsider.tenant, Actor("system"), name="Shop")

    with pytest.raises(IntegrityError):
        create(tenant, actor, name="Shop")


def test_revoked_site_frees_its_name(tenant, actor):
    issued = create(tenant, actor, name="Shop")
    sites.do_revoke_site(issued.site_key.site, actor=actor)

    again = create(tenant, actor, name="Shop")

    assert again.site_key.site.name == "Shop"


# --- Scopes and other changes -----------------------------------------------------------------


def test_scope_change_records_consent_and_event(tenant, owner, actor):
    created_site = make_site(tenant, scopes=["contacts:write"])

    changed = sites.do_update_site_scopes(
        created_site.site, ["contacts:read", "contacts:write"], actor=actor
    )

    assert changed is True
    created_site.site.refresh_from_db()
    assert created_site.site.scopes == ["contacts:read", "contacts:write"]
    latest = Consent.objects.filter(site=created_site.site).order_by("-granted_at", "-id").first()
    assert latest.kind == Consent.Kind.CHANGED
    assert latest.scopes == ["contacts:read", "contacts:write"]
    assert latest.granted_by == owner.user
    event = factories.audit_events(tenant, "site.scopes_changed")[0]
    assert event.details == {
        "old": ["contacts:write"],
        "new": ["contacts:read", "contacts:write"],
    }


def test_unchanged_scopes_record_nothing(tenant, actor):
    created_site = make_site(tenant, scopes=["contacts:write"])

    changed = sites.do_update_site_scopes(created_site.site, ["contacts:write"], actor=actor)

    assert changed is False
    assert Consent.objects.filter(site=created_site.site).count() == 1
    assert factories.audit_events(tenant, "site.scopes_changed") == []


def test_scope_change_rejects_unknown_scope(tenant, actor):
    created_site = make_site(tenant, scopes=["contacts:write"])

    with pytest.raises(ValueError, match="everything"):
        sites.do_update_site_scopes(created_site.site, ["everything"], actor=actor)

    created_site.site.refresh_from_db()
    assert created_site.site.scopes == ["contacts:write"]


def test_scope_change_rejects_revoked_site(tenant, actor):
    created_site = make_site(tenant)
    sites.do_revoke_site(created_site.site, actor=actor)

    with pytest.raises(sites.SiteError) as caught:
        sites.do_update_site_scopes(created_site.site, ["contacts:read"], actor=actor)

    assert caught.value.code == "site_revoked"


def test_update_audits_name_and_limit(tenant, actor):
    created_site = make_site(tenant, name="Old", scopes=["contacts:write"], requests_per_minute=60)

    changed = sites.do_update_site(
        created_site.site,
        name="New",
        scopes=["contacts:write"],
        requests_per_minute=30,
        actor=actor,
    )

    assert changed == ["name", "requests_per_minute"]
    created_site.site.refresh_from_db()
    assert (created_site.site.name, created_site.site.requests_per_minute) == ("New", 30)
    event = factories.audit_events(tenant, "site.updated")[0]
    assert event.details == {
        "old": {"name": "Old", "requests_per_minute": 60},
        "new": {"name": "New", "requests_per_minute": 30},
    }
    assert factories.audit_events(tenant, "site.scopes_changed") == []


# --- Pause, resume, revoke --------------------------------------------------------------------


def test_pause_and_resume_audit_each_change(tenant, actor):
    created_site = make_site(tenant)

    assert sites.do_pause_site(created_site.site, actor=actor) is True
    assert sites.do_pause_site(created_site.site, actor=actor) is False
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.PAUSED
    assert sites.do_resume_site(created_site.site, actor=actor) is True
    assert sites.do_resume_site(created_site.site, actor=actor) is False

    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE
    paused = factories.audit_events(tenant, "site.paused")
    resumed = factories.audit_events(tenant, "site.resumed")
    assert len(paused) == 1
    assert paused[0].details == {"old": "active", "new": "paused"}
    assert len(resumed) == 1
    assert resumed[0].details == {"old": "paused", "new": "active"}


def test_revoke_ends_keys_and_consent(tenant, owner, actor):
    created_site = make_site(tenant, status=ClientSite.Status.PAUSED)

    assert sites.do_revoke_site(created_site.site, actor=actor) is True
    assert sites.do_revoke_site(created_site.site, actor=actor) is False

    site = ClientSite.objects.get(pk=created_site.site.pk)
    assert site.status == ClientSite.Status.REVOKED
    assert site.revoked_at is not None
    assert SiteKey.objects.filter(site=site, revoked_at__isnull=True).count() == 0
    latest = Consent.objects.filter(site=site).order_by("-granted_at", "-id").first()
    assert latest.kind == Consent.Kind.REVOKED
    assert latest.scopes == []
    assert latest.granted_by == owner.user
    events = factories.audit_events(tenant, "site.revoked")
    assert len(events) == 1
    assert events[0].details == {"old": "paused", "new": "revoked", "keys_revoked": 1}


def test_revoked_site_cannot_be_resumed(tenant, actor):
    created_site = make_site(tenant)
    sites.do_revoke_site(created_site.site, actor=actor)

    assert sites.do_resume_site(created_site.site, actor=actor) is False
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.REVOKED


# --- Denied requests --------------------------------------------------------------------------


def test_rejection_audit_is_throttled_and_counts_repeats(tenant):
    created_site = make_site(tenant)
    for _ in range(3):
        sites.do_record_key_rejection(created_site.site_key, "revoked_key")
    sites.do_record_key_rejection(created_site.site_key, "expired_key")

    events = factories.audit_events(tenant, "site_key.rejected")
    assert [event.details["code"] for event in events] == ["revoked_key", "expired_key"]
    assert events[0].outcome == AuditEvent.Outcome.DENIED
    assert events[0].actor_type == AuditEvent.ActorType.CLIENT_SITE
    assert events[0].actor_id == str(created_site.site.public_id)
    assert events[0].details["repeats_not_recorded"] == 0

    # Ends the throttle window, as its expiry after SITE_DENIAL_AUDIT_SECONDS would.
    cache.delete(f"sites:denial:site_key.rejected:{created_site.site_key.public_id}:revoked_key")
    sites.do_record_key_rejection(created_site.site_key, "revoked_key")

    events = factories.audit_events(tenant, "site_key.rejected")
    assert len(events) == 3
    assert events[-1].details["repeats_not_recorded"] == 2


# --- Two-factor rule and deletion -------------------------------------------------------------


def test_tenant_with_live_site_requires_mfa(tenant):
    other = factories.make_tenant("No sites")
    created_site = make_site(tenant)
    # The connection alone already requires MFA; only the site condition is checked here.
    assert tenant_has_client_site(tenant) is True
    assert tenant_has_client_site(other) is False
    assert tenant_requires_mfa(tenant) is True

    sites.do_revoke_site(created_site.site, actor=Actor("system"))

    assert tenant_has_client_site(tenant) is False


def test_deleting_tenant_deletes_its_sites(tenant, owner, outsider):
    make_site(tenant)
    other_site = make_site(outsider.tenant)

    do_delete_tenant(tenant, actor=owner.user)

    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert list(ClientSite.objects.values_list("pk", flat=True)) == [other_site.site.pk]
    assert SiteKey.objects.count() == 1
    assert Consent.objects.count() == 1


def test_connection_with_sites_cannot_be_deleted_alone(tenant):
    from django.db.models import RestrictedError

    created_site = make_site(tenant)

    with pytest.raises(RestrictedError):
        created_site.site.connection.delete()
