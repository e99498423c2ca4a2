"""Personal data at rest: Fernet encryption, and keyed digests for exact-match lookups.

Keys rotate (`python main.py rotate-key`): data are encrypted with the current key and read
with it or any old one (MultiFernet). Digests must stay comparable across a rotation (a
person's passport digest is matched against the insurer's imported ones, which we cannot
recompute), so their key does not rotate: it is DATA_DIGEST_KEY when set, otherwise derived
from the oldest key configured (the last old key, or the only key).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def derive_digest_key(key: bytes) -> bytes:
    """The digest key of a deployment that never set DATA_DIGEST_KEY."""
    return hashlib.sha256(b"digest:" + key).digest()


class Vault:
    def __init__(
        self, key: bytes, old_keys: Sequence[bytes] = (), *, digest_key: bytes | None = None
    ) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in (key, *old_keys)])
        self.rotating = bool(old_keys)
        # A separate key for digests, derived so that one secret is enough to configure.
        self.digest_key = digest_key or derive_digest_key(old_keys[-1] if old_keys else key)
        self._digest_key = self.digest_key

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

    def rotate(self, token: str) -> str:
        """The same plain value encrypted with the current key."""
        return self.rotate_bytes(token.encode()).decode()

    def rotate_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken as error:
            raise ValueError("the data cannot be decrypted with these keys") from error

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
