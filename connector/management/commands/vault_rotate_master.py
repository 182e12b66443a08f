from django.core.management.base import BaseCommand, CommandError

from connector.management.commands._vault_output import write_keyset
from connector.vault import VaultError, operations


class Command(BaseCommand):
    help = (
        "Rotate the vault master key in two steps. Step 1, --new-master-file FILE: write the "
        "configured master keyset plus a new primary key to FILE (mode 600); deploy FILE as "
        "VAULT_MASTER_KEYSET to every web and worker process. Step 2, --rewrap: re-encrypt "
        "every tenant keyset under the new primary key. Then retire the old key with "
        "vault_retire_key --master."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument(
            "--new-master-file",
            help="Step 1: write the master keyset with an added primary key to this new file.",
        )
        group.add_argument(
            "--rewrap",
            action="store_true",
            help="Step 2: rewrap every tenant keyset under the configured master primary key.",
        )

    def handle(self, *args, **options):
        if options["new_master_file"]:
            write_keyset(
                self, operations.new_master_keyset_with_added_key(), options["new_master_file"]
            )
            self.stderr.write(
                "Deploy it as VAULT_MASTER_KEYSET everywhere, then run "
                "`manage.py vault_rotate_master --rewrap`."
            )
            return

        try:
            rewrapped, current = operations.rewrap_all_tenant_keysets()
        except VaultError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"Rewrapped {rewrapped} tenant keyset(s); {current} were already current."
        )
