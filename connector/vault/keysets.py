"""Tink keyset helpers that need no Django setup, so settings can use them."""

import tink
from tink import aead, json_proto_keyset_format, secret_key_access

aead.register()

# AES-256-GCM, with Tink's 5-byte output prefix (a version byte and the key id) on every
# ciphertext, which tells which key of a keyset encrypted a stored value.
KEY_TEMPLATE = aead.aead_key_templates.AES256_GCM


def generate_keyset_handle() -> tink.KeysetHandle:
    return tink.new_keyset_handle(KEY_TEMPLATE)


def generate_master_keyset_json() -> str:
    """Return a new cleartext master keyset in Tink's JSON format."""
    return json_proto_keyset_format.serialize(generate_keyset_handle(), secret_key_access.TOKEN)
