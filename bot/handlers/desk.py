"""The operators' desk: a topic per appeal in the operators' forum group, named with its status
(a case's stage), closed and reopened with it; the card shows the appeal's data (personal data
masked: only what the operator needs) with buttons that follow the status; an operator's
message in the topic is the answer to the person, and the topic later says whether it was
delivered; the person's follow-ups come in whole. A case's stages are set from its topic.
Commands: /open (the queue by age, with links), /appeal NUMBER, /stats. The desk speaks
DESK_LOCALE whoever writes.

Only the operators listed in the settings act; anyone else in the group is refused, and
nothing here listens outside the group."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.enums import ContentType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.appeal_forms import (
    Ask,
    history_line,
    kind_title,
    policy_line,
    policy_shown,
    stage_text,
    steps_of,
)
from bot.callbacks import DeskAction, DeskCallback
from bot.i18n import create_i18n
from bot.texts import split_text
from core.accounts.identity import set_purpose
from core.accounts.models import Account, User
from core.appeals.cases import CaseStage, StageRefused, set_stage, stage_of
from core.appeals.models import DISPUTES, Appeal, AppealKind, AppealOutcome, AppealStatus
from core.appeals.service import (
    AppealClosed,
    OutcomeRequired,
    answer,
    appeal_by_number,
    appeal_by_thread,
    close_by_operator,
    desk_stats,
    history,
    open_appeals,
    take,
    topics_behind,
)
from core.clock import Clock
from core.config import Settings
from core.formatting import format_clock, format_day, format_money

log = logging.getLogger(__name__)
STATUS_MARKS = {
    AppealStatus.RECEIVED: "🆕",
    AppealStatus.IN_PROGRESS: "🙋",
    AppealStatus.ANSWERED: "💬",
    AppealStatus.CLOSED: "✅",
}


@contextmanager
def desk_language(settings: Settings) -> Iterator[None]:
    """The desk speaks the insurer's language, whoever's update brought us here."""
    with get_i18n().use_locale(settings.desk_locale):
        yield


class DeskLanguage(BaseMiddleware):
    """Everything the desk's router answers is in the desk's language, not the operator's."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        with desk_language(self.settings):
            return await handler(event, data)


def desk_keyboard(appeal: Appeal) -> InlineKeyboardMarkup | None:
    """The buttons follow the status: nothing to take or close on a closed appeal."""
    status = AppealStatus(appeal.status)
    if status is AppealStatus.CLOSED:
        return None
    if appeal.kind == AppealKind.INSURED_EVENT:
        return case_keyboard(appeal)
    closing = (
        [
            (_("✅ Confirmed, close"), DeskAction.CONFIRM),
            (_("❌ Rejected, close"), DeskAction.REJECT),
        ]
        if appeal.kind in DISPUTES
        else [(_("✅ Close"), DeskAction.CLOSE)]
    )
    actions = [
        (_("💬 Answer"), DeskAction.ANSWER),
        *closing,
        (_("🪪 Ask for an identity check"), DeskAction.IDENTITY),
    ]
    if status is AppealStatus.RECEIVED:
        actions.insert(0, (_("🙋 Take"), DeskAction.TAKE))
    builder = InlineKeyboardBuilder()
    for text, action in actions:
        builder.button(text=text, callback_data=DeskCallback(id=appeal.id, action=action))
    builder.adjust(2)
    return builder.as_markup()


def case_keyboard(appeal: Appeal) -> InlineKeyboardMarkup:
    """A case's stages, set from its topic: documents, review, a decision, closing."""
    stage = stage_of(appeal)
    actions = []
    if appeal.status == AppealStatus.RECEIVED:
        actions.append((_("🙋 Take"), DeskAction.TAKE))
    actions.append((_("📄 Request documents"), DeskAction.DOCUMENTS))
    if stage is not CaseStage.REVIEW:
        actions.append((_("🔎 Under review"), DeskAction.REVIEW))
    actions += [
        (_("💰 Payment"), DeskAction.PAY),
        (_("⛔ Refusal"), DeskAction.REFUSE),
        (_("✅ Close"), DeskAction.CLOSE),
    ]
    builder = InlineKeyboardBuilder()
    for text, action in actions:
        builder.button(text=text, callback_data=DeskCallback(id=appeal.id, action=action))
    builder.adjust(2)
    return builder.as_markup()


