"""Secrets generated for the demo on first start and kept under the demo folder.

They make `make demo` work with nothing to configure. They are plain files on disk, so they are
for trying the portal only and never for real Keap data.
"""

import secrets
import sys
from pathlib import Path


def read_or_create(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()

    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    sys.stderr.write(f"DEMO ONLY: generated {path}; never use it for real credentials.\n")
    return value


def secret_key(folder: Path) -> str:
    return read_or_create(folder / "secret-key.txt", lambda: secrets.token_urlsafe(50))


def oauth_client_secret(folder: Path) -> str:
    return read_or_create(folder / "oauth-client-secret.txt", lambda: secrets.token_urlsafe(32))


def master_keyset(folder: Path) -> str:
    from connector.vault.keysets import generate_master_keyset_json

    return read_or_create(folder / "vault-master-keyset.json", generate_master_keyset_json)


def broker_folder(folder: Path) -> Path:
    """Create and return the folder that kombu's filesystem transport uses as its queue."""
    queue = folder / "broker" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    (folder / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    (folder / "broker" / "control").mkdir(parents=True, exist_ok=True)
    return queue
