"""My appeals (seed 000 3.5, seed 003): a new appeal of any kind, step by step by its schema,
a receipt with the number and time (also by e-mail), the list with statuses, the history of an
appeal, a follow-up message, closing with a rating. Insured-event cases (seed 000 5.3) are the
same dialog with their own list."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appeal_forms import (
    MENU_KINDS,
    AppealDraft,
    Ask,
    Step,
    answers,
    history_line,
    insured_name,
    intro,
    kind_title,
    policy_line,
    policy_shown,
    shown,
    stage_text,
)
from bot.callbacks import (
    AppealAnewCallback,
    AppealChoiceCallback,
    AppealsAction,
    AppealsCallback,
    AppealSendCallback,
    AppealStartCallback,
    PolicyCallback,
    ReceiptAppealsCallback,
    StaleButton,
)
from bot.deeplinks import start_link
from bot.fsm.appeals import DRAFT_KEY, REPLY_KEY, AppealForm
from bot.fsm.forms import forget_form
from bot.handlers.desk import desk_language, post_follow_up, post_new_appeal, sync_topic
from bot.keyboards.next_steps import (
    add_policy_button,
    buy_button,
    contacts_button,
    next_steps,
    register_button,
)
from bot.keyboards.registration import BACK
from bot.screens import show
from bot.texts import clean_input, escape, quoted, shorten, split_text
from bot.uploads import upload_refusal
from core.accounts.models import Account, User
from core.accounts.validation import (
    InvalidInput,
    Problem,
    format_phone,
    parse_date,
    parse_phone,
)
from core.appeals.cases import CaseNotCovered, CaseStage, NotCovered, check_cover, stage_of
from core.appeals.models import Appeal, AppealKind, AppealStatus, Author, shown_operator
from core.appeals.service import (
    AlreadyRated,
    AppealClosed,
    ReopenExpired,
    TooManyAppeals,
    add_person_message,
    can_reopen,
    check_daily_limit,
    close_by_person,
    file_appeal,
    history,
    my_appeal,
    my_appeals,
    open_dispute_of,
    reopen,
)
from core.billing.models import Bill
from core.clinics.models import Clinic
from core.clock import Clock
from core.config import Settings
from core.formatting import format_clock, format_date, format_day, format_money
from core.links import appeal_payload
from core.mail import MailSender
from core.policies.cabinet import PolicyView, my_policies
from core.policies.models import Policy
from core.uploads import UploadRefused, accept_upload, check_size

log = logging.getLogger(__name__)
MAX_FILES = 5


def status_text(status: str) -> str:
    return {
        AppealStatus.RECEIVED: _("received"),
        AppealStatus.IN_PROGRESS: _("in progress"),
        AppealStatus.ANSWERED: _("answered"),
        AppealStatus.CLOSED: _("closed"),
    }[AppealStatus(status)]


def state_text(appeal: Appeal) -> str:
    """An appeal's status, or a case's stage."""
    if appeal.kind == AppealKind.INSURED_EVENT:
        return stage_text(stage_of(appeal))
    return status_text(appeal.status)


# --- a new appeal --------------------------------------------------------------------------------
async def choose_kind(event: CallbackQuery, policy: int = 0) -> None:
    builder = InlineKeyboardBuilder()
    for kind in MENU_KINDS:
        builder.button(
            text=kind_title(kind), callback_data=AppealStartCallback(kind=kind, policy=policy)
        )
    builder.adjust(1)
    back = PolicyCallback(id=policy) if policy else AppealsCallback()
    await show(event, _("What is the appeal about?"), builder.as_markup(), back=back, menu=True)


def too_many_text(error: TooManyAppeals, settings: Settings, user: User) -> str:
    return _(
        "You have filed {count} appeals in the last 24 hours, the most a day allows. You can "
        "write a new one from {time} on {date} (Moscow time). In an emergency call the desk: "
        "{phone}."
    ).format(
        count=settings.appeals_per_day,
        time=format_clock(error.retry_at, user.language),
        date=format_day(error.retry_at, user.language),
        phone=settings.insurer.phone_federal,
    )


async def start(
    query: CallbackQuery,
    callback_data: AppealStartCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    if account is None:
        await show(
            query,
            _("Appeals are for registered users: please register first."),
            next_steps(register_button()),
        )
        return
    try:
        await check_daily_limit(session, user.id, clock.now(), settings.appeals_per_day)
    except TooManyAppeals as error:
        await query.message.answer(too_many_text(error, settings, user))
        return
    if not callback_data.kind:
        await choose_kind(query, callback_data.policy)
        return
    kind = AppealKind(callback_data.kind)
    kept = await load_draft(state)
    if kept is not None:  # a draft waits: it is not dropped unasked
        if not isinstance(callback_data, AppealAnewCallback):
            await offer_the_draft(query, kept, callback_data)
            return
        if kept.form != callback_data.replaces:  # asked about a draft gone since
            raise StaleButton("«discard and begin» of another draft")
    draft = AppealDraft(kind=kind, form=new_form())
    views = await my_policies(session, user, today=clock.now().date())
    if callback_data.policy:
        view = next((v for v in views if v.id == callback_data.policy), None)
        if view is not None:
            draft.policy_id = view.id
            draft.fields["policy"] = view.policy.number
            draft.fields["insured"] = insured_name(view)
            if kind is AppealKind.INSURED_EVENT:
                draft.case_kind = view.policy.kind
    if callback_data.bill:
        bill = await session.get(Bill, callback_data.bill)
        if bill is not None and any(v.person.id == bill.insured_person_id for v in views):
            draft.bill_id = bill.id
            draft.policy_id = bill.policy_id
            draft.fields["service"] = (
                f"{format_date(bill.service_date, user.language)} · {bill.service} · "
                f"{bill.clinic_name}"
            )
            disputed = await open_dispute_of(session, bill.id)
            if kind is AppealKind.NOT_PROVIDED and disputed is not None:  # an old screen's button
                await show(
                    query,
                    _(
                        "An appeal that this service was not provided is open already: {number}. "
                        "Its answer decides the co-payment; add to it there if needed."
                    ).format(number=disputed.number),
                    next_steps(
                        InlineKeyboardButton(
                            text=_("💬 Open the appeal"),
                            callback_data=AppealsCallback(
                                action=AppealsAction.OPEN, id=disputed.id
                            ).pack(),
                        )
                    ),
                )
                return
    if callback_data.clinic:
        clinic = await session.get(Clinic, callback_data.clinic)
        if clinic is not None:
            draft.clinic_id = clinic.id
            draft.fields["clinic"] = f"{clinic.name}, {clinic.city}, {clinic.address}"
    lacking = kind is AppealKind.INSURED_EVENT and draft.policy_id is None
    if lacking and not policy_options(views, draft.steps[0]):
        # A case is filed on a policy: without one there is nothing to ask "which policy?" about.
        await show(
            query,
            _(
                "A case is filed on a policy, and there are no policies in your cabinet yet. "
                "Add your OSAGO, KASKO, travel or property policy, or buy one."
            )
            if not views
            else _("There is no OSAGO, KASKO, travel or property policy in your cabinet."),
            next_steps(
                add_policy_button(),
                buy_button(settings, "osago"),
                contacts_button(),
                back=AppealsCallback(cases=True),
            ),
        )
        return
    note = intro(kind, settings.insurer.phone_federal)
    await query.message.answer(f"<b>{kind_title(kind)}</b>" + (f"\n{note}" if note else ""))
    await ask_next(query.message, draft, state, session, user, account, clock)


async def offer_the_draft(
    query: CallbackQuery, kept: AppealDraft, wanted: AppealStartCallback
) -> None:
    """A new appeal begun while a draft waits: the draft is not dropped unasked (CONVERSATION.md,
    1); continue it, or discard it and begin the new one."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✍️ Continue the draft: {kind}").format(kind=kind_title(kept.kind)),
        callback_data=AppealsCallback(action=AppealsAction.RESUME, id=kept.form),
    )
    builder.button(
        text=_("🗑 Discard it and begin: {kind}").format(kind=kind_title(AppealKind(wanted.kind))),
        callback_data=AppealAnewCallback(**wanted.model_dump(), replaces=kept.form),
    )
    builder.adjust(1)
    await show(
        query,
        _("You have an appeal draft not sent yet: «{kind}». Continue it, or discard it?").format(
            kind=quoted(kind_title(kept.kind))
        ),
        builder.as_markup(),
        # Back to where the new appeal was begun: the policy card, or the appeals.
        back=PolicyCallback(id=wanted.policy) if wanted.policy else AppealsCallback(),
        back_text=_("⬅️ Policy") if wanted.policy else _("⬅️ My appeals"),
        menu=True,
    )


