"""A schemathesis run over the client API's OpenAPI schema, against a live server on 127.0.0.1.

It sends generated requests to every operation with a valid site key that holds every scope,
and fails on any 5xx answer and on any answer that breaks the schema.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector.scopes import SCOPES
from tests import factories
from tests.connector.site_factories import make_site

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def schemathesis_command():
    installed = Path(sys.executable).with_name("st")
    return str(installed) if installed.exists() else shutil.which("st")


def test_it_finds_no_server_errors_or_schema_breaks(live_server, tmp_path):
    tenant = factories.make_tenant("Schema")
    shop = make_site(tenant, scopes=sorted(SCOPES), requests_per_minute=1_000_000)

    result = subprocess.run(
        [
            schemathesis_command(),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {shop.raw_key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "4",
            "--generation-deterministic",
            "--request-timeout",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert selected, output[-2000:]
    assert selected.group(1) == selected.group(2)
    assert int(re.search(r"Tested: (\d+)", output).group(1)) >= 12
    generated, passed = re.search(r"(\d+) generated, (\d+) passed", output).groups()
    assert generated == passed
