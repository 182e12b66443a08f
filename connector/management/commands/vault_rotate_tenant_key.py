from django.core.management.base import BaseCommand, CommandError

from connector.actor import OPERATOR
from connector.models import TenantKeyset
from connector.vault import VaultError, operations
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Add a new primary key to a tenant's vault keyset and re-encrypt that tenant's stored "
        "credentials with it. Old keys stay until vault_retire_key removes them."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--tenant", help="Public id (UUID) of the tenant.")
        group.add_argument("--all", action="store_true", help="Every tenant that has a keyset.")

    def handle(self, *args, **options):
        if options["all"]:
            tenant_ids = TenantKeyset.objects.values_list("tenant_id", flat=True)
            tenants = Tenant.objects.filter(pk__in=tenant_ids).order_by("pk")
        else:
            tenants = Tenant.objects.filter(public_id=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"Tenant {options['tenant']} not found.")

        for tenant in tenants.iterator():
            try:
                old, new, changed = operations.rotate_tenant_key(tenant, actor=OPERATOR)
            except VaultError as exc:
                raise CommandError(str(exc))
            self.stdout.write(
                f"Tenant {tenant.public_id}: primary key {old} -> {new}; "
                f"re-encrypted {changed} credential(s)."
            )
