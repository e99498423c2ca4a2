"""Searching clinics by name: while the state holds, a text message is a name to search for."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ClinicSearch(StatesGroup):
    name = State()
