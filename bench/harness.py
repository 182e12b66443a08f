"""The run of a benchmark: its settings and names, the database of each scenario, Django in
the harness process, and the tenants, connections and sites that scenarios start from.

The harness process uses the portal's own code (actions, the vault, `create_job`) to prepare
data, against the same database as the processes it starts.
"""

import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests

from bench import stack

TEMPLATE_SUFFIX = "_template"


@dataclass
class Run:
    """One invocation of bench/run.py: where its data lives and the names it uses."""

    database_url: str
    cache_url: str
    broker_url: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    master_keyset: str = ""

    @property
    def template_name(self):
        return stack.urlsplit(self.database_url).path.lstrip("/") + TEMPLATE_SUFFIX

    @property
    def celery_queue(self):
        return f"bench-{self.token}"

    def base_env(self):
        """Return the environment of every process the run starts, before scenario settings."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        }
        env.update(
            {
                "PYTHONPATH": str(stack.BASE_DIR),
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "PORTAL_MODE": "test",
                "DATABASE_URL": self.database_url,
                "CACHE_URL": self.cache_url,
                "CELERY_BROKER_URL": self.broker_url,
                "RATELIMIT_REDIS_URL": self.cache_url,
                "RATELIMIT_KEY_PREFIX": f"bench-{self.token}:",
                "BENCH_CELERY_QUEUE": self.celery_queue,
                "BENCH_JOB_QUEUE": f"bench-jobs-{self.token}",
                "VAULT_MASTER_KEYSET": self.master_keyset,
                "KEAP_CLIENT_ID": "bench-client",
                "KEAP_CLIENT_SECRET": f"bench-client-secret-{self.token}",
                "LOG_LEVEL": "INFO",
            }
        )
        return env


def setup_django(run):
    """Configure Django in this process with the run's settings and migrate the template."""
    for key, value in run.base_env().items():
        if key not in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH"):
            os.environ[key] = value
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(stack.BASE_DIR))
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connections

    template_url = stack.with_database(run.database_url, run.template_name)
    stack.recreate_database(template_url)
    started = time.perf_counter()
    _point_at(template_url)
    call_command("migrate", verbosity=0)
    connections.close_all()
    print(f"migrated the template database in {time.perf_counter() - started:.1f} s")

    from connector.vault import master

    run.master_keyset = master.master_keyset_json()


def _point_at(url):
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = stack.urlsplit(url).path.lstrip("/")


def fresh_database(run):
    """Give the scenario an empty, migrated copy of the template; Django here points at it."""
    from django.db import connections

    connections.close_all()
    stack.recreate_database(run.database_url, template=run.template_name)
    _point_at(run.database_url)


def cleanup(run):
    """Drop the run's databases and delete its Redis keys."""
    from django.db import connections

    from connector.ratelimit import get_redis

    connections.close_all()
    stack.drop_database(run.database_url)
    stack.drop_database(stack.with_database(run.database_url, run.template_name))
    import redis

    for url in {run.cache_url, run.broker_url}:
        client = redis.Redis.from_url(url)
        for pattern in (f"*bench-{run.token}*", f"*bench-jobs-{run.token}*", "bench:queries:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    get_redis().close()


def new_stack(run, scenario, **settings):
    """Return a Stack whose processes get the run's environment plus `settings`."""
    env = run.base_env()
    env.update({key: str(value) for key, value in settings.items()})
    return stack.Stack(env, scenario)


# --- Data ------------------------------------------------------------------------------------


def sandbox_control(url):
    from keap_sandbox.control import SandboxControl

    return SandboxControl(url)


def sandbox_settings(url):
    """Point this process's Keap URLs at the sandbox, as the started processes are."""
    from django.conf import settings

    settings.KEAP_API_BASE_URL = f"{url}/crm/rest"
    settings.KEAP_TOKEN_URL = f"{url}/token"
    settings.KEAP_AUTHORIZE_URL = f"{url}/app/oauth/authorize"


def make_tenant(name):
    from tenants.models import Tenant

    return Tenant.objects.create(name=name)


def connect_pat(tenant, control, app_name):
    """Create sandbox account `app_name` with a PAT and connect `tenant` to it the way the
    portal does (store, then check with Keap's userinfo). Returns (connection, PAT)."""
    from connector import actions
    from connector.actor import SYSTEM
    from connector.models import Connection

    control.create_account(app_name, f"Bench {app_name}")
    key = control.create_api_key(app_name, "PAT")["key"]
    credential = actions.do_add_pending_api_key(tenant, method="pat", key=key, actor=SYSTEM)
    result = actions.do_verify_pending_credential(credential.pk)
    if not result or result.get("outcome") != "created":
        raise RuntimeError(f"PAT connection to {app_name} not created: {result}")
    return Connection.objects.select_related("tenant").get(pk=credential.connection_id), key


def register_oauth_client(control):
    from django.conf import settings

    from connector.keap import oauth

    control.create_oauth_client(
        [oauth.redirect_uri()],
        client_id=settings.KEAP_CLIENT_ID,
        client_secret=settings.KEAP_CLIENT_SECRET,
    )


def oauth_tokens(control, app_name):
    """Create sandbox account `app_name` and return a TokenSet for its admin, through Keap's
    authorization code flow (consent page, then code exchange)."""
    from connector.keap import oauth

    account = control.create_account(app_name, f"Bench {app_name}")
    user_id = account["users"][0]["id"]
    verifier, challenge = oauth.new_pkce_pair()
    location = control.authorize(oauth.authorize_url("bench-state", challenge), user_id)
    code = parse_qs(urlsplit(location).query)["code"][0]
    return oauth.exchange_code(code, verifier)


def connect_oauth(tenant, control, app_name):
    """Connect `tenant` to a new sandbox account by OAuth the way the portal does."""
    from connector import actions
    from connector.actor import SYSTEM
    from connector.models import Connection

    tokens = oauth_tokens(control, app_name)
    credential = actions.do_add_pending_oauth(tenant, tokens=tokens, actor=SYSTEM)
    result = actions.do_verify_pending_credential(credential.pk)
    if not result or result.get("outcome") != "created":
        raise RuntimeError(f"OAuth connection to {app_name} not created: {result}")
    return Connection.objects.select_related("tenant").get(pk=credential.connection_id)


def make_site(tenant, connection, scopes):
    """Create a client site through the portal's action; return its raw site key."""
    from connector import sites
    from connector.actor import SYSTEM

    issued = sites.do_create_site(
        tenant,
        name=f"Bench site {uuid.uuid4().hex[:6]}",
        connection=connection,
        scopes=scopes,
        actor=SYSTEM,
        requests_per_minute=1_000_000,
    )
    return issued.raw_key


def api_session(site_key):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {site_key}"
    return session


def wait_for_jobs(finished_count, expected, *, timeout, poll=0.2):
    """Poll `finished_count()` until it reaches `expected`; return the seconds waited."""
    started = time.monotonic()
    while True:
        done = finished_count()
        if done >= expected:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"only {done} of {expected} jobs finished within {timeout} s")
        time.sleep(poll)


def percentile(values, share):
    """Return the `share` (0 to 1) percentile of `values` by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
