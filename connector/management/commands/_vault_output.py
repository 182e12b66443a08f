"""Writing cleartext keysets for the vault commands: to stdout, or to a new file with mode 600."""

import os

from django.core.management.base import CommandError


def write_keyset(command, keyset_json, output_path):
    """Print `keyset_json`, or write it to `output_path`, which must not exist yet."""
    if not output_path:
        command.stdout.write(keyset_json)
        return

    try:
        # O_EXCL: never overwrite a keyset file, which may be the only copy of a key.
        fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{output_path} already exists; choose a new file name.")
    except OSError as exc:
        raise CommandError(f"Cannot create {output_path}: {exc.strerror}.")

    with os.fdopen(fd, "w") as handle:
        handle.write(keyset_json)
    os.chmod(output_path, 0o600)
    command.stderr.write(f"Wrote {output_path} (mode 600). It is a secret: store it like one.")
