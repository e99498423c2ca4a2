"""My policies (seed 000 2.1-2.2, seed 001 steps 3-6): the list with statuses, the card, and
adding a policy by number, by passport data or a child's policy."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    AppealStartCallback,
    FranchiseAction,
    FranchiseCallback,
    PoliciesAction,
    PoliciesCallback,
    PolicyAction,
    PolicyCallback,
    PolicyDocumentCallback,
    PolicyPageCallback,
    ProfileAction,
    ProfileCallback,
    RegionAction,
    RegionCallback,
    StaleButton,
)
from bot.fsm.policies import CHILD_KEY, AddPolicy, ChildDraft
from bot.handlers.franchise import franchise_badge
from bot.handlers.policy_documents import document_button
from bot.handlers.profile import tell_registration_is_missing
from bot.handlers.regions import regions_line
from bot.handlers.registration import problem_text
from bot.keyboards.menu import main_menu
from bot.keyboards.next_steps import (
    buy_button,
    contacts_button,
    next_steps,
    renew_button,
)
from bot.keyboards.registration import BACK, NO_PATRONYMIC, step_keyboard
from bot.screens import show
from bot.texts import SCREEN_LINES, line_count, screen_pages
from core.accounts.identity import set_purpose
from core.accounts.models import Account, User
from core.accounts.validation import InvalidInput, normalize_name, parse_birth_date
from core.appeals.models import AppealKind
from core.billing.charges import debts_of_user
from core.billing.franchise import franchise_of
from core.billing.regions import RegionsView, regions_of
from core.clock import Clock
from core.config import Settings
from core.documents.compose import documents_of
from core.formatting import format_clock, format_date, format_money
from core.policies.cabinet import PolicyView, Status, my_policies, my_policy, ways_to_add
from core.policies.care import care_title
from core.policies.linking import (
    AlreadyLinked,
    ChildData,
    ChildTooOld,
    DataMismatch,
    FirstPolicyByNumber,
    LinkedElsewhere,
    LinkRefused,
    NotAPolicyNumber,
    NothingFound,
    NotRepresentative,
    ParentPolicyRequired,
    PolicyNotFound,
    TooManyLookups,
    link_by_number,
    link_by_passport,
    link_child,
    looks_like_policy_number,
)
from core.policies.models import ContractKind, Policy, PolicyKind


def status_badge(view: PolicyView, locale: str) -> str:
    if view.status is Status.ACTIVE:
        return _("🟢 active")
    if view.status is Status.WAITING:
        return _("🟡 waiting period until {date}").format(
            date=format_date(view.covered_from, locale)
        )
    if view.status is Status.NOT_YET_ACTIVE:
        return _("⚪ from {date}").format(date=format_date(view.policy.valid_from, locale))
    return _("⚫ expired · archived")


def kind_title(kind: str) -> str:
    return {
        PolicyKind.DMS: _("DMS"),
        PolicyKind.TRAVEL: _("travel"),
        PolicyKind.OSAGO: _("OSAGO"),
        PolicyKind.KASKO: _("KASKO"),
        PolicyKind.PROPERTY: _("property"),
        PolicyKind.ACCIDENT: _("accident"),
    }[PolicyKind(kind)]


def product_title(policy: Policy) -> str:
    """ "ОСАГО", "ВЗР «Путешествие»", "Доктор Лайк (детский) · ДМС": the kind only where the
    product's name does not say it, and never a second pair of brackets."""
    kind = kind_title(policy.kind)
    if kind.casefold() in policy.product.casefold():
        return escape(policy.product)
    return f"{escape(policy.product)} · {kind}"


