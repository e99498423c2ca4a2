"""Files people send (identity checks, appeal attachments): accepted by their bytes, never by
the name or the type the sender declared; kept under names we make up.

JPEG, PNG, HEIC and PDF are recognised by their magic bytes (the `filetype` library); anything
else is refused, and so is a file over the size limit or an empty one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import filetype

from core.errors import DomainError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ACCEPTED = {  # the type the bytes show -> the extension of the stored name
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "image/heif": "heic",
    "application/pdf": "pdf",
}


class UploadRefused(DomainError):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why  # "type" or "size"


@dataclass(frozen=True, slots=True)
class Upload:
    mime_type: str
    filename: str  # generated: `<prefix>-<random>.<extension>`
    content: bytes


def check_size(size: int | None, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Before downloading: the size Telegram reports (unknown passes; the bytes are checked)."""
    if size is not None and size > limit:
        raise UploadRefused("size")


def sniff(content: bytes) -> str | None:
    """The accepted type the bytes are, or None."""
    kind = filetype.guess(content[:8192]) if content else None
    if kind is None or kind.mime not in ACCEPTED:
        return None
    return "image/heic" if kind.mime == "image/heif" else str(kind.mime)


def accept_upload(content: bytes, prefix: str, limit: int = MAX_UPLOAD_BYTES) -> Upload:
    """The file as we keep it, or UploadRefused."""
    if len(content) > limit:
        raise UploadRefused("size")
    mime = sniff(content)
    if mime is None:
        raise UploadRefused("type")
    return Upload(mime, f"{prefix}-{secrets.token_hex(6)}.{ACCEPTED[mime]}", content)
