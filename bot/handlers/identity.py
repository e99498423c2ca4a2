"""Identity check "selfie with passport" (seed 003), the person's side: three images, each
re-sendable, shown as a checklist; then to the operators, and the answer within a day."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    IdentityAction,
    IdentityCallback,
    IdentityDecisionCallback,
    ProfileAction,
    ProfileCallback,
)
from bot.fsm.identity import EXPECTING_KEY, IdentityUpload
from bot.handlers.profile import tell_registration_is_missing
from bot.keyboards.menu import main_menu
from bot.uploads import upload_refusal
from core.accounts.crypto import Vault
from core.accounts.identity import (
    MAX_FILE_BYTES,
    FileKind,
    IdentityCheck,
    Incomplete,
    UnderReview,
    attach_file,
    files_for_review,
    open_check,
    submit,
    uploaded_kinds,
)
from core.accounts.models import Account, User
from core.clock import Clock
from core.config import Settings
from core.formatting import format_date
from core.uploads import UploadRefused, check_size

log = logging.getLogger(__name__)


def kind_title(kind: FileKind) -> str:
    return {
        FileKind.PASSPORT: _("Passport: the main page"),
        FileKind.SELFIE: _("A selfie holding the open passport"),
        FileKind.REGISTRATION: _("Passport: the registration page"),
    }[kind]


def checklist(done: set[FileKind]) -> str:
    return "\n".join(f"{'✅' if kind in done else '☐'} {kind_title(kind)}" for kind in FileKind)


def checklist_keyboard(done: set[FileKind]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in FileKind:
        if kind in done:
            builder.button(
                text=_("🔁 Replace: {item}").format(item=kind_title(kind)),
                callback_data=IdentityCallback(action=IdentityAction.REPLACE, kind=kind.value),
            )
    if done == set(FileKind):
        builder.button(
            text=_("📨 Send for review"),
            callback_data=IdentityCallback(action=IdentityAction.SUBMIT),
        )
    builder.adjust(1)
    return builder.as_markup()


async def _next_step(
    message: Message, state: FSMContext, session: AsyncSession, check: IdentityCheck
) -> None:
    done = await uploaded_kinds(session, check)
    await message.answer(checklist(done), reply_markup=checklist_keyboard(done))
    missing = [kind for kind in FileKind if kind not in done]
    if missing:
        await state.set_state(IdentityUpload.waiting_file)
        await state.update_data({EXPECTING_KEY: missing[0].value})
        await message.answer(_("Now send: {item}.").format(item=kind_title(missing[0])))
    else:
        await state.set_state(IdentityUpload.waiting_file)
        await state.update_data({EXPECTING_KEY: None})
        await message.answer(_("All three are here. Check them and tap «Send for review»."))


async def begin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    try:
        check = await open_check(session, user, now=clock.now())
    except UnderReview:
        await message.answer(
            _("Your request is being reviewed; the answer will come within a day.")
        )
        return
    await message.answer(
        _(
            "Identity check «selfie with passport». Send three images, one at a time: the main "
            "page of your passport, a selfie holding the open passport next to your face, and "
            "the page with your registration. Photos, or JPEG, PNG, HEIC or PDF files up to "
            "{size} MB each. Only the insurer's operators see them; they are erased after the check."
        ).format(size=MAX_FILE_BYTES // (1024 * 1024))
    )
    await _next_step(message, state, session, check)


async def upload(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    clock: Clock,
    bot: Bot,
) -> None:
    expecting = (await state.get_data()).get(EXPECTING_KEY)
    if expecting is None:
        await message.answer(_("All three are here. Check them and tap «Send for review»."))
        return
    source = message.photo[-1] if message.photo else message.document
    assert source is not None
    try:
        check_size(source.file_size)  # refuse before downloading; the bytes decide the type
    except UploadRefused as error:
        await message.answer(upload_refusal(error))
        return
    content = await bot.download(source.file_id)
    assert content is not None
    try:
        check = await open_check(session, user, now=clock.now())
        await attach_file(
            session,
            vault,
            check,
            FileKind(expecting),
            content=content.read(),
            now=clock.now(),
        )
    except UploadRefused as error:
        await message.answer(upload_refusal(error))
        return
    except UnderReview:
        await message.answer(
            _("Your request is being reviewed; the answer will come within a day.")
        )
        return
    await _next_step(message, state, session, check)


async def not_a_file(message: Message) -> None:
    await message.answer(_("Please send a photo, or a JPEG, PNG, HEIC or PDF file."))


async def replace(query: CallbackQuery, callback_data: IdentityCallback, state: FSMContext) -> None:
    if not isinstance(query.message, Message):
        return
    kind = FileKind(callback_data.kind)
    await state.set_state(IdentityUpload.waiting_file)
    await state.update_data({EXPECTING_KEY: kind.value})
    await query.message.answer(_("Send again: {item}.").format(item=kind_title(kind)))


async def send_for_review(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    vault: Vault,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    if not isinstance(query.message, Message) or account is None:
        return
    try:
        check = await open_check(session, user, now=clock.now())
        await submit(session, check, now=clock.now())
    except UnderReview:
        await query.message.answer(
            _("Your request is being reviewed; the answer will come within a day.")
        )
        return
    except Incomplete as error:
        await query.message.answer(
            _("Still missing: {items}.").format(
                items=", ".join(kind_title(k) for k in error.missing)
            )
        )
        return
    await state.set_state(None)
    await state.update_data({EXPECTING_KEY: None})
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        _("Your request is being reviewed; the answer will come within a day."),
        reply_markup=main_menu(registered=True),
    )
    with i18n.use_locale(settings.default_locale):
        await send_to_operators(
            bot, session, vault, settings, check, account, settings.default_locale
        )


def decision_keyboard(check_id: int) -> InlineKeyboardMarkup:
    """Approve or reject, under the check's card in the operators' group."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Approve"),
        callback_data=IdentityDecisionCallback(check_id=check_id, approve=True),
    )
    builder.button(
        text=_("❌ Reject"),
        callback_data=IdentityDecisionCallback(check_id=check_id, approve=False),
    )
    return builder.as_markup()


