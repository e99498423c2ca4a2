"""A policy's documents (seed 000 3.1): the PDFs, the program as text, the program's clinics."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    LatinNameCallback,
    PolicyAction,
    PolicyCallback,
    PolicyDocumentCallback,
    PolicyPageCallback,
    StaleButton,
)
from bot.fsm.policies import LATIN_KEY, PolicyDocuments
from bot.handlers.registration import problem_text
from bot.keyboards.registration import BACK
from bot.screens import show
from bot.texts import quoted, screen_pages
from core.accounts.models import User
from core.accounts.validation import InvalidInput
from core.clock import Clock
from core.config import Settings
from core.documents.compose import DocumentKind, full_name
from core.documents.latin import parse_latin_name, propose_latin_name
from core.documents.service import LatinNameRequired, policy_document, set_latin_name
from core.errors import NotFoundError
from core.policies.cabinet import PolicyView, my_policy
from core.policies.coverage import coverage


def document_button(kind: DocumentKind) -> str:
    return {
        DocumentKind.POLICY: _("📄 Policy (PDF)"),
        DocumentKind.TRAVEL: _("📄 Travel policy (PDF)"),
        DocumentKind.MEMO: _("📘 Memo (PDF)"),
        DocumentKind.PROGRAM: _("📋 Program (PDF)"),
    }[kind]


def document_caption(kind: DocumentKind, view: PolicyView) -> str:
    """What the file is and whose: the caption under every policy document."""
    title = {
        DocumentKind.POLICY: _("📄 Policy № {number}"),
        DocumentKind.TRAVEL: _("📄 Travel policy № {number}"),
        DocumentKind.MEMO: _("📘 Memo to policy № {number}"),
        DocumentKind.PROGRAM: _("📋 Program of policy № {number}"),
    }[kind].format(number=escape(view.policy.number))
    return f"{title}\n{escape(full_name(view))}"


async def send_document(
    query: CallbackQuery,
    callback_data: PolicyDocumentCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    await deliver(query.message, view, callback_data.kind, state, session, user, clock, settings)


async def deliver(
    message: Message,
    view: PolicyView,
    kind: DocumentKind,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    try:
        copy = await policy_document(
            session,
            view,
            kind,
            insurer=settings.insurer,
            translate=_,
            locale=user.language,
            now=clock.now(),
        )
    except LatinNameRequired:
        await ask_latin_name(message, view, state)
        return
    await session.commit()
    document = copy.telegram_file_id or BufferedInputFile(copy.content, filename=copy.filename)
    sent = await message.answer_document(document, caption=document_caption(kind, view))
    if copy.telegram_file_id is None and sent.document is not None:
        copy.telegram_file_id = sent.document.file_id  # the next tap sends Telegram's copy
        await session.commit()


async def ask_latin_name(message: Message, view: PolicyView, state: FSMContext) -> None:
    proposal = propose_latin_name(view.person.surname, view.person.first_name)
    await state.set_state(PolicyDocuments.latin_name)
    await state.update_data({LATIN_KEY: view.id})
    builder = InlineKeyboardBuilder()
    builder.button(text=f"✅ {proposal}", callback_data=LatinNameCallback(id=view.id))
    await message.answer(
        _(
            "The travel policy shows your surname and name in Latin letters exactly as in your "
            "foreign passport. We propose: <b>{name}</b>. If your passport spells it "
            "differently, send it as printed there, for example IVANOVA ANNA."
        ).format(name=proposal),
        reply_markup=builder.as_markup(),
    )


async def latin_name_accepted(
    query: CallbackQuery,
    callback_data: LatinNameCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    name = propose_latin_name(view.person.surname, view.person.first_name)
    await _save_latin_name(query.message, view, name, state, session, user, clock, settings)


async def latin_name_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    try:
        name = parse_latin_name(message.text or "")
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    policy_id = (await state.get_data()).get(LATIN_KEY)
    try:
        view = await my_policy(session, user, int(policy_id or 0), today=clock.now().date())
    except NotFoundError:
        await state.set_state(None)
        raise
    await _save_latin_name(message, view, name, state, session, user, clock, settings)


async def _save_latin_name(
    message: Message,
    view: PolicyView,
    name: str,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    await set_latin_name(session, view, name)
    await session.commit()
    await state.set_state(None)
    await state.update_data({LATIN_KEY: None})
    await message.answer(_("Saved: {name}. Here is your travel policy.").format(name=name))
    await deliver(message, view, DocumentKind.TRAVEL, state, session, user, clock, settings)


async def show_program(
    query: CallbackQuery,
    callback_data: PolicyCallback | PolicyPageCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """«What is covered», a screen at a time: «📖 More» leads through the rest, in place."""
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    if not isinstance(query.message, Message) or view.program is None:
        return
    title = _("<b>Program «{name}»</b>").format(name=quoted(view.program.name))
    blocks = [
        "\n".join(
            [f"\n<b>{escape(section.title)}</b>", *(f"• {escape(line)}" for line in section.lines)]
        )
        for section in coverage(view, _, user.language)
    ]
    pages = screen_pages(title, blocks)
    page = getattr(callback_data, "page", 0)
    if page >= len(pages):
        raise StaleButton(f"no page {page} of the program of policy {view.id}")
    builder = InlineKeyboardBuilder()
    if page + 1 < len(pages):
        builder.button(
            text=_("📖 More"),
            callback_data=PolicyPageCallback(
                id=view.id, action=PolicyAction.PROGRAM, page=page + 1
            ),
        )
    if page > 0:  # a further page leads back a page too, not only to the card
        builder.button(
            text=_("⬅️ Previous page"),
            callback_data=PolicyPageCallback(id=view.id, action=PolicyAction.PROGRAM, page=page - 1)
            if page > 1
            else PolicyCallback(id=view.id, action=PolicyAction.PROGRAM),
        )
    builder.button(
        text=document_button(DocumentKind.PROGRAM),
        callback_data=PolicyDocumentCallback(id=view.id, kind=DocumentKind.PROGRAM),
    )
    builder.adjust(1)
    await show(
        query,
        pages[page],
        builder.as_markup(),
        back=PolicyCallback(id=view.id),
        back_text=_("⬅️ Policy"),
        menu=True,
    )


async def not_a_name(message: Message) -> None:
    await message.answer(_("Please send the name as text, for example IVANOVA ANNA."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(send_document, PolicyDocumentCallback.filter())
    router.callback_query.register(latin_name_accepted, LatinNameCallback.filter())
    actions = PolicyCallback.filter
    router.callback_query.register(show_program, actions(F.action == PolicyAction.PROGRAM))
    router.callback_query.register(
        show_program, PolicyPageCallback.filter(F.action == PolicyAction.PROGRAM)
    )
    router.message.register(latin_name_typed, PolicyDocuments.latin_name, F.text, ~(F.text == BACK))
    router.message.register(not_a_name, PolicyDocuments.latin_name)
    return router
