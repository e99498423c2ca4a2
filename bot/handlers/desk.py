"""The operators' desk: a topic per appeal in the operators' forum group, with the appeal's
data (personal data masked: only what the operator needs) and buttons; an operator's message in
the topic is the answer to the person; the person's follow-ups appear in the topic. Commands:
/open (the queue by age), /appeal NUMBER, /stats.

Only the operators listed in the settings act; anyone else in the group is refused, and
nothing here listens outside the group."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appeal_forms import FORMS, Ask, kind_title
from bot.callbacks import DeskAction, DeskCallback
from bot.texts import split_text
from core.accounts.models import Account, User
from core.appeals.models import Appeal, AppealStatus
from core.appeals.service import (
    AppealClosed,
    answer,
    appeal_by_number,
    appeal_by_thread,
    close_by_operator,
    desk_stats,
    history,
    open_appeals,
    take,
)
from core.clock import Clock
from core.config import Settings
from core.formatting import format_clock, format_day

log = logging.getLogger(__name__)


def desk_keyboard(appeal: Appeal) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for text, action in (
        (_("🙋 Take"), DeskAction.TAKE),
        (_("💬 Answer"), DeskAction.ANSWER),
        (_("✅ Close"), DeskAction.CLOSE),
        (_("🪪 Ask for an identity check"), DeskAction.IDENTITY),
    ):
        builder.button(text=text, callback_data=DeskCallback(id=appeal.id, action=action))
    builder.adjust(2)
    return builder.as_markup()


def desk_card(appeal: Appeal, user: User, account: Account | None, first_text: str) -> str:
    name = f"{account.first_name} {account.surname[:1]}." if account else user.first_name
    lines = [
        f"<b>{kind_title(appeal.kind)} {appeal.number}</b>",
        _("From: {name}").format(name=escape(name or "—")),
    ]
    for step in FORMS[appeal.kind]:  # type: ignore[index]
        value = appeal.fields.get(step.field)
        if value and step.ask not in (Ask.FILES, Ask.TEXT):
            # The phone is shown whole: it was given to be called back on.
            shown = str(dict(step.choices).get(value, value)) if step.ask is Ask.CHOICE else value
            lines.append(f"{step.label}: {escape(shown)}")
    if appeal.fields.get("service"):
        lines.append(_("Service: {service}").format(service=escape(appeal.fields["service"])))
    lines.append("\n" + escape(first_text))
    lines.append(_("\nReply in this topic: your message goes to the person."))
    return "\n".join(lines)


CARD_TEXT_LIMIT = 3000  # the card's own lines take the rest of the 4,096


async def post_new_appeal(
    bot: Bot,
    settings: Settings,
    session: AsyncSession,
    appeal: Appeal,
    user: User,
    account: Account | None,
) -> None:
    """Open the appeal's topic; a failure leaves the appeal stored (the /open queue has it)."""
    chat_id = settings.operators_chat_id
    if chat_id is None:
        return
    messages = await history(session, appeal.id)
    first = messages[0] if messages else None
    try:
        topic = await bot.create_forum_topic(
            chat_id, f"{appeal.number} · {kind_title(appeal.kind)}"
        )
        appeal.operators_thread_id = topic.message_thread_id
        await session.commit()
        # A long text (2,100 emoji are 4,200 UTF-16 units) starts in the card and goes on
        # in the messages after it, split at paragraphs.
        first_part, *rest = split_text(first.text if first else "", CARD_TEXT_LIMIT)
        await bot.send_message(
            chat_id,
            desk_card(appeal, user, account, first_part + ("…" if rest else "")),
            message_thread_id=topic.message_thread_id,
            reply_markup=desk_keyboard(appeal),
        )
        for part in rest:
            await bot.send_message(chat_id, escape(part), message_thread_id=topic.message_thread_id)
        for item in first.files if first else []:
            await _send_file(bot, chat_id, topic.message_thread_id, item, appeal)
    except TelegramAPIError:
        log.warning("could not open the desk topic of appeal %s", appeal.id, exc_info=True)


async def _send_file(
    bot: Bot, chat_id: int, thread: int | None, item: dict[str, str], appeal: Appeal
) -> None:
    caption = _("📎 {number}: a file from the appeal").format(number=appeal.number)
    if item.get("type") == "photo":
        await bot.send_photo(chat_id, item["file_id"], caption=caption, message_thread_id=thread)
    elif "name" in item:  # a person's file, checked by its bytes: posted under our own name
        content = await bot.download(item["file_id"])
        assert content is not None
        document = BufferedInputFile(content.read(), filename=item["name"])
        await bot.send_document(chat_id, document, caption=caption, message_thread_id=thread)
    else:
        await bot.send_document(chat_id, item["file_id"], caption=caption, message_thread_id=thread)


async def post_follow_up(
    bot: Bot,
    settings: Settings,
    appeal: Appeal,
    text: str,
    files: list[dict[str, str]] | None = None,
) -> None:
    chat_id = settings.operators_chat_id
    if chat_id is None or appeal.operators_thread_id is None:
        return
    try:
        await bot.send_message(
            chat_id,
            _("👤 The person writes:\n{text}").format(text=escape(text)),
            message_thread_id=appeal.operators_thread_id,
        )
        for item in files or []:
            await _send_file(bot, chat_id, appeal.operators_thread_id, item, appeal)
    except TelegramAPIError:
        log.warning("could not post a follow-up of appeal %s", appeal.id, exc_info=True)


