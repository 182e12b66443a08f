"""Site keys: their format, how they are stored and checked, expiry, rotation and revocation."""

import hashlib
import hmac
import math
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connector import site_auth, sites
from connector.actor import Actor
from connector.keyformats import SITE_KEY_PREFIX, redact
from connector.models import Connection
from connector.site_auth import SiteAuthError, authenticate_site_key
from connector.site_models import ClientSite, SiteKey
from tests import factories
from tests.connector.site_factories import add_key, make_site

pytestmark = pytest.mark.django_db

KEY_FORM = re.compile(r"kpsk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def auth_code(raw_key):
    with pytest.raises(SiteAuthError) as caught:
        authenticate_site_key(raw_key)
    return caught.value.code


def later(monkeypatch, delta):
    """Make `timezone.now()` return a time `delta` from the real now."""
    moment = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


# --- Format and storage -----------------------------------------------------------------------


def test_key_has_prefix_lookup_id_and_secret():
    raw_key, lookup_id = sites.generate_key()

    found = KEY_FORM.fullmatch(raw_key)
    assert found is not None, raw_key
    assert raw_key.startswith(SITE_KEY_PREFIX)
    assert found.group(1) == lookup_id


def test_key_secret_carries_at_least_128_bits():
    raw_key, _ = sites.generate_key()

    secret = KEY_FORM.fullmatch(raw_key).group(2)
    # Each URL-safe base64 character carries 6 bits.
    assert len(secret) * 6 >= 256
    assert sites.SECRET_BYTES * 8 >= 128


def test_keys_are_unique():
    keys = {sites.generate_key()[0] for _ in range(500)}

    assert len(keys) == 500


def test_log_redaction_hides_whole_key():
    raw_key, _ = sites.generate_key()

    assert raw_key not in redact(f"Authorization: Bearer {raw_key}")
    assert raw_key not in redact(f"key={raw_key}")
    assert "[redacted]" in redact(f"sent {raw_key} twice")


def test_only_digest_is_stored(tenant):
    created_site = make_site(tenant)
    secret = created_site.raw_key.rsplit("_", 1)[1]

    row = SiteKey.objects.filter(pk=created_site.site_key.pk).values().get()
    for column, value in row.items():
        text = str(value)
        assert created_site.raw_key not in text, column
        assert secret not in text, column
    assert row["digest"] == sites.key_digest(created_site.raw_key)
    assert len(row["digest"]) == 64
    assert row["hint"] == created_site.raw_key[-4:]


def test_digest_is_hmac_sha256_under_server_key(settings):
    settings.SITE_KEY_HMAC_KEY = "server-secret-for-this-test"

    expected = hmac.new(b"server-secret-for-this-test", b"kpsk_x", hashlib.sha256).hexdigest()
    assert sites.key_digest("kpsk_x") == expected


def test_hmac_key_is_required_in_production(settings):
    settings.SITE_KEY_HMAC_KEY = ""
    settings.IS_PRODUCTION = True

    with pytest.raises(ImproperlyConfigured, match="SITE_KEY_HMAC_KEY"):
        sites.hmac_key()


def test_hmac_key_is_derived_outside_production(settings):
    settings.SITE_KEY_HMAC_KEY = ""
    settings.IS_PRODUCTION = False

    derived = sites.hmac_key()

    assert len(derived) == 32
    assert settings.SECRET_KEY.encode() not in derived


def test_changing_hmac_key_invalidates_keys(tenant, settings):
    settings.SITE_KEY_HMAC_KEY = "first-secret"
    created_site = make_site(tenant)
    settings.SITE_KEY_HMAC_KEY = "second-secret"

    assert auth_code(created_site.raw_key) == "invalid_key"


@pytest.mark.parametrize(
    "raw_key",
    [
        "kpsk_",
        "kpsk_0123456789abcdef",
        "kpsk_0123456789abcdef_",
        "kpsk_0123456789ABCDEF_secret",
        "kpsk_0123_secret",
        "other_0123456789abcdef_secret",
        "KeapAK-" + "0" * 50,
    ],
)
def test_parse_lookup_id_rejects_malformed_keys(raw_key):
    assert sites.parse_lookup_id(raw_key) is None


# --- Authentication ---------------------------------------------------------------------------


def test_it_accepts_valid_key(tenant):
    created_site = make_site(tenant)

    site_key = authenticate_site_key(created_site.raw_key)

    assert site_key.pk == created_site.site_key.pk
    assert site_key.site.pk == created_site.site.pk
    assert site_key.tenant == tenant


def test_it_loads_related_rows_in_one_query(tenant):
    created_site = make_site(tenant)
    SiteKey.objects.filter(pk=created_site.site_key.pk).update(last_used_at=timezone.now())

    with CaptureQueriesContext(db_connection) as queries:
        site_key = authenticate_site_key(created_site.raw_key)
        names = (site_key.site.name, site_key.site.connection.status, site_key.tenant.name)

    assert len(queries) == 1, [query["sql"] for query in queries]
    assert names == (created_site.site.name, Connection.Status.ACTIVE, tenant.name)


def test_it_compares_digests_in_constant_time(tenant):
    created_site = make_site(tenant)

    with mock.patch.object(
        site_auth.hmac, "compare_digest", wraps=hmac.compare_digest
    ) as compare_digest:
        authenticate_site_key(created_site.raw_key)

    compare_digest.assert_called_once_with(
        sites.key_digest(created_site.raw_key), created_site.site_key.digest
    )


def test_it_compares_digests_for_unknown_lookup_ids_too():
    raw_key, _ = sites.generate_key()

    with mock.patch.object(
        site_auth.hmac, "compare_digest", wraps=hmac.compare_digest
    ) as compare_digest:
        assert auth_code(raw_key) == "invalid_key"

    assert compare_digest.call_count == 1


def test_it_rejects_missing_key():
    assert auth_code("") == "missing_key"


def test_it_rejects_unknown_key():
    raw_key, _ = sites.generate_key()

    assert auth_code(raw_key) == "invalid_key"


def test_it_rejects_wrong_secret_for_known_lookup_id(tenant):
    created_site = make_site(tenant)
    lookup_id = created_site.site_key.lookup_id
    forged = f"{SITE_KEY_PREFIX}{lookup_id}_{'A' * 43}"

    with pytest.raises(SiteAuthError) as caught:
        authenticate_site_key(forged)

    assert caught.value.code == "invalid_key"
    assert caught.value.site_key.pk == created_site.site_key.pk


def test_it_rejects_truncated_key(tenant):
    created_site = make_site(tenant)

    assert auth_code(created_site.raw_key[:-1]) == "invalid_key"


def test_it_rejects_revoked_key(tenant):
    created_site = make_site(tenant)
    sites.do_revoke_site_key(created_site.site_key, actor=Actor("system"))

    assert auth_code(created_site.raw_key) == "revoked_key"


def test_it_rejects_expired_key(tenant):
    created_site = make_site(tenant, expires_at=timezone.now() - timedelta(seconds=1))

    assert auth_code(created_site.raw_key) == "expired_key"


def test_key_works_until_expiry(tenant, monkeypatch):
    expires_at = timezone.now() + timedelta(hours=1)
    created_site = make_site(tenant, expires_at=expires_at)
    later(monkeypatch, timedelta(minutes=59))

    assert authenticate_site_key(created_site.raw_key).pk == created_site.site_key.pk

    later(monkeypatch, timedelta(hours=1, seconds=1))
    assert auth_code(created_site.raw_key) == "expired_key"


def test_it_rejects_key_of_paused_site(tenant):
    created_site = make_site(tenant, status=ClientSite.Status.PAUSED)

    assert auth_code(created_site.raw_key) == "site_paused"


def test_it_rejects_key_of_revoked_site(tenant):
    created_site = make_site(tenant)
    sites.do_revoke_site(created_site.site, actor=Actor("system"))

    assert auth_code(created_site.raw_key) == "site_revoked"


def test_it_rejects_key_when_connection_is_revoked(tenant):
    created_site = make_site(tenant)
    Connection.objects.filter(pk=created_site.site.connection_id).update(
        status=Connection.Status.REVOKED
    )

    assert auth_code(created_site.raw_key) == "connection_revoked"


def test_it_accepts_key_when_connection_needs_reauth(tenant):
    created_site = make_site(tenant)
    Connection.objects.filter(pk=created_site.site.connection_id).update(
        status=Connection.Status.NEEDS_REAUTH
    )

    site_key = authenticate_site_key(created_site.raw_key)

    assert site_key.site.connection.status == Connection.Status.NEEDS_REAUTH


def test_revocation_rejects_very_next_request(tenant):
    created_site = make_site(tenant)
    assert authenticate_site_key(created_site.raw_key).pk == created_site.site_key.pk

    sites.do_revoke_site_key(created_site.site_key, actor=Actor("system"))

    assert auth_code(created_site.raw_key) == "revoked_key"


def test_other_keys_survive_revoking_one(tenant):
    created_site = make_site(tenant)
    _, other_raw = add_key(created_site.site)

    sites.do_revoke_site_key(created_site.site_key, actor=Actor("system"))

    assert authenticate_site_key(other_raw).site.pk == created_site.site.pk


# --- Last use ---------------------------------------------------------------------------------


def test_it_records_last_use_and_address(tenant):
    created_site = make_site(tenant)

    authenticate_site_key(created_site.raw_key, source_ip="127.0.0.1")

    created_site.site_key.refresh_from_db()
    assert created_site.site_key.last_used_at is not None
    assert created_site.site_key.last_used_ip == "127.0.0.1"


def test_last_use_written_once_a_minute(tenant, monkeypatch):
    created_site = make_site(tenant)
    authenticate_site_key(created_site.raw_key, source_ip="127.0.0.1")
    created_site.site_key.refresh_from_db()
    first = created_site.site_key.last_used_at

    with CaptureQueriesContext(db_connection) as queries:
        authenticate_site_key(created_site.raw_key, source_ip="127.0.0.2")
    assert len(queries) == 1
    created_site.site_key.refresh_from_db()
    assert created_site.site_key.last_used_at == first
    assert created_site.site_key.last_used_ip == "127.0.0.1"

    later(monkeypatch, timedelta(seconds=61))
    authenticate_site_key(created_site.raw_key, source_ip="127.0.0.2")
    created_site.site_key.refresh_from_db()
    assert created_site.site_key.last_used_at > first
    assert created_site.site_key.last_used_ip == "127.0.0.2"


# --- Creating, rotating and revoking keys -----------------------------------------------------


def test_create_key_audits_without_secret(tenant, owner):
    created_site = make_site(tenant)

    issued = sites.do_create_site_key(created_site.site, actor=Actor.for_user(owner.user))

    assert KEY_FORM.fullmatch(issued.raw_key)
    assert issued.site_key.created_by == owner.user
    assert issued.raw_key not in repr(issued)
    event = factories.audit_events(tenant, "site_key.created")[-1]
    assert event.target_id == str(issued.site_key.public_id)
    assert event.actor_id == str(owner.user.pk)
    assert event.details["hint"] == issued.raw_key[-4:]
    assert issued.raw_key not in str(event.details)


def test_create_key_rejects_revoked_site(tenant):
    created_site = make_site(tenant)
    sites.do_revoke_site(created_site.site, actor=Actor("system"))

    with pytest.raises(sites.SiteError) as caught:
        sites.do_create_site_key(created_site.site, actor=Actor("system"))

    assert caught.value.code == "site_revoked"


def test_rotation_keeps_old_key_for_overlap(tenant, monkeypatch):
    created_site = make_site(tenant)

    issued = sites.do_rotate_site_key(
        created_site.site_key, overlap=timedelta(hours=24), actor=Actor("system")
    )

    assert authenticate_site_key(issued.raw_key).pk == issued.site_key.pk
    assert authenticate_site_key(created_site.raw_key).pk == created_site.site_key.pk
    created_site.site_key.refresh_from_db()
    remaining = created_site.site_key.expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)

    later(monkeypatch, timedelta(hours=24, seconds=1))
    assert auth_code(created_site.raw_key) == "expired_key"
    assert authenticate_site_key(issued.raw_key).pk == issued.site_key.pk


