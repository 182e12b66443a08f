"""The banner on every page while a connection of the current tenant needs reconnecting."""

import pytest
from django.urls import reverse

from connector.models import Connection
from tests.connector.factories import make_connection
from tests.connector.site_factories import signed_in
from tests.portal.ui_helpers import enable_layout_context


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


@pytest.mark.parametrize("name", ["index", "member_list", "connection_list", "job_list"])
def test_it_links_to_reconnect_on_every_page(client, owner, name):
    connection = make_connection(owner.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    response = client.get(reverse(name))

    reconnect = reverse("connection_reconnect", args=[connection.public_id])
    assert b"Keap stopped accepting a connection" in response.content
    assert f'href="{reconnect}"'.encode() in response.content


def test_it_shows_nothing_while_connections_work(client, owner):
    make_connection(owner.tenant)
    make_connection(owner.tenant, status=Connection.Status.REVOKED)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"Keap stopped accepting" not in response.content


def test_it_names_every_connection(client, owner):
    for _ in range(2):
        make_connection(owner.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    response = client.get(reverse("member_list"))

    assert b"Keap stopped accepting 2 connections" in response.content
    assert response.content.count(b"Reconnect Sandbox account") == 2


def test_it_tells_viewer_whom_to_ask(client, readonly_member):
    connection = make_connection(readonly_member.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, readonly_member)

    response = client.get(reverse("index"))

    assert b"ask an admin or owner of this tenant to reconnect it" in response.content
    assert reverse("connection_reconnect", args=[connection.public_id]).encode() not in (
        response.content
    )


def test_it_ignores_other_tenants_connections(client, owner, outsider):
    make_connection(outsider.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"Keap stopped accepting" not in response.content


def test_it_follows_tenant_switch(client, owner, make_membership, make_tenant):
    other_tenant = make_tenant("Initech")
    make_membership(other_tenant, user=owner.user, role="owner")
    make_connection(other_tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    before = client.get(reverse("index"))
    client.post(reverse("tenant_switch", args=[other_tenant.public_id]))
    after = client.get(reverse("index"))

    assert b"Keap stopped accepting" not in before.content
    assert b"Keap stopped accepting a connection" in after.content


def test_it_lists_other_tenants_in_switcher(client, owner, make_membership, make_tenant):
    make_membership(make_tenant("Initech"), user=owner.user, role="viewer")
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"Initech (viewer)" in response.content
