from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.demo import read_or_create
from tenants.actions import do_create_tenant

DEMO_EMAIL = "demo@example.com"
DEMO_TENANT_NAME = "Demo tenant"

BANNER = """
================================================================================
 DEMO ONLY: the user, password and keys below protect nothing real.
 Portal:          {base_url}/
 Login:           {email}
 Password:        {password}
 Two-factor code: {bypass} (accepted in demo mode only), or a code from an
                  authenticator app set up with the secret {secret}
 Keap sandbox:    http://127.0.0.1:{sandbox_port}/ (its PATs are printed when it starts)
================================================================================
"""


class Command(BaseCommand):
    help = "Create the demo tenant and user (demo mode only) and print how to log in."

    def handle(self, *args, **options):
        if not settings.IS_DEMO:
            raise CommandError("demo_setup runs only with PORTAL_MODE=demo.")

        password = read_or_create(settings.DEMO_DIR / "demo-password.txt", _new_password)
        user, created = get_user_model().objects.get_or_create(
            email=DEMO_EMAIL, defaults={"username": "demo"}
        )
        if created:
            user.set_password(password)
            user.save()
            do_create_tenant(DEMO_TENANT_NAME, user)
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )

        secret = read_or_create(settings.DEMO_DIR / "demo-totp-secret.txt", generate_totp_secret)
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, secret)
            RecoveryCodes.activate(user)

        self.stdout.write(
            BANNER.format(
                base_url=settings.PORTAL_BASE_URL,
                email=DEMO_EMAIL,
                password=password,
                bypass=settings.MFA_TOTP_INSECURE_BYPASS_CODE,
                secret=secret,
                sandbox_port=settings.SANDBOX_PORT,
            )
        )


def _new_password():
    import secrets

    return "demo-" + secrets.token_urlsafe(9)
