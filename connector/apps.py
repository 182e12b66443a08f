from django.apps import AppConfig


class ConnectorConfig(AppConfig):
    name = "connector"

    def ready(self):
        from tenants.mfa import register_mfa_condition

        register_mfa_condition(tenant_has_connection)


def tenant_has_connection(tenant):
    """Return whether `tenant` stores a Keap credential, which makes two-factor sign-in required."""
    from connector.models import Connection

    return Connection.objects.for_tenant(tenant).exclude(status=Connection.Status.REVOKED).exists()
