"""AES-256-GCM for single fields, bound to their row by associated data.

Format: ``0x01 | nonce (12 bytes) | ciphertext + tag``. The associated data names tenant,
employee, event and field, so a ciphertext copied into another row (or column) does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


class FieldDecryptionError(Exception):
    """The ciphertext is not for this key and row, or was altered."""


def associated_data(tenant_id: str, employee_id: str, row_id: str, field: str) -> bytes:
    return "\x1f".join((tenant_id, employee_id, row_id, field)).encode()


class FieldCipher:
    """Encrypts and decrypts fields with one subject's data key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)

    def decrypt(self, blob: bytes, aad: bytes) -> str:
        if blob[:1] != FORMAT_V1:
            raise FieldDecryptionError("unknown ciphertext format")
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, aad).decode()
        except InvalidTag as err:
            raise FieldDecryptionError("ciphertext does not belong to this key and row") from err