def list_pages(
    views: list[PolicyView], locale: str, badges: dict[int, str], debt: int = 0
) -> list[str]:
    """The list, a screen at a time (a policy is never cut in two); a debt heads every page
    (seed 000 4.1: its size is on «My policies»), whichever policy it is of."""
    if not views:
        return [
            _(
                "There are no policies in your cabinet yet. Add one by its number: it is on the "
                "policy or on the card the insurer gave you (for example ONDL-500000)."
            )
        ]
    blocks = []
    for view in views:
        owner = f" · {escape(view.person.first_name)}" if view.as_child else ""
        period = f"{format_date(view.policy.valid_from, locale)}–{format_date(view.policy.valid_to, locale)}"
        lines = [
            f"\n<b>{product_title(view.policy)}</b>{owner}\n"
            f"№ {view.policy.number}, {period}\n{status_badge(view, locale)}"
        ]
        if badges.get(view.id):
            lines.append(badges[view.id])
        if not view.policy.paid:
            lines.append(_("⚠️ The policy is not paid: check the payment with the insurer."))
        blocks.append("\n".join(lines))
    title = _("<b>Your policies</b>")
    if debt:
        title += "\n" + _("⚠️ Co-payment debt: {amount}.").format(amount=format_money(debt, locale))
    return screen_pages(title, blocks)


