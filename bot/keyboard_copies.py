"""Keyboard builders copy their rows, not every button (issue 19).

aiogram's `KeyboardBuilder.export()` returns `deepcopy(self._markup)` and `add()` (under `row()`
and `button()`) starts from `export()`: a keyboard of n buttons is deep-copied n + 1 times,
pydantic models and all, which was the largest single cost in the profile of an update
(about a tenth of its CPU). The builder never changes a button once made, only its lists of
rows, so copying the rows keeps what the copy protects: a markup already exported does not
change when the builder goes on, and the builder does not change when an exported list does.
"""

from __future__ import annotations

from typing import Any

from aiogram.utils.keyboard import KeyboardBuilder


def _export(self: KeyboardBuilder[Any]) -> list[list[Any]]:
    return [list(row) for row in self._markup]


def install() -> None:
    KeyboardBuilder.export = _export  # type: ignore[method-assign]
