"""Pytest fixtures that run the Keap sandbox in-process on a free local port.

- `keap_sandbox_server` (session): the running `SandboxServer`; started once, stopped at exit.
- `keap_sandbox` (function): a `SandboxControl` for a freshly reset sandbox with Keap's real
  quota limits, the clock following real time and hook delays compressed 1000 times.
- `keap_demo` (function): the demo seeding's summary (accounts with PATs, the OAuth client) on
  top of `keap_sandbox`.
- `keap_settings` (function): Django's KEAP_* URL settings pointed at the sandbox, for code that
  reads them; needs pytest-django.
- `keap_hook_receiver` (function): a `HookReceiver` listening on 127.0.0.1.
"""

import pytest

from keap_sandbox.control import SandboxControl
from keap_sandbox.server import SandboxServer
from keap_sandbox.testing import HookReceiver

TEST_HOOK_TIME_SCALE = 0.001


@pytest.fixture(scope="session")
def keap_sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def keap_sandbox(keap_sandbox_server) -> SandboxControl:
    state = keap_sandbox_server.state
    state.reset()
    state.clock.follow_real_time()
    state.hook_time_scale = TEST_HOOK_TIME_SCALE
    control = SandboxControl(keap_sandbox_server.base_url)
    control.server = keap_sandbox_server
    yield control
    state.faults.clear()


@pytest.fixture
def keap_demo(keap_sandbox) -> dict:
    return keap_sandbox.seed_demo()


@pytest.fixture
def keap_settings(keap_sandbox, settings):
    settings.KEAP_AUTHORIZE_URL = keap_sandbox.authorize_url
    settings.KEAP_TOKEN_URL = keap_sandbox.token_url
    settings.KEAP_API_BASE_URL = keap_sandbox.api_base_url
    return settings


@pytest.fixture
def keap_hook_receiver():
    """Start a `HookReceiver` on 127.0.0.1 that completes handshakes and records deliveries."""
    receiver = HookReceiver().start()
    yield receiver
    receiver.stop()
