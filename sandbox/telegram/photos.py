"""Photos as Telegram stores them: the picture in several sizes, each a file of its own.

Telegram answers a photo with an array of PhotoSize, smallest first: thumbnails that fit in
90, 320 and 800 px and the picture itself fitted in 1280 px, each with its real width and
height. Pillow is imported on the first photo, not when the sandbox starts.
"""

from __future__ import annotations

import io
from typing import Any

from sandbox.telegram.state import SandboxState, StoredFile

SIDES = (90, 320, 800, 1280)


class NotAnImage(ValueError):
    """The bytes are not a picture Pillow can read."""


def photo_sizes(state: SandboxState, content: bytes, file_name: str) -> list[dict[str, Any]]:
    """Stores the picture's sizes as files; the PhotoSize array, smallest first."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as opened:
            picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise NotAnImage(file_name) from error
    sizes = []
    largest = max(picture.size)
    for side in SIDES:
        copy = picture.copy()
        copy.thumbnail((side, side))  # only ever smaller: the picture itself when it fits
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=87)
        stored = state.store_file(buffer.getvalue(), f"{file_name}.jpg", "image/jpeg", "photo")
        sizes.append(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "width": copy.width,
                "height": copy.height,
            }
        )
        if side >= largest:
            break
    for size in sizes:
        state.photos[size["file_id"]] = sizes
    state.touch()
    return sizes


def known_photo(state: SandboxState, stored: StoredFile) -> list[dict[str, Any]]:
    """A photo stored as one file (a sandbox state from before sizes): its one real size."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(state.file_content(stored))) as picture:
            width, height = picture.size
    except OSError:
        width, height = 0, 0
    size = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": width,
        "height": height,
    }
    state.photos[stored.file_id] = [size]
    state.touch()
    return [size]
