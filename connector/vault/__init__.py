"""The credential vault: Tink AEAD keysets per tenant, wrapped by a master keyset."""

from connector.vault.errors import VaultError

__all__ = ["VaultError"]
