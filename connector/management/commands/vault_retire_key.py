from django.core.management.base import BaseCommand, CommandError

from connector.actor import OPERATOR
from connector.management.commands._vault_output import write_keyset
from connector.vault import VaultError, operations
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Remove an old key once nothing uses it, and fail while anything still does. With "
        "--master, writes the master keyset without the key to --output (deploy it as "
        "VAULT_MASTER_KEYSET). With --tenant, removes the key from that tenant's keyset."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--master", action="store_true", help="Retire a master key.")
        target.add_argument("--tenant", help="Public id (UUID) of the tenant whose key to retire.")
        parser.add_argument("--key-id", type=int, required=True, help="The key id to remove.")
        parser.add_argument(
            "--output", help="With --master: write the new master keyset to this new file."
        )

    def handle(self, *args, **options):
        key_id = options["key_id"]
        try:
            if options["master"]:
                write_keyset(self, operations.master_keyset_without_key(key_id), options["output"])
                return
            tenant = Tenant.objects.filter(public_id=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"Tenant {options['tenant']} not found.")
            operations.retire_tenant_key(tenant, key_id, actor=OPERATOR)
        except VaultError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Retired tenant key {key_id} of tenant {tenant.public_id}.")
