import json

from django.core.management.base import BaseCommand, CommandError

from connector.vault import VaultError, operations


class Command(BaseCommand):
    help = (
        "Report which vault key ids are in use: master keys by the tenant keysets they wrap, "
        "and each tenant's keys by the stored values they encrypt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        try:
            report = operations.key_usage_report()
        except VaultError as exc:
            raise CommandError(str(exc))

        if options["json"]:
            document = {
                "master_key_ids": report.master_key_ids,
                "master_primary_key_id": report.master_primary_key_id,
                "tenant_keysets_by_master_key": report.tenant_keysets_by_master_key,
                "tenants": {
                    tenant: {
                        "primary_key_id": usage.primary_key_id,
                        "key_ids": usage.key_ids,
                        "values_by_key": usage.values_by_key,
                    }
                    for tenant, usage in report.tenants.items()
                },
            }
            self.stdout.write(json.dumps(document, indent=2))
            return

        self.stdout.write(f"Master keys: {report.master_key_ids}")
        self.stdout.write(f"  primary: {report.master_primary_key_id}")
        for key_id in report.master_key_ids:
            wrapped = report.tenant_keysets_by_master_key.get(key_id, 0)
            self.stdout.write(f"  key {key_id}: wraps {wrapped} tenant keyset(s)")
        unknown = set(report.tenant_keysets_by_master_key) - set(report.master_key_ids)
        for key_id in sorted(unknown):
            wrapped = report.tenant_keysets_by_master_key[key_id]
            self.stdout.write(
                f"  key {key_id}: NOT in VAULT_MASTER_KEYSET, wraps {wrapped} tenant keyset(s)"
            )

        for tenant, usage in report.tenants.items():
            self.stdout.write(
                f"Tenant {tenant}: keys {usage.key_ids}, primary {usage.primary_key_id}"
            )
            for key_id in usage.key_ids:
                values = usage.values_by_key.get(key_id, 0)
                self.stdout.write(f"  key {key_id}: encrypts {values} stored value(s)")
