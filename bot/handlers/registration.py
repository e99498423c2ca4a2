"""Registration (seeds 000 1.1, 001 step 2, 003): one question at a time, Back and Cancel on
every step, bad input answered with what is expected and an example, nothing entered lost."""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    ConsentCallback,
    EditCallback,
    EditField,
    RegistrationAction,
    RegistrationCallback,
    StaleButton,
    SummaryCallback,
)
from bot.fsm.registration import (
    BACK as BACK_TO,
)
from bot.fsm.registration import (
    ORDER,
    STEP_NUMBER,
    TOTAL_STEPS,
    Registration,
    RegistrationDraft,
    load_draft,
    save_draft,
)
from bot.keyboards.menu import main_menu
from bot.keyboards.next_steps import add_policy_button, next_steps
from bot.keyboards.registration import (
    BACK,
    FEMALE,
    FOREIGN_PASSPORT,
    MALE,
    NO_PATRONYMIC,
    RESEND_CODE,
    RU_PASSPORT,
    consents_keyboard,
    edit_fields_keyboard,
    inline,
    step_keyboard,
    summary_keyboard,
)
from bot.legal_documents import legal_document
from bot.texts import escape
from core.accounts.codes import (
    CodeBlocked,
    CodeExpired,
    CodeProblem,
    LastWrongCode,
    NoCode,
    Purpose,
    ResendTooSoon,
    TooManyCodes,
    WrongCode,
    check_code,
    code_in_flight,
    issue_code,
)
from core.accounts.consents import (
    REQUIRED_FOR_REGISTRATION,
    current_consents,
    give_consent,
)
from core.accounts.crypto import Vault
from core.accounts.models import Account, User
from core.accounts.registration import (
    AlreadyRegistered,
    MissingConsents,
    NotRegistered,
    PersonalData,
    PersonalDataLocked,
    ensure_free,
    finish_recovery,
    register,
    start_recovery,
)
from core.accounts.validation import (
    DocumentType,
    IdentityDocument,
    InvalidInput,
    Problem,
    Sex,
    check_name_script,
    format_phone,
    is_latin,
    normalize_email,
    normalize_name,
    parse_birth_date,
    parse_document,
    parse_phone,
)
from core.clock import Clock
from core.config import Settings
from core.formatting import format_clock, format_date, format_day, mask_email
from core.mail import MailSender

log = logging.getLogger(__name__)


# --- what each step asks ------------------------------------------------------------------
def _step_header(step: State, draft: RegistrationDraft | None = None) -> str:
    """ "Step 3 of 8. " for registration; nothing when one field is being changed."""
    if draft is not None and draft.editing:
        return ""
    return _("Step {number} of {total}.").format(number=STEP_NUMBER[step], total=TOTAL_STEPS) + " "


def problem_text(problem: Problem, draft: RegistrationDraft | None = None) -> str:
    if problem is Problem.NAME_OTHER_ALPHABET and draft is not None and draft.surname:
        return _(
            "Please write it in the same alphabet as your surname «{surname}», as in your "
            "passport. To change the surname, tap «⬅️ Back»."
        ).format(surname=escape(draft.surname))
    if problem is Problem.DOCUMENT_INVALID:
        if draft is not None and draft.document_type == DocumentType.FOREIGN_PASSPORT:
            return _("A foreign passport has 2 + 7 digits, for example 75 1234567.")
        return _(
            "A Russian passport has a 4-digit series and a 6-digit number, for example 45 06 123456."
        )
    return {
        Problem.PHONE_INVALID: _(
            "That does not look like a phone number. Please share yours with the "
            "«📱 Share my phone» button below."
        ),
        Problem.PHONE_NOT_MOBILE: _(
            "This is not a mobile number. We need a mobile one, for example +7 916 123-45-67."
        ),
        Problem.EMAIL_INVALID: _(
            "That does not look like an e-mail address. Example: anna.ivanova@example.org"
        ),
        # One text for every name (a surname, a first name, a patronymic, a child's): an
        # example of each
        Problem.NAME_INVALID: _(
            "Please use only letters, a hyphen, a space or an apostrophe, as in the passport. "
            "Examples: Ivanova-Petrova, Anna-Maria, Sergeevna"
        ),
        Problem.NAME_MIXED_SCRIPTS: _(
            "Please write it in one alphabet, Cyrillic or Latin, as in the passport."
        ),
        Problem.NAME_TOO_LONG: _("That is too long: at most 60 characters."),
        Problem.NAME_NOT_CYRILLIC: _(
            "A Russian passport has the name in Cyrillic, and your policy is checked against "
            "it. Please write it as in the passport."
        ),
        Problem.NAME_OTHER_ALPHABET: _(
            "Please write it in one alphabet, Cyrillic or Latin, as in the passport."
        ),
        Problem.LATIN_NAME_INVALID: _(
            "Please write the surname and the name in Latin letters, as in your foreign "
            "passport, for example IVANOVA ANNA."
        ),
        Problem.DATE_INVALID: _(
            "We could not read the date. Examples: 15.01.1985, 1985-01-15, 15 January 1985."
        ),
        Problem.DATE_NO_SUCH_DAY: _(
            "There is no such day in the calendar. Please check the day and the month."
        ),
        Problem.DATE_FUTURE: _("That date is in the future. Please check it."),
        Problem.DATE_TOO_OLD: _("Please check the year: that is more than 120 years ago."),
        Problem.UNDERAGE: _(
            "Only adults (18 and over) register themselves. A child's policy is added by a "
            "parent after registration."
        ),
    }[problem]


