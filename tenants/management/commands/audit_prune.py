from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.audit_chain import prune_tenant
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Export audit events older than --days to a JSON Lines file, then delete them. The "
        "remaining chain still verifies from the recorded starting hash."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="keep events this many days")
        parser.add_argument("--export", required=True, help="JSON Lines file to append events to")

    def handle(self, *args, days, export, **options):
        if days < 1:
            raise CommandError(f"Invalid --days {days}: keep at least 1 day of events.")

        before = timezone.now() - timedelta(days=days)
        total = 0
        with Path(export).open("a") as export_file:
            for tenant in Tenant.objects.order_by("pk").iterator():
                total += prune_tenant(tenant, before, export_file)
        self.stdout.write(f"Exported and removed {total} audit event(s) older than {days} days.")
