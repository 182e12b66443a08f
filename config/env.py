"""Readers for settings that come from environment variables."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default

    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"Invalid value {raw!r} for {name}: use one of 1, true, yes, on, 0, false, no, off."
    )


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default

    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Invalid value {raw!r} for {name}: expected a whole number.")


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name):
    """Read a secret from NAME, or from the file that NAME_FILE points to.

    Returns an empty string when neither is set. The file form suits Docker and Kubernetes
    secrets, which are mounted as files.
    """
    value = os.environ.get(name, "")
    if value:
        return value

    path = os.environ.get(f"{name}_FILE", "")
    if not path:
        return ""

    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"Cannot read {name}_FILE={path!r}: {exc.strerror}.")


def require(values):
    """Raise ImproperlyConfigured naming every variable in `values` that is empty."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        names = ", ".join(missing)
        raise ImproperlyConfigured(
            f"Missing required environment variable(s): {names}. Production mode "
            "(PORTAL_MODE=production, the default) needs them set; see the configuration "
            "table in README.md. For a local trial run `make demo` instead."
        )


def env_mapping(name):
    """Read NAME as comma-separated `key=value` pairs into a dict of strings."""
    mapping = {}
    for item in env_list(name):
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise ImproperlyConfigured(
                f"Invalid item {item!r} in {name}: use comma-separated name=value pairs."
            )
        mapping[key.strip()] = value.strip()
    return mapping


def env_float(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default

    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Invalid value {raw!r} for {name}: expected a number.")
