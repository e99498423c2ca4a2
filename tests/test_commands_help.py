"""The command menu and /help name the same commands, in both languages (a walker found three
in /help that the menu lacked, and /profile the other way round)."""

from __future__ import annotations

import re

import pytest

from bot.commands import bot_commands
from bot.handlers.guide import help_text
from bot.i18n import create_i18n


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_command_menu_and_help_list_the_same_commands(locale: str) -> None:
    i18n = create_i18n("ru")
    menu = {command.command for command in bot_commands(i18n, locale)}
    with i18n.context(), i18n.use_locale(locale):
        listed = set(re.findall(r"^/(\w+) — ", help_text(), flags=re.MULTILINE))
    assert menu - {"help"} == listed
    assert {"clinics", "appeals", "bookings", "profile"} <= menu
