"""Choosing service regions: the picker's draft survives restarts in the FSM storage."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel

REGIONS_KEY = "regions_draft"


class Regions(StatesGroup):
    choosing = State()  # ticking subjects; a text message searches


class RegionDraft(BaseModel):
    policy: int
    picked: list[str] = []
    query: str = ""
    page: int = 0
