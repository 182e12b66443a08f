from django.core.management.base import BaseCommand, CommandError

from tenants.audit_chain import read_checkpoints, verify_all
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Check every tenant's audit hash chain (or one tenant's) against its chain head and the "
        "last checkpoint. Exits non-zero naming the first bad sequence, a gap or a cut tail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="public id (UUID) of the one tenant to check")
        parser.add_argument(
            "--checkpoints", help="checkpoint file to compare with (default: AUDIT_CHECKPOINT_PATH)"
        )

    def handle(self, *args, tenant=None, checkpoints=None, **options):
        tenants = None
        if tenant:
            tenants = list(Tenant.objects.filter(public_id=_parse_uuid(tenant)))
            if not tenants:
                raise CommandError(f"Tenant {tenant} not found. Give a tenant's public id.")

        faults = verify_all(tenants, read_checkpoints(checkpoints))
        for fault in faults:
            self.stderr.write(str(fault))
        if faults:
            raise CommandError(f"Audit chain verification failed for {len(faults)} tenant(s).")

        checked = len(tenants) if tenants is not None else Tenant.objects.count()
        self.stdout.write(f"Audit chains verified for {checked} tenant(s): no faults.")


def _parse_uuid(value):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"Invalid tenant id {value!r}: expected a UUID.")