PROMPTS = {
    DeskAction.DOCUMENTS: CaseStage.DOCUMENTS,
    DeskAction.PAY: CaseStage.PAID,
    DeskAction.REFUSE: CaseStage.REFUSED,
}


def prompt_text(stage: CaseStage) -> str:
    if stage is CaseStage.DOCUMENTS:
        return _("📄 Reply to this message with the documents the person should upload.")
    if stage is CaseStage.PAID:
        return _(
            "💰 Reply to this message with the amount in rubles, and a note if needed "
            "(for example: 15000 to the card by 05.12)."
        )
    return _("⛔ Reply to this message with the reason for the refusal.")


def stage_done_text(stage: CaseStage, operator: str) -> str:
    return {
        CaseStage.DOCUMENTS: _("📄 {operator} asked for documents."),
        CaseStage.REVIEW: _("🔎 {operator} took the case under review."),
        CaseStage.PAID: _("💰 {operator} decided: payment."),
        CaseStage.REFUSED: _("⛔ {operator} decided: refusal."),
        CaseStage.CLOSED: _("✅ {operator} closed the case."),
    }[stage].format(operator=escape(operator))


def parse_amount(text: str) -> tuple[int, str] | None:
    """ "15 000,50 to the card" -> (1500050 kopecks, "to the card"); None without a number."""
    found = re.match(r"\s*(\d[\d\s]*(?:[.,]\d{1,2})?)\s*(?:₽|руб\.?|rub\.?)?\s*(.*)", text, re.S)
    if not found:
        return None
    rubles = Decimal(re.sub(r"\s", "", found.group(1)).replace(",", "."))
    kopecks = int(rubles * 100)
    return (kopecks, found.group(2).strip()) if kopecks > 0 else None


STAGE_MARKS = {
    CaseStage.RECEIVED: "🆕",
    CaseStage.DOCUMENTS: "📄",
    CaseStage.REVIEW: "🔎",
    CaseStage.PAID: "💰",
    CaseStage.REFUSED: "⛔",
    CaseStage.CLOSED: "✅",
}


MARKS: dict[str, str] = {**STATUS_MARKS, **STAGE_MARKS}


def shown_state(appeal: Appeal) -> str:
    """What the topic shows: an appeal's status; a case's stage once past "received"."""
    if appeal.kind == AppealKind.INSURED_EVENT and stage_of(appeal) is not CaseStage.RECEIVED:
        return stage_of(appeal).value
    return appeal.status


def topic_name(appeal: Appeal) -> str:
    """The topic's name shows the status (a case's stage), so the topic list is the queue."""
    mark = MARKS[shown_state(appeal)]
    return f"{mark} {appeal.number} · {kind_title(appeal.kind)}"[:128]


async def sync_topic(bot: Bot, settings: Settings, session: AsyncSession, appeal: Appeal) -> None:
    """Make the topic follow the appeal: its name carries the status, it is closed while the
    appeal is closed and reopened with it, and the card's buttons fit the status."""
    chat_id, thread = settings.operators_chat_id, appeal.operators_thread_id
    if chat_id is None or thread is None or appeal.topic_state == shown_state(appeal):
        return
    was_closed = appeal.topic_state == AppealStatus.CLOSED  # "closed" for a case's stage too
    closed = appeal.status == AppealStatus.CLOSED
    with desk_language(settings):
        try:
            if was_closed and not closed:
                await _unless_unchanged(bot.reopen_forum_topic(chat_id, thread))
            await _unless_unchanged(bot.edit_forum_topic(chat_id, thread, name=topic_name(appeal)))
            if closed and not was_closed:
                await _unless_unchanged(bot.close_forum_topic(chat_id, thread))
            if appeal.operators_card_id is not None:
                await _unless_unchanged(
                    bot.edit_message_reply_markup(
                        chat_id=chat_id,
                        message_id=appeal.operators_card_id,
                        reply_markup=desk_keyboard(appeal),
                    )
                )
        except TelegramBadRequest:  # the topic is gone, say: trying again cannot help
            log.warning("the desk topic of appeal %s cannot follow it", appeal.id, exc_info=True)
        except TelegramAPIError:  # the network, a flood limit: the topic keeper tries again
            log.warning("could not update the desk topic of appeal %s", appeal.id, exc_info=True)
            return
    appeal.topic_state = shown_state(appeal)
    await session.commit()


