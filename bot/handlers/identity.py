"""Identity check "selfie with passport" (seed 003), the person's side: three images, each
re-sendable, shown as a checklist; then to the operators, and the answer within a day."""

from __future__ import annotations

import logging
from html import escape

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
from bot.handlers.desk import topic_link
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
    identity_confirmed,
    open_check,
    purpose_pending,
    submit,
    uploaded_kinds,
)
from core.accounts.models import Account, User
from core.appeals.models import Appeal
from core.clock import Clock
from core.config import Settings
from core.formatting import format_date
from core.policies.care import N_
from core.policies.models import InsuredPerson, Policy
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
    if await identity_confirmed(session, user.id) and not await purpose_pending(session, user.id):
        await message.answer(_("Your identity is confirmed already ✅ Nothing else is needed."))
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
        + await _what_for(session, check)
    )
    await _next_step(message, state, session, check)


async def _what_for(session: AsyncSession, check: IdentityCheck) -> str:
    """The person's own words for what the check is for (CONVERSATION.md 6: which policy,
    whose): the policy it will link, or the appeal that asked for it."""
    lines = []
    person, policy = await _to_link(session, check)
    if person is not None and policy is not None:
        lines.append(
            _("It is for linking policy {number} ({name}) to your cabinet.").format(
                number=escape(policy.number), name=escape(person.first_name)
            )
        )
    appeal = await session.get(Appeal, check.appeal_id) if check.appeal_id else None
    if appeal is not None and appeal.number:
        lines.append(_("Appeal {number} asked for it.").format(number=escape(appeal.number)))
    return "".join("\n" + line for line in lines)


async def _to_link(
    session: AsyncSession, check: IdentityCheck
) -> tuple[InsuredPerson | None, Policy | None]:
    """The insured person and the policy a check would link, if it is for that."""
    if not check.insured_person_id:
        return None, None
    person = await session.get(InsuredPerson, check.insured_person_id)
    policy = await session.get(Policy, person.policy_id) if person is not None else None
    return person, policy


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
    with i18n.use_locale(settings.desk_locale):
        await send_to_operators(bot, session, vault, settings, check, account, settings.desk_locale)


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
    appeal = await session.get(Appeal, check.appeal_id) if check.appeal_id else None
    title = _("Identity check #{id}").format(id=check.id)
    if appeal is not None:
        title += f" · {appeal.number}"
    topic = await bot.create_forum_topic(chat_id, title)
    check.operators_thread_id = topic.message_thread_id
    await session.commit()
    for item in await files_for_review(session, vault, check.id):
        await bot.send_document(
            chat_id,
            BufferedInputFile(item.content, filename=item.filename),
            caption=kind_title(item.kind),
            message_thread_id=topic.message_thread_id,
        )
    text = _(
        "<b>Identity check #{id}</b>\n{name}\nDate of birth: {birth}\nDocument: {mask}\n"
        "Compare the photos with these data and the face on the selfie."
    ).format(
        id=check.id,
        name=escape(account.full_name),
        birth=format_date(account.birth_date, locale),
        mask=account.document_mask,
    )
    text += await purpose_lines(session, settings, check, appeal, locale)
    await bot.send_message(
        chat_id,
        text,
        message_thread_id=topic.message_thread_id,
        reply_markup=decision_keyboard(check.id),
    )


MISMATCH_TITLES = {
    "surname": N_("surname"),
    "first_name": N_("first name"),
    "patronymic": N_("patronymic"),
    "birth_date": N_("date of birth"),
}


async def purpose_lines(
    session: AsyncSession,
    settings: Settings,
    check: IdentityCheck,
    appeal: Appeal | None,
    locale: str,
) -> str:
    """What the person was trying to do: the policy and what did not match it, or the appeal
    that asked for the check (with a link to its topic)."""
    lines = []
    person, policy = await _to_link(session, check)
    if person is not None and policy is not None:
        lines.append(
            _("Purpose: to link policy {number} (insured: {name}, {birth}).").format(
                number=escape(policy.number),
                name=escape(f"{person.surname} {person.first_name[:1]}."),
                birth=format_date(person.birth_date, locale),
            )
        )
        if check.mismatch == "elsewhere":
            lines.append(_("The policy is linked to another cabinet."))
        elif check.mismatch:
            fields = [
                _(MISMATCH_TITLES[f]) for f in check.mismatch.split(",") if f in MISMATCH_TITLES
            ]
            lines.append(_("Did not match the profile: {fields}.").format(fields=", ".join(fields)))
        lines.append(_("Approval links the policy to this person's cabinet."))
    if appeal is not None:
        number = escape(appeal.number or "")
        if settings.operators_chat_id is not None and appeal.operators_thread_id is not None:
            link = topic_link(settings.operators_chat_id, appeal.operators_thread_id)
            number = f'<a href="{link}">{number}</a>'
        lines.append(_("Asked for in appeal {number}.").format(number=number))
    return "".join("\n" + line for line in lines)


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
