"""A form's own FSM data: what leaving or ending it drops, and nothing of the drafts of other
forms paused beside it (a child's policy under an appeal keeps its draft)."""

from __future__ import annotations

from collections.abc import Collection

from aiogram.fsm.context import FSMContext


async def forget_form(state: FSMContext, keys: Collection[str], *, leave: bool) -> None:
    """Drops `keys` from the dialog data; with `leave`, the step is left too."""
    data = {key: value for key, value in (await state.get_data()).items() if key not in keys}
    if leave:
        await state.set_state(None)
    await state.set_data(data)
