"""Production settings: missing secrets stop start-up, and Django's deployment checks pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.vault.keysets import generate_master_keyset_json

REPO = Path(__file__).resolve().parents[2]


def production_env(**overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "KEAP_", "VAULT_", "CACHE_", "DATABASE_"))
        and key
        not in ("SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL", "DEBUG", "SITE_KEY_HMAC_KEY")
    }
    env.update(
        {
            "PORTAL_MODE": "production",
            "SECRET_KEY": "x" * 60 + "-production-check-only-0123456789",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "VAULT_MASTER_KEYSET": generate_master_keyset_json(),
            "ALLOWED_HOSTS": "portal.example.com",
            "SITE_KEY_HMAC_KEY": "z" * 48,
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "variable",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "VAULT_MASTER_KEYSET",
        "ALLOWED_HOSTS",
        "SITE_KEY_HMAC_KEY",
    ],
)
def test_it_refuses_to_start_without_required_variable(variable):
    result = run_manage("check", env=production_env(**{variable: None}))

    assert result.returncode != 0
    assert "Missing required environment variable" in result.stderr
    assert variable in result.stderr


def test_it_reads_secret_from_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("y" * 60 + "-from-a-file-0123456789\n")

    env = production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))
    result = run_manage("check", env=env)

    assert result.returncode == 0, result.stderr


def test_it_rejects_unknown_mode():
    result = run_manage("check", env=production_env(PORTAL_MODE="staging"))

    assert result.returncode != 0
    assert "Invalid PORTAL_MODE 'staging'" in result.stderr


def test_it_passes_deployment_checks():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_never_installs_sandbox_in_production():
    code = "from django.conf import settings; print(settings.INSTALLED_APPS)"
    result = run_manage("shell", "-c", code, env=production_env())

    assert result.returncode == 0, result.stderr
    assert "keap_sandbox" not in result.stdout
    assert "allauth.mfa" in result.stdout


@pytest.mark.parametrize("level", ["40", "info", "WARNING"])
def test_it_accepts_celery_log_level_forms(level):
    # Celery's command line exports CELERY_LOG_LEVEL as a number to the processes it starts.
    result = run_manage("check", env=production_env(CELERY_LOG_LEVEL=level))

    assert result.returncode == 0, result.stderr