def _prompt(step: State, draft: RegistrationDraft) -> tuple[str, ReplyKeyboardMarkup]:
    header = _step_header(step, draft)
    if step == Registration.phone:
        text = _(
            "Your mobile phone number: tap «📱 Share my phone» below. Telegram sends the number "
            "of your account, and that proves it is yours."
        )
        return f"{header}{text}", step_keyboard(share_phone=True, back=False)
    if step == Registration.email and draft.email and draft.email_confirmed:
        text = _(
            "Your e-mail {email} is confirmed. Tap it below to keep it, or send another "
            "address: a code will go to it."
        ).format(email=escape(draft.email))
        return f"{header}{text}", step_keyboard(draft.email)
    if step == Registration.email:
        text = _("Your e-mail: we will send a 6-digit confirmation code to it.")
        return f"{header}{text}", step_keyboard()
    if step == Registration.surname:
        text = _("Your surname, as in your passport.")
        return f"{header}{text}", step_keyboard()
    if step == Registration.first_name:
        text = _("Your first name, as in your passport.")
        return f"{header}{text}", step_keyboard()
    if step == Registration.patronymic:
        text = _("Your patronymic, as in your passport. If you have none, tap «No patronymic».")
        return f"{header}{text}", step_keyboard(str(NO_PATRONYMIC))
    if step == Registration.birth_date:
        text = _("Your date of birth, for example 15.01.1985.")
        return f"{header}{text}", step_keyboard()
    if step == Registration.sex:
        text = _("Your sex.")
        return f"{header}{text}", step_keyboard(str(FEMALE), str(MALE))
    if step == Registration.document_type:
        text = _(
            "Your identity document. A birth certificate cannot be used by the policy holder: "
            "children are added later, with their policies."
        )
        return f"{header}{text}", step_keyboard(str(RU_PASSPORT), str(FOREIGN_PASSPORT))
    if step == Registration.document_number:
        if draft.document_type == DocumentType.FOREIGN_PASSPORT:
            text = _(
                "Series and number of your foreign passport: 2 + 7 digits, for example 75 1234567."
            )
        else:
            text = _("Series and number of your passport: 4 + 6 digits, for example 45 06 123456.")
        return f"{header}{text}", step_keyboard()
    raise AssertionError(f"no prompt for {step.state}")


async def ask(
    message: Message, state: FSMContext, step: State, session: AsyncSession, user: User
) -> None:
    """Move to `step` and ask its question."""
    await state.set_state(step)
    draft = await load_draft(state)
    if step == Registration.consents:
        await _ask_consents(message, session, user)
    elif step == Registration.summary:
        header = _step_header(Registration.summary, draft)
        await message.answer(header + _("Please check your data:"), reply_markup=step_keyboard())
        await message.answer(
            summary_text(draft, user.language), reply_markup=summary_keyboard(draft.signature())
        )
    else:
        text, keyboard = _prompt(step, draft)
        await message.answer(text, reply_markup=keyboard)


async def _ask_consents(
    message: Message, session: AsyncSession, user: User, *, restart: bool = False
) -> None:
    given = set(await current_consents(session, user.id))
    header = _step_header(Registration.consents).rstrip()
    text = _(
        "Consents. Registration needs all three; tap each to give it:\n"
        "• personal data processing: your name, birth date, passport, phone and e-mail are used "
        "to identify you under your insurance contract (Federal Law 152-FZ);\n"
        "• health data processing: the services you receive and your diagnoses, to show them "
        "to you and handle your appeals;\n"
        "• the user agreement of the cabinet.\n"
        "The full texts come as documents with «Full texts»."
    )
    await message.answer(f"{header} {text}", reply_markup=consents_keyboard(given, restart=restart))


def summary_text(draft: RegistrationDraft, locale: str) -> str:
    sex = {Sex.FEMALE.value: _("female"), Sex.MALE.value: _("male")}.get(draft.sex or "", "—")
    document = {
        DocumentType.RU_PASSPORT.value: _("Russian passport"),
        DocumentType.FOREIGN_PASSPORT.value: _("Russian international passport"),
    }.get(draft.document_type or "", "—")
    birth = format_date(draft.birth_date, locale) if draft.birth_date else "—"
    return _(
        "<b>Phone:</b> {phone}\n<b>E-mail:</b> {email}\n<b>Full name:</b> {name}\n"
        "<b>Date of birth:</b> {birth}\n<b>Sex:</b> {sex}\n<b>Document:</b> {document} {mask}"
    ).format(
        phone=format_phone(draft.phone) if draft.phone else "—",
        email=escape(draft.email or "—"),  # a&b@example.org is a valid address
        name=escape(" ".join(p for p in (draft.surname, draft.first_name, draft.patronymic) if p)),
        birth=birth,
        sex=sex,
        document=document,
        mask=draft.document_mask or "",
    )


