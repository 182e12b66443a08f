"""Tink keyset helpers that need no Django setup, so settings can use them.

Tink's Python API (1.16) has no keyset manager, so rotation edits the keyset proto directly:
parse it, append a freshly generated key, make that key primary and parse the result back.
"""

import base64
import json

import tink
from tink import aead, json_proto_keyset_format, proto_keyset_format, secret_key_access
from tink.proto import tink_pb2

aead.register()

# AES-256-GCM, with Tink's 5-byte output prefix (a version byte and the key id) on every
# ciphertext, which identifies the key of a keyset that encrypted a stored value.
KEY_TEMPLATE = aead.aead_key_templates.AES256_GCM

TINK_PREFIX_VERSION = 0x01
TINK_PREFIX_SIZE = 5


class KeysetError(Exception):
    """A keyset could not be parsed or changed as requested."""


def generate_keyset_handle() -> tink.KeysetHandle:
    return tink.new_keyset_handle(KEY_TEMPLATE)


def generate_master_keyset_json() -> str:
    """Return a new cleartext master keyset in Tink's JSON format."""
    return json_proto_keyset_format.serialize(generate_keyset_handle(), secret_key_access.TOKEN)


def parse_cleartext_json(keyset_json: str) -> tink.KeysetHandle:
    """Parse a cleartext keyset in Tink's JSON format, raising KeysetError when it is invalid."""
    try:
        return json_proto_keyset_format.parse(keyset_json, secret_key_access.TOKEN)
    except (tink.TinkError, ValueError) as exc:
        raise KeysetError(f"Invalid Tink JSON keyset: {exc}") from None


def serialize_cleartext_json(handle: tink.KeysetHandle) -> str:
    return json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)


def to_proto(handle: tink.KeysetHandle) -> tink_pb2.Keyset:
    return tink_pb2.Keyset.FromString(
        proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    )


def from_proto(keyset: tink_pb2.Keyset) -> tink.KeysetHandle:
    return proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)


def key_ids(handle: tink.KeysetHandle) -> list[int]:
    return [key.key_id for key in handle.keyset_info().key_info]


def primary_key_id(handle: tink.KeysetHandle) -> int:
    return handle.keyset_info().primary_key_id


def add_primary_key(handle: tink.KeysetHandle) -> tink.KeysetHandle:
    """Return a copy of `handle` with one new AES-256-GCM key appended and made primary.

    The old keys stay enabled, so values they encrypted still decrypt.
    """
    keyset = to_proto(handle)
    existing = {key.key_id for key in keyset.key}

    new_key = to_proto(generate_keyset_handle()).key[0]
    while new_key.key_id in existing:
        new_key = to_proto(generate_keyset_handle()).key[0]

    keyset.key.append(new_key)
    keyset.primary_key_id = new_key.key_id
    return from_proto(keyset)


def remove_key(handle: tink.KeysetHandle, key_id: int) -> tink.KeysetHandle:
    """Return a copy of `handle` without key `key_id`.

    Raises KeysetError when the key is missing or is the primary key, because a keyset
    without its primary key cannot encrypt.
    """
    keyset = to_proto(handle)
    if key_id == keyset.primary_key_id:
        raise KeysetError(f"Key {key_id} is the primary key; rotate first, then retire it.")

    remaining = [key for key in keyset.key if key.key_id != key_id]
    if len(remaining) == len(keyset.key):
        raise KeysetError(f"Key {key_id} is not in the keyset; it has {key_ids(handle)}.")

    del keyset.key[:]
    keyset.key.extend(remaining)
    return from_proto(keyset)


def ciphertext_key_id(ciphertext: bytes) -> int:
    """Return the id of the key that produced a Tink ciphertext, read from its 5-byte prefix."""
    if len(ciphertext) < TINK_PREFIX_SIZE or ciphertext[0] != TINK_PREFIX_VERSION:
        raise KeysetError("Not a Tink ciphertext with a TINK output prefix.")
    return int.from_bytes(ciphertext[1:TINK_PREFIX_SIZE], "big")


def encrypted_keyset_info(encrypted_keyset_json: str) -> tuple[int, list[int], int]:
    """Return (primary key id, key ids, wrapping key id) of a keyset from `serialize_encrypted`.

    Reads only the unencrypted `keysetInfo` and the ciphertext prefix, so it needs no key.
    """
    document = json.loads(encrypted_keyset_json)
    info = document.get("keysetInfo", {})
    ids = [int(key["keyId"]) for key in info.get("keyInfo", [])]
    wrapped = base64.b64decode(document["encryptedKeyset"])
    return int(info.get("primaryKeyId", 0)), ids, ciphertext_key_id(wrapped)