def list_keyboard(
    views: list[PolicyView], settings: Settings, page: int = 0, pages: int = 1, debt: int = 0
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if debt:  # the way to pay it, first (CONVERSATION.md 3)
        builder.button(
            text=_("💸 Pay the debt"),
            callback_data=FranchiseCallback(id=0, action=FranchiseAction.PAY),
        )
    if page + 1 < pages:
        builder.button(
            text=_("📖 More"),
            callback_data=PoliciesCallback(action=PoliciesAction.LIST, page=page + 1),
        )
    for view in views:
        builder.button(
            text=f"{view.policy.number} · {view.person.first_name}",
            callback_data=PolicyCallback(id=view.id),
        )
    builder.button(
        text=_("➕ Add a policy"), callback_data=PoliciesCallback(action=PoliciesAction.ADD)
    )
    if not views:
        builder.add(buy_button(settings))
    builder.adjust(1)
    return builder.as_markup()


async def show_list(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
    page: int = 0,
) -> None:
    if account is None:
        message = event if isinstance(event, Message) else event.message
        if isinstance(message, Message):
            await tell_registration_is_missing(message, state)
        return
    views = await my_policies(session, user, today=clock.now().date())
    badges = {v.id: await money_badge(session, v, user.language, clock) for v in views}
    debt = sum(c.amount for c in await debts_of_user(session, user.id))
    pages = list_pages(views, user.language, badges, debt)
    page = min(page, len(pages) - 1)
    back = PoliciesCallback(action=PoliciesAction.LIST, page=page - 1) if page else None
    await show(
        event,
        pages[page],
        list_keyboard(views, settings, page, len(pages), debt),
        back=back,
        menu=True,
    )


async def show_list_again(
    query: CallbackQuery,
    callback_data: PoliciesCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    page = callback_data.page
    await show_list(query, state, session, user, account, clock, settings, page)


def card_text(view: PolicyView, locale: str) -> str:
    policy, program = view.policy, view.program
    lines = [
        f"<b>{product_title(policy)}</b>",
        _("Policy № {number}").format(number=policy.number),
        _("Valid: {start} – {end}").format(
            start=format_date(policy.valid_from, locale), end=format_date(policy.valid_to, locale)
        ),
        status_badge(view, locale),
        _("Insured: {name}, born {birth}").format(
            name=escape(
                " ".join(
                    p
                    for p in (view.person.surname, view.person.first_name, view.person.patronymic)
                    if p
                )
            ),
            birth=format_date(view.person.birth_date, locale),
        ),
    ]
    if policy.contract == ContractKind.CORPORATE and policy.policyholder:
        lines.append(
            _("Contract: corporate, policyholder {name}").format(name=escape(policy.policyholder))
        )
    if view.status is Status.WAITING:
        lines.append(
            _(
                "Waiting period: until {date} visits are not insured events yet; from that day "
                "the program covers them."
            ).format(date=format_date(view.covered_from, locale))
        )
    if program is not None:
        lines.append(_("Program: {name}").format(name=escape(program.name)))
        care = ", ".join(care_title(code, _) for code in program.care_types)
        lines.append(_("Types of care: {care}").format(care=care))
        if program.franchise_percent:
            lines.append(
                _(
                    "Co-payment (franchise): {share} of each service, charged automatically "
                    "from your card about a month after the visit."
                ).format(share=f"{program.franchise_percent}%")
            )
    if not policy.paid:
        lines.append(_("⚠️ The policy is not paid: check the payment with the insurer."))
    return "\n".join(lines)


def card_contacts(view: PolicyView) -> list[str]:
    """The program's desk and curators: the card's second page when the card is long."""
    program = view.program
    if program is None:
        return []
    lines = []
    if program.desk_phone:
        lines.append(_("24/7 medical desk: {phone}").format(phone=program.desk_phone))
    if program.curator:
        lines.append(_("Curator doctor: {curator}").format(curator=escape(program.curator)))
    if program.admin_curator:
        lines.append(
            _("Administrative curator: {curator}").format(curator=escape(program.admin_curator))
        )
    return lines


def card_keyboard(
    view: PolicyView,
    settings: Settings,
    regions: RegionsView | None = None,
    *,
    more: bool = False,
) -> InlineKeyboardMarkup:
    """The card's way to the policy's documents and to the sections filtered by this policy;
    with no region chosen yet where one can be, the regions button goes straight to choosing;
    `more`: the card is long, and its contacts wait behind «📖 Details»."""
    builder = InlineKeyboardBuilder()
    if more:
        builder.button(
            text=_("📖 Details"),
            callback_data=PolicyPageCallback(id=view.id, action=PolicyAction.CARD),
        )
    kinds = documents_of(view)
    for kind in kinds:
        builder.button(
            text=document_button(kind), callback_data=PolicyDocumentCallback(id=view.id, kind=kind)
        )
    sizes = [1] if more else []
    sizes.append(len(kinds))
    if view.program is not None:
        builder.button(
            text=_("✅ What is covered"),
            callback_data=PolicyCallback(id=view.id, action=PolicyAction.PROGRAM),
        )
        builder.button(
            text=_("🏥 Clinics of the program"),
            callback_data=PolicyCallback(id=view.id, action=PolicyAction.CLINICS),
        )
        builder.button(
            text=_("🧾 Services"),
            callback_data=PolicyCallback(id=view.id, action=PolicyAction.SERVICES),
        )
        if regions is not None and regions.to_choose and regions.refusal is None:
            builder.button(
                text=_("🗺 Choose regions"),
                callback_data=RegionCallback(action=RegionAction.CHOOSE, policy=view.id),
            )
        else:
            builder.button(
                text=_("🗺 Regions"),
                callback_data=PolicyCallback(id=view.id, action=PolicyAction.REGIONS),
            )
        sizes += [2, 2]
        if view.program.franchise_percent:
            builder.button(
                text=_("💳 Franchise and cards"),
                callback_data=PolicyCallback(id=view.id, action=PolicyAction.FRANCHISE),
            )
            sizes.append(1)
    if view.policy.kind == "dms":
        builder.button(text=_("💬 Appeal"), callback_data=AppealStartCallback(policy=view.id))
    else:
        builder.button(
            text=_("🚨 Report an insured event"),
            callback_data=AppealStartCallback(kind=AppealKind.INSURED_EVENT, policy=view.id),
        )
    if view.status is Status.EXPIRED:  # an expired policy's way on: renew it, or ask
        builder.add(renew_button(settings), contacts_button())
        sizes.append(2)
    builder.button(
        text=_("⬅️ My policies"), callback_data=PoliciesCallback(action=PoliciesAction.LIST)
    )
    builder.adjust(*sizes, 1, 1)
    return builder.as_markup()


async def show_card(
    query: CallbackQuery,
    callback_data: PolicyCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    text, markup = await card_screen(session, view, user.language, clock, settings)
    await show(query, text, markup)


async def send_card(
    message: Message,
    session: AsyncSession,
    view: PolicyView,
    user: User,
    clock: Clock,
    settings: Settings,
    note: str = "",
) -> None:
    """The card as a new message (after adding a policy, or from a link), `note` below it."""
    text, markup = await card_screen(session, view, user.language, clock, settings)
    await message.answer(text + (f"\n{note}" if note else ""), reply_markup=markup)


async def show_card_contacts(
    query: CallbackQuery,
    callback_data: PolicyPageCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """«📖 Details» under a long card: the program's desk and curators, with the way back."""
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    header = [
        f"<b>{product_title(view.policy)}</b>",
        _("Policy № {number}").format(number=view.policy.number)
        + f" · {escape(view.person.first_name)}",
    ]
    await show(
        query,
        "\n".join(header + card_contacts(view)),
        back=PolicyCallback(id=view.id),
        back_text=_("⬅️ Policy"),
        menu=True,
    )


async def money_badge(
    session: AsyncSession,
    view: PolicyView,
    locale: str,
    clock: Clock,
    regions: RegionsView | None = None,
) -> str:
    """The franchise status and debt, and the service regions, where a policy has them
    (`regions`: read already by the caller)."""
    lines = []
    if view.program is not None and view.program.franchise_percent:
        lines.append(franchise_badge(await franchise_of(session, view, clock.now()), locale))
    if view.program is not None and view.status is not Status.EXPIRED:  # an archive opens none
        if regions is None:
            regions = await regions_of(session, view, now=clock.now())
        lines.append(regions_line(regions, clock.now(), locale))
    return "\n".join(line for line in lines if line)


async def card_with_money(
    session: AsyncSession,
    view: PolicyView,
    locale: str,
    clock: Clock,
    regions: RegionsView | None = None,
) -> str:
    badge = await money_badge(session, view, locale, clock, regions)
    return card_text(view, locale) + (f"\n{badge}" if badge else "")


async def card_screen(
    session: AsyncSession, view: PolicyView, locale: str, clock: Clock, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    """The policy card with its money and regions lines, and its buttons. The whole card goes
    on one screen only when it is no longer than a screen; otherwise its contacts wait behind
    «📖 Details»."""
    regions = await regions_of(session, view, now=clock.now()) if view.program else None
    text = await card_with_money(session, view, locale, clock, regions)  # read once for both
    contacts = card_contacts(view)
    if line_count(text) + len(contacts) <= SCREEN_LINES:
        return "\n".join([text, *contacts]), card_keyboard(view, settings, regions)
    return text, card_keyboard(view, settings, regions, more=True)


# --- adding ---------------------------------------------------------------------------------
def child_resume_button(number: str) -> InlineKeyboardButton:
    """The child's policy left halfway, offered first: on from where it stopped."""
    return InlineKeyboardButton(
        text=_("✍️ Continue: the child's policy {number}").format(number=number),
        callback_data=PoliciesCallback(action=PoliciesAction.CHILD_RESUME).pack(),
    )


async def add_options(
    query: CallbackQuery, state: FSMContext, account: Account | None = None
) -> None:
    if not isinstance(query.message, Message):
        return
    if account is None:  # no question that every answer to would be refused: registration first
        await tell_registration_is_missing(query.message, state)
        return
    builder = InlineKeyboardBuilder()
    child = await _child(state)
    if child.number:  # a child's policy left halfway is offered first
        builder.row(child_resume_button(child.number))
    builder.button(
        text=_("By the policy number"),
        callback_data=PoliciesCallback(action=PoliciesAction.BY_NUMBER),
    )
    builder.button(
        text=_("By my passport data"),
        callback_data=PoliciesCallback(action=PoliciesAction.BY_PASSPORT),
    )
    builder.button(
        text=_("A child's policy"), callback_data=PoliciesCallback(action=PoliciesAction.CHILD)
    )
    builder.adjust(1)
    # Seed 000 2.1: every way is shown with its rule; `linking` enforces them.
    text = "\n".join(
        (
            _("How do you want to add a policy?"),
            _("• By the policy number: any policy."),
            _("• By your passport data: the second and later policies."),
            _("• A child's policy: after your own DMS policy."),
        )
    )
    await show(
        query,
        text,
        builder.as_markup(),
        back=PoliciesCallback(action=PoliciesAction.LIST),
        back_text=_("⬅️ My policies"),
        menu=True,
    )


def by_number_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("By the policy number"),
        callback_data=PoliciesCallback(action=PoliciesAction.BY_NUMBER).pack(),
    )


async def ask_number(query: CallbackQuery, state: FSMContext) -> None:
    if isinstance(query.message, Message):
        await state.set_state(AddPolicy.number)
        await query.message.answer(
            _("The policy number, as on the policy or the card (for example ONDL-500000)."),
            reply_markup=step_keyboard(back=False),
        )


def open_policy_button(policy_id: int, number: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("📄 Open policy {number}").format(number=number),
        callback_data=PolicyCallback(id=policy_id).pack(),
    )


def refusal_text(error: LinkRefused, user: User, settings: Settings) -> str:
    if isinstance(error, NotAPolicyNumber):
        return _(
            "That does not look like a policy number. Type it as on the policy or the card, "
            "for example ONDL-500000, or choose a section in the menu."
        )
    if isinstance(error, PolicyNotFound):
        return _(
            "There is no policy with this number. Check it on the policy or the card, "
            "for example ONDL-500000."
        )
    if isinstance(error, DataMismatch):
        return _(
            "The data in your profile do not match this policy: the full name and the date of "
            "birth must match exactly. If the policy is yours, confirm your identity "
            "(«selfie with passport») or call the insurer at {phone}."
        ).format(phone=settings.insurer.phone_federal)
    if isinstance(error, AlreadyLinked):
        return _("This policy is in your cabinet already.")
    if isinstance(error, LinkedElsewhere):
        return _(
            "This policy is linked to another cabinet. If it is yours, confirm your identity "
            "(«selfie with passport») or call the insurer at {phone}."
        ).format(phone=settings.insurer.phone_federal)
    if isinstance(error, TooManyLookups):
        return _(
            "Too many attempts. For your safety, try again after {time} (Moscow time)."
        ).format(time=format_clock(error.retry_at, user.language))
    if isinstance(error, FirstPolicyByNumber):
        return _(
            "The first policy is added by its number; the passport search is for the next ones."
        )
    if isinstance(error, NothingFound):
        return _("No other policies were found by your passport data.")
    if isinstance(error, ParentPolicyRequired):
        return _("Add your own DMS policy first: children's policies come after it.")
    if isinstance(error, NotRepresentative):
        return _(
            "You are neither the policyholder of this policy nor named as the child's "
            "representative, so it cannot be added to your cabinet."
        )
    assert isinstance(error, ChildTooOld)
    return _("Under this program a child's policy can be added up to the age of {limit}.").format(
        limit=error.limit
    )


def refusal_keyboard(error: LinkRefused, settings: Settings) -> InlineKeyboardMarkup | None:
    """The next action after a refusal; None where the step simply waits for another number."""
    if isinstance(error, DataMismatch | LinkedElsewhere):
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("🪪 Confirm my identity"),
            callback_data=ProfileCallback(action=ProfileAction.VERIFY),
        )
        return builder.as_markup()
    if isinstance(error, AlreadyLinked):
        return next_steps(open_policy_button(error.policy_id, error.number), menu=False)
    if isinstance(error, NothingFound):
        return next_steps(
            back=PoliciesCallback(action=PoliciesAction.ADD), back_text=_("⬅️ Back"), menu=True
        )
    if isinstance(error, FirstPolicyByNumber):
        return next_steps(
            by_number_button(), back=PoliciesCallback(action=PoliciesAction.ADD), menu=True
        )
    if isinstance(error, ParentPolicyRequired):
        return next_steps(
            by_number_button(),
            buy_button(settings),
            back=PoliciesCallback(action=PoliciesAction.LIST),
        )
    return None


async def number_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    try:
        linked = await link_by_number(session, user, account, message.text or "", now=clock.now())
    except AlreadyLinked as error:  # nothing to add: the step ends on the policy's own card
        await state.set_state(None)
        await message.answer(
            refusal_text(error, user, settings), reply_markup=main_menu(registered=True)
        )
        view = await my_policy(session, user, error.policy_id, today=clock.now().date())
        await send_card(message, session, view, user, clock, settings, "")
        return
    except LinkRefused as error:
        person = getattr(error, "person", None)
        if isinstance(error, DataMismatch | LinkedElsewhere) and person is not None:
            # The identity check this refusal offers will know which policy it is for.
            mismatch = (
                ",".join(error.mismatched) if isinstance(error, DataMismatch) else "elsewhere"
            )
            await set_purpose(
                session, user, now=clock.now(), insured_person_id=person.id, mismatch=mismatch
            )
        await message.answer(
            refusal_text(error, user, settings), reply_markup=refusal_keyboard(error, settings)
        )
        return
    await _added(message, state, session, user, clock, settings, [linked.policy.id])


async def _added(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    ids: list[int],
) -> None:
    await state.set_state(None)
    await state.update_data({CHILD_KEY: None})
    views = [v for v in await my_policies(session, user, today=clock.now().date()) if v.id in ids]
    if len(views) > 1:  # several found at once (by passport): one message, a button for each
        await message.answer(
            added_list_text(views, user.language), reply_markup=added_list_keyboard(views)
        )
        return
    numbers = ", ".join(v.policy.number for v in views)
    await message.answer(
        _("Added: {numbers} ✅").format(numbers=numbers), reply_markup=main_menu(registered=True)
    )
    for view in views:
        note = ""
        if view.status is Status.EXPIRED:
            note = _(
                "🗄 Added to the archive: the policy expired on {date}. Its services and "
                "documents are here; it opens no clinics."
            ).format(date=format_date(view.policy.valid_to, user.language))
        await send_card(message, session, view, user, clock, settings, note)


def added_list_text(views: list[PolicyView], locale: str) -> str:
    lines = [_("<b>Policies added: {count} ✅</b>").format(count=len(views))]
    for view in views:
        period = (
            f"{format_date(view.policy.valid_from, locale)}–"
            f"{format_date(view.policy.valid_to, locale)}"
        )
        lines.append(
            f"\n<b>{product_title(view.policy)}</b> · {escape(view.person.first_name)}\n"
            f"№ {view.policy.number}, {period}\n{status_badge(view, locale)}"
        )
    lines.append("\n" + _("Tap a policy to open its card."))
    return "\n".join(lines)


def added_list_keyboard(views: list[PolicyView]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for view in views:
        builder.button(
            text=f"{view.policy.number} · {view.person.first_name}",
            callback_data=PolicyCallback(id=view.id),
        )
    builder.button(
        text=_("📋 My policies"), callback_data=PoliciesCallback(action=PoliciesAction.LIST)
    )
    builder.adjust(1)
    return builder.as_markup()


async def by_passport(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message) or account is None:
        return
    try:
        found = await link_by_passport(session, user, account, now=clock.now())
    except LinkRefused as error:
        await show(query, refusal_text(error, user, settings), refusal_keyboard(error, settings))
        return
    await _added(
        query.message, state, session, user, clock, settings, [item.policy.id for item in found]
    )


# --- a child's policy -----------------------------------------------------------------------
CHILD_PROMPTS = {
    AddPolicy.child_number: "number",
    AddPolicy.child_surname: "surname",
    AddPolicy.child_first_name: "first_name",
    AddPolicy.child_patronymic: "patronymic",
    AddPolicy.child_birth_date: "birth_date",
}


async def ask_child(
    query: CallbackQuery,
    callback_data: PoliciesCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    waiting = await _child(state)
    if waiting.number and callback_data.action is PoliciesAction.CHILD:
        # The draft waiting is not dropped unasked (CONVERSATION.md, 1).
        builder = InlineKeyboardBuilder()
        builder.row(child_resume_button(waiting.number))
        builder.button(
            text=_("🗑 Discard it and start anew"),
            callback_data=PoliciesCallback(action=PoliciesAction.CHILD_ANEW),
        )
        builder.adjust(1)
        await show(
            query,
            _(
                "The child's policy {number} is not added yet: what you entered is kept. "
                "Continue it, or discard it and start anew?"
            ).format(number=escape(waiting.number)),
            builder.as_markup(),
            back=PoliciesCallback(action=PoliciesAction.ADD),
            menu=True,
        )
        return
    if not ways_to_add(await my_policies(session, user, today=clock.now().date())).child:
        error = ParentPolicyRequired("the parent's own DMS policy first")
        await show(query, refusal_text(error, user, settings), refusal_keyboard(error, settings))
        return
    if isinstance(query.message, Message):
        await state.update_data({CHILD_KEY: ChildDraft().model_dump(mode="json")})
        await state.set_state(AddPolicy.child_number)
        await query.message.answer(
            _("The number of the child's policy, for example ONDL-500002."),
            reply_markup=step_keyboard(back=False),
        )


async def _child(state: FSMContext) -> ChildDraft:
    return ChildDraft.model_validate((await state.get_data()).get(CHILD_KEY) or {})


def _child_prompt(step: State) -> str:
    return {
        AddPolicy.child_number: _("The number of the child's policy, for example ONDL-500002."),
        AddPolicy.child_surname: _("The child's surname, as on the policy."),
        AddPolicy.child_first_name: _("The child's first name."),
        AddPolicy.child_patronymic: _(
            "The child's patronymic; if there is none, tap «No patronymic»."
        ),
        AddPolicy.child_birth_date: _("The child's date of birth, for example 10.03.2016."),
    }[step]


async def resume_child(query: CallbackQuery, state: FSMContext) -> None:
    """The child's policy left for the menu: on at the first unanswered question."""
    if not isinstance(query.message, Message):
        return
    draft = await _child(state)
    if not draft.number:
        raise StaleButton("no child's policy draft")
    if not draft.surname:
        step = AddPolicy.child_surname
    elif not draft.first_name:
        step = AddPolicy.child_first_name
    elif not draft.patronymic_done:
        step = AddPolicy.child_patronymic
    else:
        step = AddPolicy.child_birth_date
    await state.set_state(step)
    options = (str(NO_PATRONYMIC),) if step == AddPolicy.child_patronymic else ()
    await query.message.answer(
        _("Let's continue where you stopped; what you entered is kept.")
        + "\n"
        + _child_prompt(step),
        reply_markup=step_keyboard(*options, back=False),
    )


async def child_step(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    current = await state.get_state()
    draft = await _child(state)
    text = message.text or ""
    try:
        if current == AddPolicy.child_number.state:
            if not looks_like_policy_number(text):
                await message.answer(refusal_text(NotAPolicyNumber(text), user, settings))
                return
            draft.number, following = text.strip(), AddPolicy.child_surname
            prompt = _("The child's surname, as on the policy.")
        elif current == AddPolicy.child_surname.state:
            draft.surname, following = normalize_name(text), AddPolicy.child_first_name
            prompt = _("The child's first name.")
        elif current == AddPolicy.child_first_name.state:
            draft.first_name, following = normalize_name(text), AddPolicy.child_patronymic
            prompt = _("The child's patronymic; if there is none, tap «No patronymic».")
        elif current == AddPolicy.child_patronymic.state:
            draft.patronymic = None if text == str(NO_PATRONYMIC) else normalize_name(text)
            draft.patronymic_done = True
            following = AddPolicy.child_birth_date
            prompt = _("The child's date of birth, for example 10.03.2016.")
        else:
            draft.birth_date = parse_birth_date(text, clock.now().date(), adult=False)
            following = None
            prompt = ""
    except InvalidInput as error:
        await message.answer(problem_text(error.problem))
        return
    await state.update_data({CHILD_KEY: draft.model_dump(mode="json")})
    if following is not None:
        await state.set_state(following)
        options = (str(NO_PATRONYMIC),) if following == AddPolicy.child_patronymic else ()
        await message.answer(prompt, reply_markup=step_keyboard(*options, back=False))
        return
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    assert draft.number and draft.surname and draft.first_name and draft.birth_date
    child = ChildData(draft.surname, draft.first_name, draft.patronymic, draft.birth_date)
    try:
        linked = await link_child(session, user, account, draft.number, child, now=clock.now())
    except DataMismatch:  # a typo in the child's data: asked again, the number kept
        await state.set_state(AddPolicy.child_surname)
        await message.answer(
            _(
                "The child's data do not match this policy: the surname, first name, patronymic "
                "and date of birth must be exactly as on the policy. Please enter them again, "
                "or call the insurer at {phone}."
            ).format(phone=settings.insurer.phone_federal)
            + "\n\n"
            + _("The child's surname, as on the policy."),
            reply_markup=step_keyboard(back=False),
        )
        return
    except LinkRefused as error:
        # The form ends here: the menu comes back instead of the step's «Cancel», and the draft
        # is dropped (a walker was offered to go on with a refused one). The identity check
        # other refusals offer proves the person's own identity, not a child's.
        await state.set_state(None)
        await state.update_data({CHILD_KEY: None})
        text = (
            _(
                "This policy is in another cabinet already. If it is your child's, call the "
                "insurer at {phone}."
            ).format(phone=settings.insurer.phone_federal)
            if isinstance(error, LinkedElsewhere)
            else refusal_text(error, user, settings)
        )
        await message.answer(text, reply_markup=main_menu(registered=True))
        return
    await _added(message, state, session, user, clock, settings, [linked.policy.id])


async def not_text(message: Message) -> None:
    await message.answer(_("Please answer in text."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    actions = PoliciesCallback.filter
    router.callback_query.register(show_list_again, actions(F.action == PoliciesAction.LIST))
    router.callback_query.register(add_options, actions(F.action == PoliciesAction.ADD))
    router.callback_query.register(ask_number, actions(F.action == PoliciesAction.BY_NUMBER))
    router.callback_query.register(by_passport, actions(F.action == PoliciesAction.BY_PASSPORT))
    router.callback_query.register(
        ask_child, actions(F.action.in_({PoliciesAction.CHILD, PoliciesAction.CHILD_ANEW}))
    )
    router.callback_query.register(resume_child, actions(F.action == PoliciesAction.CHILD_RESUME))
    router.callback_query.register(show_card, PolicyCallback.filter(F.action == PolicyAction.CARD))
    router.callback_query.register(
        show_card_contacts, PolicyPageCallback.filter(F.action == PolicyAction.CARD)
    )
    router.message.register(number_typed, AddPolicy.number, F.text, ~(F.text == BACK))
    router.message.register(child_step, StateFilter(*CHILD_PROMPTS), F.text, ~(F.text == BACK))
    router.message.register(not_text, StateFilter(AddPolicy))
    return router
