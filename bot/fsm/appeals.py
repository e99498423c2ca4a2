"""Filing an appeal and writing to an open one; the draft lives in the FSM data (survives
restarts)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

DRAFT_KEY = "appeal_draft"
REPLY_KEY = "appeal_reply_id"


class AppealForm(StatesGroup):
    typing = State()  # a text, a line, a phone or a date
    choosing = State()  # buttons
    files = State()
    confirm = State()
    reply = State()  # a follow-up message to an open appeal