async def advance(
    message: Message,
    state: FSMContext,
    draft: RegistrationDraft,
    session: AsyncSession,
    user: User,
    *,
    after: State,
) -> None:
    """Save the draft and ask the next question (or the summary when editing one field)."""
    following = ORDER[ORDER.index(after) + 1]
    if draft.names_again and following not in (Registration.first_name, Registration.patronymic):
        draft.names_again = False  # the name is written again: on to the passport number
        following = Registration.document_number
    if draft.editing and following not in (Registration.first_name, Registration.patronymic):
        following = Registration.summary
        if after == Registration.document_type:
            following = Registration.document_number
    await save_draft(state, draft)
    await ask(message, state, following, session, user)


# --- entering the dialog ------------------------------------------------------------------
async def resume_step(state: FSMContext, session: AsyncSession, user: User, clock: Clock) -> State:
    """Where a registration left for the menu goes on: the first unanswered question; the
    code step while the code sent is still valid; the summary once the consents stand."""
    draft = await load_draft(state)
    step = draft.first_missing()
    if (
        step == Registration.email
        and draft.email
        and not draft.email_confirmed
        and await code_in_flight(
            session, user_id=user.id, purpose=Purpose.EMAIL, target=draft.email, now=clock.now()
        )
    ):
        return Registration.email_code
    given = await current_consents(session, user.id)
    if step == Registration.consents and all(k in given for k in REQUIRED_FOR_REGISTRATION):
        return Registration.summary  # e.g. /start at the summary: the consents stand
    return step


async def ask_step(
    message: Message, state: FSMContext, step: State, session: AsyncSession, user: User
) -> None:
    """`ask`, and the code step too (it asks for the code sent, with «Send the code again»)."""
    draft = await load_draft(state)
    if step == Registration.email_code and draft.email:
        await _ask_code(message, state, draft.email, just_sent=False)
        return
    await ask(message, state, step, session, user)


async def begin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if account is not None:
        await message.answer(
            _("You are registered already."), reply_markup=main_menu(registered=True)
        )
        return
    draft = await load_draft(state)
    step = await resume_step(state, session, user, clock)
    # The code step's and the consents' buttons are inline: there this line brings the step's
    # Back/Cancel keyboard back (the menu's keyboard is on screen), and «Start over» joins the
    # step's own buttons.
    at_code = step == Registration.email_code and draft.email is not None
    inline_step = at_code or step == Registration.consents
    if draft.phone or draft.steps_done:
        await message.answer(
            _("Let's continue where you stopped; what you entered is kept."),
            reply_markup=step_keyboard()
            if inline_step
            else inline((_("Start over"), RegistrationAction.RESTART)),
        )
    else:
        await message.answer(
            _(
                "Registration takes about three minutes. Have your passport at hand. "
                "What you enter is kept if you leave for the menu; «✖️ Cancel» discards it."
            )
        )
    if at_code and draft.email:
        await _ask_code(message, state, draft.email, just_sent=False, restart=True)
        return
    if step == Registration.consents:
        await state.set_state(step)
        await _ask_consents(message, session, user, restart=True)
        return
    await ask_step(message, state, step, session, user)


def _entered(draft: RegistrationDraft) -> str:
    """What starting over would discard, one item a line."""
    lines = []
    if draft.phone:
        lines.append(_("• phone {phone}").format(phone=format_phone(draft.phone)))
    if draft.email and draft.email_confirmed:
        lines.append(_("• e-mail {email} (confirmed)").format(email=escape(draft.email)))
    elif draft.email:
        lines.append(_("• e-mail {email}").format(email=escape(draft.email)))
    name = " ".join(p for p in (draft.surname, draft.first_name, draft.patronymic) if p)
    if name:
        lines.append(_("• name {name}").format(name=escape(name)))
    if draft.birth_date or draft.sex or draft.document_type:
        lines.append(_("• date of birth, sex and document"))
    return "\n".join(lines)


async def restart(
    query: CallbackQuery,
    state: FSMContext,
    account: Account | None,
) -> None:
    """«Start over» asks first, naming what would be discarded (a confirmed e-mail too)."""
    if account is not None:
        raise StaleButton("registered already: nothing to start over")
    assert isinstance(query.message, Message)
    draft = await load_draft(state)
    entered = _entered(draft)
    text = _("Start registration over? What you entered will be discarded:")
    await query.message.answer(
        f"{text}\n{entered}" if entered else text,
        reply_markup=inline(
            (_("Yes, start over"), RegistrationAction.RESTART_YES),
            (_("No, continue"), RegistrationAction.CONTINUE),
        ),
    )


async def restart_confirmed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
) -> None:
    if account is not None:
        raise StaleButton("registered already: nothing to start over")
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    await save_draft(state, RegistrationDraft())
    await query.message.answer(_("Registration started over: what you entered is discarded."))
    await ask(query.message, state, Registration.phone, session, user)