def policy_options(views: list[PolicyView], step: Step) -> list[tuple[str, str]]:
    return [
        (str(v.id), f"{v.policy.number} · {v.person.first_name}")
        for v in views
        if v.policy.kind in step.policy_kinds
    ]


async def _policy_options(
    session: AsyncSession, user: User, today: date, step: Step
) -> list[tuple[str, str]]:
    return policy_options(await my_policies(session, user, today=today), step)


async def ask_next(
    message: Message,
    draft: AppealDraft,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    """Skip what is known already, and "which policy?" when "not about a policy" is the only
    answer; then ask the current step (or show the summary)."""
    while (step := draft.current) is not None:
        if step.field in draft.fields:
            draft.step += 1
        elif (
            step.ask is Ask.POLICY
            and step.policy_kinds == ("dms",)
            and not await _policy_options(session, user, clock.now().date(), step)
        ):
            draft.fields[step.field] = "—"
            draft.step += 1
        else:
            break
    form = draft.form
    if step is None:
        await state.set_state(AppealForm.confirm)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("✅ Send"), callback_data=AppealSendCallback(form=form, send=True))
        builder.button(text=_("✖️ Cancel"), callback_data=AppealSendCallback(form=form, send=False))
        sent = await message.answer(summary(draft), reply_markup=builder.as_markup())
        draft.summaries.append(sent.message_id)
        await save_draft(state, draft, sent)
        return
    builder = InlineKeyboardBuilder()
    if step.ask is Ask.CHOICE:
        for value, title in step.choices:
            builder.button(
                text=str(title), callback_data=AppealChoiceCallback(form=form, value=value)
            )
    elif step.ask is Ask.POLICY:
        for value, title in await _policy_options(session, user, clock.now().date(), step):
            builder.button(text=title, callback_data=AppealChoiceCallback(form=form, value=value))
        if step.policy_kinds == ("dms",):
            builder.button(
                text=_("Not about a policy"),
                callback_data=AppealChoiceCallback(form=form, value="none"),
            )
    elif step.ask is Ask.PHONE and account is not None:
        builder.button(
            text=format_phone(account.phone),
            callback_data=AppealChoiceCallback(form=form, value="mine"),
        )
    elif step.ask is Ask.FILES:
        builder.button(text=_("Done"), callback_data=AppealChoiceCallback(form=form, value="done"))
    builder.button(text=_("✖️ Cancel"), callback_data=AppealSendCallback(form=form, send=False))
    builder.adjust(1)
    states = {
        Ask.CHOICE: AppealForm.choosing,
        Ask.POLICY: AppealForm.choosing,
        Ask.FILES: AppealForm.files,
    }
    await state.set_state(states.get(step.ask, AppealForm.typing))
    markup = builder.as_markup()
    prompt = str(step.prompt)
    if step.ask is Ask.PLACE:
        prompt += "\n" + _("Or send a location from the attachment menu 📎.")
    policy = policy_shown(draft.fields)
    if draft.kind is AppealKind.INSURED_EVENT and policy is not None:  # whose case, which policy
        prompt = _("🚨 Case on policy {policy}").format(policy=escape(policy)) + "\n" + prompt
    await save_draft(state, draft, await message.answer(prompt, reply_markup=markup))


