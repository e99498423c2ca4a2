"""Personal data at rest: Fernet encryption, and keyed digests for exact-match lookups."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # A separate key for digests, derived so that one secret is enough to configure.
        self._digest_key = hashlib.sha256(b"digest:" + key).digest()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise ValueError("the data cannot be decrypted with this key") from error

    def encrypt_bytes(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as error:
            raise ValueError("the data cannot be decrypted with this key") from error

    def digest(self, value: str) -> str:
        """Deterministic keyed hash: finds equal values without storing them in the clear."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def load_or_create_key(path: Path) -> str:
    """The sandbox's key: made on the first run and kept, so restarts can read old data."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    path.write_text(key, encoding="ascii")
    path.chmod(0o600)
    return key
