"""What a person is told when a file is refused (identity checks, appeals): one wording."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from core.uploads import MAX_UPLOAD_BYTES, UploadRefused


def upload_refusal(error: UploadRefused) -> str:
    if error.why == "size":
        return _("The file is larger than {size} MB. Please send a smaller one.").format(
            size=MAX_UPLOAD_BYTES // (1024 * 1024)
        )
    return _("This file is not a photo or a scan: send a photo, or a JPEG, PNG, HEIC or PDF file.")
