"""The operators' forum group: decisions on identity checks (the appeals desk joins later).

Only callbacks from the operators' chat are heard here, and only from the operators listed in
the settings: anyone else in the group gets a refusal, anyone elsewhere nothing at all."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import IdentityDecisionCallback, IdentityUndoCallback
from bot.handlers.identity import decision_keyboard
from core.accounts.identity import REJECT_TITLES, AlreadyDecided, RejectReason, decide
from core.clock import Clock
from core.config import Settings

log = logging.getLogger(__name__)


def reason_text(reason: RejectReason) -> str:
    return _(REJECT_TITLES[reason])


def reasons_keyboard(check_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for reason in RejectReason:
        builder.button(
            text=reason_text(reason),
            callback_data=IdentityDecisionCallback(
                check_id=check_id, approve=False, reason=reason.value
            ),
        )
    builder.button(text=_("⬅️ Back"), callback_data=IdentityUndoCallback(check_id=check_id))
    builder.adjust(1)
    return builder.as_markup()


async def identity_decision(
    query: CallbackQuery,
    callback_data: IdentityDecisionCallback,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    if query.from_user.id not in settings.operator_ids:
        callback_answer.text = _("Only the insurer's operators can decide.")
        callback_answer.show_alert = True
        return
    if not isinstance(query.message, Message):
        return
    if not callback_data.approve and not callback_data.reason:
        await query.message.edit_reply_markup(reply_markup=reasons_keyboard(callback_data.check_id))
        return
    reason = RejectReason(callback_data.reason) if callback_data.reason else None
    try:
        await decide(
            session,
            callback_data.check_id,
            approve=callback_data.approve,
            reason=reason,
            operator_id=query.from_user.id,
            now=clock.now(),
            retention=timedelta(days=settings.identity_files_retention_days),
        )
    except AlreadyDecided:
        callback_answer.text = _("This check has been decided already.")
        await query.message.edit_reply_markup(reply_markup=None)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    operator = query.from_user.full_name
    with i18n.use_locale(settings.default_locale):  # the group's language, as on the card
        verdict = (
            _("✅ Approved by {operator}.").format(operator=operator)
            if callback_data.approve
            else _("❌ Rejected by {operator}: {reason}.").format(
                operator=operator, reason=reason_text(reason) if reason else "—"
            )
        )
    await query.message.answer(verdict)


async def undo_reject(
    query: CallbackQuery,
    callback_data: IdentityUndoCallback,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    """Reject tapped by mistake: the reasons give way to Approve / Reject again."""
    if query.from_user.id not in settings.operator_ids:
        callback_answer.text = _("Only the insurer's operators can decide.")
        callback_answer.show_alert = True
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=decision_keyboard(callback_data.check_id)
        )


def create_router(settings: Settings) -> Router:
    router = Router(name=__name__)
    chat_id = settings.operators_chat_id
    router.callback_query.filter(F.message.chat.id == chat_id)
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.register(identity_decision, IdentityDecisionCallback.filter())
    router.callback_query.register(undo_reject, IdentityUndoCallback.filter())
    return router
