"""Keyboards built once per language (issue 19).

A keyboard that depends only on the language and its arguments (the main menu, the help
sections) was built again for every update: a pydantic model per button, validated, and a
callback packed for each. Built once per language and arguments instead, a markup is shared:
nothing changes a markup once built (`screens.with_nav` and the builders copy its rows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import ParamSpec, TypeVar

from aiogram.utils.i18n import get_i18n

P = ParamSpec("P")
T = TypeVar("T")


def per_language(build: Callable[P, T]) -> Callable[P, T]:
    """`build`'s result, kept per language and arguments (few: flags and choices)."""
    built: dict[Hashable, T] = {}

    @functools.wraps(build)
    def cached(*args: P.args, **kwargs: P.kwargs) -> T:
        key = (get_i18n().current_locale, args, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = build(*args, **kwargs)
        return built[key]

    return cached