async def send_to_operators(
    bot: Bot,
    session: AsyncSession,
    vault: Vault,
    settings: Settings,
    check: IdentityCheck,
    account: Account,
    locale: str,
) -> None:
    """A topic in the operators' forum with the three images and the decision buttons."""
    chat_id = settings.operators_chat_id
    if chat_id is None:
        log.error("OPERATORS_CHAT_ID is not set: identity check %s waits unseen", check.id)
        return
    topic = await bot.create_forum_topic(chat_id, _("Identity check #{id}").format(id=check.id))
    check.operators_thread_id = topic.message_thread_id
    await session.commit()
    for item in await files_for_review(session, vault, check.id):
        await bot.send_document(
            chat_id,
            BufferedInputFile(item.content, filename=item.filename),
            caption=kind_title(item.kind),
            message_thread_id=topic.message_thread_id,
        )
    await bot.send_message(
        chat_id,
        _(
            "<b>Identity check #{id}</b>\n{name}\nDate of birth: {birth}\nDocument: {mask}\n"
            "Compare the photos with these data and the face on the selfie."
        ).format(
            id=check.id,
            name=account.full_name,
            birth=format_date(account.birth_date, locale),
            mask=account.document_mask,
        ),
        message_thread_id=topic.message_thread_id,
        reply_markup=decision_keyboard(check.id),
    )


async def begin_from_profile(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if isinstance(query.message, Message):
        await begin(query.message, state, session, user, account, clock)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(upload, IdentityUpload.waiting_file, F.photo | F.document)
    router.message.register(not_a_file, IdentityUpload.waiting_file)
    router.callback_query.register(
        begin_from_profile, ProfileCallback.filter(F.action == ProfileAction.VERIFY)
    )
    router.callback_query.register(
        replace, IdentityCallback.filter(F.action == IdentityAction.REPLACE)
    )
    router.callback_query.register(
        send_for_review, IdentityCallback.filter(F.action == IdentityAction.SUBMIT)
    )
    return router