async def restart_declined(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if account is not None:
        raise StaleButton("registered already: nothing to continue")
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    current = await state.get_state()
    step = next((s for s in Registration.__states__ if s.state == current), None)
    if step is None or step == Registration.recovery_code:
        step = await resume_step(state, session, user, clock)
    await query.message.answer(_("Let's continue; what you entered is kept."))
    await ask_step(query.message, state, step, session, user)


async def back(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    current = await state.get_state()
    at_end = (Registration.consents.state, Registration.summary.state)
    if current not in at_end and (await load_draft(state)).editing:
        # One field being changed from the summary: Back leads back there, not to the step
        # before the field (a walker's Back from «Пол» asked for the date of birth).
        await ask(message, state, Registration.summary, session, user)
        return
    step = next(s for s in [*ORDER, *BACK_TO] if s.state == current)
    previous = BACK_TO[step] if step in BACK_TO else ORDER[max(ORDER.index(step) - 1, 0)]
    await ask(message, state, previous, session, user)


# --- phone --------------------------------------------------------------------------------
async def phone_contact(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id != message.from_user.id:
        await message.answer(
            _(
                "This is someone else's contact. Please share your own number with the "
                "«Share my phone» button."
            )
        )
        return
    await _take_phone(message, state, session, user, contact.phone_number)


async def phone_text(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    try:
        typed = parse_phone(message.text or "")
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    await message.answer(
        _(
            "To confirm that {phone} is yours, tap «Share my phone»: Telegram sends the number "
            "of your account, and we use it."
        ).format(phone=format_phone(typed)),
        reply_markup=step_keyboard(share_phone=True, back=False),
    )


async def _take_phone(
    message: Message, state: FSMContext, session: AsyncSession, user: User, raw: str
) -> None:
    try:
        phone = parse_phone(raw if raw.startswith("+") else f"+{raw}")
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    draft = await load_draft(state)
    draft.phone = phone
    await save_draft(state, draft)
    try:
        await ensure_free(session, user, phone=phone)
    except AlreadyRegistered:
        await _offer_recovery(message)
        return
    await advance(message, state, draft, session, user, after=Registration.phone)


async def _offer_recovery(message: Message) -> None:
    await message.answer(
        _(
            "A user with these contacts is already registered. If it is you, restore access: "
            "we will send a code to the e-mail of that account, and the cabinet will move to "
            "this Telegram account."
        ),
        reply_markup=inline(
            (_("Restore access"), RegistrationAction.RECOVER),
            (_("Use other contacts"), RegistrationAction.OTHER_CONTACT),
        ),
    )


# --- e-mail and its code --------------------------------------------------------------------
async def email_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
) -> None:
    try:
        email = normalize_email(message.text or "")
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    draft = await load_draft(state)
    if email == draft.email and draft.email_confirmed:
        # Back over a confirmed address, and the same address again: no new code.
        await advance(message, state, draft, session, user, after=Registration.email)
        return
    draft.email, draft.email_confirmed = email, False
    await save_draft(state, draft)
    try:
        await ensure_free(session, user, email=email)
    except AlreadyRegistered:
        await _offer_recovery(message)
        return
    await _send_code(message, state, session, user, vault, mailer, clock, email)


async def _send_code(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
    email: str,
    *,
    resend: bool = False,
) -> None:
    try:
        issued = await issue_code(
            session, vault, user_id=user.id, purpose=Purpose.EMAIL, target=email, now=clock.now()
        )
    except ResendTooSoon as error:
        if resend:
            await message.answer(
                _not_now_text(error, user, clock.now()), reply_markup=_code_buttons()
            )
            return
        # The same address again within seconds (typed twice, or the update came back after a
        # worker died): the code just sent stands, and the person is asked for it.
        await _ask_code(message, state, email, just_sent=True)
        return
    except CodeBlocked as error:
        await message.answer(_not_now_text(error, user, clock.now()))
        return
    if not await _mail_code(mailer, email, issued.code, purpose=Purpose.EMAIL):
        await session.rollback()
        await message.answer(
            _("We could not send the e-mail right now. Please try again in a minute.")
        )
        return
    await session.commit()
    await _ask_code(message, state, email, just_sent=False)


async def _ask_code(
    message: Message, state: FSMContext, email: str, *, just_sent: bool, restart: bool = False
) -> None:
    await state.set_state(Registration.email_code)
    if just_sent:
        text = _(
            "We have just sent a 6-digit code to {email}. Type it here; it is valid for "
            "10 minutes. No e-mail? Check the spam folder."
        )
    else:
        text = _(
            "We sent a 6-digit code to {email}. Type it here; it is valid for 10 minutes. "
            "No e-mail? Check the spam folder."
        )
    header = _step_header(Registration.email_code, await load_draft(state))
    await message.answer(
        header + text.format(email=escape(mask_email(email))),
        reply_markup=_code_buttons(restart=restart),
    )


def _code_buttons(*, restart: bool = False) -> InlineKeyboardMarkup:
    """The code step's own buttons, under each of its answers: a refusal says what to tap
    next, and the button is right there, not up in an older message."""
    return inline(
        (_("Send the code again"), RegistrationAction.RESEND),
        (_("Change the e-mail"), RegistrationAction.CHANGE_EMAIL),
        *([(_("Start over"), RegistrationAction.RESTART)] if restart else []),
    )


async def _mail_code(mailer: MailSender, email: str, code: str, *, purpose: Purpose) -> bool:
    if purpose is Purpose.EMAIL:
        subject = _("Your confirmation code")
        body = _(
            "Your code to confirm the e-mail in the insured person's cabinet: {code}\n"
            "It is valid for 10 minutes. If you did not ask for it, ignore this letter."
        )
    else:
        subject = _("Restoring access to your cabinet")
        body = _(
            "Your code to move your cabinet to a new Telegram account: {code}\n"
            "It is valid for 10 minutes. If you did not ask for it, do not give it to anyone "
            "and call the insurer."
        )
    try:
        await mailer.send(email, subject, body.format(code=code))
    except Exception:
        log.exception("could not send a %s code", purpose.value)
        return False
    return True


def _until(error: CodeBlocked, user: User, now: datetime) -> str:
    """`10:05`, or `22.11.2026 10:05` when the block lasts into another day (Moscow time)."""
    day = format_day(error.until, user.language)
    if day == format_day(now, user.language):
        return format_clock(error.until, user.language)
    return f"{day} {format_clock(error.until, user.language)}"


def _blocked_text(error: CodeBlocked, user: User, now: datetime) -> str:
    if isinstance(error, LastWrongCode):
        text = _(
            "Wrong code. No tries left: for your safety you can ask for a new code after "
            "{time} (Moscow time)."
        )
    elif isinstance(error, TooManyCodes):
        text = _(
            "Too many codes have been asked for. For your safety you can ask for a new code "
            "after {time} (Moscow time)."
        )
    else:
        text = _(
            "Too many wrong codes. For your safety you can ask for a new code after {time} "
            "(Moscow time)."
        )
    return text.format(time=_until(error, user, now))


def _not_now_text(error: ResendTooSoon | CodeBlocked, user: User, now: datetime) -> str:
    if isinstance(error, ResendTooSoon):
        return _("You can ask for a new code in {seconds} s.").format(seconds=error.seconds)
    return _blocked_text(error, user, now)


def _code_problem_text(error: CodeProblem, user: User, now: datetime) -> str:
    if isinstance(error, WrongCode) and error.latest_sent_at is not None:
        return _(
            "Wrong code. Several letters were sent: only the code of the latest one, sent at "
            "{time} (Moscow time), is valid. Tries left: {count}."
        ).format(time=format_clock(error.latest_sent_at, user.language), count=error.tries_left)
    if isinstance(error, WrongCode):
        return _("Wrong code. Tries left: {count}.").format(count=error.tries_left)
    if isinstance(error, CodeExpired):
        return _("The code has expired. Tap «Send the code again» for a new one.")
    if isinstance(error, CodeBlocked):
        return _blocked_text(error, user, now)
    assert isinstance(error, NoCode)
    return _("There is no code to check. Tap «Send the code again».")


async def _typed_code(message: Message, buttons: InlineKeyboardMarkup | None = None) -> str | None:
    """The six digits typed (spaces allowed), or None after saying what a code looks like."""
    typed = "".join(ch for ch in message.text or "" if ch.isdigit())
    if len(typed) != 6:
        await message.answer(
            _("The code is 6 digits from the e-mail, for example 123456."), reply_markup=buttons
        )
        return None
    return typed


async def email_code(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    clock: Clock,
) -> None:
    typed = await _typed_code(message, _code_buttons())
    if typed is None:
        return
    try:
        await check_code(
            session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=typed, now=clock.now()
        )
    except CodeProblem as error:
        await session.commit()  # a wrong try counts
        # Blocked too: tapped before the time it names, the button says to wait; after, it
        # is the way on, under the newest message.
        await message.answer(
            _code_problem_text(error, user, clock.now()), reply_markup=_code_buttons()
        )
        return
    await session.commit()
    draft = await load_draft(state)
    try:  # registered by someone else since the code went: said now, not at the summary
        await ensure_free(session, user, email=draft.email)
    except AlreadyRegistered:
        await state.set_state(Registration.email)
        await _offer_recovery(message)
        return
    draft.email_confirmed = True
    await message.answer(_("E-mail confirmed ✅"))
    await advance(message, state, draft, session, user, after=Registration.email)


async def code_action(
    query: CallbackQuery,
    callback_data: RegistrationCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
) -> None:
    assert isinstance(query.message, Message)
    draft = await load_draft(state)
    if callback_data.action is RegistrationAction.RESEND and draft.email:
        await _send_code(
            query.message, state, session, user, vault, mailer, clock, draft.email, resend=True
        )
    else:
        await ask(query.message, state, Registration.email, session, user)


# --- recovery -----------------------------------------------------------------------------
RECOVERY_BY_EMAIL = "recovery_by_email"  # the FSM data key: the code went by the e-mail typed


async def recover(
    query: CallbackQuery,
    callback_data: RegistrationCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
) -> None:
    assert isinstance(query.message, Message)
    current = await state.get_state()
    if current == Registration.recovery_code.state:  # a code was sent already: the same way
        by_email = bool((await state.get_data()).get(RECOVERY_BY_EMAIL))
    else:
        by_email = current == Registration.email.state
    if callback_data.action is RegistrationAction.OTHER_CONTACT:
        step = Registration.email if by_email else Registration.phone
        await ask(query.message, state, step, session, user)
        return
    await _send_recovery_code(query.message, state, session, user, vault, mailer, clock, by_email)


async def recovery_resend(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
) -> None:
    """«Send the code again» at the recovery code step: a new code the same way as the first."""
    by_email = bool((await state.get_data()).get(RECOVERY_BY_EMAIL))
    await _send_recovery_code(message, state, session, user, vault, mailer, clock, by_email)


async def _send_recovery_code(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    mailer: MailSender,
    clock: Clock,
    by_email: bool,
) -> None:
    draft = await load_draft(state)
    try:
        issued = await start_recovery(
            session,
            vault,
            user,
            phone=None if by_email else draft.phone,
            email=draft.email if by_email else None,
            now=clock.now(),
        )
    except (ResendTooSoon, CodeBlocked) as error:
        await message.answer(_not_now_text(error, user, clock.now()))
        return
    except NotRegistered:
        await ask(message, state, Registration.phone, session, user)
        return
    if not await _mail_code(mailer, issued.target, issued.code, purpose=Purpose.RECOVERY):
        await message.answer(
            _("We could not send the e-mail right now. Please try again in a minute.")
        )
        return
    await state.update_data({RECOVERY_BY_EMAIL: by_email})
    await state.set_state(Registration.recovery_code)
    await message.answer(
        _(
            "We sent a code to the e-mail of that account ({email}). Type it here to move the "
            "cabinet to this Telegram account."
        ).format(email=escape(mask_email(issued.target))),
        reply_markup=step_keyboard(str(RESEND_CODE)),
    )


async def recovery_code(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    vault: Vault,
    clock: Clock,
    bot: Bot,
    i18n: I18n,
) -> None:
    typed = await _typed_code(message)
    if typed is None:
        return
    try:
        recovered = await finish_recovery(session, vault, user, typed, now=clock.now())
    except CodeProblem as error:
        await message.answer(_code_problem_text(error, user, clock.now()))
        return
    except AlreadyRegistered:
        await message.answer(_("This Telegram account already has a cabinet of its own."))
        return
    await state.clear()
    await message.answer(
        _("Access restored: your cabinet is now in this Telegram account."),
        reply_markup=main_menu(registered=True),
    )
    try:  # in the previous owner's language, with the menu of a guest: the cabinet is gone
        with i18n.use_locale(recovered.previous_language):
            notice = _(
                "Your insurance cabinet has been moved to another Telegram account after a code "
                "sent to your e-mail was entered. If it was not you, call the insurer at once."
            )
            guest_menu = main_menu(registered=False)
        await bot.send_message(recovered.previous_telegram_id, notice, reply_markup=guest_menu)
    except TelegramAPIError:
        log.warning("could not tell the previous Telegram account about the recovery")


# --- names, birth date, sex, document ------------------------------------------------------
async def name_part(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    current = await state.get_state()
    draft = await load_draft(state)
    try:
        value = normalize_name(message.text or "")
        check_name_script(
            value,
            surname=draft.surname if current != Registration.surname.state else None,
            document_type=draft.document_type,
        )
    except InvalidInput as error:
        await message.answer(problem_text(error.problem, draft))
        return
    if current == Registration.surname.state:
        draft.surname, step = value, Registration.surname
    elif current == Registration.first_name.state:
        draft.first_name, step = value, Registration.first_name
    else:
        draft.patronymic, draft.no_patronymic, step = value, False, Registration.patronymic
    await advance(message, state, draft, session, user, after=step)


async def no_patronymic(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    draft = await load_draft(state)
    draft.patronymic, draft.no_patronymic = None, True
    await advance(message, state, draft, session, user, after=Registration.patronymic)


async def birth_date(
    message: Message, state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> None:
    try:
        born = parse_birth_date(message.text or "", clock.now().date())
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    draft = await load_draft(state)
    draft.birth_date = born
    await advance(message, state, draft, session, user, after=Registration.birth_date)


async def sex(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    chosen = {str(FEMALE): Sex.FEMALE, str(MALE): Sex.MALE}.get(message.text or "")
    if chosen is None:
        await message.answer(_("Please choose with the buttons below."))
        return
    draft = await load_draft(state)
    draft.sex = chosen.value
    await advance(message, state, draft, session, user, after=Registration.sex)


async def document_type(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    chosen = {
        str(RU_PASSPORT): DocumentType.RU_PASSPORT,
        str(FOREIGN_PASSPORT): DocumentType.FOREIGN_PASSPORT,
    }.get(message.text or "")
    if chosen is None:
        await message.answer(
            _(
                "Please choose with the buttons below: a Russian or a foreign passport. "
                "A birth certificate cannot be used by the policy holder."
            )
        )
        return
    draft = await load_draft(state)
    if draft.document_type != chosen.value:
        draft.document_token = draft.document_mask = None
    draft.document_type = chosen.value
    names = (draft.surname, draft.first_name, draft.patronymic)
    if chosen is DocumentType.RU_PASSPORT and any(name and is_latin(name) for name in names):
        # The policy is checked against the passport's Cyrillic name: ask now, not at a
        # mismatch when the policy is added.
        draft.surname = draft.first_name = draft.patronymic = None
        draft.no_patronymic, draft.names_again = False, True
        await save_draft(state, draft)
        await message.answer(
            _(
                "A Russian passport has the full name in Cyrillic, and your policy is checked "
                "against it. Please write your full name as in the passport."
            )
        )
        await ask(message, state, Registration.surname, session, user)
        return
    await advance(message, state, draft, session, user, after=Registration.document_type)


NEAR_NUMBER_DIGITS = 4  # a refused answer with this many digits is taken for a mistyped number


async def _forget(bot: Bot, message: Message) -> None:
    """Deletes a message with a document number from the chat."""
    try:
        await bot.delete_message(message.chat.id, message.message_id)
    except TelegramAPIError:
        log.info("could not delete the message with a document number")


async def document_number(
    message: Message, state: FSMContext, session: AsyncSession, user: User, vault: Vault, bot: Bot
) -> None:
    draft = await load_draft(state)
    try:
        document = parse_document(DocumentType(draft.document_type), message.text or "")
    except InvalidInput as error:
        if sum(char.isdigit() for char in message.text or "") >= NEAR_NUMBER_DIGITS:
            await _forget(bot, message)  # a mistyped number is still most of the real one
        await message.answer(problem_text(error.problem, draft))
        return
    draft.document_token = vault.encrypt(document.number)
    draft.document_mask = document.mask
    await _forget(bot, message)  # the number should not stay readable in the chat history
    await message.answer(_("Saved: {mask}").format(mask=document.mask))
    await advance(message, state, draft, session, user, after=Registration.document_number)


# --- consents, summary, confirmation -----------------------------------------------------------
async def consent(
    query: CallbackQuery,
    callback_data: ConsentCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if callback_data.kind not in REQUIRED_FOR_REGISTRATION:
        raise StaleButton(f"consent {callback_data.kind} is not asked at registration")
    if callback_data.kind in await current_consents(session, user.id):
        return  # given already (the step came back after /start): nothing to change
    await give_consent(session, user.id, callback_data.kind, clock.now())
    given = set(await current_consents(session, user.id))
    if isinstance(query.message, Message):
        markup = query.message.reply_markup
        restart = RegistrationCallback(action=RegistrationAction.RESTART).pack()
        kept = markup is not None and any(  # «Start over» of a resumed step stays
            button.callback_data == restart for row in markup.inline_keyboard for button in row
        )
        await query.message.edit_reply_markup(reply_markup=consents_keyboard(given, restart=kept))


async def consent_texts(
    query: CallbackQuery, user: User, bot: Bot, clock: Clock, settings: Settings
) -> None:
    assert query.message is not None
    for kind in REQUIRED_FOR_REGISTRATION:
        document, caption = await legal_document(
            kind, user.language, settings.insurer.name, clock.now()
        )
        await bot.send_document(query.message.chat.id, document, caption=caption)


async def consents_done(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    assert isinstance(query.message, Message)
    given = await current_consents(session, user.id)
    if any(kind not in given for kind in REQUIRED_FOR_REGISTRATION):
        callback_answer.text = _("Please give all three consents: registration needs them.")
        callback_answer.show_alert = True
        return
    draft = await load_draft(state)
    await save_draft(state, draft)
    await ask(query.message, state, Registration.summary, session, user)


async def edit(query: CallbackQuery) -> None:
    """«Edit a field» turns the summary into the choice of a field, with Back to the summary."""
    assert isinstance(query.message, Message)
    await query.message.edit_text(
        _("What do you want to change?"), reply_markup=edit_fields_keyboard()
    )


async def back_to_summary(query: CallbackQuery, state: FSMContext, user: User) -> None:
    assert isinstance(query.message, Message)
    draft = await load_draft(state)
    await query.message.edit_text(
        summary_text(draft, user.language), reply_markup=summary_keyboard(draft.signature())
    )


EDIT_STEPS = {
    EditField.PHONE: Registration.phone,
    EditField.EMAIL: Registration.email,
    EditField.NAME: Registration.surname,
    EditField.BIRTH_DATE: Registration.birth_date,
    EditField.SEX: Registration.sex,
    EditField.DOCUMENT: Registration.document_type,
}


async def edit_field(
    query: CallbackQuery,
    callback_data: EditCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
) -> None:
    assert isinstance(query.message, Message)
    draft = await load_draft(state)
    draft.editing = True
    await save_draft(state, draft)
    await ask(query.message, state, EDIT_STEPS[callback_data.field], session, user)


async def confirm_summary(
    query: CallbackQuery,
    callback_data: SummaryCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    vault: Vault,
    clock: Clock,
) -> None:
    """«Confirm» under a summary: only while the draft is still what that summary showed."""
    if (await load_draft(state)).signature() != callback_data.sig:
        raise StaleButton("an older summary, or the registration is over")
    await confirm(query, state, session, user, account, vault, clock)


async def confirm(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    vault: Vault,
    clock: Clock,
) -> None:
    assert isinstance(query.message, Message)
    draft = await load_draft(state)
    missing = draft.first_missing()
    if await state.get_state() != Registration.summary.state:
        # The summary's button after a menu tap: it still confirms while the draft is whole.
        if missing != Registration.consents or not draft.phone:
            raise StaleButton("the summary's draft is gone")
        await state.set_state(Registration.summary)
    if missing != Registration.consents:
        await ask(query.message, state, missing, session, user)
        return
    assert draft.phone and draft.email and draft.surname and draft.first_name
    assert draft.birth_date and draft.sex and draft.document_type and draft.document_token
    data = PersonalData(
        phone=draft.phone,
        email=draft.email,
        surname=draft.surname,
        first_name=draft.first_name,
        patronymic=draft.patronymic,
        birth_date=draft.birth_date,
        sex=Sex(draft.sex),
        document=IdentityDocument(
            type=DocumentType(draft.document_type),
            number=vault.decrypt(draft.document_token),
            mask=draft.document_mask or "",
        ),
    )
    try:
        await register(session, vault, user, data, now=clock.now())
    except AlreadyRegistered as taken:
        # Taken while this person filled the rest in: back at that contact's step, where both
        # buttons work (a walker's were dead at the summary), and from a new one straight back
        # to the summary, as when a field is edited.
        draft.editing = True
        draft.email_confirmed = draft.email_confirmed and taken.field != "email"
        await save_draft(state, draft)
        await state.set_state(Registration.email if taken.field == "email" else Registration.phone)
        await _offer_recovery(query.message)
        return
    except MissingConsents:
        await ask(query.message, state, Registration.consents, session, user)
        return
    except PersonalDataLocked:
        await state.clear()
        await query.message.answer(
            _("Personal data cannot be changed in the bot after the first policy is added."),
            reply_markup=main_menu(registered=True),
        )
        return
    await state.clear()
    if account is not None:
        await query.message.answer(
            _("Your data are saved ✅"), reply_markup=main_menu(registered=True)
        )
        return
    await query.message.answer(  # the registered menu comes with it; the next action below
        _("Registration is complete ✅ Welcome, {name}!").format(name=escape(draft.first_name)),
        reply_markup=main_menu(registered=True),
    )
    await query.message.answer(
        _("Next: add your policy. Its number is on the policy or the card the insurer gave you."),
        reply_markup=next_steps(add_policy_button(), menu=False),
    )


async def other_input(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    """A sticker, photo, voice or location where an answer is expected: ask again."""
    current = await state.get_state()
    if current == Registration.phone.state:
        await message.answer(
            _("Please share your phone with the «📱 Share my phone» button below.")
        )
        return
    if current in (Registration.consents.state, Registration.summary.state):
        await message.answer(_("Please use the buttons of the message above."))
        return
    step = next(s for s in Registration.__states__ if s.state == current)
    if step in (Registration.email_code, Registration.recovery_code):
        await message.answer(_("The code is 6 digits from the e-mail, for example 123456."))
        return
    if step in (Registration.sex, Registration.document_type):
        await message.answer(_("Please choose with the buttons below."))
    else:
        await message.answer(_("Please answer in text."))
    await ask(message, state, step, session, user)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(
        begin_from_button, RegistrationCallback.filter(F.action == RegistrationAction.START)
    )
    in_dialog = StateFilter(Registration)
    router.message.register(back, in_dialog, F.text == BACK)
    router.message.register(phone_contact, Registration.phone, F.contact)
    router.message.register(phone_text, Registration.phone, F.text)
    router.message.register(email_text, Registration.email, F.text)
    router.message.register(email_code, Registration.email_code, F.text)
    router.message.register(recovery_resend, Registration.recovery_code, F.text == RESEND_CODE)
    router.message.register(recovery_code, Registration.recovery_code, F.text)
    router.message.register(no_patronymic, Registration.patronymic, F.text == NO_PATRONYMIC)
    router.message.register(
        name_part,
        StateFilter(Registration.surname, Registration.first_name, Registration.patronymic),
        F.text,
    )
    router.message.register(birth_date, Registration.birth_date, F.text)
    router.message.register(sex, Registration.sex, F.text)
    router.message.register(document_type, Registration.document_type, F.text)
    router.message.register(document_number, Registration.document_number, F.text)
    router.message.register(other_input, in_dialog)

    actions = RegistrationCallback.filter
    router.callback_query.register(
        code_action,
        Registration.email_code,
        actions(F.action.in_({RegistrationAction.RESEND, RegistrationAction.CHANGE_EMAIL})),
    )
    # An old «Start over» after a menu tap (no state) still asks; the draft is in the data.
    in_dialog_or_left = StateFilter(Registration, None)
    router.callback_query.register(
        restart, in_dialog_or_left, actions(F.action == RegistrationAction.RESTART)
    )
    router.callback_query.register(
        restart_confirmed, in_dialog_or_left, actions(F.action == RegistrationAction.RESTART_YES)
    )
    router.callback_query.register(
        restart_declined, in_dialog_or_left, actions(F.action == RegistrationAction.CONTINUE)
    )
    router.callback_query.register(
        recover,
        StateFilter(Registration.phone, Registration.email, Registration.recovery_code),
        actions(F.action.in_({RegistrationAction.RECOVER, RegistrationAction.OTHER_CONTACT})),
    )
    router.callback_query.register(consent, Registration.consents, ConsentCallback.filter())
    router.callback_query.register(
        consent_texts, Registration.consents, actions(F.action == RegistrationAction.TEXTS)
    )
    router.callback_query.register(
        consents_done, Registration.consents, actions(F.action == RegistrationAction.CONSENTS_DONE)
    )
    router.callback_query.register(
        edit, Registration.summary, actions(F.action == RegistrationAction.EDIT)
    )
    router.callback_query.register(
        back_to_summary, Registration.summary, actions(F.action == RegistrationAction.SUMMARY)
    )
    router.callback_query.register(edit_field, Registration.summary, EditCallback.filter())
    router.callback_query.register(
        confirm_summary, StateFilter(Registration.summary, None), SummaryCallback.filter()
    )
    router.callback_query.register(  # a summary sent before summaries were signed
        confirm,
        StateFilter(Registration.summary, None),
        actions(F.action == RegistrationAction.CONFIRM),
    )
    return router


async def begin_from_button(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if isinstance(query.message, Message):
        await begin(query.message, state, session, user, account, clock)
