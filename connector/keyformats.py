"""Shapes of the secrets the portal handles, shared by the code that issues them and the log
filter that redacts them."""

import re

# Keap PATs and SAKs; the ones seen in public code are this prefix and 50 hex characters.
KEAP_KEY_PREFIX = "KeapAK-"

# Site keys that the portal issues. The fixed prefix lets secret scanners find leaked keys.
SITE_KEY_PREFIX = "kpsk_"

SECRET_PATTERNS = [
    re.compile(re.escape(KEAP_KEY_PREFIX) + r"[A-Za-z0-9_\-]+"),
    re.compile(re.escape(SITE_KEY_PREFIX) + r"[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|password|api[_-]?key)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    # An OAuth authorization code in a query string.
    re.compile(r"(?i)(\bcode=)[^\s&\"']+"),
    re.compile(r"(?i)(x-keap-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
]

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Replace anything shaped like a secret in `text` with a marker."""
    for pattern in SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
