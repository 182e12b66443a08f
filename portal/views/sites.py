"""Pages for the current tenant's client sites and their site keys.

A raw site key appears only in the response to the request that created it (a new site, a new
key or a rotation). It is never put in the session, a message or a URL, and that response is
marked not to be cached.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db import IntegrityError
from django.db.models import Max
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connector import sites as site_actions
from connector.actor import Actor
from connector.models import Connection
from connector.scopes import SCOPES, least_scopes
from connector.site_models import (
    MAX_SITE_REQUESTS_PER_MINUTE,
    ClientSite,
    SiteKey,
    default_requests_per_minute,
)
from tenants.access import (
    access_object,
    mfa_required,
    recent_login_required,
    require_permission,
    tenant_required,
)

# --- Forms ------------------------------------------------------------------------------------

KEY_EXPIRY_CHOICES = [
    ("", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In 365 days"),
]

ROTATION_OVERLAP_CHOICES = [
    ("0", "Stop the old key now"),
    ("1h", "Keep the old key working for 1 hour"),
    ("24h", "Keep the old key working for 24 hours"),
    ("7d", "Keep the old key working for 7 days"),
]


def _expiry_field():
    return forms.ChoiceField(
        label="Key expires",
        choices=KEY_EXPIRY_CHOICES,
        required=False,
        help_text="After this date the key is rejected; rotate it before then.",
    )


def _expires_at(days):
    return timezone.now() + timedelta(days=int(days)) if days else None


class SiteForm(forms.Form):
    """Name, scopes and request limit of a client site."""

    name = forms.CharField(
        max_length=ClientSite._meta.get_field("name").max_length,
        strip=True,
        help_text="For example “Shop on example.com”.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope.name, scope.title) for scope in SCOPES.values()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one scope."},
    )
    requests_per_minute = forms.IntegerField(
        label="Requests per minute",
        min_value=1,
        max_value=MAX_SITE_REQUESTS_PER_MINUTE,
        help_text="Requests beyond this many in any minute get HTTP 429 from the API.",
    )

    def __init__(self, *args, tenant, site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.site = site

    def scope_options(self):
        """Return (checkbox, Scope) pairs, so the page can explain each scope in plain words."""
        return [(checkbox, SCOPES[checkbox.data["value"]]) for checkbox in self["scopes"]]

    def clean_name(self):
        name = self.cleaned_data["name"]
        taken = (
            ClientSite.objects.for_tenant(self.tenant)
            .exclude(status=ClientSite.Status.REVOKED)
            .filter(name=name)
        )
        if self.site is not None:
            taken = taken.exclude(pk=self.site.pk)
        if taken.exists():
            raise forms.ValidationError("Another site already has this name. Choose another.")
        return name


class SiteCreateForm(SiteForm):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.none(),
        to_field_name="public_id",
        empty_label=None,
        label="Keap connection",
        error_messages={
            "invalid_choice": "Pick one of the active connections listed.",
        },
    )
    key_expires = _expiry_field()

    field_order = ["name", "connection", "scopes", "requests_per_minute", "key_expires"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, tenant=tenant, **kwargs)
        self.fields["connection"].queryset = (
            Connection.objects.for_tenant(tenant)
            .filter(status=Connection.Status.ACTIVE)
            .order_by("-created_at")
        )
        self.fields["scopes"].initial = least_scopes()
        self.fields["requests_per_minute"].initial = default_requests_per_minute()


class KeyCreateForm(forms.Form):
    expires = _expiry_field()


class KeyRotateForm(forms.Form):
    overlap = forms.ChoiceField(
        label="Old key",
        choices=ROTATION_OVERLAP_CHOICES,
        initial=site_actions.DEFAULT_ROTATION_OVERLAP,
        widget=forms.RadioSelect,
        help_text="Time to put the new key in place before the old one stops working.",
    )
    expires = _expiry_field()


# --- List and detail --------------------------------------------------------------------------


@require_GET
@require_permission("site.view")
def site_list(request):
    sites = (
        ClientSite.objects.for_tenant(request.tenant)
        .select_related("connection")
        .annotate(last_used_at=Max("keys__last_used_at"))
        .order_by("-created_at")
    )
    return render(request, "portal/sites/list.html", {"sites": sites})


@require_GET
@tenant_required
def site_detail(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.view")
    ctx = {
        "site": site,
        "scopes": [SCOPES[name] for name in site.scopes if name in SCOPES],
        "keys": site.keys.order_by("-created_at"),
        "consents": site.consents.select_related("granted_by").order_by("-granted_at", "-id"),
        "now": timezone.now(),
    }
    return render(request, "portal/sites/detail.html", ctx)


# --- Create and edit --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_permission("site.manage")
@mfa_required
@recent_login_required
def site_create(request):
    form = SiteCreateForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            issued = site_actions.do_create_site(
                request.tenant,
                name=form.cleaned_data["name"],
                connection=form.cleaned_data["connection"],
                scopes=form.cleaned_data["scopes"],
                requests_per_minute=form.cleaned_data["requests_per_minute"],
                key_expires_at=_expires_at(form.cleaned_data["key_expires"]),
                actor=Actor.for_user(request.user),
                request=request,
            )
        except site_actions.SiteError as error:
            form.add_error("connection", error.message)
        except IntegrityError:
            form.add_error("name", "Another site already has this name. Choose another.")
        else:
            messages.success(request, f"Created site {issued.site_key.site.name}.")
            return _show_key(request, issued, created_site=True)

    status = 400 if form.errors else 200
    ctx = {"form": form}
    return render(request, "portal/sites/create.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@tenant_required
def site_edit(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.manage")
    return _edit(request, site)


@mfa_required
@recent_login_required
def _edit(request, site):
    if site.status == ClientSite.Status.REVOKED:
        messages.error(request, site_actions.error_messages["site_revoked"])
        return redirect(site)

    initial = {
        "name": site.name,
        "scopes": site.scopes,
        "requests_per_minute": site.requests_per_minute,
    }
    form = SiteForm(request.POST or None, initial=initial, tenant=request.tenant, site=site)
    if request.method == "POST" and form.is_valid():
        try:
            changed = site_actions.do_update_site(
                site, **form.cleaned_data, actor=Actor.for_user(request.user), request=request
            )
        except IntegrityError:
            form.add_error("name", "Another site already has this name. Choose another.")
        else:
            if changed:
                messages.success(request, f"Saved the changes to {site.name}.")
            else:
                messages.info(request, "Nothing was changed.")
            return redirect(site)

    status = 400 if form.errors else 200
    ctx = {"site": site, "form": form}
    return render(request, "portal/sites/edit.html", ctx, status=status)


# --- Status -----------------------------------------------------------------------------------


@require_POST
@tenant_required
def site_pause(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.manage")

    paused = site_actions.do_pause_site(site, actor=Actor.for_user(request.user), request=request)

    if paused:
        messages.success(request, f"Paused {site.name}. Its keys are rejected until you resume it.")
    else:
        messages.info(request, f"{site.name} is not active, so it was not paused.")
    return redirect(site)


@require_POST
@tenant_required
def site_resume(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.manage")

    resumed = site_actions.do_resume_site(site, actor=Actor.for_user(request.user), request=request)

    if resumed:
        messages.success(request, f"Resumed {site.name}. Its keys work again.")
    else:
        messages.info(request, f"{site.name} is not paused, so it was not resumed.")
    return redirect(site)


@require_http_methods(["GET", "POST"])
@tenant_required
def site_revoke(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.manage")
    return _revoke_site(request, site)


@recent_login_required
def _revoke_site(request, site):
    if request.method == "GET":
        return render(request, "portal/sites/revoke.html", {"site": site})

    revoked = site_actions.do_revoke_site(site, actor=Actor.for_user(request.user), request=request)
    if revoked:
        messages.success(request, f"Revoked {site.name}. None of its keys work any more.")
    else:
        messages.info(request, f"{site.name} was already revoked.")
    return redirect(site)


# --- Site keys --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_required
def site_key_create(request, site_id):
    site = access_object(request, ClientSite, site_id, permission="site.manage")
    return _create_key(request, site)


@mfa_required
@recent_login_required
def _create_key(request, site):
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = site_actions.do_create_site_key(
                site,
                expires_at=_expires_at(form.cleaned_data["expires"]),
                actor=Actor.for_user(request.user),
                request=request,
            )
        except site_actions.SiteError as error:
            messages.error(request, error.message)
            return redirect(site)
        messages.success(request, f"Created a new key for {site.name}.")
        return _show_key(request, issued)

    status = 400 if form.errors else 200
    ctx = {"site": site, "form": form}
    return render(request, "portal/sites/key_create.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@tenant_required
def site_key_rotate(request, key_id):
    site_key = access_object(request, SiteKey, key_id, permission="site.manage")
    return _rotate_key(request, site_key)


@mfa_required
@recent_login_required
def _rotate_key(request, site_key):
    form = KeyRotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = site_actions.do_rotate_site_key(
                site_key,
                overlap=site_actions.ROTATION_OVERLAPS[form.cleaned_data["overlap"]],
                expires_at=_expires_at(form.cleaned_data["expires"]),
                actor=Actor.for_user(request.user),
                request=request,
            )
        except site_actions.SiteError as error:
            messages.error(request, error.message)
            return redirect(site_key.site)
        messages.success(request, f"Rotated key …{site_key.hint}.")
        return _show_key(request, issued, replaced=site_key)

    status = 400 if form.errors else 200
    ctx = {"site": site_key.site, "site_key": site_key, "form": form}
    return render(request, "portal/sites/key_rotate.html", ctx, status=status)


@require_POST
@tenant_required
def site_key_revoke(request, key_id):
    site_key = access_object(request, SiteKey, key_id, permission="site.manage")
    return _revoke_key(request, site_key)


@recent_login_required
def _revoke_key(request, site_key):
    revoked = site_actions.do_revoke_site_key(
        site_key, actor=Actor.for_user(request.user), request=request
    )

    if revoked:
        messages.success(request, f"Revoked key …{site_key.hint}. It no longer works.")
    else:
        messages.info(request, f"Key …{site_key.hint} was already revoked.")
    return redirect(site_key.site)


def _show_key(request, issued, *, created_site=False, replaced=None):
    ctx = {
        "site": issued.site_key.site,
        "site_key": issued.site_key,
        "raw_key": issued.raw_key,
        "created_site": created_site,
        "replaced": replaced,
    }
    response = render(request, "portal/sites/key_issued.html", ctx)
    add_never_cache_headers(response)
    return response