def summary(draft: AppealDraft) -> str:
    lines = [_("<b>{kind}: check and send</b>").format(kind=kind_title(draft.kind))]
    if policy := policy_line(draft.fields, draft.steps):
        lines.append(policy)
    if "service" in draft.fields:
        lines.append(_("Service: {service}").format(service=escape(draft.fields["service"])))
    for step in draft.steps:
        value = draft.fields.get(step.field)
        if step.ask is Ask.FILES:
            if draft.files:
                lines.append(f"{step.label}: {len(draft.files)}")
            continue
        if value:
            if step.ask in (Ask.CHOICE, Ask.PHONE):
                value = shown(step, value)
            if step.ask is Ask.POLICY:
                value = policy_shown(draft.fields) or value
            if step.ask is Ask.TEXT:  # the whole text goes with the appeal; here a glimpse
                value = shorten(value, SUMMARY_TEXT_LIMIT)
            lines.append(f"{step.label}: {escape(value)}")
    return "\n".join(lines)


# The summary must fit one message whatever the text (2,100 emoji are 4,200 UTF-16 units).
SUMMARY_TEXT_LIMIT = 1500


async def load_draft(state: FSMContext) -> AppealDraft | None:
    raw = (await state.get_data()).get(DRAFT_KEY)
    return AppealDraft.model_validate(raw) if raw else None


async def save_draft(state: FSMContext, draft: AppealDraft, prompt: Message) -> None:
    """The draft, with the message that now asks its question (or shows its summary)."""
    draft.prompt = prompt.message_id
    await state.update_data({DRAFT_KEY: draft.model_dump(mode="json")})


async def close_form(state: FSMContext, key: str = DRAFT_KEY) -> None:
    """The appeal's draft (or the reply's appeal) forgotten, and its step left. Only these: a
    paused draft of another form (a child's policy, a booking) stays where it waits."""
    current = await state.get_state() or ""
    await forget_form(state, (key,), leave=current.startswith(f"{AppealForm.__full_group_name__}:"))


def new_form() -> int:
    """A new form's number, carried by its buttons (AppealDraft.form)."""
    return secrets.randbelow(2**31 - 1) + 1


async def typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    draft = await load_draft(state)
    if draft is None or draft.current is None:
        await close_form(state)
        return
    step, text = draft.current, " ".join(clean_input(message.text).split())
    if step.ask is Ask.TEXT and len(text) < 5:
        await message.answer(_("Please write a little more: a few words at least."))
        return
    if step.ask is Ask.TEXT:
        text = clean_input(message.text)  # whole: the topic takes long texts in parts
    if step.ask in (Ask.SHORT, Ask.PLACE) and not 2 <= len(text) <= 200:
        await message.answer(_("Please write it in one line, from 2 to 200 characters."))
        return
    if step.ask is Ask.PHONE:
        try:
            text = parse_phone(text)
        except InvalidInput:
            await message.answer(
                _("That does not look like a phone number. Example: +7 916 123-45-67.")
            )
            return
    if step.ask is Ask.DATE:
        try:
            day = parse_date(text)
        except InvalidInput as error:
            await message.answer(
                _("There is no such day in the calendar. Please check the day and the month.")
                if error.problem is Problem.DATE_NO_SUCH_DAY
                else _("Please write the date like 20.11.2026.")
            )
            return
        if day > clock.now().date():
            await message.answer(_("That date is in the future: when did it happen?"))
            return
        policy = await session.get(Policy, draft.policy_id) if draft.policy_id else None
        if draft.kind is AppealKind.INSURED_EVENT and policy is not None:
            try:
                check_cover(policy, day)
            except CaseNotCovered as error:
                await close_form(state)
                await message.answer(
                    not_covered_text(error, day, settings, user.language),
                    reply_markup=not_covered_markup(error, settings),
                )
                return
        text = format_date(day, "ru")
    draft.fields[step.field] = text
    draft.step += 1
    await ask_next(message, draft, state, session, user, account, clock)