def test_zero_overlap_ends_old_key(tenant):
    created_site = make_site(tenant)

    issued = sites.do_rotate_site_key(
        created_site.site_key, overlap=timedelta(0), actor=Actor("system")
    )

    assert auth_code(created_site.raw_key) == "expired_key"
    assert authenticate_site_key(issued.raw_key).pk == issued.site_key.pk


def test_rotation_never_extends_earlier_expiry(tenant):
    soon = timezone.now() + timedelta(minutes=5)
    created_site = make_site(tenant, expires_at=soon)

    sites.do_rotate_site_key(
        created_site.site_key, overlap=timedelta(days=7), actor=Actor("system")
    )

    created_site.site_key.refresh_from_db()
    assert created_site.site_key.expires_at == soon


def test_rotation_audits_old_and_new_expiry(tenant, owner):
    created_site = make_site(tenant)

    issued = sites.do_rotate_site_key(
        created_site.site_key, overlap=timedelta(hours=1), actor=Actor.for_user(owner.user)
    )

    event = factories.audit_events(tenant, "site_key.rotated")[-1]
    assert event.target_id == str(created_site.site_key.public_id)
    assert event.details["replacement"] == str(issued.site_key.public_id)
    assert event.details["old"] == {"expires_at": None}
    assert event.details["new"]["expires_at"] is not None
    assert len(factories.audit_events(tenant, "site_key.created")) == 1


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_rotation_rejects_unusable_key(tenant, state):
    created_site = make_site(tenant)
    if state == "revoked":
        sites.do_revoke_site_key(created_site.site_key, actor=Actor("system"))
    else:
        SiteKey.objects.filter(pk=created_site.site_key.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

    with pytest.raises(sites.SiteError) as caught:
        sites.do_rotate_site_key(created_site.site_key, overlap=timedelta(0), actor=Actor("system"))

    assert caught.value.code == "key_not_usable"
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_rotation_rejects_negative_overlap(tenant):
    created_site = make_site(tenant)

    with pytest.raises(ValueError, match="overlap"):
        sites.do_rotate_site_key(
            created_site.site_key, overlap=timedelta(seconds=-1), actor=Actor("x")
        )


def test_revoke_key_audits_once(tenant, owner):
    created_site = make_site(tenant)
    actor = Actor.for_user(owner.user)

    first = sites.do_revoke_site_key(created_site.site_key, actor=actor)
    second = sites.do_revoke_site_key(created_site.site_key, actor=actor)

    assert first is True
    assert second is False
    events = factories.audit_events(tenant, "site_key.revoked")
    assert len(events) == 1
    assert events[0].details == {
        "site": str(created_site.site.public_id),
        "hint": created_site.site_key.hint,
    }


def test_rotation_choices_match_overlaps():
    assert set(sites.ROTATION_OVERLAPS) == {"0", "1h", "24h", "7d"}
    assert sites.ROTATION_OVERLAPS[sites.DEFAULT_ROTATION_OVERLAP] == timedelta(hours=24)
    assert math.isclose(sites.ROTATION_OVERLAPS["7d"].total_seconds(), 7 * 86400)
