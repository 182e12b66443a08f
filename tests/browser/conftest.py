"""Fixtures for browser tests: Debian's Chromium driven by Playwright, the portal on pytest-django's
live server, a real Celery worker process and the Keap sandbox, all on 127.0.0.1.

The worker is a subprocess (`celery -A config worker`) reading the same test database and Redis
as the tests. It gets the test process's vault master keyset through its environment, because a
test-mode process without one generates its own and could not read what the other encrypted.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

from config.celery import app as celery_app
from connector.vault import master
from tests import factories
from tests.portal.ui_helpers import enable_layout_context

BASE_DIR = Path(__file__).resolve().parents[2]
AXE_PATH = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOT_DIR = BASE_DIR / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
WORKER_READY_SECONDS = 60

# Keap's per-key limits allow 240 calls a minute, so the 400 calls of the main-job test would
# take two minutes. The portal's limiter and the sandbox both get these higher limits instead.
BROWSER_TEST_LIMITS = {"key_per_second": 200, "key_per_minute": 12000}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    """The Chromium browser, launched once per session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's chromium package.")
    # Playwright's sync API keeps an asyncio loop in this thread, and Django then refuses ORM
    # calls here as if they came from async code. The tests call the ORM only between browser
    # steps, never from a coroutine, so the check is switched off while the browser runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def run_token():
    """A token naming this session's Celery queue and rate-limit keys in the shared Redis."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="package")
def portal_settings(keap_sandbox_server, run_token):
    """The sandbox's URLs and a Celery queue of their own for the browser tests.

    Undone after the last browser test, so that later tests send no task to this package's
    worker, which would run it on their database while they flush it.
    """
    base = keap_sandbox_server.base_url
    override = override_settings(
        KEAP_AUTHORIZE_URL=f"{base}/app/oauth/authorize",
        KEAP_TOKEN_URL=f"{base}/token",
        KEAP_API_BASE_URL=f"{base}/crm/rest",
        KEAP_CLIENT_ID="portal-browser-client",
        KEAP_CLIENT_SECRET="portal-browser-client-secret-0123456789",
        RATELIMIT_LIMITS={name: str(value) for name, value in BROWSER_TEST_LIMITS.items()},
        RATELIMIT_KEY_PREFIX=f"ratelimit-browser-{run_token}:",
    )
    override.enable()
    saved_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = f"celery-browser-{run_token}"
    yield settings
    celery_app.conf.task_default_queue = saved_queue
    override.disable()


@pytest.fixture
def portal(portal_settings, live_server, settings, keap_sandbox, transactional_db):
    """The live server's base URL, with the sandbox reset and the layout context enabled."""
    enable_layout_context(settings)
    settings.PORTAL_BASE_URL = live_server.url
    keap_sandbox.set_limits(**BROWSER_TEST_LIMITS)
    return live_server.url


@pytest.fixture(scope="package")
def celery_worker_process(portal_settings, live_server, django_db_setup, django_db_blocker):
    """A `celery -A config worker` subprocess on the test database, stopped after the browser tests.

    It consumes only this session's queue, so no other worker takes its tasks.
    """
    log_path = BASE_DIR / "var" / "browser-tests-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = _worker_environment(live_server.url)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--queues={celery_app.conf.task_default_queue}",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_worker(process, log_path)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def worker(celery_worker_process, portal):
    """Use in a test that needs jobs and credential checks run by the real worker."""
    assert celery_worker_process.poll() is None, "the Celery worker process has stopped"
    return celery_worker_process


@pytest.fixture
def browser_page(chromium, portal):
    """A fresh browser context and page, 1280 pixels wide, with console errors collected."""
    context = chromium.new_context(viewport=VIEWPORT, base_url=portal)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    yield page
    context.close()


@pytest.fixture
def signed_in_page(browser_page, portal, owner):
    """`browser_page` signed in as the tenant's owner (with TOTP set up) by session cookie."""
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    client = factories.login(Client(), owner.user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser_page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": portal}])
    return browser_page


def check_accessibility(page):
    """Run axe-core on the page and return its serious and critical violations.

    The script is evaluated through the DevTools protocol, which the page's CSP does not govern;
    `add_script_tag` would insert an inline script, which `script-src 'self'` blocks.
    """
    page.evaluate(AXE_PATH.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def save_screenshot(page, name, *, full_page=True):
    """Save a PNG of the page, 1280 pixels wide, as docs/screenshots/<name>.png.

    `full_page=False` keeps only the first 800 pixels of a long page.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=full_page)


def _worker_environment(portal_url):
    database = settings.DATABASES["default"]
    database_url = (
        f"postgres://{database['USER']}:{database.get('PASSWORD') or ''}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        {
            "PORTAL_MODE": "test",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CACHE_URL": settings.CACHE_URL,
            "RATELIMIT_REDIS_URL": settings.RATELIMIT_REDIS_URL or settings.CELERY_BROKER_URL,
            "VAULT_MASTER_KEYSET": master.master_keyset_json(),
            "SECRET_KEY": settings.SECRET_KEY,
            "KEAP_AUTHORIZE_URL": settings.KEAP_AUTHORIZE_URL,
            "KEAP_TOKEN_URL": settings.KEAP_TOKEN_URL,
            "KEAP_API_BASE_URL": settings.KEAP_API_BASE_URL,
            "KEAP_CLIENT_ID": settings.KEAP_CLIENT_ID,
            "KEAP_CLIENT_SECRET": settings.KEAP_CLIENT_SECRET,
            "PORTAL_BASE_URL": portal_url,
            "RATELIMIT_LIMITS": ",".join(f"{k}={v}" for k, v in BROWSER_TEST_LIMITS.items()),
            "RATELIMIT_KEY_PREFIX": settings.RATELIMIT_KEY_PREFIX,
            "LOG_FORMAT": "text",
            # The readiness check reads the worker's INFO "ready." line, and an in-process
            # Celery worker of an earlier test may have exported a higher CELERY_LOG_LEVEL.
            "LOG_LEVEL": "INFO",
            "CELERY_LOG_LEVEL": "INFO",
        }
    )
    return env


def _wait_for_worker(process, log_path):
    deadline = time.monotonic() + WORKER_READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_tail = log_path.read_text()[-3000:]
            pytest.fail(f"The Celery worker exited with {process.returncode}:\n{log_tail}")
        if " ready." in log_path.read_text():
            return
        time.sleep(0.2)
    log_tail = log_path.read_text()[-3000:]
    pytest.fail(f"The Celery worker was not ready within {WORKER_READY_SECONDS} s:\n{log_tail}")