def not_covered_text(error: CaseNotCovered, day: date, settings: Settings, locale: str) -> str:
    """Why the policy does not take this case, and the desk's number."""
    policy = error.policy
    if error.reason is NotCovered.UNPAID:
        why = _("Policy {number} is not paid, so it does not cover the event.").format(
            number=policy.number
        )
    elif error.reason is NotCovered.NOT_YET:
        why = _(
            "Policy {number} is valid from {start}: it does not cover an event on {day}."
        ).format(
            number=policy.number,
            start=format_date(policy.valid_from, locale),
            day=format_date(day, locale),
        )
    else:
        why = _("Policy {number} ended on {end}: it does not cover an event on {day}.").format(
            number=policy.number,
            end=format_date(policy.valid_to, locale),
            day=format_date(day, locale),
        )
    return (
        _("The case cannot be filed.")
        + "\n"
        + why
        + "\n"
        + _("Questions: the desk {phone}, 24/7.").format(phone=settings.insurer.phone_federal)
    )


def not_covered_markup(error: CaseNotCovered, settings: Settings) -> InlineKeyboardMarkup:
    """The ways on from a refused case: another policy, a new one, or the insurer."""
    return next_steps(
        add_policy_button(),
        buy_button(settings, error.policy.kind),
        contacts_button(),
        back=AppealsCallback(cases=True),
    )


async def not_text(message: Message) -> None:
    await message.answer(_("Please send it as text."))


