from django.core.management.base import BaseCommand

from connector.management.commands._vault_output import write_keyset
from connector.vault.keysets import generate_master_keyset_json


class Command(BaseCommand):
    help = (
        "Generate a new vault master keyset (cleartext Tink JSON, one AES-256-GCM key) for "
        "VAULT_MASTER_KEYSET. Prints it, or writes it to --output with mode 600."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="Write to this new file instead of stdout.")

    def handle(self, *args, **options):
        write_keyset(self, generate_master_keyset_json(), options["output"])