# --- operators -----------------------------------------------------------------------------------
def is_operator(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.operator_ids


async def on_button(
    query: CallbackQuery,
    callback_data: DeskCallback,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    if not is_operator(settings, query.from_user.id):
        callback_answer.text = _("Only the insurer's operators can do this.")
        callback_answer.show_alert = True
        return
    appeal = await session.get(Appeal, callback_data.id)
    if appeal is None or not isinstance(query.message, Message):
        return
    operator = query.from_user.full_name
    if callback_data.action is DeskAction.TAKE:
        taken = await take(session, appeal, query.from_user.id, clock.now())
        callback_answer.text = (
            _("Taken.") if taken else _("Someone has taken it already, or it is answered.")
        )
        if taken:
            await query.message.answer(
                _("🙋 {operator} took the appeal.").format(operator=escape(operator))
            )
    elif callback_data.action is DeskAction.ANSWER:
        callback_answer.text = _("Write the answer as a message in this topic.")
        callback_answer.show_alert = True
    elif callback_data.action is DeskAction.CLOSE:
        closed = await close_by_operator(session, appeal, clock.now())
        callback_answer.text = _("Closed.") if closed else _("It is closed already.")
        if closed:
            await query.message.answer(
                _("✅ {operator} closed the appeal.").format(operator=escape(operator))
            )
    else:
        try:
            await answer(
                session,
                appeal,
                query.from_user.id,
                operator,
                _("To go on, please confirm your identity: send /verify in this chat."),
                clock.now(),
            )
        except AppealClosed:  # an old card's button, found by the conversation crawler
            callback_answer.text = _("It is closed already.")
            return
        callback_answer.text = _("The person is asked to confirm the identity.")


async def operator_message(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
) -> None:
    """A message in an appeal's topic from an operator is the answer to the person."""
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    if message.message_thread_id is None:
        return
    appeal = await appeal_by_thread(session, message.message_thread_id)
    if appeal is None:
        return
    files = []
    if message.photo:
        files.append({"type": "photo", "file_id": message.photo[-1].file_id})
    elif message.document:
        files.append({"type": "document", "file_id": message.document.file_id})
    text = (message.text or message.caption or "").strip()
    if not text and not files:
        return
    try:
        await answer(
            session,
            appeal,
            message.from_user.id,
            message.from_user.full_name,
            text,
            clock.now(),
            files,
        )
    except AppealClosed:
        await message.reply(_("The appeal is closed: the answer was not sent."))
        return
    await message.reply(_("✉️ Sent to the person."))


def queue_line(appeal: Appeal, locale: str) -> str:
    when = f"{format_day(appeal.created_at, locale)} {format_clock(appeal.created_at, locale)}"
    state = {
        AppealStatus.RECEIVED: "🆕",
        AppealStatus.IN_PROGRESS: "🙋",
        AppealStatus.ANSWERED: "💬",
    }.get(AppealStatus(appeal.status), "")
    return f"{state} {appeal.number} · {kind_title(appeal.kind)} · {when}"


async def open_command(message: Message, session: AsyncSession, settings: Settings) -> None:
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    found = await open_appeals(session)
    if not found:
        await message.answer(_("No open appeals."))
        return
    lines = [_("<b>Open appeals, the oldest first</b>")]
    lines += [queue_line(a, settings.default_locale) for a in found]
    await message.answer("\n".join(lines))


async def appeal_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    appeal = await appeal_by_number(session, command.args or "")
    if appeal is None:
        await message.answer(_("No appeal with this number."))
        return
    lines = [queue_line(appeal, settings.default_locale)]
    for item in await history(session, appeal.id):
        lines.append(f"— {item.author}: {escape(item.text)}")
    await message.answer("\n".join(lines), reply_markup=desk_keyboard(appeal))


async def stats_command(
    message: Message, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    stats = await desk_stats(session, clock.now())
    median = (
        _("{minutes} min").format(minutes=int(stats.median_first_answer.total_seconds() // 60))
        if stats.median_first_answer is not None
        else "—"
    )
    await message.answer(
        _(
            "<b>Desk</b>\nOpen: {open}\nWithout an answer: {unanswered}\nAnswered today: "
            "{today}\nMedian time to the first answer: {median}"
        ).format(
            open=stats.open, unanswered=stats.unanswered, today=stats.answered_today, median=median
        )
    )


def create_router(settings: Settings) -> Router:
    router = Router(name=__name__)
    chat_id = settings.operators_chat_id
    router.callback_query.filter(F.message.chat.id == chat_id)
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.register(on_button, DeskCallback.filter())
    router.message.register(open_command, Command("open"))
    router.message.register(appeal_command, Command("appeal"))
    router.message.register(stats_command, Command("stats"))
    router.message.register(operator_message, F.message_thread_id, F.text | F.photo | F.document)
    return router
