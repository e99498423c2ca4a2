"""The same gettext catalogs the bot uses, for texts core renders itself (outbox messages)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from core.policies.care import Translate

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


@cache
def translator(locale: str) -> Translate:
    translations: NullTranslations = Translations.load(LOCALES_DIR, [locale], DOMAIN)
    return translations.gettext