def topic_keeper(
    bot: Bot, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Callable[[], Awaitable[None]]:
    """A scheduler tick: topics whose appeal changed outside the desk (an imported case stage)
    are renamed, closed or reopened, and their buttons refreshed."""
    i18n = create_i18n(settings.default_locale)

    async def keep() -> None:
        async with sessions() as session:
            behind = await topics_behind(session)
            with i18n.context():
                for appeal in behind:
                    await sync_topic(bot, settings, session, appeal)

    return keep


async def _unless_unchanged(call: Awaitable[Any]) -> None:
    """Telegram refuses a change to what is already so ("not modified"): that is done."""
    try:
        await call
    except TelegramBadRequest as error:
        if "NOT_MODIFIED" not in error.message.upper().replace(" ", "_"):
            raise


async def post_long(
    bot: Bot,
    chat_id: int,
    thread: int | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """A text of any length in parts; the buttons come with the last part, which is returned."""
    parts = split_text(text)
    sent: Message | None = None
    for number, part in enumerate(parts, 1):
        sent = await bot.send_message(
            chat_id,
            part,
            message_thread_id=thread,
            reply_markup=markup if number == len(parts) else None,
        )
    assert sent is not None
    return sent


def desk_card(appeal: Appeal, user: User, account: Account | None, first_text: str) -> str:
    name = f"{account.first_name} {account.surname[:1]}." if account else user.first_name
    lines = [
        f"<b>{kind_title(appeal.kind)} {appeal.number}</b>",
        _("From: {name}").format(name=escape(name or "—")),
    ]
    steps = steps_of(appeal.kind, appeal.fields.get("case_kind"), all_cases=True)
    if policy := policy_line(appeal.fields, steps):
        lines.append(policy)
    for step in steps:
        value = appeal.fields.get(step.field)
        if value and step.ask not in (Ask.FILES, Ask.TEXT):
            # The phone is shown whole: it was given to be called back on.
            shown = str(dict(step.choices).get(value, value)) if step.ask is Ask.CHOICE else value
            if step.ask is Ask.POLICY:  # with the insured person: whose policy it is
                shown = policy_shown(appeal.fields) or shown
            lines.append(f"{step.label}: {escape(shown)}")
    if appeal.fields.get("service"):
        lines.append(_("Service: {service}").format(service=escape(appeal.fields["service"])))
    if appeal.fields.get("text"):  # otherwise the first message only repeats a field or the kind
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
    with desk_language(settings):
        try:
            topic = await bot.create_forum_topic(chat_id, topic_name(appeal))
            appeal.operators_thread_id = topic.message_thread_id
            appeal.topic_state = shown_state(appeal)
            await session.commit()
            card = await post_long(
                bot,
                chat_id,
                topic.message_thread_id,
                desk_card(appeal, user, account, first.text if first else ""),
                desk_keyboard(appeal),
            )
            appeal.operators_card_id = card.message_id
            await session.commit()
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
    *,
    note: bool = False,
) -> None:
    """The person's follow-up in the topic, whole (in parts if long); `note`: a line of ours
    (already in the desk's language), not the person's words."""
    chat_id = settings.operators_chat_id
    if chat_id is None or appeal.operators_thread_id is None:
        return
    with desk_language(settings):
        shown = text if note else _("👤 The person writes:\n{text}").format(text=escape(text))
        try:
            if shown:
                await post_long(bot, chat_id, appeal.operators_thread_id, shown)
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
    bot: Bot,
) -> None:
    if not is_operator(settings, query.from_user.id):
        callback_answer.text = _("Only the insurer's operators can do this.")
        callback_answer.show_alert = True
        return
    appeal = await session.get(Appeal, callback_data.id)
    if appeal is None or not isinstance(query.message, Message):
        return
    operator = query.from_user.full_name
    if appeal.status == AppealStatus.CLOSED:
        callback_answer.text = _("It is closed already.")
        await sync_topic(bot, settings, session, appeal)
        return
    if appeal.kind == AppealKind.INSURED_EVENT and callback_data.action in (
        DeskAction.CLOSE,
        DeskAction.REVIEW,
        *PROMPTS,
    ):
        await case_button(query.message, appeal, callback_data.action, operator, session, clock)
    elif callback_data.action is DeskAction.TAKE:
        taken = await take(session, appeal, query.from_user.id, clock.now(), operator)
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
    elif callback_data.action in (DeskAction.CLOSE, DeskAction.CONFIRM, DeskAction.REJECT):
        within = timedelta(days=settings.appeal_reopen_days)
        outcome = {
            DeskAction.CONFIRM: AppealOutcome.CONFIRMED,
            DeskAction.REJECT: AppealOutcome.REJECTED,
        }.get(callback_data.action)
        try:
            closed = await close_by_operator(session, appeal, clock.now(), within, outcome)
        except OutcomeRequired:  # an old card's plain "Close" on a dispute
            callback_answer.text = _("Choose the outcome: confirmed or rejected.")
            callback_answer.show_alert = True
            return
        callback_answer.text = _("Closed.") if closed else _("It is closed already.")
        if closed:
            done = (
                {
                    AppealOutcome.CONFIRMED: _("✅ {operator} closed the appeal: confirmed."),
                    AppealOutcome.REJECTED: _("❌ {operator} closed the appeal: rejected."),
                }.get(outcome)
                if outcome
                else _("✅ {operator} closed the appeal.")
            )
            await query.message.answer(done.format(operator=escape(operator)))
    else:
        person = await session.get(User, appeal.user_id)
        if person is not None:  # the check's topic will refer to this appeal
            await set_purpose(session, person, now=clock.now(), appeal_id=appeal.id)
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
    await sync_topic(bot, settings, session, appeal)


