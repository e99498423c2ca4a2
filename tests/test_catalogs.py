"""Every user-facing string is translated in both catalogs, and the catalogs match the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "__": None, "N_": None, "lazy_gettext": None}


def code_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "core"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_catalog_translates_every_message_of_the_code(locale: str) -> None:
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    missing = sorted(m for m in code_messages() if not translated.get(m))
    assert not missing, f"{locale}: untranslated (run `make update-locales`): {missing}"


def test_russian_is_really_russian() -> None:
    with (ROOT / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale="ru")
    same = [m.id for m in catalog if m.id and m.string == m.id and any(c.isalpha() for c in m.id)]
    assert not same, f"copied, not translated: {same}"


def test_placeholders_match() -> None:
    import re

    with (ROOT / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale="ru")
    for message in catalog:
        if message.id:
            assert set(re.findall(r"{\w+}", message.id)) == set(
                re.findall(r"{\w+}", message.string)
            ), message.id


@pytest.mark.parametrize("name", ["user_agreement", "personal_data_policy", "health_data_consent"])
def test_documents_exist_in_both_languages(name: str) -> None:
    for locale in ("ru", "en"):
        assert (ROOT / "locales" / locale / "documents" / f"{name}.txt").stat().st_size > 200


def test_no_gettext_inside_f_strings() -> None:
    """The extractor cannot see `_()` inside an f-string: such a text would stay untranslated."""
    import re

    pattern = re.compile(r"""\bf(["']).*?\{_{1,2}\(""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("bot", "core")
        for path in (ROOT / package).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
