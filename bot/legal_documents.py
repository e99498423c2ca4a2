"""The cabinet's own texts (the user agreement, the personal and health data consents) as PDF.

The texts live in `locales/<language>/documents/<name>.txt`; each goes out as a PDF in the
reader's language with a caption that names it. Drawn once per process and language.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _

from bot.i18n import LOCALES_DIR
from core.accounts.consents import ConsentKind
from core.documents.compose import text_layout
from core.documents.service import render_pdf

FILES = {
    ConsentKind.PERSONAL_DATA: "personal_data_policy",
    ConsentKind.HEALTH_DATA: "health_data_consent",
    ConsentKind.USER_AGREEMENT: "user_agreement",
}


def title(kind: ConsentKind) -> str:
    return {
        ConsentKind.PERSONAL_DATA: _("Personal data policy"),
        ConsentKind.HEALTH_DATA: _("Health data processing"),
        ConsentKind.USER_AGREEMENT: _("User agreement"),
    }[kind]


_drawn: dict[tuple[ConsentKind, str, str], bytes] = {}


async def legal_document(
    kind: ConsentKind, language: str, issuer: str, now: datetime
) -> tuple[BufferedInputFile, str]:
    """The PDF of a text in the language, and its caption (in the current locale)."""
    name = FILES[kind]
    content = _drawn.get((kind, language, issuer))
    if content is None:
        text = (LOCALES_DIR / language / "documents" / f"{name}.txt").read_text(encoding="utf-8")
        layout = text_layout(text, f"{name}_{language}.pdf", issuer)
        content = await asyncio.to_thread(render_pdf, layout, now)  # not on the event loop
        _drawn[(kind, language, issuer)] = content
    return BufferedInputFile(content, filename=f"{name}_{language}.pdf"), f"📄 {title(kind)}"
