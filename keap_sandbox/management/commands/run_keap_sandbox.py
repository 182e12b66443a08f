"""`manage.py run_keap_sandbox`: serve the Keap sandbox in the foreground."""

import json
import signal

from django.core.management.base import BaseCommand

from keap_sandbox.seed import seed_demo
from keap_sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Run the local Keap emulator (OAuth, REST v1/v2, quotas, faults) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)."
        )
        parser.add_argument("--port", type=int, default=8765, help="Port (default 8765).")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Seed the demo accounts, one PAT each and the portal's OAuth client.",
        )
        parser.add_argument(
            "--hook-time-scale",
            type=float,
            default=1.0,
            help="Multiply Keap's REST hook delays (30 s to 30 min) by this factor (default 1).",
        )

    def handle(self, *args, **options):
        server = SandboxServer(host=options["host"], port=options["port"])
        server.state.hook_time_scale = options["hook_time_scale"]
        self.stdout.write(f"Keap sandbox listening on {server.base_url}")
        self.stdout.write(f"  REST API:   {server.base_url}/crm/rest/v1 and /v2")
        self.stdout.write(f"  Authorize:  {server.base_url}/app/oauth/authorize")
        self.stdout.write(f"  Token:      {server.base_url}/token")
        self.stdout.write(f"  Control:    {server.base_url}/_sandbox/")
        if options["demo"]:
            with server.state.lock:
                summary = seed_demo(server.state)
            # Sandbox keys reach nothing but this process, so printing them is safe.
            self.stdout.write("Demo data:")
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
        self.stdout.flush()
        # Process managers stop services with SIGTERM; shut down as cleanly as on Ctrl+C.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Keap sandbox stopped.")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
