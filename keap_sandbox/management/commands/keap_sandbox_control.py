"""`manage.py keap_sandbox_control`: change a running sandbox through its control API."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from keap_sandbox.control import SandboxControl, SandboxControlError


class Command(BaseCommand):
    help = "Call the control API of a running Keap sandbox and print the JSON it returns."

    def add_arguments(self, parser):
        port = getattr(settings, "SANDBOX_PORT", 8765)
        parser.add_argument(
            "--url",
            default=f"http://127.0.0.1:{port}",
            help="Base URL of the sandbox (default http://127.0.0.1:KEAP_SANDBOX_PORT).",
        )
        actions = parser.add_subparsers(dest="action", required=True)

        reset = actions.add_parser("reset", help="Forget all state.")
        reset.add_argument("--demo", action="store_true", help="Seed the demo data afterwards.")
        actions.add_parser("demo", help="Seed the demo accounts, PATs and OAuth client.")

        account = actions.add_parser("create-account", help="Create an account with an admin.")
        account.add_argument("--app-name", help="Application name such as ab123.")
        account.add_argument("--name", help="Business name.")
        account.add_argument("--sample-data", action="store_true", help="Add sample contacts.")

        user = actions.add_parser("create-user", help="Add a user to an account.")
        user.add_argument("app_name")
        user.add_argument("email")
        user.add_argument("given_name")
        user.add_argument("family_name")
        user.add_argument("--admin", action="store_true", help="Make the user an admin.")

        client = actions.add_parser("create-client", help="Register an OAuth client.")
        client.add_argument("redirect_uris", nargs="+", help="Allowed redirect URIs.")
        client.add_argument("--client-id")
        client.add_argument("--client-secret")

        key = actions.add_parser("create-key", help="Create a PAT or SAK; prints the key once.")
        key.add_argument("app_name")
        key.add_argument("--kind", choices=["PAT", "SAK"], default="PAT")
        key.add_argument("--user-id", type=int, help="User the key acts as (default: an admin).")
        key.add_argument("--name", help="Label of the key.")

        delete_key = actions.add_parser("delete-key", help="Delete a PAT or SAK by key_id.")
        delete_key.add_argument("key_id")

        for verb in ("revoke-token", "expire-token"):
            token = actions.add_parser(verb, help=f"{verb.split('-')[0].title()} a token.")
            token.add_argument("token_id", help="Token id from `tokens`, such as access-3.")
        actions.add_parser("tokens", help="List OAuth tokens (ids only, never values).")

        limits = actions.add_parser("set-limits", help="Change quota limits.")
        limits.add_argument("limits", help="JSON object, e.g. '{\"key_per_minute\": 5}'.")

        fault = actions.add_parser("add-fault", help="Add a fault rule.")
        fault.add_argument("rule", help='JSON object, e.g. \'{"kind": "error", "status": 503}\'.')
        actions.add_parser("clear-faults", help="Remove every fault rule.")

        clock = actions.add_parser("clock", help="Show or move the sandbox clock.")
        clock.add_argument("--set", help="Epoch seconds or ISO-8601 time; freezes the clock.")
        clock.add_argument("--advance", type=float, help="Seconds to move forward.")
        clock.add_argument("--real", action="store_true", help="Follow real time again.")

        log = actions.add_parser("requests", help="Print the request log.")
        log.add_argument("--path-prefix")

        contacts = actions.add_parser("contacts", help="Print an account's contacts (v2 shape).")
        contacts.add_argument("app_name")
        seed = actions.add_parser("seed-contacts", help="Store contacts without firing hooks.")
        seed.add_argument("app_name")
        seed.add_argument("contacts", help="JSON list of contacts in v2 shape.")

    def handle(self, *args, **options):
        control = SandboxControl(options["url"])
        try:
            result = self._run(control, options)
        except SandboxControlError as exc:
            raise CommandError(str(exc))
        except json.JSONDecodeError as exc:
            raise CommandError(f"Invalid JSON argument: {exc}.")
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))

    def _run(self, control: SandboxControl, options: dict):
        """Call the control API method that the chosen action names; return its JSON."""
        o = options
        actions = {
            "reset": lambda: control.reset(demo=o["demo"]),
            "demo": control.seed_demo,
            "create-account": lambda: control.create_account(
                o["app_name"], o["name"], sample_data=o["sample_data"]
            ),
            "create-user": lambda: control.create_user(
                o["app_name"], o["email"], o["given_name"], o["family_name"], is_admin=o["admin"]
            ),
            "create-client": lambda: control.create_oauth_client(
                o["redirect_uris"], o["client_id"], o["client_secret"]
            ),
            "create-key": lambda: control.create_api_key(
                o["app_name"], o["kind"], o["user_id"], o["name"]
            ),
            "delete-key": lambda: control.delete_api_key(o["key_id"]),
            "revoke-token": lambda: control.revoke_token(token_id=o["token_id"]),
            "expire-token": lambda: control.expire_token(token_id=o["token_id"]),
            "tokens": control.tokens,
            "set-limits": lambda: control.set_limits(**json.loads(o["limits"])),
            "add-fault": lambda: _add_fault(control, json.loads(o["rule"])),
            "clear-faults": control.clear_faults,
            "clock": lambda: self._clock(control, o),
            "requests": lambda: control.request_log(path_prefix=o["path_prefix"]),
            "contacts": lambda: control.contacts(o["app_name"]),
            "seed-contacts": lambda: control.seed_contacts(
                o["app_name"], json.loads(o["contacts"])
            ),
        }
        return actions[o["action"]]()

    def _clock(self, control: SandboxControl, options: dict):
        if options["set"]:
            when = options["set"]
            control.set_clock(float(when) if when.replace(".", "", 1).isdigit() else when)
        if options["advance"] is not None:
            control.advance_clock(options["advance"])
        if options["real"]:
            control.follow_real_time()
        return control.clock()


def _add_fault(control: SandboxControl, rule: dict):
    if not isinstance(rule, dict) or "kind" not in rule:
        raise CommandError('Invalid fault rule: give a JSON object with "kind".')
    return control.add_fault(rule.pop("kind"), **rule)
