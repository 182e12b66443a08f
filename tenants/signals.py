"""Receivers that create a tenant on sign-up and audit account events.

An account event is recorded in every tenant the user belongs to, because each of those
tenants' owners should see it. An event for an unknown email (a failed login) has no tenant
and is not recorded.
"""

from allauth.account.signals import password_changed, password_reset, user_signed_up
from allauth.mfa.signals import authentication_failed as mfa_authentication_failed
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from tenants.actions import do_create_tenant
from tenants.audit import record_event
from tenants.models import AuditEvent, Tenant


@receiver(user_signed_up)
def create_tenant_on_signup(sender, request, user, **kwargs):
    name = user.email.split("@", 1)[0] or user.email
    do_create_tenant(name, user, request=request)


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    _record_for_user(user, "login.succeeded", request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        _record_for_user(user, "logout", request)


@receiver(user_login_failed)
def audit_login_failure(sender, credentials, request=None, **kwargs):
    # Django passes the credentials with the password already masked.
    email = credentials.get("email") or credentials.get("username") or ""
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        _record_for_user(
            user, "login.failed", request, outcome=AuditEvent.Outcome.FAILURE, details={}
        )


@receiver(password_changed)
def audit_password_change(sender, request, user, **kwargs):
    _record_for_user(user, "password.changed", request)


@receiver(password_reset)
def audit_password_reset(sender, request, user, **kwargs):
    _record_for_user(user, "password.reset", request)


@receiver(authenticator_added)
def audit_authenticator_added(sender, request, user, authenticator, **kwargs):
    _record_for_user(user, "mfa.enabled", request, details={"type": authenticator.type})


@receiver(authenticator_removed)
def audit_authenticator_removed(sender, request, user, authenticator, **kwargs):
    _record_for_user(user, "mfa.disabled", request, details={"type": authenticator.type})


@receiver(authenticator_reset)
def audit_authenticator_reset(sender, request, user, authenticator, **kwargs):
    _record_for_user(user, "mfa.reset", request, details={"type": authenticator.type})


@receiver(mfa_authentication_failed)
def audit_mfa_failure(sender, request, user, authenticator, **kwargs):
    _record_for_user(
        user,
        "mfa.failed",
        request,
        outcome=AuditEvent.Outcome.FAILURE,
        details={"type": authenticator.type},
    )


def _record_for_user(user, action, request, *, outcome=AuditEvent.Outcome.SUCCESS, details=None):
    for tenant in Tenant.objects.filter(memberships__user=user):
        record_event(
            tenant,
            action,
            actor_type=AuditEvent.ActorType.USER,
            actor_id=user.pk,
            actor_label=user.email,
            target_type="user",
            target_id=user.pk,
            outcome=outcome,
            details=details or {},
            request=request,
        )
