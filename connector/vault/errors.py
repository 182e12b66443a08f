class VaultError(Exception):
    """A vault operation failed: a missing or wrong key, or a ciphertext that fails authentication.

    The message names the row and field involved and never contains key material or plaintext.
    """
