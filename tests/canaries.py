"""Canary secrets: recognisable fake secrets that tests feed in and then search for in output.

Each value has the form of the secret it stands for, so input checks accept it, and a long
unique middle part, so a hit can only come from a leak. `forms(secret)` returns the encodings
a leaked value could take.
"""

import base64
from urllib.parse import quote

CANARY_PAT = "KeapAK-" + "ca7a1e5c" * 6 + "a1"
CANARY_SAK = "KeapAK-" + "5a4c0ffe" * 6 + "b2"
CANARY_ACCESS_TOKEN = "canary-access-token-7f3b9c2e4d1a8b6f"
CANARY_REFRESH_TOKEN = "canary-refresh-token-2e8d4f6a1c3b5e7d"
CANARY_CLIENT_SECRET = "canary-client-secret-9d1e3f5b7a2c4e6f"
# The secret part of a site key whose lookup id is real; see connector.sites.generate_key.
CANARY_SITE_KEY_SECRET = "canarySiteKeySecret_4b6d8f0a2c4e6a8c"

# Shorter values give base64 forms of a few characters, which match unrelated text.
MIN_SECRET_LENGTH = 16

CANARIES = [
    CANARY_PAT,
    CANARY_SAK,
    CANARY_ACCESS_TOKEN,
    CANARY_REFRESH_TOKEN,
    CANARY_CLIENT_SECRET,
    CANARY_SITE_KEY_SECRET,
]


def _base64_cores(raw, encode):
    """Return base64 forms of `raw` as it would appear at any byte offset in a longer value.

    Base64 encodes 3 bytes as 4 characters, so the same bytes encode differently at offsets 0,
    1 and 2. Each form drops its first and last group, which mix in the neighbouring bytes.
    """
    cores = []
    for shift in range(3):
        encoded = encode(b"\0" * shift + raw).rstrip(b"=")
        cores.append(encoded[4:-4] if shift else encoded[:-4])
    return cores


def forms(secret):
    """Return {name: bytes} of the encodings a leaked `secret` could take in stored text.

    Raises ValueError for a secret under MIN_SECRET_LENGTH characters, whose base64 forms would
    be too short to tell a leak from chance.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"Secret too short to search for: {len(secret)} characters.")
    raw = secret.encode()
    found = {
        "raw": raw,
        "url-encoded": quote(secret, safe="").encode(),
        "hex": raw.hex().encode(),
    }
    for number, core in enumerate(_base64_cores(raw, base64.b64encode)):
        found[f"base64 at offset {number}"] = core
    for number, core in enumerate(_base64_cores(raw, base64.urlsafe_b64encode)):
        found[f"base64url at offset {number}"] = core
    return found


def find_leaks(haystack, secrets):
    """Return "name (encoding)" for every form of every secret found in the bytes `haystack`.

    `secrets` maps a name to a secret string.
    """
    leaks = []
    for name, secret in secrets.items():
        for encoding, needle in forms(secret).items():
            if needle in haystack:
                leaks.append(f"{name} ({encoding})")
    return leaks
