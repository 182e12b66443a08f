from django.core.management.base import BaseCommand, CommandError

from tenants.audit_chain import checkpoint_path, write_checkpoint


class Command(BaseCommand):
    help = (
        "Append the latest sequence number and hash of every tenant's audit chain to the "
        "checkpoint file, which should live outside the database (AUDIT_CHECKPOINT_PATH)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", help="checkpoint file (default: AUDIT_CHECKPOINT_PATH)")

    def handle(self, *args, path=None, **options):
        if not (path or checkpoint_path().name):
            raise CommandError("Missing checkpoint file: set AUDIT_CHECKPOINT_PATH or pass --path.")

        count = write_checkpoint(path)
        self.stdout.write(f"Checkpoint written for {count} tenant(s).")