async def place_shared(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    """A location (or a venue) sent at a step that asks where: it is the answer. At another
    step of the form it is not, and the form stays where it is."""
    draft = await load_draft(state)
    if draft is None or draft.current is None or draft.current.ask is not Ask.PLACE:
        await not_text(message)
        return
    if message.venue is not None:
        place = f"{message.venue.title}, {message.venue.address}"
    else:
        assert message.location is not None
        place = "📍 " + _("location {latitude:.5f}, {longitude:.5f}").format(
            latitude=message.location.latitude, longitude=message.location.longitude
        )
    draft.fields[draft.current.field] = place
    draft.step += 1
    await ask_next(message, draft, state, session, user, account, clock)


async def chose(
    query: CallbackQuery,
    callback_data: AppealChoiceCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    draft = await load_draft(state)
    if draft is not None and draft.form != callback_data.form:
        # Another form is open (this one was discarded or replaced): the button is stale, and
        # «This form is closed, start a new one» would lead away from the open one.
        raise StaleButton("a choice of an earlier appeal form")
    if draft is not None and draft.current is None:  # at its summary: still open, to be sent
        raise StaleButton("a choice of a question answered already")
    if draft is None or draft.current is None or not isinstance(query.message, Message):
        if isinstance(query.message, Message):
            await show(
                query,
                _("This form is closed. Start a new appeal in /appeals."),
                next_steps(
                    InlineKeyboardButton(
                        text=_("➕ New appeal"), callback_data=AppealStartCallback().pack()
                    ),
                    back=AppealsCallback(),
                    back_text=_("⬅️ My appeals"),
                ),
            )
        return
    step, value = draft.current, callback_data.value
    if step.ask is Ask.FILES and value == "done":
        draft.fields[step.field] = str(len(draft.files))
    elif step.ask is Ask.PHONE and value == "mine" and account is not None:
        draft.fields[step.field] = account.phone
    elif step.ask is Ask.POLICY:
        views = await my_policies(session, user, today=clock.now().date())
        options = dict(policy_options(views, step))
        if value == "none":
            draft.fields[step.field] = "—"
        elif value in options:
            draft.policy_id = int(value)
            draft.fields[step.field] = options[value].split(" · ")[0]
            chosen = next(v for v in views if v.id == int(value))
            draft.fields["insured"] = insured_name(chosen)
            if draft.kind is AppealKind.INSURED_EVENT:
                draft.case_kind = next(v.policy.kind for v in views if v.id == int(value))
                if draft.case_kind == "travel":
                    await query.message.answer(
                        _(
                            "If you need medical help now, call the assistance service at once: "
                            "{phone} (24/7, from abroad too). Then tell us about the case here."
                        ).format(phone=settings.insurer.assistance_phone)
                    )
        else:
            raise StaleButton(f"no policy option {value!r}")
    elif step.ask is Ask.CHOICE and value in dict(step.choices):
        draft.fields[step.field] = value
    else:
        raise StaleButton(f"a button of another step: {value!r}")
    draft.step += 1
    await ask_next(query.message, draft, state, session, user, account, clock)


async def attachment(message: Message, bot: Bot) -> dict[str, str] | None:
    """A photo or a document checked by its bytes (core.uploads), with the name it is posted
    to the operators under; None when the message carries no file; UploadRefused."""
    source = message.photo[-1] if message.photo else message.document
    if source is None:
        return None
    check_size(source.file_size)
    content = await bot.download(source.file_id)
    assert content is not None
    upload = accept_upload(content.read(), prefix="appeal")
    kind = "photo" if message.photo else "document"
    return {"type": kind, "file_id": source.file_id, "name": upload.filename}


async def file_added(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    if draft is None:
        return
    if not (message.photo or message.document):
        await message.answer(_("Please send a photo or a PDF, or tap «Done»."))
        return
    if len(draft.files) >= MAX_FILES:
        await message.answer(_("Five files at most. Tap «Done» to go on."))
        return
    try:
        item = await attachment(message, bot)
    except UploadRefused as error:
        await message.answer(upload_refusal(error))
        return
    assert item is not None
    draft.files.append(item)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Done"), callback_data=AppealChoiceCallback(form=draft.form, value="done")
    )
    builder.button(
        text=_("✖️ Cancel"), callback_data=AppealSendCallback(form=draft.form, send=False)
    )
    builder.adjust(1)  # as the step's own question has them: the latest message leads on
    sent = await message.answer(
        _("Attached: {count}. Send more or tap «Done».").format(count=len(draft.files)),
        reply_markup=builder.as_markup(),
    )
    await save_draft(state, draft, sent)


async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above."))


async def send(
    query: CallbackQuery,
    callback_data: AppealSendCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    bot: Bot,
    settings: Settings,
    mailer: MailSender,
) -> None:
    draft = await load_draft(state)
    if draft is None:
        raise StaleButton("the appeal form was sent or discarded already")
    if callback_data.form != draft.form:
        raise StaleButton("a button of an earlier appeal form")
    if callback_data.send and draft.current is not None:
        # «Send» of a summary, while the form (another one, begun from a menu higher up, or
        # this one gone back) waits for an answer: what that summary showed is not the draft.
        raise StaleButton("a summary's Send while the form is not at its summary")
    if not isinstance(query.message, Message):
        return
    step, data = await state.get_state(), await state.get_data()
    await close_form(state)  # closed with the filing's commit: a crash cannot file it twice
    if not callback_data.send:
        await _drop_buttons(bot, query.message, draft)
        # Said where the person is: an earlier question's Cancel, higher up, is answered below.
        where: CallbackQuery | Message = (
            query if query.message.message_id == draft.prompt else query.message
        )
        await show(
            where,
            _("The appeal is discarded."),
            menu=True,
            back=AppealsCallback(),
            back_text=_("⬅️ My appeals"),
        )
        return
    text = draft.fields.get("text") or draft.fields.get("topic") or kind_title(draft.kind)
    event_day = parse_date(draft.fields["date"]) if draft.fields.get("date") else None
    fields = draft.fields | ({"case_kind": draft.case_kind} if draft.case_kind else {})
    try:
        appeal = await file_appeal(
            session,
            user.id,
            draft.kind,
            text=text,
            fields=fields,
            files=draft.files,
            policy_id=draft.policy_id,
            bill_id=draft.bill_id,
            clinic_id=draft.clinic_id,
            now=clock.now(),
            per_day=settings.appeals_per_day,
            event_date=event_day,
        )
    except TooManyAppeals as error:  # filed elsewhere meanwhile: the form waits for that time
        await state.set_state(step)
        await state.set_data(data)
        kept = _("Your form is kept: tap «✅ Send» on it then.")
        await query.message.answer(too_many_text(error, settings, user) + "\n\n" + kept)
        return
    except CaseNotCovered as error:
        assert event_day is not None
        await query.message.answer(
            not_covered_text(error, event_day, settings, user.language),
            reply_markup=not_covered_markup(error, settings),
        )
        return
    await query.message.edit_reply_markup(reply_markup=None)  # sent: the form's buttons go
    await _drop_buttons(bot, query.message, draft)
    receipt = receipt_text(appeal, user.language)
    if draft.fields.get("medical_now") == "yes":
        receipt += "\n" + _("🚑 Call the assistance service now: {phone}.").format(
            phone=settings.insurer.assistance_phone
        )
    builder = InlineKeyboardBuilder()
    cases = draft.kind is AppealKind.INSURED_EVENT
    builder.button(
        text=_("🚨 My cases") if cases else _("💬 My appeals"),
        callback_data=ReceiptAppealsCallback(cases=cases),
    )
    await query.message.answer(receipt, reply_markup=builder.as_markup())
    await post_new_appeal(bot, settings, session, appeal, user, account)
    if account is not None:
        try:
            link = await start_link(bot, appeal_payload(appeal.id))
            await mailer.send(
                account.email,
                (
                    _("Case {number} registered")
                    if appeal.kind == AppealKind.INSURED_EVENT
                    else _("Appeal {number} received")
                ).format(number=appeal.number),
                receipt_letter(appeal, text, user.language, link),
            )
        except Exception:  # the chat receipt is there; a mail outage must not lose the appeal
            log.warning("could not mail the receipt of appeal %s", appeal.id, exc_info=True)


async def _drop_buttons(bot: Bot, tapped: Message, draft: AppealDraft) -> None:
    """The form is over: the buttons of its latest question and of every summary it showed
    («Continue the draft» shows it again) go, besides those of the message tapped."""
    for message_id in sorted({draft.prompt, *draft.summaries} - {0, tapped.message_id}):
        try:
            await bot.edit_message_reply_markup(
                chat_id=tapped.chat.id, message_id=message_id, reply_markup=None
            )
        except TelegramBadRequest as error:  # deleted by the person, or too old to edit
            log.info("the form's buttons stay in chat %s: %s", tapped.chat.id, error.message)


def receipt_text(appeal: Appeal, locale: str) -> str:
    if appeal.kind == AppealKind.INSURED_EVENT:
        return _(
            "✅ Case <b>{number}</b> was registered on {date} at {time} (Moscow time). Follow "
            "its status in «My cases»."
        ).format(
            number=appeal.number,
            date=format_day(appeal.created_at, locale),
            time=format_clock(appeal.created_at, locale),
        )
    return _(
        "✅ Appeal <b>{number}</b> was received on {date} at {time} (Moscow time). We answer "
        "within a day; the answer comes to this chat."
    ).format(
        number=appeal.number,
        date=format_day(appeal.created_at, locale),
        time=format_clock(appeal.created_at, locale),
    )


def receipt_letter(appeal: Appeal, text: str, locale: str, link: str) -> str:
    """The e-mail receipt: what was filed and when, and the way back to the chat."""
    return "\n".join(
        [
            _("Your appeal has been received.")
            if appeal.kind != AppealKind.INSURED_EVENT
            else _("Your insured-event case has been registered."),
            "",
            _("Number: {number}").format(number=appeal.number),
            _("Kind: {kind}").format(kind=kind_title(appeal.kind)),
            *[
                _("Policy: {policy}").format(policy=policy)
                for policy in [policy_shown(appeal.fields)]
                if policy
            ],
            _("Date: {date} {time} (Moscow time)").format(
                date=format_day(appeal.created_at, locale),
                time=format_clock(appeal.created_at, locale),
            ),
            "",
            text,
            *answers(appeal.kind, appeal.fields or {}, text),
            "",
            _("The answer comes to the chat with the bot. Open the appeal there: {link}").format(
                link=link
            ),
        ]
    )


# --- my appeals ----------------------------------------------------------------------------------
async def list_appeals(
    event: Message | CallbackQuery,
    session: AsyncSession,
    user: User,
    *,
    cases: bool = False,
    draft: AppealDraft | None = None,
) -> None:
    found = await my_appeals(session, user.id, cases=cases)
    builder = InlineKeyboardBuilder()
    if draft is not None and not cases:
        builder.button(
            text=_("✍️ Continue the draft: {kind}").format(kind=kind_title(draft.kind)),
            callback_data=AppealsCallback(action=AppealsAction.RESUME, id=draft.form),
        )
    for appeal in found[:20]:
        # A case is named by its policy (a person may have several), an appeal by its kind.
        what = (appeal.fields or {}).get("policy") if cases else None
        builder.button(
            text=f"{appeal.number} · {what or kind_title(appeal.kind)} · {state_text(appeal)}",
            callback_data=AppealsCallback(action=AppealsAction.OPEN, id=appeal.id),
        )
    if cases:
        builder.button(
            text=_("🚨 Report an insured event"),
            callback_data=AppealStartCallback(kind=AppealKind.INSURED_EVENT),
        )
    else:
        builder.button(text=_("➕ New appeal"), callback_data=AppealStartCallback())
        builder.button(
            text=_("🚨 My insured-event cases"), callback_data=AppealsCallback(cases=True)
        )
    builder.adjust(1)
    if cases:
        title = _("<b>My cases</b>") if found else _("You have not reported any insured event.")
    else:
        title = _("<b>My appeals</b>") if found else _("You have no appeals yet.")
    back = AppealsCallback() if cases else None
    await show(event, title, builder.as_markup(), back=back, menu=True)


async def appeals_command(
    message: Message, state: FSMContext, session: AsyncSession, user: User, account: Account | None
) -> None:
    if account is None:
        await message.answer(
            _("Appeals are for registered users: please register first."),
            reply_markup=next_steps(register_button(), menu=False),
        )
        return
    await list_appeals(message, session, user, draft=await load_draft(state))


def appeal_keyboard(
    appeal: Appeal, now: datetime, reopen_within: timedelta
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    answered = appeal.first_answer_at is not None  # closed unanswered: nothing to rate
    if appeal.status == AppealStatus.CLOSED and appeal.rating is None and answered:
        builder.button(
            text=_("⭐ Rate the answer"),
            callback_data=AppealsCallback(action=AppealsAction.CLOSE, id=appeal.id),
        )
    if can_reopen(appeal, now, reopen_within):
        builder.button(
            text=_("↩️ Reopen with a message"),
            callback_data=AppealsCallback(action=AppealsAction.REOPEN, id=appeal.id),
        )
    if appeal.status != AppealStatus.CLOSED:
        builder.button(  # a case waiting for documents: the upload is the next action
            text=_("📎 Upload the documents")
            if appeal.stage == CaseStage.DOCUMENTS
            else _("✍️ Add a message"),
            callback_data=AppealsCallback(action=AppealsAction.REPLY, id=appeal.id),
        )
        builder.button(
            text=_("✅ Close the appeal"),
            callback_data=AppealsCallback(action=AppealsAction.CLOSE, id=appeal.id),
        )
    cases = appeal.kind == AppealKind.INSURED_EVENT
    builder.button(
        text=_("⬅️ My cases") if cases else _("⬅️ My appeals"),
        callback_data=AppealsCallback(cases=cases),
    )
    builder.adjust(1)
    return builder.as_markup()


async def send_appeal(
    message: Message,
    session: AsyncSession,
    appeal: Appeal,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    """An appeal's screen as new messages (a deep link, a long history): parts, then buttons."""
    parts = split_text(await appeal_text(session, appeal, user.language))
    markup = appeal_keyboard(appeal, clock.now(), timedelta(days=settings.appeal_reopen_days))
    for number, part in enumerate(parts, 1):
        await message.answer(part, reply_markup=markup if number == len(parts) else None)


def unreply_markup(appeal: Appeal) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=AppealsCallback(action=AppealsAction.UNREPLY, id=appeal.id),
    )
    return builder.as_markup()


async def on_appeals(
    query: CallbackQuery,
    callback_data: AppealsCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    bot: Bot,
    settings: Settings,
    account: Account | None,
) -> None:
    if not isinstance(query.message, Message):
        return
    action = callback_data.action
    if action is AppealsAction.LIST:
        draft = await load_draft(state)
        await list_appeals(query, session, user, cases=callback_data.cases, draft=draft)
        return
    if action is AppealsAction.RESUME:  # `id`: the draft's form (0 on buttons made before it)
        draft = await load_draft(state)
        if draft is None or account is None:
            raise StaleButton("the appeal draft was sent or discarded")
        if callback_data.id and callback_data.id != draft.form:
            raise StaleButton("«continue the draft» of a draft discarded since")
        await ask_next(query.message, draft, state, session, user, account, clock)
        return
    appeal = await my_appeal(session, user.id, callback_data.id)
    reopen_within = timedelta(days=settings.appeal_reopen_days)
    if action is AppealsAction.UNREPLY:  # the message is not written after all: back to it
        asked = await state.get_state() == AppealForm.reply.state
        if not asked or (await state.get_data()).get(REPLY_KEY) != appeal.id:
            raise StaleButton("the message to this appeal was sent or dropped already")
        await close_form(state, REPLY_KEY)
        action = AppealsAction.OPEN
    if action is AppealsAction.OPEN:
        parts = split_text(await appeal_text(session, appeal, user.language))
        if len(parts) == 1:
            await show(query, parts[0], appeal_keyboard(appeal, clock.now(), reopen_within))
        else:  # a long history comes in parts, as new messages
            await send_appeal(query.message, session, appeal, user, clock, settings)
    elif action is AppealsAction.REOPEN:
        if not can_reopen(appeal, clock.now(), reopen_within):
            await query.message.answer(
                _(
                    "Appeal {number} can no longer be reopened: {days} days have passed since "
                    "it was closed. Please start a new one."
                ).format(number=appeal.number, days=settings.appeal_reopen_days)
            )
            return
        await state.set_state(AppealForm.reply)
        await state.update_data({REPLY_KEY: appeal.id})
        await query.message.answer(
            _("Write what is left, and appeal {number} will be reopened.").format(
                number=appeal.number
            ),
            reply_markup=unreply_markup(appeal),
        )
    elif action is AppealsAction.REPLY:
        if appeal.status == AppealStatus.CLOSED:
            await show(
                query,
                _("The appeal is closed. Start a new one if needed."),
                next_steps(
                    InlineKeyboardButton(
                        text=_("➕ New appeal"), callback_data=AppealStartCallback().pack()
                    ),
                    back=AppealsCallback(),
                    back_text=_("⬅️ My appeals"),
                ),
            )
            return
        await state.set_state(AppealForm.reply)
        await state.update_data({REPLY_KEY: appeal.id})
        ask = (
            _("Send the documents for case {number}: a photo or a PDF, with a caption if needed.")
            if appeal.stage == CaseStage.DOCUMENTS
            else _("Write your message to appeal {number}.")
        )
        await query.message.answer(
            ask.format(number=appeal.number), reply_markup=unreply_markup(appeal)
        )
    elif action is AppealsAction.CLOSE and appeal.first_answer_at is None:
        # Nothing answered yet: nothing to rate. Closing withdraws the appeal (rating 0).
        if appeal.status == AppealStatus.CLOSED:
            raise StaleButton("an appeal closed unanswered has nothing to rate")
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("✅ Close the appeal"),
            callback_data=AppealsCallback(action=AppealsAction.RATE, id=appeal.id, rating=0),
        )
        await show(
            query,
            _(
                "Close appeal {number}? It has not been answered yet: once closed, the insurer "
                "will not answer it."
            ).format(number=appeal.number),
            builder.as_markup(),
            back=AppealsCallback(action=AppealsAction.OPEN, id=appeal.id),
            back_text=_("⬅️ Keep it open"),
        )
    elif action is AppealsAction.CLOSE:
        if appeal.status == AppealStatus.CLOSED and appeal.rating is not None:
            raise StaleButton("rated already")  # an older screen's button (a walker's)
        builder = InlineKeyboardBuilder()
        for stars in range(5, 0, -1):
            builder.button(
                text="⭐" * stars,
                callback_data=AppealsCallback(
                    action=AppealsAction.RATE, id=appeal.id, rating=stars
                ),
            )
        builder.adjust(1)
        closed = appeal.status == AppealStatus.CLOSED
        await show(
            query,
            (
                _("How do you rate the answer to appeal {number}?")
                if closed
                else _("How do you rate the answer to appeal {number}? The appeal will be closed.")
            ).format(number=appeal.number),
            builder.as_markup(),
            back=AppealsCallback(action=AppealsAction.OPEN, id=appeal.id),
            back_text=_("⬅️ Back") if closed else _("⬅️ Keep it open"),
        )
    elif action is AppealsAction.RATE:
        rating = callback_data.rating or None  # 0: closed unanswered, nothing to rate
        was_closed = appeal.status == AppealStatus.CLOSED
        if rating is None and (was_closed or appeal.first_answer_at is not None):
            raise StaleButton("an answered or closed appeal is closed with a rating")
        try:
            await close_by_person(session, user.id, appeal.id, rating, clock.now())
        except AlreadyRated as error:  # an older rating screen's stars (a walker's)
            raise StaleButton("rated already: one rating per closing") from error
        await show(
            query,
            (
                _("Appeal {number} is closed. Thank you for the rating!")
                if rating
                else _("Appeal {number} is closed.")
            ).format(number=appeal.number),
            back=AppealsCallback(cases=appeal.kind == AppealKind.INSURED_EVENT),
            back_text=_("⬅️ My appeals"),
            menu=True,
        )
        with desk_language(settings):
            note = (
                _("The person closed the appeal before any answer.")
                if rating is None
                else _("⭐ The person rated the answer: {stars}/5.")
                if was_closed
                else _("The person closed the appeal, rating {stars}/5.")
            ).format(stars=rating)
        await post_follow_up(bot, settings, appeal, note, note=True)
        await sync_topic(bot, settings, session, appeal)


async def appeal_text(session: AsyncSession, appeal: Appeal, locale: str) -> str:
    lines = [
        f"<b>{kind_title(appeal.kind)} {appeal.number}</b>",
        _("Status: {status}").format(status=state_text(appeal)),
    ]
    fields = appeal.fields or {}
    messages = await history(session, appeal.id)
    if appeal.kind == AppealKind.INSURED_EVENT and fields.get("policy"):  # whose, which, when
        lines.append(_("Policy") + f": {escape(fields['policy'])}")
        if fields.get("date"):
            lines.append(_("Date of the event") + f": {escape(fields['date'])}")
    elif appeal.kind != AppealKind.INSURED_EVENT:  # what the form asked for, as sent
        if policy := policy_shown(fields):
            lines.append(_("Policy") + f": {escape(policy)}")
        first = messages[0].text if messages else ""
        lines.extend(escape(line) for line in answers(appeal.kind, fields, first))
    if appeal.decision_amount:
        lines.append(
            _("Payment: {amount}").format(amount=format_money(appeal.decision_amount, locale))
        )
    if appeal.decision_text and appeal.stage == CaseStage.REFUSED:
        lines.append(_("Reason: {reason}").format(reason=escape(appeal.decision_text)))
    for message in messages:
        when = (
            f"{format_day(message.created_at, locale)} {format_clock(message.created_at, locale)}"
        )
        operator = shown_operator(message.operator_name)
        who = (
            _("You")
            if message.author == Author.PERSON
            else _("Operator {operator}").format(operator=escape(operator))
            if operator
            else _("Insurer")
        )
        files = f" 📎{len(message.files)}" if message.files else ""
        lines.append(f"\n<i>{who}, {when}</i>{files}\n{escape(history_line(message.text))}")
    # A long history is sent in parts (send_appeal), never cut: the person reads it all.
    return "\n".join(lines)


async def reply_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    bot: Bot,
    settings: Settings,
) -> None:
    appeal_id = (await state.get_data()).get(REPLY_KEY)
    text = clean_input(message.text or message.caption)
    try:
        item = await attachment(message, bot)
    except UploadRefused as error:
        await message.answer(upload_refusal(error))
        return
    files = [item] if item is not None else []
    if appeal_id is None or (not text and not files):
        await message.answer(
            _("Please write the message as text (a photo or a PDF may come along).")
        )
        return
    current = await my_appeal(session, user.id, int(appeal_id))
    reopened = current.status == AppealStatus.CLOSED
    try:
        if reopened:
            within = timedelta(days=settings.appeal_reopen_days)
            appeal = await reopen(session, user.id, current.id, text, clock.now(), within, files)
        else:
            appeal = await add_person_message(
                session, user.id, current.id, text, clock.now(), files
            )
    except (AppealClosed, ReopenExpired):
        await close_form(state, REPLY_KEY)
        await message.answer(_("The appeal is closed. Start a new one if needed."))
        return
    await close_form(state, REPLY_KEY)
    await sync_topic(bot, settings, session, appeal)  # a closed topic is reopened first
    builder = InlineKeyboardBuilder()  # the way back to the appeal, its history and buttons
    builder.button(
        text=_("💬 Open the appeal"),
        callback_data=AppealsCallback(action=AppealsAction.OPEN, id=appeal.id),
    )
    if reopened:
        await message.answer(
            _("Appeal {number} is reopened with your message. The answer will come here.").format(
                number=appeal.number
            ),
            reply_markup=builder.as_markup(),
        )
        with desk_language(settings):
            note = _("↩️ The person reopened the appeal.")
        await post_follow_up(bot, settings, appeal, note, note=True)
    else:
        await message.answer(
            _("Added to appeal {number}.").format(number=appeal.number),
            reply_markup=builder.as_markup(),
        )
    await post_follow_up(bot, settings, appeal, text, files)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(start, AppealStartCallback.filter())
    router.callback_query.register(start, AppealAnewCallback.filter())
    router.callback_query.register(chose, AppealChoiceCallback.filter())
    router.callback_query.register(send, AppealSendCallback.filter())
    router.callback_query.register(on_appeals, AppealsCallback.filter())
    router.callback_query.register(on_appeals, ReceiptAppealsCallback.filter())
    router.message.register(typed, AppealForm.typing, F.text, ~(F.text == BACK))
    router.message.register(place_shared, AppealForm.typing, F.location | F.venue)
    router.message.register(not_text, AppealForm.typing)
    router.message.register(file_added, AppealForm.files)
    router.message.register(use_buttons, AppealForm.choosing)
    router.message.register(use_buttons, AppealForm.confirm)
    router.message.register(reply_typed, AppealForm.reply)
    return router