async def case_button(
    message: Message,
    appeal: Appeal,
    action: DeskAction,
    operator: str,
    session: AsyncSession,
    clock: Clock,
) -> None:
    """Review and closing are set at once; documents and decisions need the operator's words,
    asked as a reply to a prompt the case remembers (an old prompt does nothing)."""
    if action in PROMPTS:
        stage = PROMPTS[action]
        prompt = await message.answer(prompt_text(stage))
        appeal.desk_prompt = f"{prompt.message_id}:{stage.value}"
        await session.commit()
        return
    stage = CaseStage.REVIEW if action is DeskAction.REVIEW else CaseStage.CLOSED
    await set_stage(session, appeal, stage, now=clock.now(), operator_name=operator)
    await message.answer(stage_done_text(stage, operator))


async def prompted_stage(
    message: Message, appeal: Appeal, session: AsyncSession, clock: Clock
) -> bool:
    """The operator's reply to a stage prompt sets that stage; True if it was one."""
    reply = message.reply_to_message
    if reply is None or not appeal.desk_prompt or message.from_user is None:
        return False
    prompt_id, _sep, stage_value = appeal.desk_prompt.partition(":")
    if str(reply.message_id) != prompt_id:
        return False
    stage, text = CaseStage(stage_value), (message.text or "").strip()
    operator = message.from_user.full_name
    if not text:
        await message.reply(_("Please write it as text."))
        return True
    amount = None
    if stage is CaseStage.PAID:
        parsed = parse_amount(text)
        if parsed is None:
            await message.reply(_("Write the amount in rubles first, for example: 15000."))
            return True
        amount, text = parsed
    try:
        await set_stage(
            session,
            appeal,
            stage,
            now=clock.now(),
            detail=text,
            amount=amount,
            operator_name=operator,
        )
    except StageRefused:
        await message.reply(_("The case is closed: nothing was changed."))
        return True
    appeal.desk_prompt = None
    await session.commit()
    await message.reply(stage_done_text(stage, operator))
    return True


async def operator_message(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    bot: Bot,
) -> None:
    """A message in an appeal's topic from an operator is the answer to the person."""
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    if message.message_thread_id is None:
        return
    appeal = await appeal_by_thread(session, message.message_thread_id)
    if appeal is None:
        return
    if await prompted_stage(message, appeal, session, clock):
        await sync_topic(bot, settings, session, appeal)
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
    await message.reply(_("📤 Queued for the person. This topic will say when it is delivered."))
    await sync_topic(bot, settings, session, appeal)


# What an operator can send in a topic that the answer cannot carry (it carries text, photos
# and files): the operator is told it was not sent, rather than silence.
UNSENDABLE = (
    ContentType.STICKER,
    ContentType.ANIMATION,
    ContentType.VOICE,
    ContentType.VIDEO,
    ContentType.VIDEO_NOTE,
    ContentType.AUDIO,
    ContentType.LOCATION,
    ContentType.VENUE,
    ContentType.CONTACT,
    ContentType.POLL,
    ContentType.DICE,
)


async def operator_unsendable(message: Message, session: AsyncSession, settings: Settings) -> None:
    """A sticker, a voice message, a video... in an appeal's topic: not passed on, and the
    operator hears so at once."""
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    if message.message_thread_id is None:
        return
    if await appeal_by_thread(session, message.message_thread_id) is None:
        return
    await message.reply(
        _(
            "⚠️ Not sent: the person receives text, photos and files only. Write the answer "
            "as text, or attach a photo or a file."
        )
    )


def topic_link(chat_id: int, thread: int) -> str:
    """t.me/c/<internal id>/<topic>: a supergroup's id without its -100 prefix."""
    internal = str(abs(chat_id))
    internal = internal[3:] if internal.startswith("100") else internal
    return f"https://t.me/c/{internal}/{thread}"


def queue_line(appeal: Appeal, settings: Settings, now: datetime | None = None) -> str:
    locale = settings.desk_locale
    when = f"{format_day(appeal.created_at, locale)} {format_clock(appeal.created_at, locale)}"
    state = MARKS[shown_state(appeal)]  # a case shows its stage
    number = escape(appeal.number or "")
    if settings.operators_chat_id is not None and appeal.operators_thread_id is not None:
        link = topic_link(settings.operators_chat_id, appeal.operators_thread_id)
        number = f'<a href="{link}">{number}</a>'
    line = f"{state} {number} · {kind_title(appeal.kind)} · {when}"
    if now is not None and appeal.waiting_since is not None:  # since the person last wrote
        age = format_timedelta(now - appeal.waiting_since, threshold=1.5, locale=locale)
        line += " · " + _("waiting {age}").format(age=age)
    elif now is not None:
        line += " · " + _("answered, the person's turn")
    return line


async def open_command(
    message: Message, session: AsyncSession, settings: Settings, clock: Clock, bot: Bot
) -> None:
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    found = await open_appeals(session)
    if not found:
        await message.answer(_("No open appeals."))
        return
    lines = [_("<b>Open appeals: waiting for an answer first, the longest wait first</b>")]
    lines += [queue_line(a, settings, clock.now()) for a in found]
    await post_long(bot, message.chat.id, message.message_thread_id, "\n".join(lines))


async def appeal_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> None:
    if message.from_user is None or not is_operator(settings, message.from_user.id):
        return
    appeal = await appeal_by_number(session, command.args or "")
    if appeal is None:
        await message.answer(_("No appeal with this number."))
        return
    lines = [queue_line(appeal, settings)]
    if appeal.kind == AppealKind.INSURED_EVENT:  # the stage and the decision, in words
        lines.append(_("Stage: {stage}").format(stage=stage_text(stage_of(appeal))))
        if appeal.decision_amount:
            amount = format_money(appeal.decision_amount, settings.desk_locale)
            lines.append(_("Payment: {amount}").format(amount=amount))
        if appeal.decision_text and appeal.stage == CaseStage.REFUSED:
            lines.append(_("Reason: {reason}").format(reason=escape(appeal.decision_text)))
    for item in await history(session, appeal.id):
        who = _("Person") if item.author == "person" else escape(item.operator_name or "—")
        lines.append(f"— {who}: {escape(history_line(item.text))}")
    await post_long(
        bot, message.chat.id, message.message_thread_id, "\n".join(lines), desk_keyboard(appeal)
    )


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
    rating = (
        _("{average} of 5 ({count})").format(
            average=format_decimal(round(stats.average_rating, 1), locale=settings.desk_locale),
            count=stats.rated,
        )
        if stats.average_rating is not None
        else "—"
    )
    await message.answer(
        _(
            "<b>Desk</b>\nOpen: {open}\nWithout an answer: {unanswered}\nAnswered today: "
            "{today}\nClosed today: {closed}\nMedian time to the first answer: {median}\n"
            "Rating of the answers: {rating}"
        ).format(
            open=stats.open,
            unanswered=stats.unanswered,
            today=stats.answered_today,
            closed=stats.closed_today,
            median=median,
            rating=rating,
        )
    )


def create_router(settings: Settings) -> Router:
    router = Router(name=__name__)
    chat_id = settings.operators_chat_id
    router.callback_query.filter(F.message.chat.id == chat_id)
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.middleware(DeskLanguage(settings))
    router.message.middleware(DeskLanguage(settings))
    router.callback_query.register(on_button, DeskCallback.filter())
    router.message.register(open_command, Command("open"))
    router.message.register(appeal_command, Command("appeal"))
    router.message.register(stats_command, Command("stats"))
    router.message.register(operator_message, F.message_thread_id, F.text | F.photo | F.document)
    router.message.register(
        operator_unsendable, F.message_thread_id, F.content_type.in_(UNSENDABLE)
    )
    return router
